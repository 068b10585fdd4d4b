"""A small Engine.IO v4 client of our own, for the lesson on what Socket.IO adds: it
speaks the protocol by hand (aiohttp for HTTP long-polling and the websocket) so that
every packet of a real session can be drawn, which python-engineio's client does not
expose. See https://github.com/socketio/engine.io-protocol (v4).

Packets are text: one digit for the type, then the data. Over long-polling several
packets share one HTTP body, separated by the record separator \\x1e.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from app.scenarios.engine import ScenarioError
from app.scenarios.hops import Hop, hop

SEPARATOR = "\x1e"
#: Engine.IO packet types, and the Hop kind each is drawn as
TYPES = {"0": "OPEN", "1": "CLOSE", "2": "PING", "3": "PONG", "4": "MESSAGE",
         "5": "UPGRADE", "6": "NOOP"}
#: Socket.IO packet types carried in an Engine.IO message
SIO_TYPES = {"0": "CONNECT", "1": "DISCONNECT", "2": "EVENT", "3": "ACK",
             "4": "CONNECT_ERROR", "5": "BINARY_EVENT", "6": "BINARY_ACK"}


def _clip(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def describe(packet: str) -> tuple[str, str]:
    """(Hop kind, caption) of one Engine.IO packet."""
    kind = TYPES.get(packet[:1], "MESSAGE")
    data = packet[1:]
    if kind == "OPEN":
        try:
            info = json.loads(data)
        except ValueError:
            return kind, "open"
        return kind, (f"open · sid {str(info.get('sid', ''))[:6]}… · ping every "
                      f"{info.get('pingInterval', 0) / 1000:g} s")
    if kind in ("PING", "PONG"):
        return kind, f"{kind.lower()} {data}".strip()
    if kind == "MESSAGE":
        sio = SIO_TYPES.get(data[:1], "?")
        rest = data[1:]
        if rest.startswith("/"):
            rest = rest.split(",", 1)[1] if "," in rest else ""
        ack = ""
        while rest[:1].isdigit():
            ack, rest = ack + rest[0], rest[1:]
        words = f"message: Socket.IO {sio}"
        if sio in ("EVENT", "ACK") and rest:
            words += " " + (f"#{ack} " if ack else "") + rest
        return kind, _clip(words, 60)
    return kind, kind.lower()


class EngineSession:
    """One Engine.IO session over HTTP long-polling, upgraded to a websocket.

    `show(hop)` is called for every packet (and the HTTP requests that carry them):
    "out" client → server, "in" back.
    """

    def __init__(self, url: str, show: Callable[[Hop], None], path: str = "socket.io") -> None:
        parts = urlsplit(url)
        self.base = urlunsplit((parts.scheme, parts.netloc, f"/{path.strip('/')}/", "", ""))
        self.show = show
        self.sid = ""
        self.open: dict[str, Any] = {}
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    def _url(self, transport: str, ws: bool = False) -> str:
        query = {"EIO": "4", "transport": transport}
        if self.sid:
            query["sid"] = self.sid
        url = self.base + "?" + urlencode(query)
        if ws:
            url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return url

    def _show(self, direction: str, packet: str, via: str) -> None:
        kind, caption = describe(packet)
        self.show(hop(direction, kind, f"{via}{caption}", args=[packet], size=len(packet)))

    def _http(self, caption: str, direction: str = "out") -> None:
        self.show(hop(direction, "HTTP", caption))

    async def handshake(self) -> dict[str, Any]:
        """GET without a sid: the server answers with the `open` packet."""
        self.http = self.http or aiohttp.ClientSession()
        self.sid = ""
        self._http("GET ?EIO=4&transport=polling (no sid yet)")
        packets = await self._get()
        if not packets or not packets[0].startswith("0"):
            raise ScenarioError(f"the server did not open an Engine.IO session: {packets!r}")
        self.open = json.loads(packets[0][1:])
        self.sid = str(self.open["sid"])
        for p in packets:
            self._show("in", p, "poll: ")
        return self.open

    async def _get(self, timeout: float = 60.0) -> list[str]:
        assert self.http is not None
        try:
            async with self.http.get(self._url("polling"),
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                body = await r.text()
                if r.status != 200:
                    raise ScenarioError(f"long-polling GET answered {r.status}: "
                                        f"{_clip(body, 120)}")
        except TimeoutError:
            raise ScenarioError(f"the server sent nothing for {timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise ScenarioError(f"the server at {self.base} cannot be reached: {exc}") from exc
        return [p for p in body.split(SEPARATOR) if p]

    async def poll(self, timeout: float = 60.0, answer_pings: bool = True) -> list[str]:
        """One long-polling GET: it waits until the server has packets for us. A ping
        among them is answered with a pong (one POST) as any client does: the server
        sends its next ping only after the pong, and drops a session that never
        answers."""
        self._http("GET ?transport=polling: waits for packets")
        packets = await self._get(timeout)
        for p in packets:
            self._show("in", p, "poll: ")
        if answer_pings and "2" in packets:
            await self.post("3")
        return packets

    async def post(self, *packets: str) -> None:
        """Packets to the server over long-polling (one POST)."""
        assert self.http is not None
        for p in packets:
            self._show("out", p, "POST: ")
        async with self.http.post(self._url("polling"), data=SEPARATOR.join(packets),
                                  headers={"Content-Type": "text/plain;charset=UTF-8"}) as r:
            body = await r.text()
            if r.status != 200 or body.strip().lower() != "ok":
                raise ScenarioError(f"long-polling POST answered {r.status}: "
                                    f"{_clip(body, 120)}")

    async def upgrade(self, timeout: float = 10.0) -> None:
        """Probe a websocket with ping `probe`; on pong `probe` the last poll is ended
        (`noop`) and `upgrade` switches the session over."""
        assert self.http is not None
        # the poll the noop will end (a ping in it is answered over the websocket below)
        pending = asyncio.ensure_future(self.poll(answer_pings=False))
        await asyncio.sleep(0.05)
        self._http("GET ?transport=websocket (Upgrade: websocket)")
        self.ws = await self.http.ws_connect(self._url("websocket", ws=True), autoping=False)
        await self.send("2probe")
        answer = await self.receive(timeout)
        if answer != "3probe":
            raise ScenarioError(f"the websocket probe was answered with {answer!r}")
        ended = await asyncio.wait_for(pending, timeout)
        if "6" not in ended:
            raise ScenarioError(f"the last poll ended without a noop: {ended!r}")
        await self.send("5")
        if "2" in ended:
            await self.send("3")

    async def send(self, packet: str) -> None:
        assert self.ws is not None
        self._show("out", packet, "ws: ")
        await self.ws.send_str(packet)

    async def receive(self, timeout: float) -> str:
        """The next packet over the websocket (shown); a ping is answered with a pong
        at once (see `poll`)."""
        assert self.ws is not None
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ScenarioError(f"the websocket closed ({msg.type.name})")
        self._show("in", str(msg.data), "ws: ")
        if msg.data == "2":
            await self.send("3")
        return str(msg.data)

    async def heartbeat(self, timeout: float) -> None:
        """Wait for the server's next ping (answered with a pong by `receive`; messages
        meanwhile are shown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while await self.receive(max(0.1, deadline - loop.time())) != "2":
                pass
        except TimeoutError:
            raise ScenarioError(f"the server sent no ping within {timeout:g} s "
                                "(was an earlier ping left unanswered?)") from None

    async def cut(self) -> None:
        """Cut the TCP connection under the websocket: no close packet, no close frame."""
        if self.ws is not None:
            # aiohttp has no public call for this (as in app.sioclient.abort_socket)
            response = getattr(self.ws, "_response", None)
            transport = getattr(getattr(response, "connection", None), "transport", None)
            if transport is not None:
                transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.receive(), 2.0)
            self.ws = None

    async def close(self) -> None:
        """Say goodbye (close packet) if still connected, and free the HTTP session."""
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.send("1")
                await self.ws.close()
        self.ws = None
        if self.http is not None:
            await self.http.close()
            self.http = None
