"""Broadcast delivery (server_stub.transport.fanout): every member once and in order, whatever its
transport, and websocket frames sent uncompressed even to a client that asks for
permessage-deflate."""

from __future__ import annotations

import asyncio
from unittest import mock

import aiohttp
import pytest
import socketio
from aiohttp import WSMsgType
from aiohttp.http_websocket import WebSocketWriter
from engineio import packet as eio_packet

from server_stub.transport.engine import NodeLikeEngine
from server_stub.transport.fanout import websocket_frames, write_direct
from server_stub.transport.sendqueue import BoundedSendQueue, SendLimits
from tests.server_stub.peers import TIMEOUT, Peer, connected, unique


async def test_websocket_frames_are_not_compressed(url: str) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{url}/socket.io/?EIO=4&transport=websocket", compress=15) as ws:
        opening = await ws.receive_str(timeout=TIMEOUT)
        assert opening.startswith("0{")  # the Engine.IO open packet
        assert ws.compress == 0  # the server declined permessage-deflate


async def test_broadcast_reaches_each_member_once_in_order(url: str) -> None:
    room = unique("fan")
    receivers = [await connected(url, unique("r")) for _ in range(8)]
    sender = await connected(url, unique("s"))
    try:
        for peer in [*receivers, sender]:
            assert (await peer.call("join", {"room": room}))["ok"] is True
        acks = await asyncio.gather(*(
            sender.call("message", {"room": room, "text": f"m{n}", "id": f"id-{n}"})
            for n in range(60)))
        assert all(ack["ok"] for ack in acks)
        for peer in receivers:
            got = [await peer.next("message") for _ in range(60)]
            assert [m["offset"] for m in got] == list(range(1, 61))
            assert sorted(m["text"] for m in got) == sorted(f"m{n}" for n in range(60))
        # Nothing more: a marker sent now is the next message everyone receives.
        await sender.call("message", {"room": room, "text": "marker"})
        for peer in receivers:
            assert (await peer.next("message"))["text"] == "marker"
        assert sender.received("message") == []
    finally:
        for peer in [*receivers, sender]:
            await peer.close()


async def test_long_polling_member_gets_broadcasts(url: str) -> None:
    room = unique("poll")
    poller = await connected(url, unique("p"), transport="polling")
    sender = await connected(url, unique("s"))
    try:
        assert poller.client.transport() == "polling"
        for peer in (poller, sender):
            assert (await peer.call("join", {"room": room}))["ok"] is True
        for n in range(20):
            await sender.call("message", {"room": room, "text": f"m{n}"})
        got = [await poller.next("message") for _ in range(20)]
        assert [m["text"] for m in got] == [f"m{n}" for n in range(20)]
    finally:
        await poller.close()
        await sender.close()


async def test_member_vanishing_mid_stream_does_not_stop_the_others(url: str) -> None:
    room = unique("gone")
    stays = await connected(url, unique("stays"))
    goes = await connected(url, unique("goes"))
    sender = await connected(url, unique("s"))
    try:
        for peer in (stays, goes, sender):
            assert (await peer.call("join", {"room": room}))["ok"] is True
        sends = [asyncio.ensure_future(
            sender.call("message", {"room": room, "text": f"m{n}"})) for n in range(40)]
        await goes.next("message")
        # Drop the websocket without a Socket.IO disconnect, as a crashed client would.
        ws = goes.client.eio.ws
        assert ws is not None
        await ws.close()
        assert all(ack["ok"] for ack in await asyncio.gather(*sends))
        got = [await stays.next("message") for _ in range(40)]
        assert sorted(m["offset"] for m in got) == list(range(1, 41))
        seen = [await stays.next("presence")]
        while seen[-1]["event"] != "left":  # the others' "joined" come first
            seen.append(await stays.next("presence"))
        assert seen[-1]["user"] == goes.user
    finally:
        for peer in (stays, sender):
            await peer.close()
        if goes.client.connected:
            await goes.close()


async def test_multi_argument_broadcast_in_the_sandbox(url: str) -> None:
    listener = await connected(url, unique("l"), "/fan-sandbox")
    talker = await connected(url, unique("t"), "/fan-sandbox")
    try:
        await talker.client.emit("chord", ("c", 4, {"e": True}), namespace="/fan-sandbox")
        assert await listener.next("chord", ns="/fan-sandbox") == ["c", 4, {"e": True}]
    finally:
        await listener.close()
        await talker.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_direct_message_reaches_every_socket_of_the_user(url: str,
                                                               transport: str) -> None:
    user = unique("two")
    first = await connected(url, user)
    second = Peer(url, user)
    await second.client.connect(url, namespaces=["/chat"], auth=second.auth,
                                transports=[transport], wait_timeout=TIMEOUT)
    sender = await connected(url, unique("s"))
    try:
        await second.next("welcome")
        ack = await sender.call("dm", {"to": user, "text": "hi both"})
        assert ack["ok"] is True
        for peer in (first, second):
            assert (await peer.next("dm"))["text"] == "hi both"
    finally:
        for peer in (first, second, sender):
            if peer.client.connected:
                await peer.close()


