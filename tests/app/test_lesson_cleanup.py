"""A lesson on a server where a real person is called alice (name claimed): the
simulated users have run-unique names on the wire, so the lesson runs; afterwards the
server lists none of the run's rooms and none of its users."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig
from app.scenarios import BroadcastScenario, MissedEventScenario, ScenarioRun
from app.session import Session

pytestmark = pytest.mark.timeout(120)


async def person(url: str, user: str, tmp_path: Path, key: str | None = None) -> Session:
    auth = {"key": key} if key else {}
    s = Session(ConnectionConfig(url=url, user=user, namespaces=["/chat"], auth=auth),
                tmp_path / f"person-{user}")
    assert await s.connect() and await s.wait_ready("/chat", 10), s.last_error
    return s


async def listed(s: Session) -> tuple[set[str], set[str]]:
    """The server's rooms and users."""
    rooms = {r["room"] for r in await s.chat.list_rooms()}
    ack: Any = await s.call("/chat", "users", {})
    return rooms, {u["user"] for u in ack["users"]}


@pytest.mark.parametrize("cls", [BroadcastScenario, MissedEventScenario])
async def test_a_lesson_beside_a_claimed_alice_leaves_no_rooms_or_users(
        server: Any, tmp_path: Path, cls: type) -> None:
    alice = await person(server.url, "alice", tmp_path, key="k" * 24)
    run = ScenarioRun(cls(), server.url, tmp_path / "learn")
    marker = f"-{run.run_id}"
    try:
        end = await run.run()          # the real alice stays connected throughout
        assert end.ok, (end.headline, end.details)
        # lanes read alice, bob, ...; the wire names carry the run id
        assert "alice" in run.lanes
        assert run.sessions["alice"].config.user == f"alice{marker}"
        rooms, users = await listed(alice)
        ours = {r for r in rooms if r.endswith(marker)}
        assert ours and ours <= set(run.made)            # the lesson made /chat rooms
        assert {f"{lane}{marker}" for lane in cls.users} <= users    # online now
        tidied = await run.tidy()
        assert ours <= set(tidied), tidied
        rooms, users = await listed(alice)
        assert not [r for r in rooms if r.endswith(marker)], rooms
        await run.close()
        # transient: once offline, the run's users leave no entry in `users`
        deadline = time.monotonic() + 10
        while [u for u in users if u.endswith(marker)] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)                  # polling the server, not a pause
            users = (await listed(alice))[1]
        assert not [u for u in users if u.endswith(marker)], users
        assert "alice" in users
    finally:
        await run.close()
        await alice.close()
