"""Connection settings, kept in plain dataclasses so the GUI can edit and save them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

TRANSPORTS = ("websocket", "polling")


@dataclass
class ReconnectPolicy:
    """How hard to try to get back online after a drop or a failed attempt.

    `delay` doubles after each failed attempt up to `delay_max`; `attempts` = 0 means
    forever (the durable outbox makes waiting cheap); `jitter` spreads many clients'
    retries apart after a server restart (fraction of the delay, +/-).
    """

    delay: float = 0.5
    delay_max: float = 5.0
    attempts: int = 0
    jitter: float = 0.25
    enabled: bool = True

    def delay_for(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based), without jitter."""
        return min(self.delay_max, self.delay * (2 ** max(0, attempt - 1)))


@dataclass
class TlsSettings:
    """How a TLS (https/wss) server's certificate is checked.

    `fingerprint` pins the certificate by its SHA-256 (64 hex digits): exactly that
    certificate is accepted, self-signed or not, and nothing else (how an invite to a
    hosted workspace keeps the token off a server that merely took the address).
    Otherwise the system's CAs check it, or `ca_file`'s; `verify=False` accepts any
    certificate (for a developer's own test server, never the default).
    """

    verify: bool = True
    ca_file: str | None = None
    fingerprint: str | None = None


def namespace_path(namespace: str) -> str:
    """A namespace as Socket.IO names it: with its leading slash ("chat" is "/chat")."""
    return namespace if namespace.startswith("/") else "/" + namespace


@dataclass
class ConnectionConfig:
    """Everything needed to open one Socket.IO connection with several namespaces.

    `token` is a secret: it is excluded from repr() so it never lands in a log line,
    and it is merged into the auth payload only at connect time.
    """

    url: str = "http://127.0.0.1:5000"
    #: every address of the server, `url` first: when one cannot be reached the next
    #: is tried (a server run as several processes behind no load balancer)
    urls: list[str] = field(default_factory=list)
    user: str | None = None
    token: str | None = field(default=None, repr=False)
    namespaces: list[str] = field(default_factory=lambda: ["/"])
    auth: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    transports: list[str] = field(default_factory=lambda: ["websocket", "polling"])
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    no_ack: bool = False
    ack_timeout: float = 10.0
    window: int = 32
    outbox_limit: int = 100_000
    outbox_ttl: float | None = None
    max_attempts: int = 3
    socketio_path: str = "socket.io"
    connect_timeout: float = 10.0
    #: the namespace extensions for SockDesk's own server (app/extension.py): "auto"
    #: switches them on when the server introduces itself as SockDesk, "on" and "off"
    #: decide without asking
    extensions: str = "auto"
    #: "auto": resend until acked only where the server drops duplicates; "once": send
    #: once, a missing ack makes the message `no_ack`; "until_acked": always resend
    delivery: str = "auto"
    #: "default" (JSON) or "msgpack" (the server must use socket.io-msgpack-parser)
    parser: str = "default"
    tls: TlsSettings = field(default_factory=TlsSettings)

    def addresses(self) -> list[str]:
        """Every URL to try, `url` first, without repeats."""
        return list(dict.fromkeys([self.url, *self.urls]))

    def auth_payload(self) -> dict[str, Any]:
        """The CONNECT auth object: the user's extra auth with user/token merged in."""
        data = dict(self.auth)
        if self.user is not None:
            data["user"] = self.user
        if self.token is not None:
            data["token"] = self.token
        return data

    def full_url(self, url: str | None = None) -> str:
        """The URL (or another of the server's `urls`) with `query` appended (kept apart
        so the GUI can edit it as a table)."""
        url = url or self.url
        if not self.query:
            return url
        parts = urlsplit(url)
        extra = urlencode(self.query)
        q = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit((parts.scheme, parts.netloc, parts.path, q, parts.fragment))

    def normalized_namespaces(self) -> list[str]:
        """Namespaces with a leading slash, without duplicates, in the given order."""
        out: list[str] = []
        for ns in self.namespaces or ["/"]:
            ns = namespace_path(ns)
            if ns not in out:
                out.append(ns)
        return out

    def engine_transports(self) -> list[str]:
        """Transports for engine.io: polling first when both, so an upgrade can happen."""
        wanted = [t for t in TRANSPORTS if t in self.transports] or list(TRANSPORTS)
        return sorted(wanted, key=lambda t: t != "polling") if len(wanted) > 1 else wanted
