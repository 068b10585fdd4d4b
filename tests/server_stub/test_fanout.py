"""Broadcast delivery (server_stub.transport.fanout): every member once and in order, whatever its
transport, and websocket frames sent uncompressed even to a client that asks for
permessage-deflate."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

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
