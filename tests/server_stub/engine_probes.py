"""Raw Engine.IO probes for the protocol edge cases, written against any server URL, so
the same probe runs against the bundled server (test_engine_edges.py) and the Node
reference server (tests/interop/test_edges_vs_node_server.py).

Each probe speaks HTTP or websocket itself with aiohttp (no Socket.IO client library
smooths anything over) and returns what it observed, for the test to compare.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

#: The timings both servers run with in these tests (seconds): a silent session expires
#: after PING_INTERVAL + PING_TIMEOUT; one without namespace after CONNECT_TIMEOUT.
PING_INTERVAL = 0.5
PING_TIMEOUT = 2.0
CONNECT_TIMEOUT = 3.5
#: How late a close may come (a loaded machine's scheduling); python-engineio's own
#: checks could come up to PING_TIMEOUT late.
LATE = 0.6
TIMEOUT = 10.0
SEPARATOR = "\x1e"


def node_args() -> list[str]:
    """The Node server_edges.js options for these timings (milliseconds)."""
    return ["--ping-interval", str(int(PING_INTERVAL * 1000)),
            "--ping-timeout", str(int(PING_TIMEOUT * 1000)),
            "--connect-timeout", str(int(CONNECT_TIMEOUT * 1000))]


def server_args() -> list[str]:
    """The same timings as sockdesk-server options (seconds)."""
    return ["--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT),
            "--connect-timeout", str(CONNECT_TIMEOUT)]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def polling(url: str, sid: str | None = None, query: str = "EIO=4&transport=polling") -> str:
    return f"{url}/socket.io/?{query}" + (f"&sid={sid}" if sid else "")


async def request(http: aiohttp.ClientSession, method: str, target: str,
                  data: str | None = None) -> Answer:
    async with http.request(method, target, data=data) as r:
        return Answer(r.status, await r.text())


async def handshake(http: aiohttp.ClientSession, url: str) -> str:
    """A polling handshake; the session id."""
    opening = await request(http, "GET", polling(url))
    assert opening.status == 200 and opening.body.startswith("0{"), opening
    return str(json.loads(opening.body[1:])["sid"])


async def pending_get(http: aiohttp.ClientSession, url: str, sid: str,
                      then: Any) -> tuple[Answer, Answer]:
    """Start a long-poll GET, run ``then()`` (an awaitable factory) once the GET is
    surely waiting, and return (``then``'s answer, the GET's answer)."""
    get = asyncio.ensure_future(request(http, "GET", polling(url, sid)))
    await asyncio.sleep(0.2)  # the GET must be parked on the server before the POST
    done = await then()
    return done, await asyncio.wait_for(get, TIMEOUT)


async def client_close(url: str) -> tuple[Answer, Answer]:
    """A polling client closes (``1`` in a POST) while its GET waits: (POST, GET)."""
    async with aiohttp.ClientSession() as http:
        sid = await handshake(http, url)
        return await pending_get(http, url, sid,
                                 lambda: request(http, "POST", polling(url, sid), "1"))


async def undecodable_post(url: str, body: str) -> tuple[Answer, Answer, Answer]:
    """POST ``body`` while a GET waits: (POST, the pending GET, a GET after that)."""
    async with aiohttp.ClientSession() as http:
        sid = await handshake(http, url)
        post, get = await pending_get(
            http, url, sid, lambda: request(http, "POST", polling(url, sid), body))
        later = await request(http, "GET", polling(url, sid))
        return post, get, later


async def lifetime(url: str, answer_pings: bool, namespace: bool = False,
                   longest: float = TIMEOUT) -> float | None:
    """Seconds from a polling handshake until the server ends the session (a ``1``
    packet or a refused GET); None if it still runs after ``longest``.

    The probe long-polls all the time; with ``answer_pings`` it answers every PING,
    with ``namespace`` it also connects the main namespace (``40``)."""
    async with aiohttp.ClientSession() as http:
        start = time.monotonic()
        sid = await handshake(http, url)
        if namespace:
            await request(http, "POST", polling(url, sid), "40")
        while time.monotonic() - start < longest:
            try:
                got = await asyncio.wait_for(request(http, "GET", polling(url, sid)),
                                             longest - (time.monotonic() - start))
            except TimeoutError:
                return None
            packets = got.body.split(SEPARATOR)
            if got.status != 200 or "1" in packets:
                return time.monotonic() - start
            if answer_pings and "2" in packets:
                await request(http, "POST", polling(url, sid), "3")
        return None


async def websocket_outcome(url: str, frame: str) -> str:
    """Open a websocket session, connect ``/``, then send ``frame``: "closed" if the
    server ends the session within two seconds (answering its pings meanwhile), "open"
    otherwise."""
    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url)
        try:
            assert (await ws.receive_str(timeout=TIMEOUT)).startswith("0{")
            await ws.send_str("40")
            while not (await ws.receive_str(timeout=TIMEOUT)).startswith("40"):
                pass  # Node closes a session sending on a namespace not connected yet
            await ws.send_str(frame)
            deadline = time.monotonic() + 2.0
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.TEXT or msg.data == "1":
                    return "closed"
                if msg.data == "2":
                    await ws.send_str("3")
            return "open"
        finally:
            await ws.close()
