"""Payload checks shared by the namespaces.

Handlers call these helpers on raw client input; a problem raises :class:`RequestError`,
which the handler guard turns into the one-object ack ``{"ok": false, "error", "code"}``.
Nothing a client sends is trusted: types are checked exactly (``True`` is not a number),
sizes are measured on the JSON encoding, and unknown extra fields are simply ignored.
"""

from __future__ import annotations

import re
from typing import Any

from server_stub import jsonmod

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4000
MAX_ID_CHARS = 128
DEAD_SUFFIX = ".dead"

USER_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
NAME_RE = re.compile(r"[A-Za-z0-9 ._-]{1,64}")

NAME_RULE = "1-64 characters: ASCII letters, digits, space, '.', '_' or '-'"
USER_RULE = "1-32 characters: ASCII letters, digits, '.', '_' or '-'"


def folded(user: str) -> str:
    """The form a name claim is stored under (``server_stub.claims``): "Alice" and
    "alice" share it, so neither passes for the other."""
    return user.lower()


class RequestError(Exception):
    """A request the server will not carry out (bad payload, unknown seq, ...); ``code`` is
    one of the contract's error codes and ``error`` a sentence for a human."""

    def __init__(self, error: str, code: str = "invalid") -> None:
        super().__init__(error)
        self.error = error
        self.code = code

    def ack(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, "code": self.code}


def not_found(error: str) -> RequestError:
    """The error for a room not joined, a seq not in flight, a dead message not there."""
    return RequestError(error, "not_found")


def check_size(value: Any, what: str = "payload") -> None:
    """Refuse anything whose JSON encoding exceeds the 64 KiB cap."""
    size = jsonmod.encoded_size(value)
    if size > MAX_PAYLOAD_BYTES:
        raise RequestError(f"The {what} is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes.",
                           "too_large")


def one_object(event: str, args: tuple[Any, ...], *, optional: bool = False) -> dict[str, Any]:
    """The single payload object of an event.

    ``optional`` events (``rooms``, ``stats``) also take no payload or ``null``.
    """
    for arg in args:
        check_size(arg)
    if len(args) > 1:
        raise RequestError(f"'{event}' takes one payload object, got {len(args)} arguments.")
    if not args or args[0] is None:
        if optional:
            return {}
        raise RequestError(f"'{event}' needs a payload object.")
    payload = args[0]
    if not isinstance(payload, dict):
        raise RequestError(
            f"The '{event}' payload must be an object, not {_kind(payload)}.")
    return payload


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _field(payload: dict[str, Any], key: str, *, required: bool) -> Any:
    value = payload.get(key)
    if value is None and required:
        raise RequestError(f"The field '{key}' is missing.")
    return value


def name(payload: dict[str, Any], key: str, *, allow_dead: bool = False) -> str:
    """A room or queue name; ``allow_dead`` also accepts ``<queue>.dead``."""
    value = _field(payload, key, required=True)
    if not isinstance(value, str):
        raise RequestError(f"'{key}' must be a string, not {_kind(value)}.")
    if allow_dead and value.endswith(DEAD_SUFFIX) and NAME_RE.fullmatch(
            value[: -len(DEAD_SUFFIX)]):
        return value
    if not NAME_RE.fullmatch(value):
        raise RequestError(f"'{key}' must be {NAME_RULE}.")
    return value


def user(payload: dict[str, Any], key: str) -> str:
    """A user name (the ``to`` of a DM)."""
    value = _field(payload, key, required=True)
    if not isinstance(value, str) or not USER_RE.fullmatch(value):
        raise RequestError(f"'{key}' must be a user name of {USER_RULE}.")
    return value


def text(payload: dict[str, Any], key: str = "text") -> str:
    """Chat text, 1-4000 characters. Too long is ``too_large``: the content is fine, only
    its size is not."""
    value = _field(payload, key, required=True)
    if not isinstance(value, str):
        raise RequestError(f"'{key}' must be a string, not {_kind(value)}.")
    if not value:
        raise RequestError(f"'{key}' must not be empty.")
    if len(value) > MAX_TEXT_CHARS:
        raise RequestError(f"'{key}' has {len(value)} characters; the limit is "
                           f"{MAX_TEXT_CHARS}.", "too_large")
    return value


def msg_id(payload: dict[str, Any], key: str = "id") -> str | None:
    """An optional client-made message id, 1-128 characters."""
    value = _field(payload, key, required=False)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_CHARS:
        raise RequestError(f"'{key}' must be a string of 1-{MAX_ID_CHARS} characters.")
    return value


def integer(payload: dict[str, Any], key: str, *, low: int, high: int | None = None,
            default: int | None = None, required: bool = False) -> int | None:
    """An integer field within [low, high]; ``null`` counts as absent."""
    value = _field(payload, key, required=required)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"'{key}' must be an integer, not {_kind(value)}.")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RequestError(f"'{key}' must be {bounds}.")
    return value


def boolean(payload: dict[str, Any], key: str, *, default: bool) -> bool:
    """A boolean field; ``null`` counts as absent."""
    value = _field(payload, key, required=False)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(f"'{key}' must be true or false, not {_kind(value)}.")
    return value


def required_value(payload: dict[str, Any], key: str) -> Any:
    """Any JSON value, ``null`` included, as long as the key is present."""
    if key not in payload:
        raise RequestError(f"The field '{key}' is missing.")
    return payload[key]
