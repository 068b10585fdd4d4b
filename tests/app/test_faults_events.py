"""Hostile or broken servers: the client core stores what arrives and stays connected.

A tiny in-process python-socketio server (any namespace, like tests/app/localserver.py)
sends what the bundled server never would: 10 MB strings, nesting deeper than orjson
handles, integers beyond 64 bits, binary, NaN, lone surrogates, impossible offsets and
timestamps, and raw frames the client cannot decode at all.

What the core promises (documented in app/store.py and app/sioclient.py):
- every decodable event is stored with its args exactly; the `text` column (views,
  search) is cut to TEXT_COLUMN_LIMIT characters ending in "…";
- an undecodable packet is stored as event "(malformed)" with the error and the first
  64 KiB of the raw text, and shows in the packet log as kind MALFORMED;
- nothing of this drops the connection or the events around it.
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp import web

from app.session import MALFORMED_EVENT, ConnectionState, Session
from app.store import TEXT_COLUMN_LIMIT, StoredMessage
from tests.app.helpers import until
from tests.app.localserver import LoopbackSioServer

MB = 1024 * 1024


class AnyServer(LoopbackSioServer):
    """python-socketio on aiohttp accepting every namespace, recording connections."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", namespaces="*",
                                        max_http_buffer_size=64 * MB)
        self.app = web.Application()
        self.sio.attach(self.app)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.sids: dict[str, str] = {}

        @self.sio.on("connect", namespace="*")
        async def connect(ns: str, sid: str, environ: Any, auth: Any = None) -> bool:
            self.sids[ns] = sid
            return True

    async def raw(self, text: str | bytes, ns: str = "/") -> None:
        """Send one Engine.IO message as is (a Socket.IO packet we wrote by hand)."""
        eio_sid = self.sio.manager.eio_sid_from_sid(self.sids[ns], ns)
        await self.sio.eio.send(eio_sid, text)


@pytest.fixture
async def any_server() -> AsyncIterator[AnyServer]:
    srv = await AnyServer().start()
    yield srv
    await srv.stop()


class Received:
    """Stored inbound events by event name, in the order they were stored."""

    def __init__(self, session: Session) -> None:
        self.events: list[StoredMessage] = []
        session.event_received.connect(self.events.append)

    def named(self, event: str) -> list[StoredMessage]:
        return [m for m in self.events if m.event == event]

    async def marker(self, srv: AnyServer, tag: str, ns: str = "/") -> None:
        """Send a marker and wait until it is stored: everything before it is, too."""
        await srv.sio.emit("marker", tag, namespace=ns)
        await until(lambda: any(m.args == [tag] for m in self.named("marker")),
                    timeout=60, what=f"marker {tag}")


