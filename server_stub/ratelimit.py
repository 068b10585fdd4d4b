"""Per-socket rate limiting (``--rate-limit N`` events per second), and shedding load
when the whole server is behind (``--overload-lag``).

A token bucket per socket: bursts up to N events are fine, the sustained rate is N per
second. Over the limit an event is not processed and gets ``code: rate_limited``; the
connection stays up, because a chatty client should slow down, not lose its session.
:class:`LoadShedder` gives the same answer, with a ``retry_after`` hint, to events that
would add work while the server as a whole cannot keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by socket id; ``rate`` None means unlimited."""

    def __init__(self, rate: float | None, shedder: LoadShedder | None = None) -> None:
        self.rate = rate
        #: the server-wide overload check the guard asks after the per-socket one
        self.shedder = shedder or LoadShedder(None)
        # Below 1 event/s the bucket must still hold one whole token to allow anything.
        self.capacity = max(1.0, rate or 0.0)
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, sid: str) -> bool:
        """Take one token for ``sid``; False when its bucket is empty."""
        if self.rate is None:
            return True
        now = time.monotonic()
        bucket = self._buckets.get(sid)
        if bucket is None:
            bucket = self._buckets[sid] = _Bucket(tokens=self.capacity, updated=now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def forget(self, sid: str) -> None:
        """Drop the bucket of a socket that disconnected."""
        self._buckets.pop(sid, None)


#: Events that make the server store and fan out: the ones shed under overload. Reads,
#: joins and queue acks are never shed (an ack lowers the load; a join is how a client
#: recovers).
SHEDDABLE = frozenset({"message", "edit", "delete", "dm", "typing", "publish"})
#: ``--overload-lag`` default: event-loop delay above which new work is refused.
DEFAULT_OVERLOAD_LAG = 0.5
#: How often the event loop's delay is sampled.
SAMPLE_SECONDS = 0.1
#: The retry hint is the measured delay times this, within these bounds (seconds),
#: spread by +-:data:`RETRY_SPREAD` so refused senders do not all come back at once.
RETRY_FACTOR = 2.0
RETRY_SPREAD = 0.5
RETRY_MIN = 0.5
RETRY_MAX = 10.0
#: Clients behind (see :meth:`server_stub.transport.heartbeat.Heartbeats.behind`) that
#: count as the server outrunning its clients: at least this many, and this share of
#: them. One slow laptop is not overload (its send queue limit deals with it).
BEHIND_MIN = 5
BEHIND_SHARE = 0.1
#: The retry hint while clients are behind: about one read of their backlog.
BEHIND_RETRY = 2.0


class LoadShedder:
    """Refuses new work while the event loop runs late, so the server sheds load with an
    answer (``rate_limited`` and a ``retry_after`` hint) instead of falling so far behind
    that Engine.IO heartbeats time out and every client is dropped.

    The measure is the event loop's delay: how late a timer set for
    :data:`SAMPLE_SECONDS` fires. A loop that keeps up has a delay of a few
    milliseconds; a delay of half a second means every packet, pings and pongs
    included, waits that long. The delay seen last decays slowly (halved each sample
    that is on time) so shedding does not flap on and off between samples.

    The second measure is the clients': how many leave a PING unanswered for long
    (``behind``, from the heartbeat sweep). A PING travels behind the data sent before
    it, so a late pong means a client reading seconds behind; many at once means the
    fan-out outruns its readers, whose pongs would soon time out.
    """

    def __init__(self, max_lag: float | None,
                 behind: Callable[[], tuple[int, int]] | None = None) -> None:
        self.max_lag = max_lag
        #: (clients reading late, clients): the second overload signal
        self.behind = behind
        #: the event loop's recent delay, seconds
        self.lag = 0.0
        #: events refused because of overload since the start
        self.shed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.max_lag is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(SAMPLE_SECONDS)  # the probe itself: how late does it fire?
            late = max(0.0, loop.time() - before - SAMPLE_SECONDS)
            self.lag = late if late > self.lag else self.lag / 2

    def retry_after(self, event: str) -> float | None:
        """None to process ``event`` now, else the seconds to wait before resending."""
        if self.max_lag is None or event not in SHEDDABLE:
            return None
        if self.lag > self.max_lag:
            wait = self.lag * RETRY_FACTOR
        elif self.clients_behind():
            wait = BEHIND_RETRY
        else:
            return None
        self.shed += 1
        spread = random.uniform(1 - RETRY_SPREAD, 1 + RETRY_SPREAD)  # jitter, not a secret
        return round(min(RETRY_MAX, max(RETRY_MIN, wait * spread)), 2)

    def clients_behind(self) -> bool:
        """Whether so many clients read late that the server outruns them."""
        if self.behind is None:
            return False
        late, total = self.behind()
        return late >= max(BEHIND_MIN, total * BEHIND_SHARE)
