"""orjson behind the `json` module interface python-socketio expects (`json=` argument).

python-socketio encodes every packet with `json.dumps(data, separators=...)`; orjson is
several times faster and we push many thousands of packets a second through the
inspector, so we adapt its API (bytes out, no keyword options) to the stdlib one.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

_OPTS = orjson.OPT_NON_STR_KEYS


class JSONDecodeError(ValueError):
    """Raised by `loads`; a ValueError like the stdlib's, so callers can catch either."""


def _default(obj: Any) -> Any:
    """Binary attachments and tuples/sets become JSON too, so the store never chokes."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"$binary": base64.b64encode(bytes(obj)).decode()}
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, **_ignored: Any) -> str:
    """Serialize to a compact str; stdlib keyword options (separators, ...) are ignored."""
    return orjson.dumps(obj, default=_default, option=_OPTS).decode()


def dumpb(obj: Any) -> bytes:
    """Serialize to bytes, for SQLite and files where a str round trip is wasted work."""
    return orjson.dumps(obj, default=_default, option=_OPTS)


def loads(s: str | bytes | bytearray | memoryview, **_ignored: Any) -> Any:
    """Parse JSON text; raises JSONDecodeError (a ValueError) on bad input."""
    try:
        return orjson.loads(s)
    except orjson.JSONDecodeError as exc:
        raise JSONDecodeError(str(exc)) from exc
