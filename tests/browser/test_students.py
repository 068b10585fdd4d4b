"""Students with only a browser: headless Chromium against the bundled server.

The socket.io "Get started" chat page, written here from the tutorial's steps and not
changed for us, runs in two tabs against a server started with ``--echo /`` (the
tutorial's ``io.emit``) and ``--static`` (``io()`` with no URL needs the page to come
from the server itself): each tab shows both messages. Then our own page at ``/`` joins
the class chat. The socket.io client comes from the real npm registry, checked against
the pinned checksum; without the registry the test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from server_stub.web.client_bundle import (
    CACHE_ENV,
    REGISTRY_ENV,
    ClientBundle,
    RegistryUnreachable,
)
from tests.browser.cdp import CHROMIUM, Browser, Tab, chromium
from tests.server_stub.peers import connected
from tests.support import ServerProcess, free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing: apt-get update && apt-get install -y chromium")

#: Kept between runs like the interop tests' npm folder, so the registry is asked once.
CLIENT_CACHE = Path(os.environ.get(
    "SOCKDESK_TEST_CLIENT_CACHE", Path.home() / ".cache" / "sockdesk-test-client"))

#: https://socket.io/get-started/chat, steps 1-5, as a student types it.
GET_STARTED = """<!DOCTYPE html>
<html>
  <head>
    <meta name="viewport" content="width=device-width,initial-scale=1.0">
    <title>Socket.IO chat</title>
    <style>
      body { margin: 0; padding-bottom: 3rem; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
      #form { background: rgba(0, 0, 0, 0.15); padding: 0.25rem; position: fixed; bottom: 0; left: 0; right: 0; display: flex; height: 3rem; box-sizing: border-box; backdrop-filter: blur(10px); }
      #input { border: none; padding: 0 1rem; flex-grow: 1; border-radius: 2rem; margin: 0.25rem; }
      #input:focus { outline: none; }
      #form > button { background: #333; border: none; padding: 0 1rem; margin: 0.25rem; border-radius: 3px; outline: none; color: #fff; }
      #messages { list-style-type: none; margin: 0; padding: 0; }
      #messages > li { padding: 0.5rem 1rem; }
      #messages > li:nth-child(odd) { background: #efefef; }
    </style>
  </head>
  <body>
    <ul id="messages"></ul>
    <form id="form" action="">
      <input id="input" autocomplete="off" /><button>Send</button>
    </form>
    <script src="/socket.io/socket.io.js"></script>
    <script>
      const socket = io();

      const form = document.getElementById('form');
      const input = document.getElementById('input');
      const messages = document.getElementById('messages');

      form.addEventListener('submit', (e) => {
        e.preventDefault();
        if (input.value) {
          socket.emit('chat message', input.value);
          input.value = '';
        }
      });

      socket.on('chat message', (msg) => {
        const item = document.createElement('li');
        item.textContent = msg;
        messages.appendChild(item);
        window.scrollTo(0, document.body.scrollHeight);
      });
    </script>
  </body>
</html>
"""  # noqa: E501  (the tutorial's lines, unchanged)

ITEMS = "Array.from(document.querySelectorAll('#messages li'), li => li.textContent)"


@pytest.fixture
async def client_cached(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pinned socket.io client in the cache the server will read (fetched once)."""
    try:
        await ClientBundle(cache_dir=CLIENT_CACHE).get()
    except RegistryUnreachable as exc:
        pytest.skip(f"the npm registry is unreachable, so no socket.io client: {exc}")
    monkeypatch.setenv(CACHE_ENV, str(CLIENT_CACHE))
    return CLIENT_CACHE


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(tmp_path / "profile") as b:
        yield b


async def test_get_started_page_in_two_tabs_shows_both_messages(
        client_cached: Path, browser: Browser, tmp_path: Path,
        server_factory: Callable[..., ServerProcess]) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(GET_STARTED)
    srv = server_factory("--echo", "/", "--static", str(site))
    tabs = [await browser.new_tab(f"{srv.url}/static/index.html") for _ in range(2)]
    for tab in tabs:
        await tab.wait_for("typeof socket !== 'undefined' && socket.connected")
    await tabs[0].type_and_enter("#input", "hello from tab one")
    await tabs[1].type_and_enter("#input", "and from tab two")
    for tab in tabs:
        shown = await tab.wait_for(f"(items => items.length >= 2 && items)({ITEMS})")
        assert sorted(shown) == ["and from tab two", "hello from tab one"]
        assert await tab.evaluate("document.getElementById('input').value") == ""
    assert "Traceback" not in srv.stop()


async def status_of(tab: Tab) -> str:
    return str(await tab.evaluate("document.getElementById('status').textContent"))


async def test_class_page_joins_the_class_chat(
        client_cached: Path, browser: Browser,
        server_factory: Callable[..., ServerProcess]) -> None:
    srv = server_factory()
    teacher = await connected(srv.url, "teacher", "/chat")
    try:
        assert (await teacher.call("join", {"room": "class"}))["ok"]
        await teacher.call("message", {"room": "class", "text": "<b>welcome</b> all"})
        tab = await browser.new_tab(f"{srv.url}/")
        await tab.wait_for("typeof io === 'function'")
        await tab.type_and_enter("#name", "bad name!")
        assert "1-32 letters" in await status_of(tab)
        await tab.evaluate("document.getElementById('name').value = ''")
        await tab.type_and_enter("#name", "student1")
        await tab.wait_for("document.getElementById('status').textContent"
                           ".startsWith('You are student1, in room class')")
        presence = await teacher.next("presence")
        assert presence["user"] == "student1" and presence["event"] == "joined"
        # the history came with the join, as text (no markup made of it)
        await tab.wait_for(f"{ITEMS}.some(t => t === 'teacher<b>welcome</b> all')")
        assert await tab.evaluate("document.querySelectorAll('#messages b').length") == 0
        await tab.type_and_enter("#text", "hi from the browser")
        got = await teacher.next("message")
        assert (got["user"], got["text"], got["room"]) == (
            "student1", "hi from the browser", "class")
        await tab.wait_for(f"{ITEMS}.includes('student1hi from the browser')")
        await teacher.call("message", {"room": "class", "text": "answer"})
        await tab.wait_for(f"{ITEMS}.includes('teacheranswer')")
        members = await tab.evaluate("document.getElementById('members').textContent")
        assert members == "student1, teacher"
        # an ack error reaches the student: a room name the server refuses
        bad = await browser.new_tab(f"{srv.url}/?room={json.dumps('no/slash')[1:-1]}")
        await bad.wait_for("typeof io === 'function'")
        await bad.type_and_enter("#name", "student2")
        await bad.wait_for("document.getElementById('status').textContent"
                           ".startsWith('Joining no/slash failed: ')")
    finally:
        await teacher.close()
    assert "Traceback" not in srv.stop()


async def test_class_page_says_why_without_the_client(
        browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        server_factory: Callable[..., ServerProcess]) -> None:
    """No registry and nothing cached: the page tells the student what the server said."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))
    monkeypatch.setenv(REGISTRY_ENV, f"http://127.0.0.1:{free_port()}")
    srv = server_factory()
    tab = await browser.new_tab(f"{srv.url}/")
    await tab.wait_for("document.readyState === 'complete'")
    assert await tab.evaluate("typeof io") == "undefined"
    await tab.type_and_enter("#name", "student3")
    status = await tab.wait_for("(t => t.includes('cannot serve') && t)("
                                "document.getElementById('status').textContent)")
    assert "sockdesk-server fetch-client" in status and "socket.io-client-4.8.4.tgz" in status
    output = srv.stop()
    assert "WARNING" in output and "sockdesk-server fetch-client" in output
    assert not (tmp_path / "empty-cache").exists()
