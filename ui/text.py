"""Plain-text helpers shared by every widget: escaping, previews, stable colours, times.

Nothing received from the network is ever shown as markup. Widgets draw strings with
QPainter.drawText or plain-text widgets; these helpers make control characters visible
and keep previews short.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import re
import time
import zlib
from typing import Any

from app import binary, jsonmod

_CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """Show control characters as escapes (``\\x07``); optionally keep line breaks and tabs."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif ch in _CONTROL_NAMES:
            out.append(_CONTROL_NAMES[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029\u200e\u200f":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        elif ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            # bidi overrides can make text lie about what it says
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON text of any value; things JSON cannot hold are shown through repr."""
    try:
        if indent is None:
            try:
                return jsonmod.dumps(value)  # orjson: compact, fast (the packet log's hot path)
            except (TypeError, ValueError):
                return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                  default=_default)
        return json.dumps(value, ensure_ascii=False, indent=indent, default=_default)
    except (TypeError, ValueError):
        return repr(value)


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return binary.notation(bytes(value))  # every byte, as the core writes binary
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return repr(value)


def binary_size_text(n: int) -> str:
    """"binary, N bytes": how a binary value is named everywhere in the UI."""
    return f"binary, {n:,} byte" + ("" if n == 1 else "s")


def without_base64(value: Any) -> Any:
    """``value`` with each binary value (the notation or bytes) replaced by
    "⟨binary, N bytes⟩", for one-line previews where base64 says nothing to a reader."""
    if binary.is_binary(value):
        return f"⟨{binary_size_text(binary.binary_size(value))}⟩"
    if isinstance(value, dict):
        return {k: without_base64(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_base64(v) for v in value]
    return value


def preview(value: Any, limit: int = 160) -> str:
    """One-line, escaped, truncated JSON preview of a value (for table cells)."""
    text = to_json(value)
    if len(text) > limit * 2:
        text = text[: limit * 2]
    text = escape_controls(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def one_line(text: str, limit: int = 200) -> str:
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tooltip_text(text: str, wrap: bool = True) -> str:
    """A tooltip that shows ``text`` literally (Qt would guess rich text otherwise).
    ``wrap=False`` keeps each line whole (a URL is never broken after "https://")."""
    style = "pre-wrap" if wrap else "pre"
    return f"<p style='white-space:{style}'>" + html.escape(text) + "</p>"


def stable_hue(name: str) -> int:
    """A hue in [0, 360) that depends only on ``name``: one colour per author everywhere."""
    # golden-ratio spread of the hash: common names land on clearly different hues
    return int((zlib.crc32(name.encode("utf-8")) * 0.6180339887) % 1.0 * 360) % 360


def format_time(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%H:%M")


def format_time_precise(ts: float) -> str:
    """HH:MM:SS.mmm in local time (hot path of the packet log: no strftime)."""
    t = time.localtime(ts)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{int(ts * 1000) % 1000:03d}"


def day_key(ts: float) -> _dt.date:
    return _dt.datetime.fromtimestamp(ts).date()


def day_label(day: _dt.date, today: _dt.date | None = None) -> str:
    today = today or _dt.date.today()
    if day == today:
        return "Today"
    if day == today - _dt.timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return day.strftime("%A, %B %-d")
    return day.strftime("%B %-d, %Y")


#: a run of characters this long without a space may be code: it gets break points
LONG_TOKEN = 20
#: after these a long run may break (a zero-width space): calls, paths, arguments
_BREAK_AFTER = re.compile(r"([.(,/=])(?=\S)")


def breakable(text: str) -> str:
    """``text`` with invisible break points in its long runs without spaces, after
    dots, brackets, commas, slashes and equals signs, so that word wrap can break
    ``socket.to('#team').emit('message', ...)`` instead of cutting it at the edge."""
    return " ".join(_BREAK_AFTER.sub("\\1\u200b", word) if len(word) > LONG_TOKEN else word
                    for word in text.split(" "))


def human_latency(ms: float) -> str:
    """A latency that fits the Latency column: ms up to 10 s ("412.5 ms"), then seconds
    ("18.9 s": "18930.4 ms" was cut to "18930.4 …"), whole minutes from ten on."""
    if ms < 10_000:
        return f"{ms:.1f} ms"
    if ms < 600_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.0f} min"


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def json_error(text: str) -> str | None:
    """None if ``text`` is valid JSON, else a sentence with line and column."""
    if not text.strip():
        return "Empty: write a JSON value (for example {} or \"text\")"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"Line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except (ValueError, RecursionError) as exc:
        return f"Invalid JSON: {exc}"
    return None
