"""The two lessons with servers of their own in the Learn tab: the diagram draws their
server lanes (two processes and Redis) and Engine.IO packets as arrows between the
right lanes, and the Redis lesson runs to its end from the tab."""

from __future__ import annotations

from typing import Any

import pytest

from app.scenarios import EngineIOScenario, RedisAdapterScenario
from app.scenarios.hops import hop
from tests.support import REDIS_MISSING, redis_available
from tests.ui.conftest import connect
from ui.learn.diagram import SequenceDiagram

pytestmark = pytest.mark.timeout(120)


def test_diagram_draws_a_lessons_own_servers(qtbot):
    d = SequenceDiagram()
    qtbot.addWidget(d)
    d.resize(1000, 500)
    d.show()
    cls = RedisAdapterScenario
    d.reset(list(cls.users), columns=list(cls.columns), servers=list(cls.server_lanes))
    d.add_packet("alice", hop("out", "EVENT", "message “hi”", peer="server-1"))
    d.add_packet("server-1", hop("out", "PUBSUB", "PUBLISH message “hi”", peer="redis"))
    d.add_packet("redis", hop("out", "PUBSUB", "pub/sub copy: message “hi”", peer="server-2"))
    d.add_note("server", "checking the result")
    canvas = d.canvas
    assert canvas.columns() == ["alice", "carol", "server-1", "redis", "server-2", "bob"]
    xs = canvas.lane_x()
    assert [xs[c] for c in canvas.columns()] == sorted(xs.values())
    assert [(i.lane, i.peer) for i in canvas.items][:3] == [
        ("alice", "server-1"), ("server-1", "redis"), ("redis", "server-2")]
    assert canvas.items[-1].lane == "server-2"       # the note on a server still running
    assert canvas.items[1].caption == "PUBLISH message “hi”"
    assert not d.grab().toImage().isNull()
    d.canvas.set_position(1)
    assert d.detail.text().split("  ")[1] == "server-1 → redis"
    # an ordinary lesson again: clients around the one server
    d.reset(list(EngineIOScenario.users))
    assert canvas.columns() == ["client", "server"]


def test_redis_lesson_runs_in_the_tab(run, server, make_window):
    if not redis_available():
        pytest.skip(REDIS_MISSING)
    w = make_window(server.url, "alice")
    connect(run, w)
    tab = w.learn
    w.tabs.setCurrentWidget(tab)
    assert [tab.lessons.scenario(r).key for r in range(tab.lessons.rowCount())][6:] == \
        ["redis", "engineio"]
    tab.select("redis")
    assert tab.title.text() == "7. The Redis adapter: two servers, one Redis"
    tab.pace = 0.02
    tab.run_button.click()
    run.until(lambda: tab.run is not None and
              str(tab.result.property("state")) in ("passed", "failed"), 90)
    assert str(tab.result.property("state")) == "passed", tab.result.text()
    canvas = tab.diagram.canvas
    assert canvas.columns()[:6] == list(RedisAdapterScenario.columns)
    lanes: set[Any] = {(i.lane, i.peer) for i in canvas.items if i.kind != "NOTE"}
    assert ("alice", "server-1") in lanes and ("alice", "server-2") in lanes
    assert ("bob", "server-2") in lanes and ("server-1", "redis") in lanes
    assert ("redis", "server-2") in lanes
    assert canvas.states.get("server-1") == "crash"
    tab.stop_button.click()                                 # Reset
    run.until(lambda: tab.run is None)
