"""Sending one namespace's outbox: FIFO order, a window of messages in flight, acks.

The flusher is the only writer of a namespace's messages, because python-socketio's
`emit` is not meant for concurrent use, and because FIFO order and "at most `window`
unacknowledged" are properties of one sequential loop. It knows the session only
through `Transport`, so it is tested with a fake one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from app.binary import to_notation
from app.errors import EncodeError
from app.outbox import Outbox
from app.outbox_rows import OutboxMessage, OutboxState
from app.signals import Signal, cancel_and_wait

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What a flusher needs from the session (kept abstract so it is testable alone)."""

    def is_ready(self, namespace: str) -> bool: ...

    async def write(self, namespace: str, event: str, args: list[Any],
                    callback: Callable[..., None] | None) -> None: ...

    async def before_send(self, msg: OutboxMessage) -> None: ...

    def wire_args(self, msg: OutboxMessage) -> list[Any]: ...


#: Wait before resending a `rate_limited` event when the ack gives no `retry_after`, and
#: the longest wait a server may ask for (seconds).
RETRY_DEFAULT = 1.0
RETRY_LONGEST = 60.0


def retry_after(value: Any) -> float | None:
    """For an ack saying the event was refused unprocessed (`code: rate_limited`: too
    many events, or the server is overloaded): how long to wait before sending it again.
    None for any other ack."""
    if not (isinstance(value, dict) and value.get("ok") is False
            and value.get("code") == "rate_limited"):
        return None
    hint = value.get("retry_after")
    if isinstance(hint, int | float) and not isinstance(hint, bool) and hint > 0:
        return min(float(hint), RETRY_LONGEST)
    return RETRY_DEFAULT


def ack_outcome(reply: tuple[Any, ...]) -> tuple[OutboxState, Any, str | None]:
    """Interpret an ack: {"ok": false, ...} fails the message; anything else acks it."""
    value: Any = reply[0] if len(reply) == 1 else list(reply) if reply else None
    if isinstance(value, dict) and value.get("ok") is False:
        err = value.get("error") or value.get("code") or "the server refused the message"
        return OutboxState.FAILED, value, str(err)
    return OutboxState.ACKED, value, None


