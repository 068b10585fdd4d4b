"""What answers at a Socket.IO address, found out with plain HTTP requests.

When a connection attempt fails after the TCP port answered, python-socketio can only
say "Connection error" or that a packet was missing. This probe repeats the first steps
of the handshake by hand, over Engine.IO's long-polling transport (ordinary GET and POST
requests), to tell the cases a developer can act on apart:

- nothing at the Socket.IO path (HTTP 404): the path is probably different;
- an HTTP server that is not Socket.IO at all (another status, an HTML page);
- something that does not speak HTTP (or not TLS) on that port;
- a Socket.IO v2 server (Engine.IO 3): its handshake works with `EIO=3` but not `EIO=4`,
  and SockDesk (python-socketio 5) speaks only v3/v4;
- an Engine.IO v4 server that closes the connection on our Socket.IO CONNECT packet in
  one parser and answers it in the other: the parsers do not match (msgpack vs JSON);
- an Engine.IO server that refuses the handshake and says why (`{"code", "message"}`).

`diagnose` returns that finding (`Finding`: the second half of a sentence, and whether
retrying cannot help: a v2 server or the other parser stays what it is), or None when
the polling handshake and the CONNECT both work (the problem is elsewhere). It also holds
`ssl_for`, how a server's certificate is checked, shared with the client.
"""

from __future__ import annotations

import base64
import contextlib
import re
import ssl
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import msgpack

from app import jsonmod
from app.config import TlsSettings

__all__ = ["Finding", "diagnose", "ssl_for"]


@dataclass(frozen=True)
class Finding:
    """What the probe found: `text` ends a sentence that starts "Cannot connect to
    URL: "; `permanent` when trying again cannot help (the server speaks another
    Socket.IO version or parser)."""

    text: str
    permanent: bool = False

#: Engine.IO 3 (Socket.IO v2) polling payload: "<length>:<packet>", the open packet first
_EIO3_OPEN = re.compile(r"^\d+:0\{")
#: Engine.IO 4 polling payload separator
_RECORD_SEPARATOR = "\x1e"


def ssl_for(tls: TlsSettings) -> aiohttp.Fingerprint | ssl.SSLContext | bool:
    """What aiohttp's connector checks a server's certificate with."""
    if tls.fingerprint:
        return aiohttp.Fingerprint(bytes.fromhex(tls.fingerprint))
    if not tls.verify:
        return False
    if tls.ca_file:
        return ssl.create_default_context(cafile=tls.ca_file)
    return True


def _endpoint(url: str, path: str) -> tuple[str, list[tuple[str, str]], str]:
    """The Engine.IO endpoint (scheme://host:port/path/), the URL's own query, and the
    path as a person writes it (/socket.io/)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    shown = "/" + path.strip("/") + "/" if path.strip("/") else "/"
    return f"{scheme}://{parts.netloc}{shown}", parse_qsl(parts.query), shown


class _Probe:
    """One HTTP client session making the handshake's requests."""

    def __init__(self, http: aiohttp.ClientSession, endpoint: str,
                 query: list[tuple[str, str]], timeout: float) -> None:
        self.http = http
        self.endpoint = endpoint
        self.query = query
        self.timeout = timeout

    def url(self, **params: str) -> str:
        q = [*self.query, *params.items(), ("t", uuid.uuid4().hex[:8])]
        return f"{self.endpoint}?{urlencode(q)}"

    async def get(self, **params: str) -> tuple[int, str, str]:
        """(status, content type, body text) of a GET."""
        async with self.http.get(self.url(**params)) as r:
            body = await r.content.read(64 * 1024)
            return r.status, r.headers.get("Content-Type", ""), body.decode("utf-8",
                                                                            "replace")

    async def post(self, body: str, **params: str) -> int:
        async with self.http.post(self.url(**params), data=body.encode("utf-8"),
                                  headers={"Content-Type": "text/plain;charset=UTF-8"}) as r:
            await r.read()
            return r.status

    async def open_eio4(self) -> str | None:
        """A fresh Engine.IO 4 session's id, or None if the open packet did not come."""
        status, _, body = await self.get(EIO="4", transport="polling")
        return _sid(body) if status == 200 else None

    async def understands(self, parser: str) -> bool | None:
        """Does the server answer a Socket.IO CONNECT to "/" written with `parser`?
        True: it answered (accepted or refused: either way it read the packet); False:
        it closed the session instead; None: no answer in time, or no session."""
        sid = await self.open_eio4()
        if sid is None:
            return None
        if parser == "msgpack":
            packet = "b" + base64.b64encode(msgpack.dumps({"type": 0, "nsp": "/"})).decode()
        else:
            packet = "40"
        try:
            if await self.post(packet, EIO="4", transport="polling", sid=sid) != 200:
                return False
            for _ in range(3):  # skip noops and pings until the answer or the close
                status, _, body = await self.get(EIO="4", transport="polling", sid=sid)
                if status != 200:
                    return False  # the session is gone: the server closed it
                verdict = _answer(body, parser)
                if verdict is not None:
                    return verdict
            return None
        finally:
            # politely end the probe's session (if the server still has it)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self.post("1", EIO="4", transport="polling", sid=sid)


