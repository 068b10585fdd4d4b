"""Shared helpers for the client-core tests (no fixed sleeps: everything waits on a
condition with a timeout)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from app.store import StoredMessage


async def until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02,
                what: str = "condition") -> Any:
    """Poll `check` on the loop until it is truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def room_rows(n: int, queue: str = "room:/chat:big", start: int = 1) -> list[tuple]:
    """Tuples for MessageStore.bulk_insert: n chat messages with offsets and words."""
    words = ("alpha", "bravo", "charlie", "delta", "echo")
    rows = []
    for i in range(start, start + n):
        text = f"msg {i} {words[i % 5]}" + (" needle" if i % 100_000 == 7 else "")
        args = f'[{{"room":"big","text":"{text}","offset":{i}}}]'
        rows.append((queue, "in", "/chat", "message", args, 1_700_000_000.0 + i, None, "big",
                     i, "bob", text, 0, None, None, None, None, None, None))
    return rows


def msg(queue: str, text: str, offset: int | None = None, event: str = "message",
        ns: str = "/chat") -> StoredMessage:
    """A small inbound StoredMessage."""
    room = queue.split(":", 2)[2] if queue.startswith("room:") else None
    payload: dict[str, Any] = {"text": text}
    if room:
        payload["room"] = room
    if offset is not None:
        payload["offset"] = offset
    return StoredMessage(queue=queue, direction="in", namespace=ns, event=event,
                         args=[payload], room=room, offset=offset, text=text)
