"""ConnectionManager.close_client: engine.io's HTTP session is closed however the
disconnect went (a session left open is "Unclosed client session" at exit)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from app.manager import ConnectionManager

pytestmark = pytest.mark.timeout(30)


def fake_client(disconnect: Any, http: aiohttp.ClientSession | None,
                external: bool = False) -> Any:
    return SimpleNamespace(disconnect=disconnect,
                           eio=SimpleNamespace(http=http, external_http=external))


async def test_a_disconnect_that_fails_half_way_still_closes_the_http_session() -> None:
    http = aiohttp.ClientSession()

    async def disconnect() -> None:
        raise RuntimeError("the read loop ended with an error")

    await ConnectionManager.close_client(fake_client(disconnect, http))
    assert http.closed


async def test_a_session_made_after_the_first_was_closed_is_closed_too() -> None:
    """A polling loop, its session closed under it, makes a new one on its next request."""
    client = fake_client(None, aiohttp.ClientSession())
    first = client.eio.http

    async def disconnect() -> None:
        await first.close()
        client.eio.http = aiohttp.ClientSession()    # as engine.io's _send_request does

    client.disconnect = disconnect
    await ConnectionManager.close_client(client)
    assert first.closed and client.eio.http.closed


async def test_a_session_given_to_engineio_is_left_to_its_owner() -> None:
    http = aiohttp.ClientSession()

    async def disconnect() -> None:
        return None

    try:
        await ConnectionManager.close_client(fake_client(disconnect, http, external=True))
        assert not http.closed
    finally:
        await http.close()
