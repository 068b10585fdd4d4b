"""The server's Socket.IO and Engine.IO objects, adjusted where python-engineio and
python-socketio behave differently from the Node reference server.

:class:`SocketServer` is ``socketio.AsyncServer`` with

* :class:`NodeLikeEngine` as its Engine.IO server (through ``_engineio_server_class``,
  the hook python-socketio itself uses to pick its engine), and
* Node's **connect timeout**: an Engine.IO session that has not connected a single
  Socket.IO namespace ``connect_timeout`` seconds after its handshake is closed (Node's
  ``connectTimeout``, 45 s by default; socket.io/lib/client.ts). Without it a client
  that answers pings but never connects a namespace holds a session open for ever.

:class:`NodeLikeEngine` is ``engineio.AsyncServer`` with

* Node's request checks and error bodies (:mod:`server_stub.transport.verify`), and a
  route for every HTTP method so that PUT or DELETE reach them (aiohttp answered 405);
* ping timeouts enforced on time (:mod:`server_stub.transport.heartbeat`);
* polling POSTs decoded Node's way, closing the session on an undecodable packet
  (:mod:`server_stub.transport.longpoll`); websocket frames get the same rule through
  :func:`server_stub.transport.frames.check_websocket_frames`.

docs/DESIGN.md ("python-engineio differences") lists what each one replaces.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

import engineio
import socketio
from engineio import exceptions
from engineio import packet as eio_packet

from server_stub.transport.fanout import websocket_frames, write_direct
from server_stub.transport.heartbeat import Heartbeats, end_session
from server_stub.transport.longpoll import receive_payload
from server_stub.transport.verify import error_response, refusal

log = logging.getLogger(__name__)


#: The answer to a polling POST, as the Node server words it (text/html: GH-43 there).
POST_ANSWER: dict[str, Any] = {"status": "200 OK", "headers": [("Content-Type", "text/html")],
                               "response": b"ok"}


@dataclass(slots=True, frozen=True)
class EngineOptions:
    """Engine.IO timing, with the Node server's defaults (seconds)."""

    #: Time between the server's PINGs.
    ping_interval: float = 25.0
    #: How long a PING waits for its PONG before the session is closed.
    ping_timeout: float = 20.0
    #: How long a session may stay without any Socket.IO namespace (0: for ever).
    connect_timeout: float = 45.0


class NodeLikeEngine(engineio.AsyncServer):
    """engine.io's asyncio server, answering requests as the Node server does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["monitor_clients"] = False  # Heartbeats replaces the service task
        super().__init__(*args, **kwargs)
        self.heartbeats = Heartbeats(self)
        #: frames may be written past the sockets' send queues (fanout.write_direct);
        #: off while the Admin UI counts what goes out, which it does in the websocket's
        #: ``send`` (its bytes and packets charts showed next to nothing with them on)
        self.direct_writes = True

    def attach(self, app: Any, engineio_path: str = "engine.io") -> None:
        """Route every method to the engine (the stock routes are GET, POST, OPTIONS),
        so that a PUT gets Node's 400 instead of aiohttp's 405."""
        super().attach(app, engineio_path)
        app.router.add_route("*", f"/{engineio_path.strip('/')}/", self.handle_request)

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        self.heartbeats.start()
        environ = await self._environ(*args, **kwargs)
        if self._origin_allowed(environ):
            code = refusal(environ, self.sockets, self.transports)
            if code is not None:
                return await self._make_response(error_response(code), environ)
            sock = self._polling_post_target(environ)
            if sock is not None:
                return await self._make_response(await self._post(sock, environ), environ)
        # engine.io itself: the handshake, GETs, upgrades, CORS preflights, refusals
        return await super().handle_request(*args, **kwargs)

    async def send_packet(self, sid: str, pkt: Any) -> None:
        """A message to one socket (an ack, a reply) goes straight into its websocket
        when nothing of that socket waits to be written, as broadcasts do
        (:func:`server_stub.transport.fanout.write_direct`): the queue's writer task
        would wake and aiohttp would frame it in Python, for every ack."""
        sock = self.sockets.get(sid)
        if self.direct_writes and sock is not None and not sock.closed \
                and pkt.packet_type == eio_packet.MESSAGE:
            wire = websocket_frames([pkt])
            if wire is not None and write_direct(sock, wire):
                return
        await super().send_packet(sid, pkt)

    async def shutdown(self) -> None:
        await self.heartbeats.stop()
        await super().shutdown()

    async def _environ(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The WSGI-style environ engine.io builds from the request (it builds it again
        in ``handle_request``: a small dict, the body is not read)."""
        translate = self._async["translate_request"]
        environ = translate(*args, **kwargs)
        if inspect.isawaitable(environ):
            environ = await environ
        return dict(environ)

    def _origin_allowed(self, environ: dict[str, Any]) -> bool:
        """engine.io's CORS rule, checked first (a refused origin is left to it)."""
        origin = environ.get("HTTP_ORIGIN")
        if self.cors_allowed_origins == [] or not origin:
            return True
        allowed = self._cors_allowed_origins(environ)
        return allowed is None or origin in allowed

    def _polling_post_target(self, environ: dict[str, Any]) -> Any:
        """The socket a polling POST is for, when this module answers it (not JSONP, a
        connected session still on polling); None to leave the request to engine.io."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        sock = self.sockets.get(query.get("sid", [""])[0])
        if sock is None or "j" in query or not sock.connected or sock.upgraded:
            return None
        return sock

    async def _post(self, sock: Any, environ: dict[str, Any]) -> dict[str, Any]:
        try:
            await receive_payload(self, sock, environ)
        except exceptions.EngineIOError:  # over max_http_buffer_size
            await end_session(self, sock, self.reason.TRANSPORT_ERROR)
            return self._bad_request()
        return POST_ANSWER


class SocketServer(socketio.AsyncServer):
    """python-socketio's server on :class:`NodeLikeEngine`, with Node's connect timeout."""

    def __init__(self, *args: Any, options: EngineOptions | None = None,
                 **kwargs: Any) -> None:
        options = options or EngineOptions()
        super().__init__(*args, ping_interval=options.ping_interval,
                         ping_timeout=options.ping_timeout, **kwargs)
        self.connect_timeout = options.connect_timeout
        self._deadlines: dict[str, asyncio.TimerHandle] = {}

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return NodeLikeEngine

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        if self.connect_timeout > 0:
            self._deadlines[eio_sid] = asyncio.get_running_loop().call_later(
                self.connect_timeout, self._connect_deadline, eio_sid)
        return result

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        deadline = self._deadlines.pop(eio_sid, None)
        if deadline is not None:
            deadline.cancel()
        await super()._handle_eio_disconnect(eio_sid, reason)

    def in_any_namespace(self, eio_sid: str) -> bool:
        """Whether this Engine.IO session has a Socket.IO namespace (connected, or its
        connect handler still running)."""
        return any(self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
                   for namespace in list(self.manager.get_namespaces()))

    def _connect_deadline(self, eio_sid: str) -> None:
        self._deadlines.pop(eio_sid, None)
        sock = self.eio.sockets.get(eio_sid)
        if sock is None or self.in_any_namespace(eio_sid):
            return
        log.info("%s: no namespace within %.1f s, closing", eio_sid, self.connect_timeout)
        task = asyncio.ensure_future(
            end_session(self.eio, sock, self.eio.reason.SERVER_DISCONNECT))
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("closing a session without namespace failed", exc_info=task.exception())
