"""Shedding load (server_stub.ratelimit.LoadShedder): new messages are refused with
``rate_limited`` and a ``retry_after`` while the server's loop runs late or while many of
its clients read late (their PINGs wait unanswered), so clients slow down before
heartbeats time out; one slow client is not overload."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from server_stub.ratelimit import BEHIND_RETRY, RETRY_SPREAD, LoadShedder
from tests.server_stub.peers import connected, unique
from tests.server_stub.rawws import RawWebSocket
from tests.support import ServerProcess


def test_many_clients_behind_shed_new_messages_one_does_not() -> None:
    seen: list[tuple[int, int]] = [(0, 10)]
    shedder = LoadShedder(0.5, lambda: seen[-1])
    assert shedder.retry_after("message") is None
    seen.append((4, 10))                    # four laptops behind: below the minimum
    assert shedder.retry_after("message") is None
    seen.append((5, 100))                   # five of a hundred: under the share
    assert shedder.retry_after("message") is None
    seen.append((5, 10))                    # five of ten: the server outruns them
    wait = shedder.retry_after("message")
    assert wait is not None
    assert BEHIND_RETRY * (1 - RETRY_SPREAD) <= wait <= BEHIND_RETRY * (1 + RETRY_SPREAD)
    assert shedder.retry_after("join") is None  # joins and reads are never shed
    assert shedder.shed == 1
    assert LoadShedder(None, lambda: (50, 50)).retry_after("message") is None  # off


def test_a_late_loop_sheds_with_a_hint_that_grows_with_the_delay() -> None:
    shedder = LoadShedder(0.5)
    shedder.lag = 0.4
    assert shedder.retry_after("message") is None
    shedder.lag = 2.0
    wait = shedder.retry_after("publish")
    assert wait is not None and 2.0 <= wait <= 6.0


@pytest.mark.timeout(60)
async def test_clients_that_stop_answering_pings_make_the_server_shed_until_they_go(
        tmp_path: Path) -> None:
    """Six /chat clients stop reading (so their PINGs go unanswered): once they are
    behind, a sender's messages are refused with ``rate_limited``; when the ping
    timeout has closed them, messages are accepted again. The sender stays connected."""
    srv = ServerProcess(tmp_path / "server.db", "--ping-interval", "1",
                        "--ping-timeout", "3", "--log-level", "info").start()
    room = unique("shed")
    stalled = [await RawWebSocket.open(srv.url) for _ in range(6)]
    sender = await connected(srv.url, unique("sender"))
    try:
        for ws in stalled:
            await ws.connect_namespace("/chat", {"user": unique("late")})
        assert (await sender.call("join", {"room": room}))["ok"] is True
        # From here on the six read nothing.

        async def send(n: int) -> Any:
            return await sender.client.call(
                "message", {"room": room, "id": f"m{n}", "text": str(n)},
                namespace="/chat", timeout=10)

        n = 0
        deadline = time.monotonic() + 15
        refused: dict[str, Any] | None = None
        while refused is None and time.monotonic() < deadline:
            ack = await send(n)
            n += 1
            if not ack["ok"]:
                refused = ack
            await asyncio.sleep(0.1)  # one message every 0.1 s, bounded by the deadline
        assert refused is not None, "never shed while six clients were behind"
        assert refused["code"] == "rate_limited" and refused["retry_after"] > 0, refused
        # the ping timeout closes them; then the same message is accepted
        deadline = time.monotonic() + 15
        while not (ack := await send(n))["ok"] and time.monotonic() < deadline:
            await asyncio.sleep(float(ack.get("retry_after", 0.5)))  # the server's hint
        assert ack["ok"] is True, ack
        assert sender.client.connected
    finally:
        for ws in stalled:
            ws.close()
        await sender.close()
        output = srv.stop()
    assert "Traceback" not in output, output[-4000:]
    assert "no pong within" in output  # they went by the ping timeout, as they should
