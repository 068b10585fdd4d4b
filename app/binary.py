"""Binary payloads: the `{"$binary": "<base64>"}` notation, and bytes on the wire.

Socket.IO sends a `Buffer` / `bytes` value as a binary attachment (JSON parser) or as a
msgpack `bin` (msgpack parser). JSON has no bytes, so everywhere the core stores, shows,
exports or accepts a payload it writes binary as an object with the one key `$binary`
whose value is the standard base64 of the bytes (docs/NDJSON.md):

    {"file": {"$binary": "3q2+7w=="}, "n": 1}    # a Buffer of de ad be ef, nested

- In: `Session.emit` arguments, CLI JSON arguments, NDJSON imports and replays, ack
  answers may use the notation (or `bytes`); `to_wire` turns it into bytes right before
  python-socketio writes the packet, so the server gets real binary.
- Out: everything received (event arguments, ack replies) is turned into the notation
  by `to_notation` before it is stored or handed to observers, so it round-trips through
  SQLite, NDJSON and the clipboard byte for byte.

An object counts as binary only when `$binary` is its ONLY key and the value is a string;
`{"$binary": "…", "other": 1}` is a plain object. Invalid base64 in such an object is an
error on input (`BinaryError`, a ValueError), never silently sent as text.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the one key of a binary value in JSON
KEY = "$binary"

__all__ = ["KEY", "BinaryError", "binary_size", "decode", "from_file", "has_binary",
           "hexdump", "is_binary", "notation", "parse_hex", "to_notation", "to_wire"]


class BinaryError(ValueError):
    """A `{"$binary": ...}` value that is not valid base64, or hex input that is not hex."""


def is_binary(value: Any) -> bool:
    """True for the notation (`{"$binary": str}`, nothing else) or for bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    return (type(value) is dict and len(value) == 1 and KEY in value
            and isinstance(value[KEY], str))


def notation(data: bytes | bytearray | memoryview) -> dict[str, str]:
    """Bytes as the notation."""
    return {KEY: base64.b64encode(bytes(data)).decode("ascii")}


def decode(value: dict[str, Any] | bytes | bytearray | memoryview) -> bytes:
    """The bytes of one binary value (the notation or bytes); BinaryError if invalid."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    text = value[KEY]
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise BinaryError(f'"$binary" must be standard base64, got {shown!r} '
                          f"({exc})") from None


def to_wire(value: Any) -> Any:
    """`value` with every notation object replaced by its bytes, at any depth.

    Returns `value` itself (not a copy) when it holds no notation, so the common case
    costs one walk and no allocation. Raises BinaryError for invalid base64.
    """
    if type(value) is dict and len(value) == 1 and isinstance(value.get(KEY), str):
        return decode(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return _walk(value, to_wire, tuples_to_lists=False)


def to_notation(value: Any) -> Any:
    """`value` with every bytes / bytearray / memoryview replaced by the notation, at any
    depth (tuples become lists). Returns `value` itself when it holds no bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return notation(value)
    return _walk(value, to_notation, tuples_to_lists=True)


def _walk(value: Any, convert: Callable[[Any], Any], *, tuples_to_lists: bool) -> Any:
    """`convert` applied to every member of a dict, list or tuple; the container itself
    when nothing changed (one walk, no allocation in the common case), else a copy.
    Anything else is returned as it is."""
    if isinstance(value, dict):
        out: dict[Any, Any] | None = None
        for k, v in value.items():
            c = convert(v)
            if c is not v and out is None:
                out = dict(value)
            if out is not None:
                out[k] = c
        return value if out is None else out
    if isinstance(value, list | tuple):
        items: list[Any] | None = None
        for i, v in enumerate(value):
            c = convert(v)
            if c is not v and items is None:
                items = list(value)
            if items is not None:
                items[i] = c
        if items is not None:
            return items
        return list(value) if tuples_to_lists and isinstance(value, tuple) else value
    return value


def has_binary(value: Any) -> bool:
    """True when `value` holds a binary value (notation or bytes) at any depth."""
    if is_binary(value):
        return True
    if isinstance(value, dict):
        return any(has_binary(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_binary(v) for v in value)
    return False


def binary_size(value: Any) -> int:
    """How many bytes of binary `value` holds, at any depth (the true size, not the
    length of the base64 text). Invalid base64 counts as 0."""
    if isinstance(value, memoryview):
        return value.nbytes
    if isinstance(value, bytes | bytearray):
        return len(value)
    if is_binary(value):
        try:
            return len(decode(value))
        except BinaryError:
            return 0
    if isinstance(value, dict):
        return sum(binary_size(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(binary_size(v) for v in value)
    return 0


_PRINTABLE = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")


def hexdump(data: bytes | bytearray | memoryview | dict[str, Any], width: int = 16) -> str:
    """A classic hex dump: offset, hex bytes, ASCII (`.` for anything unprintable).

        00000000  de ad be ef 00 41 42 43  |....ABC|

    `data` may also be the notation. One line per `width` bytes, the hex column padded
    so the ASCII column lines up on the last line; an empty input gives "".
    """
    raw = decode(data) if isinstance(data, dict) else bytes(data)
    if width < 1:
        raise ValueError("width must be at least 1")
    lines = []
    hex_width = width * 3 - 1
    digits = max(8, len(f"{max(0, len(raw) - 1):x}"))
    for off in range(0, len(raw), width):
        chunk = raw[off:off + width]
        hx = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if chr(b) in _PRINTABLE else "." for b in chunk)
        lines.append(f"{off:0{digits}x}  {hx:<{hex_width}}  |{text}|")
    return "\n".join(lines)


_HEX_SEPARATORS = re.compile(r"[\s,:;\-_]+")


def parse_hex(text: str) -> dict[str, str]:
    """Hex typed by a person as the notation: "de ad be ef", "DEADBEEF", "de:ad:be:ef",
    "0xde, 0xad" and a hexdump's hex column all work. BinaryError says where the
    input stops being hex."""
    cleaned = []
    for token in _HEX_SEPARATORS.split(text.strip()):
        if not token:
            continue
        tok = token[2:] if token[:2].lower() == "0x" else token
        cleaned.append(tok)
    joined = "".join(cleaned)
    bad = next((i for i, ch in enumerate(joined) if ch not in string.hexdigits), None)
    if bad is not None:
        raise BinaryError(f"not hex: {joined[bad]!r} (hex digits are 0-9 and a-f)")
    if len(joined) % 2:
        raise BinaryError(f"an odd number of hex digits ({len(joined)}): each byte is two "
                          "digits")
    return notation(bytes.fromhex(joined))


def from_file(path: Path | str) -> dict[str, str]:
    """A file's bytes as the notation (OSError if it cannot be read)."""
    return notation(Path(path).read_bytes())