class NamespaceFlusher:
    """Sends one namespace's queued messages in FIFO order, at most `window` in flight.

    The session calls `set_ready(True)` when the namespace is ready and `set_ready(False)`
    on a disconnect.

    What happens to a message whose ack does not come depends on `resends()`, asked at
    that moment (the server may have said meanwhile that it drops duplicates):
    - True: it is sent again with the same id, up to `max_attempts` sends, and a
      disconnect returns everything in flight to `queued`;
    - False: it was written once and stays written: a timeout or a disconnect makes it
      `no_ack`, and only the user sends it again. A server that cannot drop duplicates
      would otherwise get it twice.

    An ack `rate_limited` says the server did not process the message, so it goes back to
    `queued` whatever `resends()` says, and the flusher sends nothing for the ack's
    `retry_after` seconds (back-pressure from an overloaded server).
    """

    def __init__(self, outbox: Outbox, namespace: str, transport: Transport, *,
                 window: int = 32, ack_timeout: float = 10.0, no_ack: bool = False,
                 max_attempts: int = 3, resends: Callable[[], bool] = lambda: True
                 ) -> None:
        self.outbox = outbox
        self.namespace = namespace
        self.transport = transport
        self.window = max(1, window)
        self.refill_at = max(1, self.window // 2)
        self.ack_timeout = ack_timeout
        self.no_ack = no_ack
        self.max_attempts = max(1, max_attempts)
        self.resends = resends
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._inflight: dict[int, tuple[OutboxMessage, asyncio.TimerHandle | None]] = {}
        self._gen = 0
        self._timeouts: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        #: loop time before which nothing is sent (a server said "retry after")
        self._hold_until = 0.0
        self.idle: Signal[str] = Signal("flusher.idle")
        outbox.wakeup.connect(self._on_wakeup)

    def _on_wakeup(self, ns: str) -> None:
        if ns == self.namespace:
            self._wake.set()

    def start(self) -> None:
        """Start the sending task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"flusher {self.namespace}")

    async def stop(self) -> None:
        """Stop sending; in-flight messages go back to queued."""
        self.outbox.wakeup.disconnect(self._on_wakeup)
        self.set_ready(False)
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def set_ready(self, ready: bool) -> None:
        """Namespace became ready (start sending) or was lost (requeue what is in flight)."""
        if ready:
            self._ready.set()
            self._wake.set()
            return
        self._ready.clear()
        self._gen += 1
        written = list(self._inflight.values())
        for _, timer in written:
            if timer is not None:
                timer.cancel()
        self._inflight.clear()
        if not self.resends():
            for m, _ in written:
                self.outbox.settle(m, OutboxState.NO_ACK, error=(
                    "the connection dropped before the ack; not sent again, because "
                    "this server may not drop duplicates (resend it if it did not arrive)"))
        # what is still `sent` now was marked but never written: send it later
        self.outbox.requeue_sent(self.namespace)

    @property
    def inflight(self) -> int:
        """How many messages wait for their ack right now."""
        return len(self._inflight)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._ready.wait()
            held = self._hold_until - loop.time()
            if held > 0:
                await asyncio.sleep(held)  # the server's retry hint
                continue
            room = self.window - len(self._inflight)
            # Refill in halves of the window, not one message per ack: one `mark_sent`
            # transaction then covers many messages, while half a window stays in flight.
            wanted = room > 0 and (not self._inflight or room >= self.refill_at)
            batch = self.outbox.next_queued(self.namespace, room) if wanted else []
            if not batch:
                if not self._inflight:
                    self.idle.emit(self.namespace)
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.time()
            live = []
            for m in batch:
                if m.expires is not None and m.expires <= now:
                    self.outbox.settle(m, OutboxState.FAILED, error="expired")
                else:
                    live.append(m)
            if not live:
                self.outbox.write_pending_acks()
                continue
            await self._send_batch(live)

    async def _send_batch(self, batch: list[OutboxMessage]) -> None:
        gen = self._gen
        self.outbox.mark_sent(batch)
        for i, m in enumerate(batch):
            if gen != self._gen or not self.transport.is_ready(self.namespace):
                self._requeue_rest(batch[i:], gen)
                return
            try:
                await self.transport.before_send(m)
            except Exception:
                log.debug("before_send failed for %s", m.id, exc_info=True)
            if gen != self._gen:
                self._requeue_rest(batch[i:], gen)
                return
            wants_ack = m.ack and not self.no_ack
            cb = self._make_callback(m, gen) if wants_ack else None
            if wants_ack:
                self._inflight[m.rowid] = (m, None)
            try:
                await self.transport.write(self.namespace, m.event,
                                           self.transport.wire_args(m), cb)
            except EncodeError as exc:
                # this message can never be written (e.g. an integer msgpack cannot
                # hold): it fails alone, the ones after it go on
                self._inflight.pop(m.rowid, None)
                self.outbox.settle(m, OutboxState.FAILED, error=str(exc))
                continue
            except Exception as exc:
                log.debug("write failed for %s: %s", m.id, exc)
                self._inflight.pop(m.rowid, None)
                self._requeue_rest(batch[i:], gen)
                return
            if wants_ack:
                if m.rowid in self._inflight:
                    timer = asyncio.get_running_loop().call_later(
                        self.timeout_of(m), self._on_timeout, m, gen)
                    self._inflight[m.rowid] = (m, timer)
            else:
                self.outbox.settle(m, OutboxState.ACKED)

    def _requeue_rest(self, rest: list[OutboxMessage], gen: int) -> None:
        """Messages marked sent but never written go back to queued."""
        if gen == self._gen:
            for m in rest:
                self._inflight.pop(m.rowid, None)
                self.outbox.requeue(m)
        # if the generation changed, set_ready(False) already requeued every sent row

    def timeout_of(self, m: OutboxMessage) -> float:
        """How long to wait for this message's ack: its own timeout, else the session's."""
        return m.ack_timeout if m.ack_timeout else self.ack_timeout

    def _make_callback(self, m: OutboxMessage, gen: int) -> Callable[..., None]:
        def on_ack(*reply: Any) -> None:
            if gen != self._gen:
                return
            entry = self._inflight.pop(m.rowid, None)
            if entry is None:
                return
            if entry[1] is not None:
                entry[1].cancel()
            self._timeouts.pop(m.rowid, None)
            args = to_notation(list(reply))
            state, value, error = ack_outcome(tuple(args))
            wait = retry_after(value)
            if wait is not None:
                loop = asyncio.get_running_loop()
                self._hold_until = max(self._hold_until, loop.time() + wait)
                self.outbox.requeue(m)  # not processed: send it again after the wait
            else:
                self.outbox.settle(m, state, reply=value, error=error, reply_args=args)
            self._wake.set()
        return on_ack

    def _on_timeout(self, m: OutboxMessage, gen: int) -> None:
        if gen != self._gen or self._inflight.pop(m.rowid, None) is None:
            return
        if not self.resends():
            self.outbox.settle(m, OutboxState.NO_ACK, error=(
                f"no acknowledgement within {self.timeout_of(m):g} s; not sent again, "
                "because this server may not drop duplicates (resend it if it did not "
                "arrive)"))
            self._wake.set()
            return
        n = self._timeouts[m.rowid] = self._timeouts.get(m.rowid, 0) + 1
        if n >= self.max_attempts:
            self._timeouts.pop(m.rowid, None)
            self.outbox.settle(m, OutboxState.FAILED, error=(
                f"no acknowledgement after {n} attempts "
                f"({self.timeout_of(m):g} s each)"))
        else:
            self.outbox.requeue(m)
        self._wake.set()
