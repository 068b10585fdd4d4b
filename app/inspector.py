"""The queue inspector's Qt-free logic: the list of queues, depth history, /queue admin.

The GUI's Queues tab (ui/inspector) shows three kinds of queue side by side:
- the local queues of the store (docs/DESIGN.md "Queues"): each namespace's outbox
  (`outbox:<ns>`) and every inbox (`room:`, `dm:`, `event:`, `work:` deliveries);
- the bundled server's work queues and their dead letters, as `/queue stats` reports them,
  keyed here as `server:<Q>` and `server:<Q>.dead` so they never collide with store keys.

`QueueRow` is one line of that list whatever its origin; `DepthSampler` keeps a bounded
history of depth (and of a throughput rate) per queue for sparklines and charts;
`WorkQueues` wraps the `/queue` admin events with one-sentence errors; and
`replay_elsewhere` replays into a second, short-lived session on another server, through
that session's own durable outbox.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.keys import Kind, outbox_key, parse_key, parse_ts
from app.store import QueueInfo

if TYPE_CHECKING:
    from app.config import ConnectionConfig
    from app.outbox import OutboxMessage
    from app.replay import ReplayItem
    from app.session import Session
    from app.store import StoredMessage

#: prefix of the keys of server work queues (the store never uses it)
SERVER_PREFIX = "server:"
DEAD_SUFFIX = ".dead"
#: order of the kinds in the list (outboxes first: what this client still has to send)
KIND_ORDER = ("outbox", "room", "dm", "event", "delivered", "work", "dead")
KIND_TITLES = {"outbox": "Outbox", "room": "Room", "dm": "Direct messages", "event": "Event",
               "delivered": "Deliveries", "work": "Work queue", "dead": "Dead letters"}
#: `peek` returns at most this many messages (docs/PROTOCOL.md)
PEEK_MAX = 1000


@dataclass(slots=True)
class QueueRow:
    """One queue as the inspector lists it.

    `depth` is what waits (outbox: queued + sent; inbox: stored; work queue: waiting;
    dead letters: how many). `counter` only grows while messages flow and is what the
    rate is computed from (outbox: acked + failed; inbox: stored; work: acked + dead).
    """

    key: str
    kind: str
    label: str
    namespace: str | None = None
    depth: int = 0
    inflight: int = 0
    acked: int = 0
    failed: int = 0
    #: outbox: sent once with no ack, waiting for the user's "Send again"
    no_ack: int = 0
    total: int = 0
    consumers: int | None = None
    last_ts: float | None = None

    @property
    def is_server(self) -> bool:
        """A server work queue or its dead letters (shown through /queue peek)."""
        return self.key.startswith(SERVER_PREFIX)

    @property
    def work_queue(self) -> str | None:
        """The /queue name (`Q` or `Q.dead`) of a server row, else None."""
        return self.key[len(SERVER_PREFIX):] if self.is_server else None

    @property
    def is_outbox(self) -> bool:
        return self.kind == "outbox"

    @property
    def counter(self) -> int:
        """What the rate is computed from: messages done (outbox, work) or stored."""
        if self.kind in ("outbox", "work"):
            return self.acked + self.failed
        return self.total

    def sort_key(self) -> tuple[int, str]:
        kind = self.kind
        if kind == "dead":  # dead letters right under their queue
            return KIND_ORDER.index("work"), self.label[: -len(DEAD_SUFFIX)] + "\x01"
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER),
                self.label.lower())


def describe_key(key: str) -> tuple[str, str, str | None]:
    """(kind, label, namespace) of a queue key: `room:/chat:general` -> room, #general."""
    if key.startswith(SERVER_PREFIX):
        name = key[len(SERVER_PREFIX):]
        return ("dead" if name.endswith(DEAD_SUFFIX) else "work"), name, "/queue"
    parsed = parse_key(key)
    if parsed is None:
        return "event", key, None
    ns, name = parsed.namespace, parsed.name
    if parsed.kind is Kind.OUTBOX:
        return "outbox", f"Outbox {ns}", ns or "/"
    if parsed.kind is Kind.WORK:
        return "delivered", f"Delivered from {name}", ns
    if parsed.kind is Kind.ROOM:
        return "room", f"#{name}", ns
    if parsed.kind is Kind.DM:
        return "dm", f"@{name}", ns
    return "event", f"{name}  ·  {ns}", ns


