"""Claimed user names: trust on first use.

Without a registry of users, anyone who can connect may call themselves "alice". A
client that wants its name kept for itself sends a ``key`` in its connect auth: the
first accepted connection that presents a key for a name claims it, and from then on
every connection under that name must present the same key. Names nobody claimed keep
working without a key, so plain Socket.IO clients are not locked out.

What is stored is ``sha256$<salt>$<digest>``: a random salt per claim and SHA-256 of
salt + key. A fast hash is enough because the key is a secret the client generates
(16-256 characters, meant to be random), not a password a person remembers, so there is
nothing to guess even with the database in hand; and a slow one (scrypt costs a third
of a second here) would be paid at every connection to every namespace, by everyone
reconnecting after a restart at once, and by anyone sending wrong keys on purpose. The
scheme prefix leaves room for another hash later.

The claim lives in the server's storage (SQLite or Redis), read at every connection, so
``sockdesk-server release-name`` takes effect at the next connection, on every process.

A claim holds for the name in any case: it is stored under the name in lower case
(user names are ASCII), so "Alice" cannot pass for a claimed "alice" (a reviewer
joined as "Alice" beside the host's "alice": same colour, same avatar letter). A claim
stored before names were folded is still found under its exact spelling.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from server_stub.storage.base import Storage
from server_stub.validation import folded

KEY_MIN = 16
KEY_MAX = 256
KEY_RULE = f"a string of {KEY_MIN}-{KEY_MAX} characters"
_SCHEME = "sha256"
_SALT_BYTES = 16


def key_for(auth: dict[str, Any]) -> str | None:
    """The ``key`` of a connect auth (None when absent or null), or a refusal."""
    key = auth.get("key")
    if key is None:
        return None
    if not isinstance(key, str):
        raise ConnectionRefusedError(f"auth.key must be {KEY_RULE}")
    if len(key) < KEY_MIN:
        raise ConnectionRefusedError(f"auth.key is too short: it must be {KEY_RULE}")
    if len(key) > KEY_MAX:
        raise ConnectionRefusedError(f"auth.key is too long: it must be {KEY_RULE}")
    return key


def _digest(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8", "surrogatepass")).digest()


def seal(key: str) -> str:
    """What a new claim stores for ``key``: scheme, salt and digest, never the key."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_SCHEME}${salt.hex()}${_digest(salt, key).hex()}"


def opens(secret: str, key: str) -> bool:
    """Whether ``key`` is the one ``secret`` was sealed from (constant time)."""
    scheme, _, rest = secret.partition("$")
    salt_hex, _, digest_hex = rest.partition("$")
    try:
        salt, digest = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if scheme != _SCHEME or not salt or not digest:
        return False  # a claim we cannot check holds the name: refuse, never bypass
    return hmac.compare_digest(_digest(salt, key), digest)


def taken(user: str) -> ConnectionRefusedError:
    return ConnectionRefusedError(f"the name {user} is taken")


class NameClaims:
    """Admits or refuses a (user, key) pair against the claims in the storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def admit(self, user: str, key: str | None) -> bool:
        """Claim the name on first use of a key, check the key afterwards. Returns whether
        the name is claimed (by this key, since the connection was admitted); raises
        ConnectionRefusedError when the name belongs to another key."""
        name = folded(user)
        secret = await self.storage.name_claim(name)
        if secret is None and name != user:
            secret = await self.storage.name_claim(user)  # claimed before names were folded
        if secret is None:
            if key is None:
                return False
            # Two first connections may race here; both get the winner's secret back.
            secret = await self.storage.claim_name(name, seal(key))
        if key is None or not opens(secret, key):
            raise taken(user)
        return True
