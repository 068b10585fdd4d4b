"""Optional auto-ack consumer for the bundled server's /queue work queues.

Subscribing with a handler means: for each `deliver`, run the handler, then `ack`; if
the handler raises, `nack` (requeue) so another consumer or a later attempt gets it.
Acks are direct calls, not outbox messages: if the connection drops first, the server
hands the message out again anyway (at-least-once), so queuing the ack would only
acknowledge a delivery the server has already taken back.

An extension of the plain session (`app.extension`), on only for SockDesk's own server.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.extension import NamespaceExtension
from app.keys import QUEUE_NAMESPACE, first_object, queue_key
from app.signals import Signal

if TYPE_CHECKING:
    from app.base_session import BaseSession
    from app.store import StoredMessage

log = logging.getLogger(__name__)


@dataclass
class Subscription:
    """A remembered subscription (re-subscribed after every reconnect)."""

    queue: str
    handler: Callable[[dict[str, Any]], Any] | None
    prefetch: int = 10
    auto_ack: bool = True


class QueueConsumer(NamespaceExtension):
    """Subscriptions on /queue and the ack/nack that follows each delivery."""

    NAMESPACE = QUEUE_NAMESPACE
    namespace = QUEUE_NAMESPACE

    def __init__(self, session: BaseSession) -> None:
        self.session = session
        self.subscriptions: dict[str, Subscription] = {}
        self.delivered: Signal[dict[str, Any]] = Signal("delivered")
        self.handled: Signal[Any] = Signal("handled")    # (delivery, ok: bool, error|None)

    async def subscribe(self, queue: str, handler: Callable[[dict[str, Any]], Any] | None
                        = None, prefetch: int = 10, auto_ack: bool = True) -> dict[str, Any]:
        """Subscribe now (if connected) and after every reconnect."""
        self.subscriptions[queue] = Subscription(queue, handler, prefetch, auto_ack)
        if self.session.is_connected(self.NAMESPACE):
            return await self.session.call(self.NAMESPACE, "subscribe",
                                           {"queue": queue, "prefetch": prefetch})
        return {"ok": True, "queue": queue, "pending": True}

    async def unsubscribe(self, queue: str) -> dict[str, Any]:
        """Stop receiving from a queue."""
        self.subscriptions.pop(queue, None)
        if self.session.is_connected(self.NAMESPACE):
            return await self.session.call(self.NAMESPACE, "unsubscribe", {"queue": queue})
        return {"ok": True}

    async def restore(self) -> None:
        """Re-subscribe after a (re)connect."""
        for sub in list(self.subscriptions.values()):
            try:
                await self.session.call(self.NAMESPACE, "subscribe",
                                        {"queue": sub.queue, "prefetch": sub.prefetch})
            except Exception as exc:
                log.warning("re-subscribing %s failed: %s", sub.queue, exc)

    # ---- the extension hooks (app.extension) ---------------------------------------

    def dedupe_id(self, event: str, args: Sequence[Any]) -> str | None:
        """An `id` the user put in a publish is kept as its stable id."""
        first = first_object(args)
        if event == "publish" and first is not None:
            given = first.get("id")
            return given if isinstance(given, str) and given else None
        return None

    def with_dedupe_id(self, event: str, args: list[Any], msg_id: str) -> list[Any]:
        """A publish carries the stable id as `id`, so a resend is not queued twice."""
        first = first_object(args)
        if event == "publish" and first is not None and "id" not in first:
            return [{**first, "id": msg_id}, *args[1:]]
        return args

    def after_ready(self) -> None:
        """Subscriptions are per connection on the server: subscribe again."""
        self.session.spawn(self.restore())

    def classify(self, event: str, args: Sequence[Any], direction: str,
                 me: str | None) -> str:
        """Deliveries to their work queue's key, the rest by event."""
        return queue_key(self.NAMESPACE, event, args, direction, me)

    def on_inbound(self, event: str, args: list[Any], stored: StoredMessage) -> None:
        """A delivery runs the subscription's handler."""
        if event == "deliver":
            self.on_deliver(args)

    async def ack(self, queue: str, seq: int) -> Any:
        """Tell the server a delivery is done."""
        return await self.session.call(self.NAMESPACE, "ack", {"queue": queue, "seq": seq})

    async def nack(self, queue: str, seq: int, requeue: bool = True) -> Any:
        """Give a delivery back (requeue) or send it to the dead-letter queue."""
        return await self.session.call(self.NAMESPACE, "nack",
                                       {"queue": queue, "seq": seq, "requeue": requeue})

    def on_deliver(self, args: list[Any]) -> None:
        """A `deliver` arrived: run the subscription's handler in the background."""
        d = first_object(args)
        if d is None:
            return
        self.delivered.emit(d)
        sub = self.subscriptions.get(str(d.get("queue")))
        if sub is not None and (sub.handler is not None or sub.auto_ack):
            self.session.spawn(self._handle(sub, d))

    async def _handle(self, sub: Subscription, d: dict[str, Any]) -> None:
        ok, error = True, None
        try:
            if sub.handler is not None:
                result = sub.handler(d)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            ok, error = False, str(exc) or type(exc).__name__
            log.info("handler for %s seq %s failed: %s", sub.queue, d.get("seq"), error)
        if sub.auto_ack and isinstance(d.get("seq"), int):
            try:
                if ok:
                    await self.ack(sub.queue, d["seq"])
                else:
                    await self.nack(sub.queue, d["seq"], requeue=True)
            except Exception as exc:  # disconnected: the server redelivers
                log.info("could not %s %s seq %s: %s", "ack" if ok else "nack",
                         sub.queue, d.get("seq"), exc)
        self.handled.emit(d, ok, error)
