"""Assemble the server: the backend, the socketio.AsyncServer, the namespaces, aiohttp.

Kept free of argument parsing so tests or an embedding program can run a server from a
:class:`ServerConfig`. Startup order matters: the state is opened (database, or Redis) and
queue state rebuilt before the port is bound, and with Redis the process joins the
cluster (cleaning up after an earlier process on this address, subscribing to the
broadcast channel) after binding but before serving, so a client can never reach a
half-ready server. The shutdown order is the reverse, and the backend is closed last so
every pending write lands.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from server_stub import jsonmod
from server_stub.admin import AdminInstrumentation, instrument
from server_stub.auth import Authenticator
from server_stub.backend import Backend, make_backend
from server_stub.claims import NameClaims
from server_stub.namespaces.base import Context
from server_stub.namespaces.chat import ChatNamespace
from server_stub.namespaces.queue import QueueNamespace
from server_stub.namespaces.sandbox import SandboxNamespace
from server_stub.ratelimit import DEFAULT_OVERLOAD_LAG, LoadShedder, RateLimiter
from server_stub.storage import StorageError
from server_stub.tls import TlsError, TlsFiles, fingerprint, server_context
from server_stub.transport.engine import EngineOptions, SocketServer
from server_stub.transport.fanout import use_plain_websockets
from server_stub.transport.frames import check_websocket_frames
from server_stub.transport.longpoll import release_polls_on_close
from server_stub.transport.sendqueue import DEFAULT_MAX_BYTES, DEFAULT_MAX_PACKETS, SendLimits
from server_stub.transport.slowconsumer import SlowConsumers
from server_stub.web import mount
from server_stub.web.client_bundle import ClientBundle
from server_stub.web.pages import StaticDirError

log = logging.getLogger(__name__)

#: Engine.IO packet cap: well above the 64 KiB payload limit, so an oversized payload
#: still arrives and can be answered with ``too_large`` instead of a dropped connection.
MAX_PACKET_BYTES = 1 << 20
ADMIN_UI_ORIGIN = "https://admin.socket.io"
#: How long shutdown waits for clients to receive their CLOSE packet.
CLOSE_GRACE_SECONDS = 1.0


class StartupError(Exception):
    """The server cannot start; the message is one line for the user."""


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    db: Path = field(default_factory=lambda: Path("server.db"))
    token: str | None = None
    admin: bool = False
    cors_origins: list[str] = field(default_factory=list)
    rate_limit: float | None = None
    visibility_timeout: float = 30.0
    max_attempts: int = 5
    #: Share state with other server processes through this Redis (None: SQLite ``db``).
    redis_url: str | None = None
    #: With Redis: seconds without a heartbeat before a process counts as dead.
    node_timeout: float = 10.0
    #: Serve HTTPS/WSS with this certificate and key (None: plain HTTP).
    tls: TlsFiles | None = None
    #: Sandbox connections without ``auth`` get a guest name even when there is a token.
    allow_guests: bool = False
    #: Sandbox namespaces whose relay reaches the sender too (the tutorial's io.emit).
    echo: list[str] = field(default_factory=list)
    #: A folder served at /static/ (a page calling io() must come from this origin).
    static_dir: Path | None = None
    #: Where the socket.io browser client is cached (None: the user's cache folder).
    client_cache: Path | None = None
    #: Engine.IO ping interval and timeout, and the connect timeout (Node's defaults).
    engine: EngineOptions = field(default_factory=EngineOptions)
    #: Per-socket limits on what waits to be written; over them: a slow consumer.
    send_queue_bytes: int = DEFAULT_MAX_BYTES
    send_queue_packets: int = DEFAULT_MAX_PACKETS
    #: Event-loop delay (s) above which new work is refused (None: never shed).
    overload_lag: float | None = DEFAULT_OVERLOAD_LAG


class OriginPolicy:
    """CORS check for engine.io: same-origin always, plus the configured origins (or any
    origin with ``*``). A callable, because engine.io drops its own same-origin rule as
    soon as a list is given."""

    def __init__(self, origins: list[str]) -> None:
        self.any = "*" in origins
        self.origins = {o.rstrip("/") for o in origins if o != "*"}

    def __call__(self, origin: str | None, environ: dict[str, Any] | None = None) -> bool:
        if self.any or origin is None:
            return True
        if origin.rstrip("/") in self.origins:
            return True
        environ = environ or {}
        host = environ.get("HTTP_HOST")
        scheme = environ.get("wsgi.url_scheme", "http")
        return host is not None and origin == f"{scheme}://{host}"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (localhost, 127.x, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def display_url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{shown}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so the real port is known when ``port`` is 0."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            # A restart right after a crash must get the same port back (TIME_WAIT).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {display_url(host, port)}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


class SockDeskServer:
    """One running server: start(), then wait, then stop()."""

    def __init__(self, config: ServerConfig, backend: Backend | None = None) -> None:
        self.config = config
        self.backend = backend or make_backend(config.db, config.redis_url,
                                               node_timeout=config.node_timeout)
        self.backend.on_presumed_dead = self._reconnect_everyone
        self.port = config.port
        self.url = ""
        #: SHA-256 of the served certificate (hex), with TLS.
        self.fingerprint: str | None = None
        self._runner: web.AppRunner | None = None
        origins = list(config.cors_origins)
        if config.admin:
            origins.append(ADMIN_UI_ORIGIN)
        self.sio = SocketServer(
            options=config.engine, async_mode="aiohttp", json=jsonmod, namespaces="*",
            client_manager=self.backend.client_manager(),
            cors_allowed_origins=OriginPolicy(origins),
            max_http_buffer_size=MAX_PACKET_BYTES,
            # Logger objects (not True/False): the libraries then add no handler of their
            # own, so their lines go through ours (format, level, token redaction).
            logger=logging.getLogger("socketio.server"),
            engineio_logger=logging.getLogger("engineio.server"))
        use_plain_websockets(self.sio)
        check_websocket_frames(self.sio.eio)
        release_polls_on_close(self.sio)
        self._bound_load(config)
        ctx = Context(sio=self.sio, backend=self.backend,
                      authenticator=Authenticator(config.token, config.allow_guests),
                      limiter=RateLimiter(config.rate_limit, self.shedder),
                      claims=NameClaims(self.backend.storage))
        self.chat = ChatNamespace(ctx)
        self.queues = QueueNamespace(ctx, visibility_timeout=config.visibility_timeout,
                                     max_attempts=config.max_attempts)
        self.sandbox = SandboxNamespace(ctx, echo=config.echo)
        #: The Admin UI's instrumentation, with ``--admin``.
        self.admin = self._instrument(config.token) if config.admin else None
        self.app = web.Application()
        self.sio.attach(self.app)
        #: The official browser client served at /socket.io/socket.io.js.
        self.client_bundle = ClientBundle(cache_dir=config.client_cache)
        try:
            mount(self.app, self.client_bundle, config.static_dir)
        except StaticDirError as exc:
            raise StartupError(str(exc)) from exc

    def _bound_load(self, config: ServerConfig) -> None:
        """Bounded send queues (slow consumers are closed) and overload shedding."""
        try:
            limits = SendLimits(config.send_queue_bytes, config.send_queue_packets)
        except ValueError as exc:
            raise StartupError(str(exc)) from exc
        self.slow_consumers = SlowConsumers(self.sio, limits)
        heartbeats = getattr(self.sio.eio, "heartbeats", None)
        self.shedder = LoadShedder(config.overload_lag,
                                   heartbeats.behind if heartbeats is not None else None)

    def _instrument(self, token: str | None) -> AdminInstrumentation:
        """Turn on the official Admin UI (server_stub/admin.py): user "admin", password =
        the token."""
        if not token:
            raise StartupError("--admin needs --token (it is the Admin UI password)")
        # the UI counts packets and bytes where engine.io writes them into a websocket
        self.sio.eio.direct_writes = False
        return instrument(self.sio, token)

    async def start(self) -> str:
        """Open the state, rebuild queues, bind, join the cluster and serve; returns the
        URL."""
        ssl_context = None
        if self.config.tls is not None:
            # A certificate that cannot be used must stop us before anything is opened.
            try:
                ssl_context = server_context(self.config.tls)
                self.fingerprint = fingerprint(self.config.tls.cert)
            except TlsError as exc:
                raise StartupError(str(exc)) from exc
        try:
            await self.backend.open()
        except StorageError as exc:
            raise StartupError(str(exc)) from exc
        try:
            await self.queues.dispatcher.start()
            sock = bind_socket(self.config.host, self.config.port)
            self.port = int(sock.getsockname()[1])
            try:
                await self.backend.join_cluster(self.sio, self.config.host, self.port)
            except StorageError as exc:
                sock.close()
                raise StartupError(str(exc)) from exc
            # aiohttp would wait up to 60 s for each open websocket handler to end, i.e.
            # for every client to close its socket after our CLOSE packet; don't.
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                         shutdown_timeout=CLOSE_GRACE_SECONDS)
            await self._runner.setup()
            await web.SockSite(self._runner, sock, ssl_context=ssl_context).start()
            self.shedder.start()
        except BaseException:
            await self._cleanup()
            raise
        self.url = display_url(self.config.host, self.port,
                               "https" if ssl_context is not None else "http")
        return self.url

    async def stop(self) -> None:
        """Disconnect everyone, stop serving, then flush and close storage."""
        log.info("shutting down")
        self.chat.stopping = True  # the server goes away; nobody "left" a room
        await self.queues.dispatcher.stop()
        if self.admin is not None:
            await self.admin.stop()
        try:
            await self._disconnect_all()
            await self.sio.shutdown()
        except Exception:
            log.exception("error while disconnecting clients")
        await self._cleanup()

    async def _disconnect_all(self) -> None:
        """Close every Engine.IO session. The disconnect handlers run first, then engine.io
        waits for the client to fetch the CLOSE packet, which a polling client that went
        quiet never does; after a short grace we stop waiting for those."""
        eio = self.sio.eio
        closing = [asyncio.create_task(sock.close(reason=eio.reason.SERVER_DISCONNECT))
                   for sock in list(eio.sockets.values())]
        if not closing:
            return
        log.info("closing %d client connection(s)", len(closing))
        _, late = await asyncio.wait(closing, timeout=CLOSE_GRACE_SECONDS)
        if late:
            log.info("%d connection(s) did not take their CLOSE packet in time", len(late))
        for task in late:
            task.cancel()
        eio.sockets.clear()

    async def _cleanup(self) -> None:
        await self.shedder.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # Let disconnect handlers queue their last writes before the final flush.
        await asyncio.sleep(0)
        await self.backend.close()

    async def _reconnect_everyone(self) -> None:
        """The other processes took us for dead and may have cleaned up our sockets'
        state: close every connection so the clients come back and register again."""
        eio = self.sio.eio
        for eio_sid in list(eio.sockets):
            try:
                await eio.disconnect(eio_sid)
            except Exception:
                log.exception("could not disconnect %s", eio_sid)