def nested(depth: int) -> Any:
    value: Any = "core"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def connected_throughout(session: Session) -> None:
    assert session.state == ConnectionState.CONNECTED
    assert all(ch.state != ConnectionState.RECONNECTING for ch in session.state_history), \
        [ch.reason for ch in session.state_history]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_ten_megabyte_string_is_stored_whole_and_clipped_in_text(
        any_server: AnyServer, make_session: Any, transport: str) -> None:
    s = make_session(any_server.url, namespaces=["/"], transports=[transport])
    got = Received(s)
    assert await s.connect()
    huge = "é" * (10 * MB // 2) + " end"   # 10 MB of UTF-8, one string
    await any_server.sio.emit("huge", huge, namespace="/")
    await any_server.sio.emit("huge", {"text": huge, "n": 1}, namespace="/")
    await got.marker(any_server, "after the huge ones")
    stored = s.store.page("event:/:huge")
    assert [m.args for m in stored] == [[huge], [{"text": huge, "n": 1}]]
    for m in stored:
        assert m.text is not None and len(m.text) == TEXT_COLUMN_LIMIT
        assert m.text.endswith("…") and m.text[:-1] == huge[:TEXT_COLUMN_LIMIT - 1]
    assert s.store.count("event:/:huge", search="end") == 2  # args are searchable
    connected_throughout(s)


@pytest.mark.timeout(60)
async def test_odd_values_are_stored_exactly(any_server: AnyServer, make_session: Any
                                             ) -> None:
    s = make_session(any_server.url, namespaces=["/"])
    got = Received(s)
    assert await s.connect()
    deep = nested(300)                 # orjson encodes 254 levels at most
    values = {
        "deep": deep, "bigint": 2**70, "negbig": -(2**100), "bytes": b"\x00\xff" * 10,
        "float": 1.5e308, "empty": {}, "none": None, "list": [1, "a", None, [True]],
        "unicode": "\u202e\x00\ufffc 😀", "many args": None,
    }
    for event, value in values.items():
        if event == "many args":
            await any_server.sio.emit(event, (1, "two", [3], {"4": 4}, None),
                                      namespace="/")
        else:
            await any_server.sio.emit(event, value, namespace="/")
    await got.marker(any_server, "end")
    by_event = {m.event: m.args for m in got.events}
    assert by_event["deep"] == [deep]
    assert by_event["bigint"] == [2**70] and by_event["negbig"] == [-(2**100)]
    # binary is the notation everywhere in the core, in memory as in the store
    notation = [{"$binary": base64.b64encode(b"\x00\xff" * 10).decode()}]
    assert by_event["bytes"] == notation
    assert s.store.page("event:/:bytes")[0].args == notation
    assert s.store.page("event:/:bigint")[0].args == [2**70]
    assert s.store.page("event:/:deep")[0].args == [deep]
    assert by_event["many args"] == [1, "two", [3], {"4": 4}, None]
    assert s.store.page("event:/:unicode")[0].args == ["\u202e\x00\ufffc 😀"]
    connected_throughout(s)


@pytest.mark.timeout(60)
async def test_values_json_allows_but_utf8_and_sqlite_do_not(
        any_server: AnyServer, make_session: Any) -> None:
    """NaN, lone surrogates, out-of-range offsets and timestamps: stored, not dropped,
    and they do not take the rest of their batch down with them. The raw server stands
    in for the bundled one's /chat payloads, so the chat extension is switched on."""
    s = make_session(any_server.url, namespaces=["/", "/chat"], extensions="on")
    got = Received(s)
    assert await s.connect()
    assert await s.wait_ready("/chat", timeout=10)
    await any_server.raw('2["nan",NaN,Infinity]')
    await any_server.raw('2["surrogate","\\ud800 alone",{"text":"\\udfff"}]')
    await any_server.raw('2["\\ud83d name",1]')
    await any_server.raw('2/chat,["message",{"room":"r","text":"big offset",'
                         '"offset":123456789012345678901234567890,"ts":NaN}]', "/chat")
    await any_server.raw('2/chat,["message",{"room":"r","text":"huge ts","offset":true,'
                         '"ts":1' + "0" * 400 + "}]", "/chat")
    await any_server.raw('2/chat,["message",{"room":"r","text":"bad ts","ts":"yesterday"}]',
                         "/chat")
    await got.marker(any_server, "end")
    await got.marker(any_server, "end", ns="/chat")
    nan = got.named("nan")[0].args
    assert math.isnan(nan[0]) and nan[1] == math.inf
    assert s.store.page("event:/:nan")[0].args == [None, None]  # JSON has no NaN
    sur = s.store.page("event:/:surrogate")[0]
    assert sur.text == "\ufffd alone"
    room = s.store.page("room:/chat:r")
    assert [m.text for m in room] == ["big offset", "huge ts", "bad ts"]
    assert all(m.offset is None for m in room)
    assert all(math.isfinite(m.ts) and m.ts > 1e9 for m in room)  # arrival time instead
    assert room[0].args[0]["offset"] == 123456789012345678901234567890
    assert any(m.event.endswith(" name") for m in s.store.iter_queue())
    connected_throughout(s)


@pytest.mark.timeout(60)
async def test_undecodable_packets_are_kept_as_malformed(
        any_server: AnyServer, make_session: Any) -> None:
    s = make_session(any_server.url, namespaces=["/", "/chat"])
    got = Received(s)
    malformed_log: list[Any] = []
    s.packet_log.packet_logged.connect(
        lambda p: malformed_log.append(p) if p.kind == "MALFORMED" else None)
    assert await s.connect()
    assert await s.wait_ready("/chat", timeout=10)
    frames = {
        "too deep": '2["deep",' + "[" * 5000 + "]" * 5000 + "]",
        "broken json": '2["broken",{"a":',
        "no event name": "2[]",
        "not an array": '2/chat,"just a string"',
        "unknown packet type": "9hello",
        "not a packet": "hello",
        "huge and broken": '2["x","' + "y" * (200 * 1024),
    }
    for frame in frames.values():
        await any_server.raw(frame, "/chat" if frame.startswith("2/chat") else "/")
    # a binary event whose placeholder points at an attachment that does not exist
    await any_server.raw('51-["bin",{"_placeholder":true,"num":3}]')
    await any_server.raw(b"\x01\x02")
    await got.marker(any_server, "end")
    await got.marker(any_server, "end", ns="/chat")
    bad = got.named(MALFORMED_EVENT)
    assert len(bad) == len(frames) + 1, [m.args for m in bad]
    for m in bad:
        record = m.args[0]
        assert record["error"] and m.text == record["error"]
        assert len(record["raw"]) <= 64 * 1024
    huge = next(m.args[0] for m in bad if m.args[0]["size"] > 100_000)
    assert huge["truncated"] is True and huge["size"] == len(frames["huge and broken"])
    assert {m.namespace for m in bad} == {"/", "/chat"}
    assert s.store.count("event:/:(malformed)") + s.store.count(
        "event:/chat:(malformed)") == len(bad)
    assert len(malformed_log) == len(bad)
    connected_throughout(s)


@pytest.mark.timeout(120)
async def test_bundled_server_history_page_over_four_megabytes(server: Any,
                                                               make_session: Any) -> None:
    """500 messages of 4000 four-byte characters make an 8 MB join answer: more than
    aiohttp's default websocket frame limit (4 MiB), which used to drop the connection
    on every re-join, forever. The client now accepts it and recovers the room."""
    alice = make_session(server.url, user="alice", transports=["websocket"])
    bob = make_session(server.url, user="bob", transports=["websocket"])
    assert await alice.connect() and await bob.connect()
    await bob.chat.join("emoji")
    await bob.disconnect()
    text = "😀" * 4000
    alice.outbox.enqueue_many([("/chat", "message", [{"room": "emoji", "text": text}])
                               for _ in range(600)])
    assert await alice.wait_flushed(timeout=90)
    recovered: list[tuple[str, int]] = []
    bob.chat.recovered.connect(lambda room, n: recovered.append((room, n)))
    assert await bob.connect()
    assert await bob.wait_ready("/chat", timeout=60)
    assert recovered == [("emoji", 600)]
    await until(lambda: bob.store.count("room:/chat:emoji") == 600, timeout=30)
    assert bob.state == ConnectionState.CONNECTED


async def test_session_keeps_working_after_a_handler_fails_on_odd_input(
        any_server: AnyServer, make_session: Any) -> None:
    """A user's handler that chokes on a payload is logged; storing goes on."""
    s = make_session(any_server.url, namespaces=["/"])
    got = Received(s)
    s.on("/", "odd", lambda payload: payload["missing"])
    assert await s.connect()
    for i in range(3):
        await any_server.sio.emit("odd", {"n": i}, namespace="/")
    await got.marker(any_server, "end")
    assert [m.args for m in got.named("odd")] == [[{"n": 0}], [{"n": 1}], [{"n": 2}]]
    await asyncio.sleep(0)
    connected_throughout(s)


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    b"garbage that is not HTTP at all\r\n\r\n",
    b"",
])
async def test_server_breaking_the_handshake_is_retried_not_fatal(make_session: Any,
                                                                  reply: bytes) -> None:
    """A peer that cuts the Engine.IO handshake short (or answers nonsense) is a failed
    attempt with a sentence, retried by the ReconnectPolicy; it used to raise out of the
    connection manager ("Connection closed.") and end all reconnecting."""
    attempts = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        s = make_session(f"http://127.0.0.1:{port}", namespaces=["/"],
                         transports=["polling"], connect_timeout=5.0)
        assert await s.connect() is False
        assert s.state == ConnectionState.RECONNECTING, s.state_history
        assert s.last_error and s.last_error.startswith(f"Cannot connect to {s.config.url}")
        await until(lambda: attempts >= 3, timeout=30, what="two more attempts")
        assert s.state != ConnectionState.OFFLINE
        assert not any("Internal error" in ch.reason for ch in s.state_history)
    finally:
        server.close()
        await server.wait_closed()
