"""The one decorator every event handler wears.

python-socketio runs each event in its own task and sends the handler's return value as
the ack. Without a guard, an exception would be logged by the library and the client
would wait for an ack that never comes. The guard makes the ack contract hold for every
event: rate limiting first (per socket, then the server's overload shedding), then the
handler; a :class:`RequestError` becomes its
``ok: false`` ack, anything else is logged with a traceback and answered with
``code: "internal"``. The connection and the server always stay up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from socketio.exceptions import ConnectionRefusedError

from server_stub.ratelimit import RateLimiter
from server_stub.storage.base import StorageError
from server_stub.validation import RequestError

log = logging.getLogger(__name__)

P = ParamSpec("P")
Ack = dict[str, Any]


class HasLimiter(Protocol):
    limiter: RateLimiter


S = TypeVar("S", bound=HasLimiter)


def internal_error(what: str, exc: BaseException) -> Ack:
    """The ack for a fault on our side; says what failed without leaking internals."""
    if isinstance(exc, StorageError):
        sentence = f"The server could not save or read data for '{what}'; please retry."
    else:
        sentence = f"The server failed while handling '{what}'; please retry."
    return {"ok": False, "error": sentence, "code": "internal"}


def guarded(
    fn: Callable[Concatenate[S, str, str, P], Awaitable[Ack]],
) -> Callable[Concatenate[S, str, str, P], Awaitable[Ack]]:
    """Wrap ``handler(self, sid, event, *args)`` so it always returns one ack object."""

    @functools.wraps(fn)
    async def wrapper(self: S, sid: str, event: str, *args: P.args, **kwargs: P.kwargs) -> Ack:
        if not self.limiter.allow(sid):
            return {"ok": False, "code": "rate_limited",
                    "error": "Too many events from this connection; slow down and retry."}
        retry_after = self.limiter.shedder.retry_after(event)
        if retry_after is not None:
            return {"ok": False, "code": "rate_limited", "retry_after": retry_after,
                    "error": f"The server is overloaded; retry in {retry_after:g} s."}
        try:
            result = await fn(self, sid, event, *args, **kwargs)
        except RequestError as exc:
            return exc.ack()
        except Exception as exc:
            log.exception("handler for %r failed (sid %s)", event, sid)
            return internal_error(event, exc)
        if not isinstance(result, dict):  # a bug, but the client still gets one object
            log.error("handler for %r returned %r instead of an ack object", event, result)
            return internal_error(event, TypeError("bad ack"))
        return result

    return wrapper


def logged(fn: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """For handlers without an ack (disconnect, background work): log, never raise."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await fn(*args, **kwargs)
        except Exception:
            log.exception("%s failed", fn.__qualname__)

    return wrapper


class Forgetful(Protocol):
    def forget(self, sid: str) -> None: ...


F = TypeVar("F", bound=Forgetful)


def guarded_connect(
    fn: Callable[Concatenate[F, str, P], Awaitable[None]],
) -> Callable[Concatenate[F, str, P], Awaitable[None]]:
    """Wrap a connect handler ``(self, sid, ...)``: refusals pass through (the client gets
    ``connect_error``); an unexpected failure is logged and turned into a refusal too,
    instead of leaving the client waiting for a CONNECT that never comes."""

    @functools.wraps(fn)
    async def wrapper(self: F, sid: str, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await fn(self, sid, *args, **kwargs)
        except ConnectionRefusedError:
            raise
        except Exception:
            log.exception("connect handler failed (sid %s)", sid)
            self.forget(sid)
            raise ConnectionRefusedError(
                "the server failed while accepting the connection; please retry") from None

    return wrapper