def local_rows(infos: Iterable[QueueInfo], namespaces: Iterable[str] = ()) -> list[QueueRow]:
    """Rows for the store's queues; every namespace in `namespaces` gets an outbox row."""
    rows: dict[str, QueueRow] = {}
    for ns in namespaces:
        key = outbox_key(ns)
        kind, label, nsname = describe_key(key)
        rows[key] = QueueRow(key, kind, label, nsname)
    for info in infos:
        kind, label, info_ns = describe_key(info.queue)
        row = QueueRow(info.queue, kind, label, info_ns, total=info.total, last_ts=info.last_ts)
        if kind == "outbox":
            row.depth, row.inflight = info.queued, info.sent
            row.acked, row.failed, row.no_ack = info.acked, info.failed, info.no_ack
        else:
            row.depth = info.total
        rows[info.queue] = row
    return list(rows.values())


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def server_rows(stats: Iterable[Mapping[str, Any]]) -> list[QueueRow]:
    """Rows for `/queue stats` entries: each queue Q and its dead letters Q.dead."""
    out: list[QueueRow] = []
    for s in stats:
        name = s.get("queue")
        if not isinstance(name, str) or not name:
            continue
        depth, inflight, acked, dead = (_int(s.get(k)) for k in
                                        ("depth", "inflight", "acked", "dead"))
        consumers = _int(s.get("consumers"))
        out.append(QueueRow(SERVER_PREFIX + name, "work", name, "/queue", depth=depth,
                            inflight=inflight, acked=acked, failed=dead,
                            total=depth + inflight + acked + dead, consumers=consumers))
        out.append(QueueRow(SERVER_PREFIX + name + DEAD_SUFFIX, "dead", name + DEAD_SUFFIX,
                            "/queue", depth=dead, total=dead))
    return out


def merge_rows(local: Iterable[QueueRow], server: Iterable[QueueRow]) -> list[QueueRow]:
    """Local and server rows in one list, in display order (outboxes first)."""
    by_key = {r.key: r for r in local}
    for r in server:
        by_key[r.key] = r
    return sorted(by_key.values(), key=QueueRow.sort_key)


# ---- depth over time -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sample:
    """Depth of a queue at time `t` (epoch seconds) and its rate (messages/s) just before."""

    t: float
    depth: int
    rate: float


