"""The Queues tab's "Be a worker" switch against the real server: the window's session
consumes the selected work queue and acks each job, with a count; off stops it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.conftest import connect
from tests.ui.test_inspector import peer, queues, row
from tests.ui.test_inspector import run as run  # the patient runner (a fixture)


def stats_of(run: Any, session: Any, queue: str) -> dict[str, Any]:
    ack = run(session.call("/queue", "stats", {}))
    return next(q for q in ack["queues"] if q["queue"] == queue)


def test_worker_switch_consumes_and_acks_then_stops(run, server, make_window,
                                                    tmp_path: Path):
    a = make_window(server.url, "alice")
    connect(run, a)
    assert run(a.session.wait_ready("/queue", 10))
    boss = peer(run, a, "boss", tmp_path, ["/queue"])
    try:
        for i in range(3):
            boss.emit("/queue", "publish", {"queue": "chores", "payload": {"n": i}})
        tab = queues(a)
        run.until(lambda: (r := row(tab, "server:chores")) is not None and r.depth == 3, 60)
        switch = tab.worker.button
        assert tab.select_queue("server:chores")
        assert switch.isVisible() and switch.text() == "Be a worker"
        switched: list[tuple[str, bool]] = []
        tab.worker.switched.connect(lambda q, on: switched.append((q, on)))
        switch.click()
        run.until(lambda: tab.worker.done.get("chores") == 3, 30)
        assert switched == [("chores", True)]
        assert switch.isChecked() and switch.text() == "Worker: 3 jobs done"
        # a job counts as done once the server answered its ack
        row_now = stats_of(run, boss, "chores")
        assert row_now["acked"] == 3
        assert (row_now["depth"], row_now["inflight"], row_now["consumers"]) == (0, 0, 1)
        # another queue's row hides the switch; back on chores it is still on
        boss.emit("/queue", "publish", {"queue": "other", "payload": 1})
        run.until(lambda: row(tab, "server:other") is not None, 60)
        assert tab.select_queue("server:other")
        assert not switch.isChecked() and switch.text() == "Be a worker"
        assert tab.select_queue("server:chores")
        assert switch.isChecked()
        switch.click()        # off
        run.until(lambda: switched[-1:] == [("chores", False)], 30)
        assert not switch.isChecked() and switch.text() == "Be a worker"
        assert stats_of(run, boss, "chores")["consumers"] == 0
        boss.emit("/queue", "publish", {"queue": "chores", "payload": {"n": 9}})
        assert run(boss.wait_flushed(timeout=10, namespaces=["/queue"]))  # published
        assert stats_of(run, boss, "chores")["depth"] == 1
        assert tab.worker.done["chores"] == 3      # nothing more was taken
    finally:
        run(boss.close())


def test_worker_switch_on_a_work_row_only(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    tab = queues(a)
    assert not tab.worker.button.isVisibleTo(tab)       # nothing selected
    a.session.emit("/queue", "publish", {"queue": "w", "payload": 1})
    run.until(lambda: row(tab, "server:w") is not None and row(tab, "outbox:/queue"), 60)
    assert tab.select_queue("server:w")
    assert tab.worker.button.isVisibleTo(tab)
    assert tab.select_queue("outbox:/queue")            # an outbox: nobody to work for
    assert not tab.worker.button.isVisibleTo(tab)
