"""Connect-time authentication, the same for every namespace.

The client's ``auth`` object names the user and, when the server was started with
``--token``, carries the shared secret. Identity is decided here once per connection;
handlers never trust a ``user`` field inside event payloads. Sandbox namespaces also take
guests (:func:`is_guest`), who get a made-up name there; the token rule holds for them
too unless the operator allows guests (``--allow-guests``).
"""

from __future__ import annotations

import hmac
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from server_stub.validation import USER_RE, USER_RULE


def is_guest(auth: Any) -> bool:
    """A connection that names nobody: no ``auth`` at all, or an object without ``user``
    (``null`` counts as absent). The socket.io tutorial's page connects like this."""
    return auth is None or (isinstance(auth, dict) and auth.get("user") is None)


class Authenticator:
    """Checks ``auth`` objects; refusals raise socketio's ConnectionRefusedError so the
    client gets ``connect_error`` with ``{"message": <why>}``."""

    def __init__(self, token: str | None, allow_guests: bool = False) -> None:
        self._token = token.encode("utf-8") if token else None
        self.allow_guests = allow_guests

    @property
    def requires_token(self) -> bool:
        return self._token is not None

    def admit_guest(self, auth: Any) -> None:
        """Check a guest (see :func:`is_guest`) against the token rule, or raise
        ConnectionRefusedError. A guest who sends a token must send the right one; one
        without a token passes only on a server without token, or with --allow-guests."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is not None:
            self._check_token(token)
        elif self._token is not None and not self.allow_guests:
            raise ConnectionRefusedError(
                "this server requires a token (auth.token); guests without auth are "
                "admitted only when the server runs with --allow-guests")

    def _check_token(self, token: Any) -> None:
        if self._token is None:
            return
        if not isinstance(token, str) or not token:
            raise ConnectionRefusedError("this server requires a token (auth.token)")
        # Constant-time comparison: the reply must not reveal how much matched.
        if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self._token):
            raise ConnectionRefusedError("wrong token")

    def user_for(self, auth: Any) -> str:
        """The authenticated user name, or raise ConnectionRefusedError."""
        if not isinstance(auth, dict):
            raise ConnectionRefusedError(
                f"auth must be an object with a 'user' name ({USER_RULE})")
        user = auth.get("user")
        if not isinstance(user, str) or not USER_RE.fullmatch(user):
            raise ConnectionRefusedError(f"invalid user name: it must be {USER_RULE}")
        self._check_token(auth.get("token"))
        return user
