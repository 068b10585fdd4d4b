"""InlineEngineIO's websocket read loop: no task per message, yet silence still ends the
connection and a burst still lets the loop's other callbacks run."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from socketio.packet import Packet

from app import sioclient
from app.sioclient import InlineEngineIO, SioClient, _plain_event
from tests.app.test_sioclient_inline import Hooks


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
        if data.endswith("t"):  # one for the task path
            return False
        seen.append(data)
        return True

    eio.inline = inline
    return eio, ws, queue


@pytest.mark.timeout(30)
@pytest.mark.parametrize("yield_every", [0.0, 60.0])
async def test_a_burst_is_read_in_order_and_other_callbacks_still_run(
        monkeypatch: pytest.MonkeyPatch, yield_every: float) -> None:
    monkeypatch.setattr(sioclient, "YIELD_EVERY_S", yield_every)
    seen: list[Any] = []
    eio, ws, _queue = connected(seen)
    # "4" + a digit: a Socket.IO packet, taken on the fast path; "4m...": engine.io's
    # own decoding; "...t": refused inline, so it and what follows wait for tasks
    sent = [f"{i}t" if i % 7 == 3 else f"{i}x" if i % 2 else f"m{i}" for i in range(200)]
    for data in sent:
        ws.feed(f"4{data}")
    task = asyncio.ensure_future(eio._read_loop_websocket())
    asyncio.get_running_loop().call_soon(seen.append, "timer")

    def messages() -> list[Any]:
        return [s[1] if isinstance(s, tuple) else s for s in seen if s != "timer"]

    while len(messages()) < 200:
        await asyncio.sleep(0)
    assert messages() == sent  # all of them, in arrival order
    assert ("task", "3t") in seen
    if yield_every == 0.0:
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


@pytest.mark.parametrize("raw", [
    '2["tick",{"i":1,"text":"tick 1"}]',
    '2/chat,["message",{"text":"hi, there","n":-1}]',
    '2/chat?x=1,["message",2]',
    '2/,["a"]',
    '2/a-b,["x-y",[1,2]]',
    '2["big",123456789012345678901234567890]',
    '2["nan",NaN]',
])
def test_the_plain_event_decoder_agrees_with_python_socketio(raw: str) -> None:
    SioClient(Hooks())  # installs our json module into python-socketio's Packet
    pkt = Packet(encoded_packet=raw)
    assert _plain_event(raw) == (pkt.namespace or "/", pkt.data)


@pytest.mark.parametrize("raw", [
    '2/chat,7["message"]',   # wants an ack
    '21-["file",{"_placeholder":true,"num":0}]',
    '2/chat,["message"',     # broken JSON: the full decoder reports it
    '2[]',                   # no event name
    '2/chat',                # no data
    '2{"a":1}',              # not a list
    '3/chat,7[{"ok":true}]',
])
def test_the_plain_event_decoder_leaves_every_other_form_to_the_full_one(raw: str) -> None:
    assert _plain_event(raw) is None
