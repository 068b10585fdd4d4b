"""Per-socket rate limiting (``--rate-limit N`` events per second).

A token bucket per socket: bursts up to N events are fine, the sustained rate is N per
second. Over the limit an event is not processed and gets ``code: rate_limited``; the
connection stays up, because a chatty client should slow down, not lose its session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by socket id; ``rate`` None means unlimited."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
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
