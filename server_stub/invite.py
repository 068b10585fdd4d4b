"""The invite line a server started with ``--token`` prints, for people to pass around.

One string carries everything a client needs to join this server's workspace: where it
is, the token, a name to show, and (with TLS) the certificate fingerprint to pin. The
desktop app parses it, so its format is part of the protocol (docs/PROTOCOL.md,
"Invites")::

    sockdesk://join?v=1&url=<base URL>&token=<token>&name=<name>[&fp=<sha256>][&path=<path>]

Every value is percent-encoded (``urllib.parse.quote`` with nothing left safe, so ``/``,
``:``, ``&``, ``=``, ``+`` and spaces in a token survive), ``fp`` appears only with TLS
and ``path`` only when it is not the standard ``/socket.io``.

A server listening on every interface (0.0.0.0) has no one address to put in the URL;
the invite uses the machine's LAN address when the routing table names one, else its
host name.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import quote, urlencode

SCHEME_PREFIX = "sockdesk://join?"
VERSION = "1"
DEFAULT_PATH = "/socket.io"
#: Any private address works: connecting a UDP socket only asks the kernel which route
#: (and so which local address) it would use. No packet is sent.
_ROUTE_PROBE = ("10.254.254.254", 9)


def build_invite(url: str, token: str, name: str, *, fingerprint: str | None = None,
                 path: str = DEFAULT_PATH) -> str:
    """The invite for a server at base ``url`` (``scheme://host:port``)."""
    params = [("v", VERSION), ("url", url), ("token", token), ("name", name)]
    if fingerprint:
        params.append(("fp", fingerprint))
    if path != DEFAULT_PATH:
        params.append(("path", path))
    return SCHEME_PREFIX + urlencode(params, quote_via=quote)


def default_name() -> str:
    return f"SockDesk on {socket.gethostname()}"


def lan_address() -> str | None:
    """This machine's primary LAN address (IPv4), found without network traffic, or None
    when there is no route to a private network."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_ROUTE_PROBE)  # UDP connect: picks a route, sends nothing
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified or ip.is_loopback:
        return None
    return address


def is_unspecified(host: str) -> bool:
    """True for "every interface" (0.0.0.0, ::), where the host has no one address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def reachable_host(listen_host: str) -> str:
    """The host to give other machines: the listen address itself, or for "every
    interface" the LAN address (else the host name)."""
    if is_unspecified(listen_host):
        return lan_address() or socket.gethostname()
    return listen_host
