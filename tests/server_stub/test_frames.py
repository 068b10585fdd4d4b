"""Raw, malformed Engine.IO / Socket.IO frames over a websocket: the server stays up.

Beyond test_fuzz.py (well-formed packets with junk payloads), these frames break the
wire format itself: garbage, wrong packet types, namespaces nobody connected, binary
attachments where JSON is expected (or placeholders pointing nowhere), frames over the
1 MiB transport cap. They are sent with aiohttp's websocket client directly, bypassing
every Socket.IO client library.

For each frame: the offending connection is either closed by the server or still
answers a valid request sent right after it, and a normal client can connect, join,
send and receive; a bystander connected since the start keeps receiving. At the end the
server shuts down cleanly. python-socketio logs most of these with a traceback at ERROR
level (its own handler catches the exception); that noise is not asserted on.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests.server_stub.peers import connected, unique
from tests.support import ServerProcess

TIMEOUT = 10.0
MIB = 1 << 20
_probe_ids = itertools.count(1000)

#: name -> (frames sent after connecting /chat, expected outcome)
#: "alive": a valid request sent next is answered; "closed": the server drops the socket;
#: "deaf": the socket stays open but the server no longer reads it as requests (after a
#: client-side Engine.IO close, or a binary placeholder python-socketio could not fill,
#: which leaves it waiting for attachments on that socket); only that socket is affected.
CASES: dict[str, tuple[list[str | bytes], str]] = {
    # Engine.IO level garbage
    "text garbage": (["hello"], "closed"),
    "empty text frame": ([""], "closed"),
    "control characters": (["\x00\x01\x7f"], "closed"),
    # as the Node server: a type it cannot decode, or a PING from a v4 client, closes
    "unknown eio type 9": (["99"], "closed"),
    "eio ping from client": (["2"], "closed"),
    "eio pong without ping": (["3"], "alive"),
    "eio upgrade again": (["5"], "alive"),
    "eio noop": (["6"], "alive"),
    "eio type 7": (["7"], "closed"),
    "eio close": (["1"], "deaf"),
    # Socket.IO level: wrong or broken packets
    "sio packet without type": (["4"], "alive"),
    "sio type not a digit": (["4x"], "alive"),
    "sio unknown type 7": (["47"], "alive"),
    "sio unknown type 9": (["49"], "alive"),
    "sio negative attachments": (["4-1"], "alive"),
    "connect twice": (['40/chat,{"user":"again"}'], "alive"),
    "connect auth not json": (['40/chat,{"user":'], "alive"),
    "disconnect of a namespace never joined": (["41/never,"], "alive"),
    "event without json": (["42/chat,"], "alive"),
    "event not an array": (['42/chat,{"a":1}'], "alive"),
    "event empty array": (["42/chat,[]"], "alive"),
    "event name a number": (["42/chat,[1,2]"], "alive"),
    "event name null": (["42/chat,[null]"], "alive"),
    "event broken json": (['42/chat,["message"'], "alive"),
    "event nested 100k deep": (['42/chat,["message",' + "[" * 100_000 + "]" * 100_000 + "]"],
                               "alive"),
    "event 5000-digit integer": (['42/chat,0["join",{"room":"r","since":' + "9" * 5000 + "}]"],
                                 "alive"),
    "event NaN": (['42/chat,0["message",{"room":"r","text":NaN}]'], "alive"),
    "ack for nothing": (["43/chat,99[1]"], "alive"),
    "connect_error from a client": (['44/chat,{"message":"x"}'], "alive"),
    "binary ack for nothing": (["461-/chat,5[{\"_placeholder\":true,\"num\":0}]", b"\x01"],
                               "alive"),
    # namespaces nobody connected / odd names
    "event on a namespace not connected": (['42/never,["x",1]'], "alive"),
    "ack on a namespace not connected": (["43/never,1[]"], "alive"),
    "connect unknown namespace (a sandbox)": (['40/nope,{"user":"u"}'], "alive"),
    "connect namespace of 100k characters": (["40/" + "a" * 100_000 + ',{"user":"u"}'],
                                             "alive"),
    "connect namespace with control characters": (['40/\u0000\u202e,{"user":"u"}'], "alive"),
    # binary attachments where JSON is expected
    "binary payload for message": (
        ['451-/chat,0["message",{"_placeholder":true,"num":0}]', b"\x01\x02"], "alive"),
    "binary payload for join": (
        ['451-/chat,0["join",{"_placeholder":true,"num":0}]', b"\x01\x02"], "alive"),
    "binary placeholder pointing nowhere": (
        ['451-/chat,0["message",{"_placeholder":true,"num":7}]', b"\x01"], "deaf"),
    "binary payload for publish": (
        ['451-/chat,0["publish",{"queue":"q","payload":{"_placeholder":true,"num":0}}]',
         b"\x00" * 64], "alive"),
    "binary frame out of the blue": ([b"\x00\xff\xfe"], "alive"),
    "empty binary frame": ([b""], "alive"),
    # over the 1 MiB Engine.IO cap
    "text frame over the cap": (['42/chat,["message","' + "x" * MIB + '"]'], "closed"),
    "binary frame over the cap": ([b"\x00" * (2 * MIB)], "closed"),
    "attachment over the cap": (['451-/chat,0["message",{"_placeholder":true,"num":0}]',
                                 b"\x00" * (2 * MIB)], "closed"),
}


@pytest.fixture(scope="module")
def frames_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("frames") / "server.db").start()
    yield srv
    output = srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0, output[-5000:]


class Bystanders:
    """Two sync clients (threads of their own) in one room for the whole module: they
    stay connected through every bad frame, one talks and the other must hear it."""

    def __init__(self, url: str) -> None:
        self.room = unique("bystanders")
        self.heard: queue.Queue[Any] = queue.Queue()
        self.talker = socketio.Client(reconnection=False)
        self.listener = socketio.Client(reconnection=False)
        self.listener.on("message", self.heard.put, namespace="/chat")
        for client, user in ((self.talker, "talker"), (self.listener, "listener")):
            client.connect(url, namespaces=["/chat"], auth={"user": user},
                           transports=["websocket"], wait_timeout=TIMEOUT)
            ack = client.call("join", {"room": self.room}, namespace="/chat",
                              timeout=TIMEOUT)
            assert ack["ok"], ack

    def check(self) -> None:
        ack = self.talker.call("message", {"room": self.room, "text": "still here"},
                               namespace="/chat", timeout=TIMEOUT)
        assert ack["ok"], ack
        assert self.heard.get(timeout=TIMEOUT)["id"] == ack["id"]

    def close(self) -> None:
        self.talker.disconnect()
        self.listener.disconnect()


@pytest.fixture(scope="module")
def bystander(frames_server: ServerProcess) -> Iterator[Bystanders]:
    b = Bystanders(frames_server.url)
    yield b
    b.close()


async def raw_chat_socket(http: aiohttp.ClientSession, port: int
                          ) -> aiohttp.ClientWebSocketResponse:
    """A websocket that did the Engine.IO open and the /chat CONNECT by hand."""
    ws = await http.ws_connect(
        f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", max_msg_size=0)
    opening = await ws.receive_str(timeout=TIMEOUT)
    assert opening.startswith("0{"), opening
    await ws.send_str('40/chat,{"user":"raw"}')
    while True:
        msg = await ws.receive_str(timeout=TIMEOUT)
        if msg.startswith('42/chat,["welcome"'):
            return ws


async def send_frames(ws: aiohttp.ClientWebSocketResponse,
                      frames: list[str | bytes]) -> bool:
    """Send the frames in order; False if the server reset the connection on the way.

    A frame over the cap can be refused while its bytes are still being written: the
    server closes the socket and the rest of the write meets a reset, which is the
    "closed" outcome, reached early."""
    try:
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
    except (ConnectionError, aiohttp.ClientConnectionError):  # reset, broken pipe, lost
        return False
    return True


async def outcome(ws: aiohttp.ClientWebSocketResponse) -> str:
    """Send a valid `rooms` request; "alive" if it is answered, "closed" if the server
    closes the socket first (other frames in between are ignored)."""
    probe = next(_probe_ids)
    try:
        await ws.send_str(f'42/chat,{probe}["rooms"]')
    except (ConnectionResetError, aiohttp.ClientConnectionError):
        return "closed"
    while True:
        msg = await ws.receive(timeout=TIMEOUT)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return "closed"
        if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith(f"43/chat,{probe}["):
            assert '"ok":true' in msg.data, msg.data
            return "alive"
        if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
            await ws.send_str("3")  # answer the server's ping like a client would


async def still_serving(url: str, bystanders: Bystanders) -> None:
    """A fresh client works, and the clients connected all along still do."""
    fresh = await connected(url, unique("fresh"), "/chat")
    try:
        room = unique("after")
        assert (await fresh.call("join", {"room": room}))["ok"]
        assert (await fresh.call("message", {"room": room, "text": "hi"}))["ok"]
    finally:
        await fresh.close()
    await asyncio.to_thread(bystanders.check)


@pytest.mark.parametrize("name", list(CASES))
async def test_malformed_frame_leaves_the_server_serving(
        frames_server: ServerProcess, bystander: Bystanders, name: str) -> None:
    frames, expected = CASES[name]
    async with aiohttp.ClientSession() as http:
        ws = await raw_chat_socket(http, frames_server.port)
        try:
            if not await send_frames(ws, frames):
                got = "closed"
            elif expected == "deaf":
                got = "deaf"  # a deaf socket would only time out: closed without a probe
            else:
                got = await outcome(ws)
        finally:
            await ws.close()
    assert got == expected, f"{name}: the connection is {got}, expected {expected}"
    assert frames_server.proc is not None and frames_server.proc.poll() is None
    await still_serving(frames_server.url, bystander)


async def test_attachments_that_never_come_do_not_block_others(
        frames_server: ServerProcess, bystander: Bystanders) -> None:
    """A packet announcing a billion attachments swallows that socket's later frames;
    it is that socket's problem only, and closing it frees the server side."""
    async with aiohttp.ClientSession() as http:
        ws = await raw_chat_socket(http, frames_server.port)
        await ws.send_str('4999999999-/chat,0["message",{"_placeholder":true,"num":0}]')
        for _ in range(100):
            await ws.send_bytes(b"\x00" * 1024)
        await still_serving(frames_server.url, bystander)
        await ws.close()
    await still_serving(frames_server.url, bystander)


async def test_many_bad_sockets_at_once(frames_server: ServerProcess,
                                        bystander: Bystanders) -> None:
    """Every case at the same time, on its own socket each."""
    async def one(frames: list[str | bytes]) -> None:
        async with aiohttp.ClientSession() as http:
            ws = await raw_chat_socket(http, frames_server.port)
            try:
                if await send_frames(ws, frames):
                    await outcome(ws)
            finally:
                await ws.close()

    await asyncio.gather(*(one(frames) for frames, expected in CASES.values()
                           if expected != "deaf"))
    await still_serving(frames_server.url, bystander)


def test_case_count() -> None:
    """The report quotes how many kinds of bad frames are tried."""
    assert len(CASES) >= 40
    assert Path(__file__).name.startswith("test_frames")