def test_engineio_still_has_a_send_queue_per_socket() -> None:
    """The fan-out puts packets on this queue directly; a major engine.io change that
    removes it must fail here, loudly, not as silently missing broadcasts."""
    import engineio.async_socket

    server = socketio.AsyncServer(async_mode="aiohttp")
    sock = engineio.async_socket.AsyncSocket(server.eio, "sid")
    assert isinstance(sock.queue, asyncio.Queue)
    assert sock.closed is False


class _Transport(asyncio.WriteTransport):
    """Collects what is written, with a settable unsent backlog."""

    def __init__(self, unsent: int = 0) -> None:
        super().__init__()
        self.written = bytearray()
        self.unsent = unsent
        self.closing = False

    def write(self, data) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def is_closing(self) -> bool:
        return self.closing


@pytest.mark.parametrize("size", [5, 125, 126, 300, 65535, 70_000])
async def test_a_broadcast_frame_is_the_bytes_aiohttp_would_write(size: int) -> None:
    text = "2" + "é" * (size // 2) + "x" * (size % 2)
    pkt = eio_packet.Packet(eio_packet.MESSAGE, text)
    ours = websocket_frames([pkt, pkt])
    theirs = _Transport()
    writer = WebSocketWriter(mock.Mock(), theirs, use_mask=False, compress=0)
    for _ in range(2):
        await writer.send_frame(pkt.encode().encode(), WSMsgType.TEXT)
    assert ours == bytes(theirs.written)
    assert websocket_frames([eio_packet.Packet(eio_packet.MESSAGE, b"\x00bin")]) is None


def _socket(upgrading: bool = False):
    """An engine.io socket on a settled websocket, with nothing queued."""
    queue = BoundedSendQueue(SendLimits(), on_overflow=lambda q: None)
    queue.transport = _Transport()
    queue.websocket = mock.Mock(closed=False)
    return mock.Mock(queue=queue, upgraded=True, upgrading=upgrading, closing=False,
                     closed=False)


async def test_a_broadcast_goes_straight_out_only_when_that_keeps_order() -> None:
    sock = _socket()
    assert write_direct(sock, b"frame") and bytes(sock.queue.transport.written) == b"frame"
    waiting = _socket()
    waiting.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, "2[\"earlier\"]"))
    writing = _socket()
    writing.queue.writing_packets = 1  # the writer holds data it took
    polling = _socket()
    polling.queue.transport = None  # no websocket (long-polling)
    upgrading = _socket(upgrading=True)
    behind = _socket()
    behind.queue.transport.unsent = 1  # the kernel took not all: the client lags
    closing_ws = _socket()
    closing_ws.queue.websocket.closed = True
    for sock in (waiting, writing, polling, upgrading, behind, closing_ws):
        assert not write_direct(sock, b"frame")
        assert sock.queue.transport is None or not sock.queue.transport.written


async def test_an_ack_to_one_socket_goes_straight_out_only_when_that_keeps_order() -> None:
    """Single-socket messages (acks, replies) take the broadcast's direct write too."""
    engine = NodeLikeEngine(async_mode="aiohttp")
    ack = eio_packet.Packet(eio_packet.MESSAGE, '30[{"ok":true}]')
    idle = _socket()
    idle.send = mock.AsyncMock()
    waiting = _socket()
    waiting.send = mock.AsyncMock()
    waiting.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, '2["earlier"]'))
    engine.sockets.update(idle=idle, waiting=waiting)
    await engine.send_packet("idle", ack)
    assert bytes(idle.queue.transport.written) == websocket_frames([ack])
    idle.send.assert_not_awaited()
    await engine.send_packet("waiting", ack)  # behind what waits: through the queue
    waiting.send.assert_awaited_once_with(ack)
    assert not waiting.queue.transport.written
    ping = eio_packet.Packet(eio_packet.PING)
    await engine.send_packet("idle", ping)  # control packets keep engine.io's path
    idle.send.assert_awaited_once_with(ping)
