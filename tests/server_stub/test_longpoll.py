"""A polling client that closes gets its pending long-poll answered at once
(server_stub.transport.longpoll), as the Node server does, instead of after the ping timeout."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.server_stub.peers import connected, unique

#: Well under the server's ping_interval + ping_timeout, which the GET waited for before.
ANSWERED_WITHIN = 10.0


async def test_a_client_close_completes_the_pending_poll(url: str) -> None:
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as r:
            opening = await r.text()
        assert opening.startswith("0{"), opening
        sid = json.loads(opening[1:])["sid"]
        pending = asyncio.ensure_future(http.get(f"{base}&sid={sid}"))
        await asyncio.sleep(0)
        async with http.post(f"{base}&sid={sid}", data="1") as r:  # Engine.IO CLOSE
            assert r.status == 200
        response = await asyncio.wait_for(pending, ANSWERED_WITHIN)
        async with response:
            assert response.status in (200, 400)
            assert "42" not in await response.text()  # no packets, just the end


async def test_python_socketio_polling_client_disconnects_and_the_room_carries_on(
        url: str) -> None:
    room = unique("poll-close")
    poller = await connected(url, unique("p"), transport="polling")
    assert poller.client.transport() == "polling"
    stays = await connected(url, unique("stays"))
    try:
        for peer in (poller, stays):
            assert (await peer.call("join", {"room": room}))["ok"] is True
        await asyncio.wait_for(poller.close(), ANSWERED_WITHIN)
        assert not poller.client.connected
        presence = await stays.next("presence")
        while presence.get("event") != "left":
            presence = await stays.next("presence")
        assert (await stays.call("message", {"room": room, "text": "still here"}))["ok"]
    finally:
        await stays.close()
