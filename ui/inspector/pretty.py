"""Bounded JSON text for the inspector: previews and pretty detail that never explode.

A server can send a 10 MB string or a value nested ten thousand levels deep. Encoding the
whole value and cutting the text afterwards would cost the full price on every paint, so
this writer walks the value and stops as soon as its budget is spent:
- strings longer than `max_string` are cut, with a note of their real length;
- containers deeper than `max_depth` are shown as `[…]` / `{…}`;
- the whole text stops at `max_chars` (the result says it was truncated).
Every string goes through JSON escaping and then `escape_controls`, so control, bidi and
line-separator characters are visible escapes; callers show the text as plain text only.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ui.text import escape_controls


class _Full(Exception):
    """The budget is spent."""


class _Writer:
    def __init__(self, indent: int | None, max_chars: int, max_string: int, max_depth: int,
                 max_items: int, fold: int = 0) -> None:
        self.indent = indent
        self.fold = fold
        self.max_chars = max_chars
        self.max_string = max_string
        self.max_depth = max_depth
        self.max_items = max_items
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def put(self, s: str) -> None:
        room = self.max_chars - self.size
        if len(s) > room:
            self.parts.append(s[:max(0, room)])
            self.size = self.max_chars
            self.truncated = True
            raise _Full
        self.parts.append(s)
        self.size += len(s)

    def nl(self, depth: int) -> None:
        if self.indent is not None:
            self.put("\n" + " " * (self.indent * depth))

    def string(self, s: str, depth: int = 0) -> None:
        cut = len(s) > self.max_string
        shown = s[: self.max_string] if cut else s
        text = escape_controls(json.dumps(shown, ensure_ascii=False))
        if cut:
            text = text[:-1]
        if self.fold and self.indent is not None and len(text) > self.fold:
            # Qt lays out one very long line in quadratic time (a 200k-character line
            # takes seconds): long strings are shown folded over lines of `fold` characters
            pad = "\n" + " " * (self.indent * depth + 1)
            for i in range(0, len(text), self.fold):
                if i:
                    self.put(pad)
                self.put(text[i:i + self.fold])
        else:
            self.put(text)
        if cut:
            self.put(f"…\"  ⟨string of {len(s):,} characters, first {len(shown):,} shown⟩")
            self.truncated = True

    def value(self, v: Any, depth: int) -> None:
        if v is None:
            self.put("null")
        elif v is True:
            self.put("true")
        elif v is False:
            self.put("false")
        elif isinstance(v, int):
            text = str(v) if v.bit_length() < 4000 else f"{str(v)[:60]}…⟨huge integer⟩"
            self.put(text)
        elif isinstance(v, float):
            self.put(repr(v) if math.isfinite(v) else ("NaN" if v != v else
                                                       ("Infinity" if v > 0 else "-Infinity")))
        elif isinstance(v, str):
            self.string(v, depth)
        elif isinstance(v, dict):
            self.container(v, depth, "{", "}")
        elif isinstance(v, list | tuple):
            self.container(v, depth, "[", "]")
        elif isinstance(v, bytes | bytearray | memoryview):
            self.put(f"⟨{len(bytes(v)):,} bytes of binary⟩")
        else:
            self.string(repr(v)[: self.max_string + 1], depth)

    def container(self, v: Any, depth: int, open_: str, close: str) -> None:
        if not v:
            self.put(open_ + close)
            return
        if depth >= self.max_depth:
            self.put(f"{open_}…{close}")
            self.put(f"  ⟨nested deeper than {self.max_depth} levels⟩")
            self.truncated = True
            return
        self.put(open_)
        items = v.items() if isinstance(v, dict) else enumerate(v)
        sep = ", " if self.indent is None else ","
        for n, (k, item) in enumerate(items):
            if n:
                self.put(sep)
            if n >= self.max_items:
                self.nl(depth + 1)
                self.put(f"…  ⟨{len(v) - n:,} more⟩")
                self.truncated = True
                break
            self.nl(depth + 1)
            if isinstance(v, dict):
                self.string(str(k))
                self.put(": ")
            self.value(item, depth + 1)
        self.nl(depth)
        self.put(close)


def bounded_json(value: Any, *, indent: int | None = 2, max_chars: int = 200_000,
                 max_string: int = 20_000, max_depth: int = 48,
                 max_items: int = 5_000, fold: int = 0) -> tuple[str, bool]:
    """(text, truncated): JSON-like text of `value` within the given budgets.

    With `fold`, strings longer than that are shown over several lines (display only).
    """
    w = _Writer(indent, max_chars, max_string, max_depth, max_items, fold)
    try:
        w.value(value, 0)
    except _Full:
        pass
    except RecursionError:
        w.truncated = True
    text = "".join(w.parts)
    if w.truncated and w.size >= max_chars:
        text += "…"
    return text, w.truncated


def cell_preview(value: Any, limit: int = 160) -> str:
    """One line for a table cell: compact, escaped, at most `limit` characters."""
    text, truncated = bounded_json(value, indent=None, max_chars=limit, max_string=limit,
                                   max_depth=12, max_items=64)
    if truncated:
        text = text.removesuffix("…")[: limit - 1] + "…"
    return text


def size_of(value: Any, cap: int = 50_000_000) -> int:
    """Approximate encoded size in characters (stops counting past `cap`)."""
    total = 0
    stack: list[Any] = [value]
    while stack and total < cap:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v) + 2
        elif isinstance(v, dict):
            total += 2 + len(v)
            for k, item in v.items():
                total += len(str(k)) + 3
                stack.append(item)
        elif isinstance(v, list | tuple):
            total += 2 + len(v)
            stack.extend(v)
        elif isinstance(v, bytes | bytearray):
            total += len(v)
        else:
            total += 8
    return total
