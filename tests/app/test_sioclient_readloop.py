"""InlineEngineIO's websocket read loop: no task per message, yet silence still ends the
connection and a burst still lets the loop's other callbacks run."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from app import sioclient
from app.sioclient import InlineEngineIO


class FakeWS:
    """aiohttp's websocket as the read loop sees it: `receive()` returns a buffered
    message without yielding, and waits when there is none."""

    def __init__(self) -> None:
        self.buffer: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()

    def feed(self, text: str) -> None:
        self.buffer.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, text, None))

    async def receive(self) -> aiohttp.WSMessage:
        return await self.buffer.get()


class RecordingQueue(asyncio.Queue[Any]):
    def __init__(self) -> None:
        super().__init__()
        self.put_log: list[Any] = []

    async def put(self, item: Any) -> None:
        self.put_log.append(item)
        await super().put(item)


def connected(seen: list[Any]) -> tuple[InlineEngineIO, FakeWS, RecordingQueue]:
    eio = InlineEngineIO()
    ws = FakeWS()
    queue = RecordingQueue()
    eio.ws = ws
    eio.queue = queue
    eio.state = "connected"
    eio.ping_interval, eio.ping_timeout = 25, 20  # as a handshake sets them
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    eio.write_loop_task = done

    async def on_message(data: Any) -> None:  # the task path: not taken here
        seen.append(("task", data))

    async def on_disconnect(reason: Any) -> None:
        seen.append(("disconnect", reason))

    eio.on("message", on_message)
    eio.on("disconnect", on_disconnect)

    def inline(data: Any) -> bool:
        seen.append(data)
        return True

    eio.inline = inline
    return eio, ws, queue


@pytest.mark.timeout(30)
async def test_a_burst_is_read_in_order_and_other_callbacks_still_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sioclient, "YIELD_EVERY_S", 0.0)
    seen: list[Any] = []
    eio, ws, _queue = connected(seen)
    for i in range(200):
        ws.feed(f"4m{i}")
    task = asyncio.ensure_future(eio._read_loop_websocket())
    asyncio.get_running_loop().call_soon(seen.append, "timer")
    while len([s for s in seen if s != "timer"]) < 200:
        await asyncio.sleep(0)
    messages = [s for s in seen if s != "timer"]
    assert messages == [f"m{i}" for i in range(200)]  # all of them, in arrival order
    assert seen.index("timer") < 10  # not after the whole burst
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.timeout(30)
async def test_silence_longer_than_ping_interval_plus_timeout_ends_the_connection() -> None:
    seen: list[Any] = []
    eio, ws, queue = connected(seen)
    eio.ping_interval = 0.1
    eio.ping_timeout = 0.1
    ws.feed("4hello")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.wait_for(eio._read_loop_websocket(), 10)
    assert loop.time() - t0 >= 0.2
    assert seen[0] == "hello"
    assert queue.put_log == [None]  # the write loop is told to stop
    assert ("disconnect", eio.reason.TRANSPORT_ERROR) in seen
    assert eio.state == "disconnected"


@pytest.mark.timeout(30)
async def test_a_cancel_from_outside_is_not_taken_for_silence() -> None:
    seen: list[Any] = []
    eio, _ws, queue = connected(seen)
    task = asyncio.ensure_future(eio._read_loop_websocket())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert queue.put_log == []
