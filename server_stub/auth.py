"""Connect-time authentication, the same for every namespace.

The client's ``auth`` object names the user and, when the server was started with
``--token``, carries the shared secret. Identity is decided here once per connection;
handlers never trust a ``user`` field inside event payloads.
"""

from __future__ import annotations

import hmac
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from server_stub.validation import USER_RE, USER_RULE


class Authenticator:
    """Checks ``auth`` objects; refusals raise socketio's ConnectionRefusedError so the
    client gets ``connect_error`` with ``{"message": <why>}``."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode("utf-8") if token else None

    @property
    def requires_token(self) -> bool:
        return self._token is not None

    def user_for(self, auth: Any) -> str:
        """The authenticated user name, or raise ConnectionRefusedError."""
        if not isinstance(auth, dict):
            raise ConnectionRefusedError(
                f"auth must be an object with a 'user' name ({USER_RULE})")
        user = auth.get("user")
        if not isinstance(user, str) or not USER_RE.fullmatch(user):
            raise ConnectionRefusedError(f"invalid user name: it must be {USER_RULE}")
        if self._token is not None:
            token = auth.get("token")
            if not isinstance(token, str) or not token:
                raise ConnectionRefusedError("this server requires a token (auth.token)")
            # Constant-time comparison: the reply must not reveal how much matched.
            if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self._token):
                raise ConnectionRefusedError("wrong token")
        return user
