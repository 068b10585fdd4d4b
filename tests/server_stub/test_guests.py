"""Sandbox namespaces for the socket.io tutorial: guests without ``auth``, --allow-guests,
and the --echo relay rule (the sender gets its own event, as with ``io.emit``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import Peer, connected, refused, unique

GUEST = re.compile(r"guest-[0-9a-f]{4}")


async def guest(url: str, ns: str, auth: Any = None) -> tuple[Peer, dict[str, Any]]:
    """A connection without a user name; returns it and its welcome."""
    peer = Peer(url, "", ns, auth=auth)
    await peer.client.connect(url, namespaces=[ns], auth=auth, transports=["websocket"],
                              wait_timeout=5)
    return peer, await peer.next("welcome", ns)


async def test_no_auth_gets_a_unique_guest_name(url: str) -> None:
    ns = f"/{unique('tutorial')}"
    a, welcome_a = await guest(url, ns)
    b, welcome_b = await guest(url, ns, {"user": None})
    c, welcome_c = await guest(url, ns, {})
    try:
        names = {welcome_a["user"], welcome_b["user"], welcome_c["user"]}
        assert len(names) == 3 and all(GUEST.fullmatch(n) for n in names), names
        assert welcome_a["claimed"] is False and welcome_a["namespace"] == ns
        # guests relay like everyone (default rule: not to the sender)
        assert await a.call("chat message", "hi", ns=ns) == {"ok": True, "delivered": 2}
        assert await b.next("chat message", ns) == "hi"
        assert await c.next("chat message", ns) == "hi"
        await a.call("marker", ns=ns)
        await b.next("marker", ns)
        assert a.received("chat message", ns) == []
    finally:
        for peer in (a, b, c):
            await peer.close()


async def test_guests_only_on_sandbox_namespaces(url: str) -> None:
    for ns in ("/chat", "/queue"):
        data = await refused(url, ns, None)
        assert "auth must be an object with a 'user' name" in data["message"]
    # a user name that is there but invalid is still refused on a sandbox
    data = await refused(url, "/", {"user": "no spaces allowed"})
    assert "invalid user name" in data["message"]


async def test_token_server_refuses_guests_saying_why(server_factory: ServerFactory) -> None:
    srv = server_factory("--token", "s3cret-token")
    for auth in (None, {}, {"token": "wrong"}):
        data = await refused(srv.url, "/", auth)
        assert data["message"], auth
    assert "--allow-guests" in (await refused(srv.url, "/", None))["message"]
    assert (await refused(srv.url, "/", {"token": "wrong"}))["message"] == "wrong token"
    # a guest with the right token is a guest
    peer, welcome = await guest(srv.url, "/", {"token": "s3cret-token"})
    assert GUEST.fullmatch(welcome["user"])
    await peer.close()
    assert "s3cret-token" not in srv.stop().split("Invite:")[0]


async def test_allow_guests_admits_guests_to_sandboxes_only(
        server_factory: ServerFactory) -> None:
    srv = server_factory("--token", "s3cret-token", "--allow-guests")
    peer, welcome = await guest(srv.url, "/")
    assert GUEST.fullmatch(welcome["user"])
    await peer.close()
    # a named user, /chat and a wrong token still need the real token
    assert "token" in (await refused(srv.url, "/", {"user": "alice"}))["message"]
    assert "token" in (await refused(srv.url, "/chat", {"user": "alice"}))["message"]
    assert "user" in (await refused(srv.url, "/chat", None))["message"]
    assert (await refused(srv.url, "/", {"token": "nope"}))["message"] == "wrong token"


async def test_echo_namespace_relays_to_the_sender_too(server_factory: ServerFactory) -> None:
    srv = server_factory("--echo", "/", "--echo", "/lab")
    a, _ = await guest(srv.url, "/")
    b, _ = await guest(srv.url, "/")
    lab = await connected(srv.url, "alice", "/lab", "/other")
    try:
        assert await a.call("chat message", "one", ns="/") == {"ok": True, "delivered": 2}
        assert await a.next("chat message", "/") == "one"
        assert await b.next("chat message", "/") == "one"
        assert await lab.call("x", 1, 2, ns="/lab") == {"ok": True, "delivered": 1}
        assert await lab.next("x", "/lab") == [1, 2]
        # `echo` is still only acked; other namespaces keep "everyone but the sender"
        assert await lab.call("echo", 3, ns="/lab") == {"ok": True, "args": [3]}
        assert await lab.call("y", ns="/other") == {"ok": True, "delivered": 0}
        await lab.call("marker", ns="/lab")
        await lab.next("marker", "/lab")
        assert lab.received("echo", "/lab") == [] and lab.received("y", "/other") == []
    finally:
        for peer in (a, b, lab):
            await peer.close()


def test_echo_option_is_checked(tmp_path: Path) -> None:
    for bad in ("lab", "/chat", "/queue"):
        result = subprocess.run([sys.executable, "-m", "server_stub", "--echo", bad,
                                 "--db", str(tmp_path / "x.db"), "--port", "0"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "--echo" in result.stderr, result.stderr


async def test_class_page_and_static_folder(server_factory: ServerFactory,
                                            tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<p>tutorial</p>")
    (tmp_path / "secret.txt").write_text("not served")
    srv = server_factory("--static", str(folder))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/") as page:
            text = await page.text()
            assert page.status == 200 and page.content_type == "text/html"
            assert '<script src="/socket.io/socket.io.js">' in text
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        async with http.get(f"{srv.url}/class.js") as script:
            body = await script.text()
            assert script.content_type == "application/javascript"
            assert "textContent" in body and "innerHTML" not in body
        async with http.get(f"{srv.url}/static/index.html") as static:
            assert static.status == 200 and await static.text() == "<p>tutorial</p>"
        for path in ("/static/", "/static/../secret.txt", "/static/%2e%2e/secret.txt"):
            async with http.get(f"{srv.url}{path}") as outside:
                assert outside.status in (403, 404), path
