"""The JSON module handed to python-socketio and python-engineio (``json=``).

Both libraries call ``dumps(obj, separators=(",", ":"))`` and ``loads(text)`` and expect
``str`` back. orjson does the work because it is several times faster than the stdlib;
the stdlib is the fallback for the few inputs orjson refuses (integers beyond 64 bits,
lone surrogates, ``NaN`` written by Python clients, very deep nesting), so an unusual but
decodable packet is still answered instead of being dropped by the transport.
"""

from __future__ import annotations

import json as _stdlib_json
import re
from typing import Any

import orjson

JSONDecodeError = _stdlib_json.JSONDecodeError

#: orjson turns integers beyond 64 bits into floats silently; 20+ digits in a row is the
#: cheap sign that the exact stdlib parser is needed.
_LONG_NUMBER = re.compile(r"\d{20}")


def dumps(obj: Any, **_ignored: Any) -> str:
    """Compact JSON text; keyword arguments such as ``separators`` are accepted and ignored."""
    try:
        return orjson.dumps(obj).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        # ensure_ascii keeps lone surrogates as \u escapes, so the text stays encodable.
        return _stdlib_json.dumps(obj, separators=(",", ":"))


def loads(text: str | bytes, **_ignored: Any) -> Any:
    """Parse JSON text, falling back to the stdlib for inputs orjson rejects."""
    if isinstance(text, str) and _LONG_NUMBER.search(text):
        return _stdlib_json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _stdlib_json.loads(text)


def _bytes_as_length(obj: Any) -> str:
    """orjson ``default`` hook: binary attachments count by their length."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return "x" * len(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def encoded_size(obj: Any) -> int:
    """Size in bytes of ``obj`` encoded as compact UTF-8 JSON (binary parts by length)."""
    try:
        return len(orjson.dumps(obj, default=_bytes_as_length))
    except (TypeError, orjson.JSONEncodeError):
        try:
            text = _stdlib_json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                                      default=_bytes_as_length)
        except (TypeError, ValueError, RecursionError):
            # Not measurable means not something we want to relay either.
            return 1 << 62
        return len(text.encode("utf-8", "surrogatepass"))