def _sid(body: str) -> str | None:
    """The sid of an Engine.IO 4 open packet ("0{...}"), if the body is one."""
    first = body.split(_RECORD_SEPARATOR, 1)[0]
    if not first.startswith("0{"):
        return None
    try:
        data = jsonmod.loads(first[1:])
    except ValueError:
        return None
    sid = data.get("sid") if isinstance(data, dict) else None
    return sid if isinstance(sid, str) else None


def _answer(body: str, parser: str) -> bool | None:
    """Read polled packets: True on a CONNECT answer (CONNECT or CONNECT_ERROR) in the
    parser's encoding, False on a close, None if neither came yet."""
    for packet in body.split(_RECORD_SEPARATOR):
        if packet.startswith("1"):
            return False
        if parser != "msgpack" and packet[:2] in ("40", "44"):
            return True
        if parser == "msgpack" and packet.startswith("b"):
            try:
                decoded = msgpack.loads(base64.b64decode(packet[1:]))
            except (ValueError, msgpack.UnpackException):
                continue
            if isinstance(decoded, dict) and decoded.get("type") in (0, 4):
                return True
    return None


def _refusal(body: str) -> str | None:
    """The message of an Engine.IO error answer ({"code": 3, "message": "Bad request"})."""
    try:
        data = jsonmod.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and "code" in data and isinstance(data.get("message"), str):
        return str(data["message"])
    return None


async def diagnose(url: str, path: str = "socket.io", parser: str = "default",
                   tls: TlsSettings | None = None, headers: dict[str, str] | None = None,
                   timeout: float = 3.0, transports: list[str] | None = None
                   ) -> Finding | None:
    """What answers at `url` + `path`, as the end of a sentence ("nothing answers at
    /socket.io/ on that server: ..."), or None if the handshake works over polling in
    the configured parser (nothing to add). `transports` are the connection's: a server
    that refuses long-polling only matters when the connection would use it. Never
    raises for network trouble."""
    endpoint, query, shown = _endpoint(url, path)
    connector = aiohttp.TCPConnector(ssl=ssl_for(tls or TlsSettings()))
    async with aiohttp.ClientSession(connector=connector, headers=headers or {},
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        probe = _Probe(http, endpoint, query, timeout)
        try:
            return await _diagnose(probe, shown, parser, transports or ["polling"])
        except aiohttp.ClientSSLError as exc:
            return Finding(f"the server does not complete a TLS handshake "
                           f"({exc.__class__.__name__}); if it is a plain HTTP server, use "
                           "http:// instead of https://")
        except (aiohttp.ClientResponseError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientPayloadError) as exc:
            return Finding(f"something listens there, but it does not answer HTTP "
                           f"({type(exc).__name__}); is it the right port?")
        except TimeoutError:
            return Finding(f"the port accepts connections, but no HTTP answer came within "
                           f"{timeout:g} s")
        except (aiohttp.ClientError, OSError):
            return None


async def _diagnose(probe: _Probe, shown: str, parser: str, transports: list[str]
                    ) -> Finding | None:
    status, ctype, body = await probe.get(EIO="4", transport="polling")
    if status == 200 and _sid(body) is not None:
        return await _check_parser(probe, parser)
    if status == 404:
        return Finding(f"nothing answers at {shown} on that server (HTTP 404): is the "
                       "Socket.IO path different?")
    # anything else: is it an older Socket.IO?
    status3, _, body3 = await probe.get(EIO="3", transport="polling", b64="1")
    if (status == 200 and _EIO3_OPEN.match(body)) or (status3 == 200
                                                       and _EIO3_OPEN.match(body3)):
        return Finding("this server speaks Socket.IO v2 (Engine.IO 3), which SockDesk does "
                       "not support; it needs a Socket.IO v3 or v4 server", permanent=True)
    refused = _refusal(body)
    if refused == "Transport unknown":  # a websocket-only server
        if "polling" not in transports:
            return None  # we did not ask for polling: this says nothing about the failure
        return Finding("the server does not accept long-polling (it answered \"Transport "
                       "unknown\"); connect over websocket only (--transport websocket)")
    if refused is not None:
        return Finding(f"the Engine.IO server at {shown} refused the handshake: {refused}")
    kind = ctype.split(";", 1)[0].strip() or "no content type"
    return Finding(f"an HTTP server answers at {shown}, but not as Socket.IO (HTTP "
                   f"{status}, {kind}): is this the Socket.IO server, and the right path?")


async def _check_parser(probe: _Probe, parser: str) -> Finding | None:
    """The Engine.IO 4 handshake works: does the Socket.IO parser match?"""
    mine = await probe.understands(parser)
    if mine is not False:
        return None
    other = "default" if parser == "msgpack" else "msgpack"
    if await probe.understands(other) is not True:
        return Finding("the server closed the connection on our first Socket.IO packet "
                       "(CONNECT); it may use a parser SockDesk does not know")
    if other == "msgpack":
        return Finding("the server did not understand the packets: does it use the "
                       "msgpack parser? (use --parser msgpack)", permanent=True)
    return Finding("the server did not understand the packets: it uses the default JSON "
                   "parser, not msgpack (drop --parser msgpack)", permanent=True)

