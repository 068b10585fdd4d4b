"""Invites: one line of text that holds everything needed to join a hosted workspace.

Format (docs/PROTOCOL.md, "Invites"; the bundled server prints the same line):

    sockdesk://join?v=1&url=<server URL>&token=<token>&name=<workspace name>
                    [&fp=<certificate SHA-256, 64 hex>][&path=<Socket.IO path>]

Values are percent-encoded. The fingerprint pins the host's self-signed certificate, so
the token never goes to a server that merely claims the address. An invite is a secret
(it holds the token): it is never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from app.errors import check_url

SCHEME = "sockdesk"
VERSION = "1"
DEFAULT_PATH = "/socket.io"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class InviteError(ValueError):
    """An invite that cannot be used; the message says what is wrong with it."""


def normalize_fingerprint(value: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits; accepts colons, spaces, a
    `sha256:` prefix and upper case, as people copy them from other tools."""
    text = value.strip().lower()
    text = text.removeprefix("sha256:").removeprefix("sha256 ")
    text = re.sub(r"[\s:]", "", text)
    if not _HEX64.fullmatch(text):
        raise InviteError(f"{value!r} is not a SHA-256 fingerprint (64 hex digits).")
    return text


@dataclass(frozen=True)
class Invite:
    """What an invite says."""

    url: str
    token: str | None = field(default=None, repr=False)
    name: str | None = None
    fingerprint: str | None = None
    path: str = DEFAULT_PATH

    def to_text(self) -> str:
        """The invite line."""
        params: list[tuple[str, str]] = [("v", VERSION), ("url", self.url)]
        if self.token:
            params.append(("token", self.token))
        if self.name:
            params.append(("name", self.name))
        if self.fingerprint:
            params.append(("fp", self.fingerprint))
        if self.path.strip("/") != DEFAULT_PATH.strip("/"):
            params.append(("path", self.path))
        return f"{SCHEME}://join?{urlencode(params, quote_via=quote)}"


def parse_invite(text: str) -> Invite:
    """Read an invite line (surrounding spaces and a pasted `Invite: ` prefix are fine)."""
    line = text.strip()
    line = line.removeprefix("Invite:").strip()
    parts = urlsplit(line)
    if parts.scheme != SCHEME or parts.netloc != "join":
        raise InviteError("This is not a SockDesk invite: it should start with "
                          f"{SCHEME}://join?")
    query = parse_qs(parts.query, keep_blank_values=True)

    def one(key: str) -> str | None:
        values = query.get(key)
        return values[0] if values else None

    version = one("v")
    if version not in (None, VERSION):
        raise InviteError(f"This invite is of version {version}; this SockDesk reads "
                          f"version {VERSION}. Update SockDesk to use it.")
    url = one("url")
    if not url:
        raise InviteError("The invite has no server address (url=...).")
    bad = check_url(url)
    if bad:
        raise InviteError(f"The invite's server address is not usable: {bad}")
    fp = one("fp")
    path = one("path") or DEFAULT_PATH
    return Invite(url=url, token=one("token") or None, name=one("name") or None,
                  fingerprint=normalize_fingerprint(fp) if fp else None,
                  path=path if path.startswith("/") else "/" + path)
