"""Which Engine.IO requests are refused, and how: the Node server's ``verify()`` rules.

python-engineio answers a request without ``transport`` with a full handshake (it
assumes polling), lets aiohttp answer 405 to a PUT, and words its 400s its own way
("Invalid session ..."). Clients written against the Node server (and the official test
suites) expect what packages/engine.io/lib/server.ts does: ``400`` with a JSON body
``{"code": N, "message": M}`` from ``Server.errorMessages``, checked in this order:

1. ``transport`` missing or not one this server offers: code 0, "Transport unknown";
2. a ``sid`` this server does not know (or whose session has closed): code 1;
3. a request on a known session over another transport, without an upgrade: code 3;
4. a handshake (no ``sid``) that is not a GET: code 2, "Bad handshake method";
5. a websocket handshake without the ``Upgrade`` header: code 3;
6. a handshake with ``EIO`` other than ``4``: code 5 (the Node server's handshake).

CORS preflights (OPTIONS) are not checked here: the Node server's ``cors`` middleware
answers them before ``verify()``, and python-engineio answers them with its CORS headers.
One deliberate difference: a request on a known polling session with a method other than
GET or POST gets code 3 here, where the Node transport answers an empty 500.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
UNSUPPORTED_PROTOCOL_VERSION = 5

#: engine.io's ``Server.errorMessages`` (FORBIDDEN, 4, is not produced by this server).
ERROR_MESSAGES = {
    UNKNOWN_TRANSPORT: "Transport unknown",
    UNKNOWN_SID: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


def refusal(environ: Mapping[str, Any], sockets: Mapping[str, Any],
            transports: list[str]) -> int | None:
    """The Node error code for this request, or None when engine.io may handle it.

    ``sockets`` is engine.io's session table (objects with ``closed`` and ``upgraded``)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "OPTIONS":
        return None
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    transport = query.get("transport", [""])[0]
    if transport not in transports:
        return UNKNOWN_TRANSPORT
    upgrade = environ.get("HTTP_UPGRADE", "").lower() == "websocket"
    sid = query.get("sid", [""])[0]
    if sid:
        sock = sockets.get(sid)
        if sock is None or sock.closed:
            return UNKNOWN_SID
        current = "websocket" if sock.upgraded else "polling"
        if not upgrade and transport != current:
            return BAD_REQUEST
        if method not in ("GET", "POST"):
            return BAD_REQUEST
        return None
    if method != "GET":
        return BAD_HANDSHAKE_METHOD
    if transport == "websocket" and not upgrade:
        return BAD_REQUEST
    if query.get("EIO") != ["4"]:
        return UNSUPPORTED_PROTOCOL_VERSION
    return None


def error_response(code: int) -> dict[str, Any]:
    """An engine.io response dict (status, headers, body) carrying Node's error body."""
    body = json.dumps({"code": code, "message": ERROR_MESSAGES[code]},
                      separators=(",", ":"))
    return {"status": "400 BAD REQUEST",
            "headers": [("Content-Type", "application/json")],
            "response": body.encode("utf-8")}
