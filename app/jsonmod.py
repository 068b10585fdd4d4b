"""orjson behind the `json` module interface python-socketio expects (`json=` argument).

python-socketio encodes every packet with `json.dumps(data, separators=...)`; orjson is
several times faster and we push many thousands of packets a second through the
inspector, so we adapt its API (bytes out, no keyword options) to the stdlib one.

The stdlib is the fallback for the few values orjson refuses: integers beyond 64 bits
(orjson would refuse to encode them and silently turn them into floats when decoding),
nesting deeper than 254 levels when encoding, `NaN`/`Infinity` written by Python peers.
A server may send any of these, and python-socketio uses this module for *every* packet
in the process (its Packet class keeps one `json` for all clients and servers), so a
refusal here would drop an event or kill the connection instead of storing it.
"""

from __future__ import annotations

import json as _stdlib_json
from typing import Any

import orjson

from app import binary

_OPTS = orjson.OPT_NON_STR_KEYS
#: 20+ digits in a row: maybe an integer orjson would turn into a float; decode exactly.
#: Found by mapping every byte to "0" (digit) or " " (not) and looking for twenty "0"s:
#: several times cheaper than a regex, which matters on every inbound packet.
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_RUN = b"0" * 20


def _has_long_number(data: str | bytes) -> bool:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return len(raw) >= 20 and _LONG_RUN in raw.translate(_DIGITS)


class JSONDecodeError(ValueError):
    """Raised by `loads`; a ValueError like the stdlib's, so callers can catch either."""


def _default(obj: Any) -> Any:
    """Binary attachments (as the `{"$binary": base64}` notation, `app.binary`) and
    tuples/sets become JSON too, so the store never chokes."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return binary.notation(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _stdlib_dumps(obj: Any) -> str:
    # Unicode is written as itself, as orjson does (the same text on the wire whichever
    # encoder ran); only a lone surrogate, which UTF-8 cannot carry, makes the whole
    # text fall back to \\u escapes. Raises TypeError / ValueError / RecursionError
    # when even the stdlib cannot.
    text = _stdlib_json.dumps(obj, separators=(",", ":"), default=_default,
                              ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _stdlib_json.dumps(obj, separators=(",", ":"), default=_default)
    return text


def dumps(obj: Any, **_ignored: Any) -> str:
    """Serialize to a compact str; stdlib keyword options (separators, ...) are ignored."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _stdlib_dumps(obj)


def dumpb(obj: Any) -> bytes:
    """Serialize to bytes, for SQLite and files where a str round trip is wasted work."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except TypeError:
        return _stdlib_dumps(obj).encode()


def loads(s: str | bytes | bytearray | memoryview, **_ignored: Any) -> Any:
    """Parse JSON text; raises JSONDecodeError (a ValueError) on bad input."""
    data: str | bytes = s if isinstance(s, str | bytes) else bytes(s)
    if not _has_long_number(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return _stdlib_json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise JSONDecodeError(str(exc)) from exc
