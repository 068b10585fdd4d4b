"""HTTP-level behaviour: CORS origins, the Admin UI switch, and what reaches the logs."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import connected, refused, unique
from tests.support import without_invite


async def handshake(url: str, origin: str | None) -> int:
    """Status of an Engine.IO polling handshake sent with ``origin``."""
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http, http.get(
            f"{url}/socket.io/?EIO=4&transport=polling", headers=headers) as response:
        return response.status


async def test_cors_same_origin_and_listed_origins_only(server_factory: ServerFactory) -> None:
    srv = server_factory("--cors-origins", "http://ok.example,http://also.example")
    assert await handshake(srv.url, None) == 200
    assert await handshake(srv.url, srv.url) == 200  # same origin
    assert await handshake(srv.url, "http://ok.example") == 200
    assert await handshake(srv.url, "http://also.example") == 200
    assert await handshake(srv.url, "http://evil.example") == 400


async def test_cors_default_is_same_origin_only(url: str) -> None:
    assert await handshake(url, url) == 200
    assert await handshake(url, "https://admin.socket.io") == 400
    assert await handshake(url, "http://evil.example") == 400


async def test_cors_star_allows_any(server_factory: ServerFactory) -> None:
    srv = server_factory("--cors-origins", "*")
    assert await handshake(srv.url, "http://anything.example") == 200


async def test_admin_ui_instrumentation(server_factory: ServerFactory) -> None:
    srv = server_factory("--admin", "--token", "adm1n-pass")
    assert await handshake(srv.url, "https://admin.socket.io") == 200
    admin = socketio.AsyncClient(reconnection=False)
    config = []
    admin.on("config", lambda data: config.append(data), namespace="/admin")
    await admin.connect(srv.url, namespaces=["/admin"], transports=["websocket"],
                        auth={"username": "admin", "password": "adm1n-pass"})
    try:
        assert admin.connected
        data = await refused(srv.url, "/admin", {"username": "admin", "password": "wrong"})
        assert data and data["message"]
        # The regular namespaces keep working next to the instrumentation.
        peer = await connected(srv.url, "alice", "/chat", "/", token="adm1n-pass")
        room = unique("room")
        assert (await peer.call("join", {"room": room}))["ok"] is True
        assert (await peer.call("echo", 1, ns="/")) == {"ok": True, "args": [1]}
        await peer.close()
    finally:
        await admin.disconnect()
    output = without_invite(srv.stop())
    assert "Traceback" not in output and "adm1n-pass" not in output


async def test_debug_logs_never_show_the_token(server_factory: ServerFactory) -> None:
    srv = server_factory("--log-level", "debug", "--token", "t0p-s3cret-value")
    peer = await connected(srv.url, "alice", "/chat", token="t0p-s3cret-value")
    await peer.call("rooms")
    await peer.close()
    await refused(srv.url, "/chat", {"user": "alice", "token": "t0p-s3cret-value-not"})
    output = without_invite(srv.stop())
    assert "received event" in output or "Received packet" in output  # debug is on
    assert "t0p-s3cret-value" not in output


@pytest.mark.parametrize("path", ["/nothing-here", "/socket.io/"])
async def test_plain_http_does_not_crash(url: str, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{url}{path}") as response:
        assert response.status in (400, 404)
