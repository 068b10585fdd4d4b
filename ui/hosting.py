"""Running the server of a PRIVATE or HOST workspace: the embedded server, as that
workspace wants it.

A PRIVATE workspace ("Try it here") is what SockDesk always did: a server on loopback,
on a fresh port each launch, with no token and no TLS, for this user alone. A HOST
workspace ("Host for my team or class") is a server other people reach, so it keeps
what they were given: the same address and port across restarts (their invites stay
valid), the workspace's token (without it anyone on the network could connect as
anyone), and TLS with a self-signed certificate the server keeps beside its database
(the invite pins its fingerprint, so nobody else can answer at that address and collect
the token). Plain HTTP is used only where nobody else can listen (loopback) or when the
user asked for it explicitly (``HostSettings.plain_http_ok``).

The host's own app connects to the server it hosts like everybody else, with the token
and its name-claim key; it pins the certificate by the fingerprint the server printed
(``HostedServer.connection_config``).

Everything about the child process itself (starting it without blocking the loop,
reading its ``Listening on`` line, stopping it) is ``ui.server.EmbeddedServer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QProcess, Signal

from app.config import ConnectionConfig
from app.invite import InviteError, parse_invite
from app.workspace import ServerKind, Workspace
from ui.server import EmbeddedServer, server_command, server_workdir

#: The environment variable the server reads its token from (server_stub.cli.TOKEN_ENV):
#: unlike ``--token`` it does not show in the process list.
TOKEN_ENV = "SOCKDESK_SERVER_TOKEN"
#: The database of a workspace's server, under the workspace's data folder.
SERVER_FOLDER = "server"
DB_NAME = "sockdesk-server.db"
#: Bytes of a generated token (``secrets.token_urlsafe``: 22 characters).
TOKEN_BYTES = 16
#: How long the announcements after ``Listening on`` may take (they are printed with it,
#: in one write; this only guards against a server that never prints them).
ANNOUNCE_TIMEOUT = 5.0
#: Any private address: a UDP ``connect`` to it picks the route (and so the local
#: address) without sending anything.
_ROUTE_PROBE = ("10.254.254.254", 9)
#: The server's "error" prefix, dropped from the sentences we show.
_ERROR_PREFIX = "sockdesk-server: error: "


class HostingError(RuntimeError):
    """The workspace's server cannot be started, reached or told something; str() is a
    sentence for the user."""


@dataclass(frozen=True)
class HostInfo:
    """A running server, as the window shows it and connects to it."""

    #: where this computer's own session connects (loopback when listening everywhere)
    url: str
    #: the invite line to hand out (HOST only: PRIVATE servers have no token)
    invite: str | None
    #: SHA-256 of the server's certificate, 64 hex digits (with TLS)
    fingerprint: str | None
    #: what it listens on, in words ("all networks (0.0.0.0) on port 5000, with TLS")
    listen: str


def is_loopback(host: str) -> bool:
    """True for addresses only this computer can reach (localhost, 127.x, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_unspecified(host: str) -> bool:
    """True for "every interface" (0.0.0.0, ::): no one address to connect to."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def uses_tls(ws: Workspace) -> bool:
    """Whether a HOST workspace's server speaks TLS: when asked (``host.tls``), and
    always beyond loopback unless plain HTTP was asked for explicitly. (A PRIVATE
    server never does: nothing but this computer reaches it.)"""
    if ws.server != ServerKind.HOST:
        return False
    return ws.host.tls or not (is_loopback(ws.host.interface) or ws.host.plain_http_ok)


def server_db(data_dir: Path) -> Path:
    """The database of the server of the workspace whose data folder is ``data_dir``
    (its self-signed certificate is kept beside it, in ``tls/``)."""
    return Path(data_dir) / SERVER_FOLDER / DB_NAME


class HostedServer(QObject):
    """The embedded server of one PRIVATE or HOST workspace (see the module doc).

    ``start()`` may change the workspace: a HOST workspace without a port gets the one
    the server picked, and one without a token gets a new token, so both are kept the
    next time; the caller saves the workspace after a start.
    """

    #: HostInfo: the server listens (after ``start()``)
    started = Signal(object)
    #: a sentence: the server ended (asked to, or unexpectedly: the sentence says which)
    stopped = Signal(str)
    #: a sentence: ``start()`` failed (it raises HostingError with the same sentence)
    failed = Signal(str)

    def __init__(self, ws: Workspace, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if not ws.embedded:
            raise HostingError(f"Workspace {ws.name!r} is somebody else's server; "
                               "SockDesk runs only private and hosted ones.")
        self.ws = ws
        self.data_dir = Path(data_dir)
        self.server: EmbeddedServer | None = None
        self.info: HostInfo | None = None
        self._stopping = False
        self._starting = False

    @property
    def db(self) -> Path:
        return server_db(self.data_dir)

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    # ---- start and stop ---------------------------------------------------------------

    def _launch_plan(self) -> tuple[str, int, list[str], dict[str, str | None]]:
        """Interface, port, extra arguments and environment of the next launch."""
        ws = self.ws
        if ws.server == ServerKind.PRIVATE:
            # An inherited $SOCKDESK_SERVER_TOKEN would lock the user out of their own
            # private server: its session knows no token.
            return "127.0.0.1", 0, [], {TOKEN_ENV: None}
        if not ws.token:
            ws.token = secrets.token_urlsafe(TOKEN_BYTES)
        extra = [f"--name={ws.name}"]  # one argument, even for a name starting with -
        if uses_tls(ws):
            extra.append("--tls")
        for ns in ws.host.echo:
            extra.append(f"--echo={ns}")
        return ws.host.interface, ws.host.port, extra, {TOKEN_ENV: ws.token}

    async def start(self, timeout: float = 20.0) -> HostInfo:
        """Start the server and wait until it listens; the HostInfo (also sent with
        ``started``). Already running: its HostInfo. A failure emits ``failed`` and
        raises HostingError, both with the same sentence."""
        if self.running and self.info is not None:
            return self.info
        if self._starting:
            raise HostingError(f"The server of {self.ws.name!r} is starting already.")
        self._starting = True
        try:
            info = await self._start(timeout)
        except HostingError as exc:
            self.failed.emit(str(exc))
            raise
        finally:
            self._starting = False
        self.info = info
        self.started.emit(info)
        return info

    async def _start(self, timeout: float) -> HostInfo:
        await self._retire_server()
        interface, port, extra, env = self._launch_plan()
        try:
            self.db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise HostingError(f"Cannot create the server's folder {self.db.parent}: "
                               f"{exc.strerror or exc}.") from None
        server = EmbeddedServer(self.db, self, *extra, host=interface, port=port, env=env)
        self.server = server
        server.proc.finished.connect(self._exited)
        where = _listen_words(interface, port)
        try:
            url = await server.start(timeout)
        except RuntimeError as exc:
            raise HostingError(f"Could not start the server of {self.ws.name!r} on "
                               f"{where}: {_detail(str(exc))}") from None
        invite = fingerprint = None
        if env.get(TOKEN_ENV):
            invite = await server.wait_line("Invite: ", ANNOUNCE_TIMEOUT)
            if invite is None:
                await server.stop()
                raise HostingError(f"The server of {self.ws.name!r} did not print its "
                                   "invite; is the bundled server up to date?")
        if "--tls" in extra:
            fingerprint = await server.wait_line("Certificate SHA-256: ", ANNOUNCE_TIMEOUT)
            if fingerprint is None:
                await server.stop()
                raise HostingError(f"The server of {self.ws.name!r} did not print its "
                                   "certificate's fingerprint.")
        listening_port = _port_of(url)
        if self.ws.server == ServerKind.HOST and not self.ws.host.port:
            self.ws.host.port = listening_port  # kept: invites name this port
            server.port = listening_port
        own_url = _own_url(url, interface)
        words = _listen_words(interface, listening_port)
        words += ", with TLS" if fingerprint else ", plain HTTP (no TLS)"
        if invite:
            words += f"; others join at {_invite_url(invite) or own_url}"
        return HostInfo(url=own_url, invite=invite, fingerprint=fingerprint, listen=words)

    async def stop(self) -> None:
        """Stop the server (``stopped`` follows); nothing when it is not running."""
        if not self.running:
            return
        assert self.server is not None
        self._stopping = True
        try:
            await self.server.stop()
        finally:
            self._stopping = False

    def kill_now(self) -> None:
        """Last resort at interpreter exit: never leave the child behind."""
        if self.server is not None:
            self.server.kill_now()

    def _exited(self, code: int, status: QProcess.ExitStatus) -> None:
        """The process ended: say so, unless it never got as far as listening (then
        ``start()`` reports it)."""
        if self.info is None:
            return
        self.info = None
        if self._stopping or (status == QProcess.ExitStatus.NormalExit and code == 0):
            # exit status 0 is the server's answer to SIGTERM: somebody stopped it
            # (this object, or whoever was handed ``self.server``)
            reason = f"The server of {self.ws.name!r} is stopped."
        else:
            server = self.server
            last = "".join(server.output).strip().splitlines()[-1:] if server else []
            how = ("crashed" if status == QProcess.ExitStatus.CrashExit
                   else f"exited with status {code}")
            reason = (f"The server of {self.ws.name!r} stopped unexpectedly ({how})"
                      + (f": {_detail(last[0])}" if last else "."))
        self.stopped.emit(reason)

    async def _retire_server(self) -> None:
        """Forget the process of an earlier start, stopping it first if somebody started
        it again directly (deleting a QProcess that runs would kill it uncleanly)."""
        old, self.server = self.server, None
        if old is None:
            return
        with contextlib.suppress(RuntimeError, TypeError):
            old.proc.finished.disconnect(self._exited)
        if old.running:
            await old.stop()
        old.deleteLater()

    # ---- what the app needs from a running server -------------------------------------

    def connection_config(self, info: HostInfo | None = None) -> ConnectionConfig:
        """The session config of the host's own app: the workspace's (user, token,
        name-claim key, namespaces) at ``info.url``, pinning the certificate the server
        printed, so the host is connected to the server it hosts and to nothing else."""
        info = info or self.info
        if info is None:
            raise HostingError(f"The server of {self.ws.name!r} is not running.")
        config = self.ws.connection_config(url=info.url)
        config.tls.fingerprint = info.fingerprint
        return config

    async def release_name(self, name: str, timeout: float = 30.0) -> str:
        """Remove the claim on a user name in this server's storage (also while it runs:
        the next connection under that name needs no key). Returns the server's
        sentence; HostingError with its reason when there was no claim (or no
        database yet)."""
        code, output = await run_server_command(
            ["release-name", name, "--db", str(self.db)], timeout)
        lines = output.strip().splitlines()
        if code == 0 and lines:
            return lines[-1].strip()
        raise HostingError(_detail(lines[-1]) if lines else
                           f"Could not release the name {name} (exit status {code}).")


async def run_server_command(args: list[str], timeout: float = 30.0) -> tuple[int, str]:
    """Run the bundled server's CLI with ``args`` (a subcommand) in a QProcess, without
    blocking the loop; exit status and its output (stdout and stderr together)."""
    proc = QProcess()
    proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
    workdir = server_workdir()
    if workdir:
        proc.setWorkingDirectory(workdir)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    def finished(code: int, _status: QProcess.ExitStatus) -> None:
        if not done.done():
            done.set_result(code)

    def error(err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart and not done.done():
            done.set_exception(HostingError(
                f"Could not run the bundled server: {proc.errorString()}."))

    proc.finished.connect(finished)
    proc.errorOccurred.connect(error)
    program, argv = server_command(*args)
    proc.start(program, argv)
    try:
        code = await asyncio.wait_for(done, timeout)
    except TimeoutError:
        proc.kill()
        proc.waitForFinished(2000)
        raise HostingError(f"The bundled server did not finish {args[0]} in "
                           f"{timeout:g} s.") from None
    output = bytes(proc.readAll().data()).decode("utf-8", "replace")
    return code, output


# ---- addresses ----------------------------------------------------------------------


def local_addresses() -> list[tuple[str, str]]:
    """(address, label) for the interface picker: loopback first, then each IPv4
    address of this computer, then 0.0.0.0 (every network). Found without sending
    anything: the addresses the host name resolves to, and the one a UDP socket would
    use for a private address (its ``connect`` only asks the kernel for a route)."""
    found: list[str] = []
    with contextlib.suppress(OSError, UnicodeError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET,
                                       socket.SOCK_STREAM):
            found.append(str(info[4][0]))
    route = route_address()
    if route:
        found.insert(0, route)
    out = [("127.0.0.1", "This computer only")]
    seen = {"127.0.0.1"}
    for address in found:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if address in seen or ip.is_loopback or ip.is_unspecified:
            continue
        seen.add(address)
        if ip.is_link_local:
            label = "Link-local network (no router)"
        elif ip.is_global:
            label = "Public network (reachable from the internet)"
        else:
            label = "Local network"
        if address == route:
            label += ", the default route"
        out.append((address, label))
    out.append(("0.0.0.0", "All networks"))
    return out


def route_address() -> str | None:
    """The IPv4 address this computer uses towards private networks (its LAN address),
    or None without such a route. No packet is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_ROUTE_PROBE)
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    return None if ip.is_unspecified or ip.is_loopback else address


# ---- words and URLs -----------------------------------------------------------------


def _listen_words(interface: str, port: int) -> str:
    where = f"port {port}" if port else "a free port"
    if is_unspecified(interface):
        return f"all networks ({interface}) on {where}"
    if is_loopback(interface):
        return f"this computer only ({interface}) on {where}"
    return f"{interface} on {where}"


def _port_of(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise HostingError(f"The server announced an address without a port: {url}")
    return port


def _own_url(url: str, interface: str) -> str:
    """The URL this computer connects to: the announced one, but on loopback when the
    server listens everywhere (0.0.0.0 is no address to connect to)."""
    if not is_unspecified(interface):
        return url
    parts = urlsplit(url)
    loop = "[::1]" if ":" in interface else "127.0.0.1"
    return f"{parts.scheme}://{loop}:{parts.port}"


def _invite_url(invite: str) -> str | None:
    try:
        return parse_invite(invite).url
    except InviteError:
        return None


def _detail(text: str) -> str:
    """A line of the server's as the end of our sentence."""
    text = text.strip().removeprefix("The bundled server did not start: ")
    text = text.removeprefix(_ERROR_PREFIX)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
