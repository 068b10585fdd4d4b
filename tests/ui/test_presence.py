"""Honest presence: the offline banner, greyed members, and nobody "left" for an outage."""

from __future__ import annotations

from typing import Any

from app.session_state import ConnectionState, StateChange
from tests.ui.conftest import connect
from ui.chat_presence import (
    DISCONNECTED_BANNER,
    HOSTING_STOPPED_BANNER,
    OFFLINE_BANNER,
    HonestPresence,
    unreachable_banner,
)
from ui.models.sidebar import OnlineRole


class FakePane:
    """Stands in for the chat pane and the sidebar: records what it is told."""

    def __init__(self) -> None:
        self.banner: str | None = "unset"
        self.offline: bool | None = None
        self.me_online: bool | None = None

    def set_banner(self, text: str | None) -> None:
        self.banner = text

    def set_members_offline(self, offline: bool) -> None:
        self.offline = offline

    def set_self_online(self, online: bool) -> None:
        self.me_online = online


def presence(qapp: Any) -> tuple[HonestPresence, FakePane]:
    pane = FakePane()
    return HonestPresence(pane, pane, lambda: "https://10.0.0.5:5000"), pane


def test_banner_follows_the_managers_states(qapp):
    p, pane = presence(qapp)
    assert pane.banner is None and pane.offline is True  # nothing known yet: nobody is green
    def on_state(state: str, reason: str, unreachable: bool = False) -> None:
        p.on_change(StateChange(ConnectionState(state), reason, 0.0, unreachable))

    on_state("connecting", "connecting to https://10.0.0.5:5000")
    assert pane.banner is None  # the first attempt is no news
    on_state("connected", "connected to https://10.0.0.5:5000 over websocket")
    assert pane.banner is None and pane.offline is True  # members wait for the re-joins
    p.on_namespace_ready("/chat", True)
    assert pane.offline is False and pane.me_online is True
    # the connection drops: offline, members greyed, you too
    on_state("reconnecting", "connection lost (transport close) Retrying in 0.4 s.")
    assert pane.banner == OFFLINE_BANNER and pane.offline is True and pane.me_online is False
    on_state("reconnecting", "reconnecting to https://10.0.0.5:5000 (attempt 1)")
    assert pane.banner == OFFLINE_BANNER
    # an attempt failed: the server is unreachable (for everybody), nobody "left"
    on_state("reconnecting", "Cannot connect to https://10.0.0.5:5000: connection "
                             "refused. Retrying in 0.9 s.", unreachable=True)
    assert pane.banner == unreachable_banner("10.0.0.5:5000")
    on_state("reconnecting", "reconnecting to https://10.0.0.5:5000 (attempt 2)",
             unreachable=True)
    assert pane.banner == unreachable_banner("10.0.0.5:5000")
    on_state("connected", "connected to https://10.0.0.5:5000 over websocket")
    assert pane.banner is None and pane.offline is True
    p.on_namespace_ready("/chat", True)
    assert pane.offline is False
    # the user disconnects: said so, differently from an outage (the window tells it
    # was the user; the reason's words are not parsed)
    p.you_disconnected()
    on_state("offline", "disconnected (user)")
    assert pane.banner == DISCONNECTED_BANNER and pane.offline
    assert pane.banner.startswith("You disconnected — messages wait in the outbox")
    on_state("connecting", "connecting to https://10.0.0.5:5000")
    on_state("offline", "Cannot connect: refused")
    assert pane.banner != DISCONNECTED_BANNER      # connecting again forgot it
    p.reset()
    assert pane.banner is None


def test_the_host_who_stopped_hosting_is_told_so_not_that_the_server_is_gone(qapp):
    p, pane = presence(qapp)

    def on_state(state: str, reason: str, unreachable: bool = False) -> None:
        p.on_change(StateChange(ConnectionState(state), reason, 0.0, unreachable))

    on_state("connected", "connected to https://10.0.0.5:5000 over websocket")
    p.set_hosting_stopped(True)
    assert pane.banner is None                       # still connected: nothing to say
    on_state("reconnecting", "Cannot connect to https://10.0.0.5:5000: connection "
                             "refused. Retrying in 0.9 s.", unreachable=True)
    assert pane.banner == HOSTING_STOPPED_BANNER
    assert pane.banner.startswith("You stopped hosting — start it again from the Hosting")
    p.set_hosting_stopped(False)                     # started again, not connected yet
    assert pane.banner == unreachable_banner("10.0.0.5:5000")


def _members_grey(window) -> bool:
    model = window.chat.members
    rows = [model.index(i, 0) for i in range(model.rowCount())]
    return bool(rows) and not any(i.data(OnlineRole) for i in rows)


def _online(window) -> set[str]:
    model = window.chat.members
    return {model.index(i, 0).data() for i in range(model.rowCount())
            if model.index(i, 0).data(OnlineRole)}


def test_a_killed_server_shows_the_banner_and_greys_members_until_it_is_back(
        run, server_factory, make_window):
    srv = server_factory()
    a = make_window(srv.url, "alice")
    b = make_window(srv.url, "bob")
    connect(run, a)
    connect(run, b)
    run(a.conversations.join_room("general"))
    run(b.conversations.join_room("general"))
    a.conversations.show_conversation("room", "general")
    run.until(lambda: _online(a) == {"alice", "bob"})
    assert a.chat.banner.isHidden() and a.sidebar.self_status.online

    srv.kill()
    # within the reconnect delay (0.1 s, at most 0.5 s here): banner, everybody grey
    run.until(lambda: not a.chat.banner.isHidden(), 3)
    assert a.chat.banner.text() in (OFFLINE_BANNER, unreachable_banner(f"127.0.0.1:{srv.port}"))
    run.until(lambda: _members_grey(a), 3)
    assert not a.sidebar.self_status.online
    assert {"alice", "bob"} <= set(a.chat.members.online())  # still listed, only greyed
    # the next attempt fails: the server is unreachable, which is what the banner says
    run.until(lambda: a.chat.banner.text() == unreachable_banner(f"127.0.0.1:{srv.port}"), 5)

    srv.restart()
    run.until(lambda: a.chat.banner.isHidden(), 20)
    run.until(lambda: _online(a) == {"alice", "bob"}, 20)
    assert a.sidebar.self_status.online


def test_a_clean_server_stop_does_not_make_teammates_look_gone(
        run, server_factory, make_window):
    srv = server_factory()
    a = make_window(srv.url, "alice")
    b = make_window(srv.url, "bob")
    connect(run, a)
    connect(run, b)
    run(a.conversations.join_room("general"))
    run(b.conversations.join_room("general"))
    a.conversations.show_conversation("room", "general")
    run.until(lambda: _online(a) == {"alice", "bob"})
    left: list[object] = []
    a.bridge.presence.connect(lambda p: left.append(p) if p.get("event") == "left" else None)

    srv.stop()  # SIGTERM: the server goes away cleanly; nobody left
    run.until(lambda: a.chat.banner.text() == unreachable_banner(f"127.0.0.1:{srv.port}"), 10)
    assert left == []
    assert set(a.chat.members.online()) == {"alice", "bob"} and _members_grey(a)
    srv.restart()
    run.until(lambda: _online(a) == {"alice", "bob"}, 20)
    assert a.chat.banner.isHidden() and left == []
