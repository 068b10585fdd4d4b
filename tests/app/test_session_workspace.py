"""What a workspace asks of the session, against real bundled servers: several URLs with
fail-over, a server replaced under the same address, and the delivery rule it announces."""

from __future__ import annotations

import pytest

from app.outbox import OutboxState
from app.session import ConnectionState
from tests.app.helpers import until
from tests.app.test_session_bundled import room_history
from tests.support import ServerProcess, free_port


@pytest.mark.timeout(120)
async def test_the_next_url_is_tried_when_one_is_unreachable(tmp_path, make_session):
    dead = f"http://127.0.0.1:{free_port()}"
    srv = ServerProcess(tmp_path / "live.db").start()
    try:
        s = make_session(dead, urls=[dead, srv.url])
        m = s.chat.send("ops", "via the second address")
        assert await s.connect()
        assert s.current_url == srv.url and s.state == ConnectionState.CONNECTED
        assert await s.wait_flushed(timeout=30)
        assert s.outbox.get(m.id).state == OutboxState.ACKED
        # it starts with the address that worked last time
        await s.disconnect()
        assert await s.connect() and s.current_url == srv.url
    finally:
        srv.stop()


@pytest.mark.timeout(120)
async def test_a_server_replaced_under_the_same_address_starts_rooms_over(
        tmp_path, make_session):
    """A teacher starts a fresh database each lesson on the same port: its offsets start
    at 1 again. A client that kept yesterday's watermark must not ask for `since` 2 and
    silently skip today's first messages."""
    port = free_port()
    first = ServerProcess(tmp_path / "monday.db", port=port).start()
    s = make_session(f"http://127.0.0.1:{port}")
    replaced: list[str] = []
    s.chat.history_replaced.connect(replaced.append)
    try:
        assert await s.connect()
        await s.chat.join("class")
        for t in ("mon 1", "mon 2"):
            s.chat.send("class", t)
        assert await s.wait_flushed(timeout=30)
        await until(lambda: s.chat.last_offset("class") == 2)
        await s.disconnect()
    finally:
        first.stop()
    second = ServerProcess(tmp_path / "tuesday.db", port=port).start()
    try:
        other = make_session(second.url, user="teacher")
        assert await other.connect()
        await other.chat.join("class")
        for t in ("tue 1", "tue 2", "tue 3"):
            other.chat.send("class", t)
        assert await other.wait_flushed(timeout=30)
        assert await s.connect()
        assert await s.wait_ready("/chat", timeout=15)
        assert len(replaced) == 1
        await until(lambda: s.chat.last_offset("class") == 3)
        s.store.flush()
        texts = [m.text for m in s.store.page("room:/chat:class")]
        assert texts == ["mon 1", "mon 2", "tue 1", "tue 2", "tue 3"]
        assert [m["text"] for m in await room_history(s, "class")] == [
            "tue 1", "tue 2", "tue 3"]
        # the same server again: nothing starts over
        await s.disconnect()
        assert await s.connect() and await s.wait_ready("/chat", timeout=15)
        assert len(replaced) == 1
    finally:
        second.stop()


@pytest.mark.timeout(120)
async def test_the_bundled_server_gets_resends_until_acked(tmp_path, make_session):
    """It says in its welcome that it drops repeated ids, so a lost ack is resent."""
    srv = ServerProcess(tmp_path / "s.db").start()
    try:
        s = make_session(srv.url)
        assert await s.connect()
        await until(lambda: s.server_dedupes)
        assert s.resends()
        once = make_session(srv.url, user="bob", delivery="once")
        assert await once.connect() and not once.resends()
    finally:
        srv.stop()