class DepthSampler:
    """A bounded history of (time, depth, rate) per queue: memory stays flat for days.

    `record` is called with the current rows on each refresh (the GUI does it every
    second or two); the rate is the growth of each row's `counter` per second since
    the previous sample (never negative: a purge or a restart is not a negative rate).
    """

    def __init__(self, capacity: int = 600, max_queues: int = 2000,
                 min_interval: float = 0.9) -> None:
        self.capacity = max(2, capacity)
        #: samples closer together than this only update the last depth (a rate over a
        #: fraction of a second would turn one burst into a spike)
        self.min_interval = min_interval
        self.max_queues = max_queues
        self._series: dict[str, deque[Sample]] = {}
        self._last_counter: dict[str, int] = {}

    def record(self, rows: Iterable[QueueRow], now: float | None = None) -> None:
        now = time.time() if now is None else now
        for r in rows:
            self.record_one(r.key, r.depth, r.counter, now)

    def record_one(self, key: str, depth: int, counter: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= self.max_queues:
                oldest = next(iter(self._series))
                self.forget(oldest)
            series = self._series[key] = deque(maxlen=self.capacity)
        rate = 0.0
        prev = self._last_counter.get(key)
        if series and prev is not None:
            dt = now - series[-1].t
            if dt < self.min_interval or dt <= 0:  # too soon: only the depth moves
                series[-1] = Sample(series[-1].t, depth, series[-1].rate)
                return
            rate = max(0.0, (counter - prev) / dt)
        series.append(Sample(now, depth, rate))
        self._last_counter[key] = counter

    def history(self, key: str) -> list[Sample]:
        return list(self._series.get(key, ()))

    def depths(self, key: str) -> list[int]:
        return [s.depth for s in self._series.get(key, ())]

    def keys(self) -> list[str]:
        return list(self._series)

    def forget(self, key: str) -> None:
        self._series.pop(key, None)
        self._last_counter.pop(key, None)

    def clear(self) -> None:
        self._series.clear()
        self._last_counter.clear()


# ---- the server's work queues ----------------------------------------------------------

class WorkQueueError(Exception):
    """A /queue admin call was refused or could not be made; str() is one sentence."""


class WorkQueues:
    """`/queue` admin calls for the inspector: stats, peek, requeue, purge, publish.

    Stats, peek, requeue and purge are direct calls (the answer is the point; nothing
    is lost when one fails). Publishing goes through the outbox like every emit, so a
    message written while offline is sent once connected.
    """

    NAMESPACE = "/queue"

    def __init__(self, session: Session, timeout: float = 5.0) -> None:
        self.session = session
        self.timeout = timeout

    def available(self) -> bool:
        """True when /queue is open and ready on the session."""
        return self.NAMESPACE in getattr(self.session, "namespaces", ()) and \
            self.session.is_ready(self.NAMESPACE)

    async def _call(self, event: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        try:
            ack = await self.session.call(self.NAMESPACE, event, payload if payload is not None
                                          else {}, timeout=self.timeout)
        except TimeoutError:
            raise WorkQueueError(f"The server did not answer {event!r} within "
                                 f"{self.timeout:g} s.") from None
        except Exception as exc:
            raise WorkQueueError(f"Could not {event}: {exc}") from None
        if not isinstance(ack, dict):
            raise WorkQueueError(f"Unexpected answer to {event!r}: {ack!r:.200}")
        if ack.get("ok") is False:
            raise WorkQueueError(str(ack.get("error") or f"{event} was refused"))
        return ack

    async def stats(self) -> list[dict[str, Any]]:
        ack = await self._call("stats", {})
        queues = ack.get("queues")
        return [q for q in queues if isinstance(q, dict)] if isinstance(queues, list) else []

    async def peek(self, queue: str, limit: int = PEEK_MAX) -> list[dict[str, Any]]:
        ack = await self._call("peek", {"queue": queue, "limit": max(1, min(PEEK_MAX, limit))})
        msgs = ack.get("messages")
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []

    async def requeue(self, queue: str, seq: int) -> None:
        """Move dead letter `seq` of `queue` (Q or Q.dead) back to the tail of Q."""
        await self._call("requeue", {"queue": queue, "seq": int(seq)})

    async def purge(self, queue: str) -> int:
        ack = await self._call("purge", {"queue": queue})
        return _int(ack.get("removed"))

    def publish(self, queue: str, payload: Any, msg_id: str | None = None) -> OutboxMessage:
        """Publish through the outbox (durable; the outbox puts the stable id in)."""
        body: dict[str, Any] = {"queue": queue, "payload": payload}
        if msg_id:
            body["id"] = msg_id
        return self.session.emit(self.NAMESPACE, "publish", body)


def base_queue(name: str) -> str:
    """`Q` for `Q.dead` (and for `Q`)."""
    return name[: -len(DEAD_SUFFIX)] if name.endswith(DEAD_SUFFIX) else name


def peek_item(queue: str, message: Mapping[str, Any]) -> ReplayItem:
    """A peeked work-queue message as a replay item: publish its payload to Q again."""
    from app.replay import ReplayItem

    return ReplayItem("/queue", "publish",
                      [{"queue": base_queue(queue), "payload": message.get("payload")}],
                      parse_ts(message.get("ts")) or 0.0)


# ---- replay into another server ----------------------------------------------------------

@dataclass
class ElsewhereResult:
    """What a replay to another server did: the new outbox messages, and whether all of
    them were acknowledged before `timeout` (if not, they stay in that profile's outbox
    and go out the next time it connects)."""

    messages: list[OutboxMessage]
    delivered: bool
    error: str | None = None


async def replay_elsewhere(config: ConnectionConfig, data_dir: Path | str,
                           items: Iterable[ReplayItem | StoredMessage], *,
                           namespace: str | None = None, event: str | None = None,
                           room: str | None = None, speed: float | None = None,
                           edit: Callable[[ReplayItem], ReplayItem | None] | None = None,
                           timeout: float = 30.0) -> ElsewhereResult:
    """Replay into a temporary session on `config.url`, whose outbox lives in `data_dir`.

    Connects first (so spacing kept with `speed` is kept on the wire), enqueues through
    that session's outbox (app.replay.Replayer: new ids, retargeting), waits until it is
    flushed, and closes. Nothing is lost if the server is unreachable: the messages are
    on disk in `data_dir` and are sent when that profile connects again.
    """
    from app.replay import Replayer
    from app.session import Session

    items = list(items)
    needed: list[str] = []
    for it in items:
        ns = namespace or it.namespace
        if ns not in needed:
            needed.append(ns)
    cfg = dataclasses.replace(config, namespaces=needed or list(config.namespaces))
    session = Session(cfg, data_dir)
    try:
        connected = await session.connect()
        msgs = await Replayer(session).replay(items, namespace=namespace, event=event,
                                              room=room, speed=speed, edit=edit)
        if not connected:
            return ElsewhereResult(msgs, False, session.last_error or "could not connect")
        delivered = await session.wait_flushed(timeout)
        failed = [m for m in (session.outbox.get(m.id) for m in msgs)
                  if m is not None and m.state.value == "failed"]
        if failed:
            return ElsewhereResult(msgs, False, failed[0].error or "refused by the server")
        return ElsewhereResult(msgs, delivered,
                               None if delivered else f"not all acknowledged in {timeout:g} s")
    finally:
        await session.close()
