"""The teacher's pacing in the Learn tab: a clicker's keys drive a step-by-step lesson on
the real bundled server, setup traffic folds into one row, the checks have their own
panel."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget

from tests.ui.conftest import connect
from ui.learn.models import CheckListModel, CheckOkRole, fold_rows
from ui.learn.tab import NEXT_KEYS, PREVIOUS_KEYS

pytestmark = pytest.mark.timeout(120)


@dataclass
class Item:
    n: int
    step: int
    role: str
    kind: str = "EVENT"
    caption: str = "message"
    ts: float = 0.0


def items(spec: str) -> list[Item]:
    """'0s 0s 0s 1k 1s 1s 1k': step digit, s(etup) or k(ey)."""
    out = []
    for n, tok in enumerate(spec.split()):
        role = "setup" if tok[1] == "s" else "key"
        out.append(Item(n, int(tok[0]), role, "CONNECT" if role == "setup" else "EVENT",
                        "connect" if role == "setup" else "message “hi”"))
    return out


def test_setup_runs_fold_into_one_row_that_opens() -> None:
    seq = items("0s 0s 0s 1k 1s 1k 1s 1s 1s 2k")
    rows = fold_rows(seq, shown_step=1)
    shape = [("fold", r.count, r.open) if r.is_fold else ("item", r.n) for r in rows]
    # step 0 had nothing but setup, but it is not on show: closed; a lone setup row
    # stays a row; a run of three at step 1 folds
    assert shape == [("fold", 3, False), ("item", 3), ("item", 4), ("item", 5),
                     ("fold", 3, False), ("item", 9)]
    assert rows[0].events == ("connect",) and rows[0].last_n == 2
    # a step about connecting shows its connecting while it is on show
    rows = fold_rows(seq, shown_step=0)
    assert [r.n for r in rows[:4]] == [0, 0, 1, 2] and rows[0].open
    assert all(r.fold == 0 for r in rows[1:4])
    # a click overrides either way
    rows = fold_rows(seq, shown_step=0, opened={0: False, 6: True})
    assert not rows[0].open and [r.n for r in rows if r.fold == 6] == [6, 6, 7, 8]
    # outside a lesson (no roles) nothing folds
    plain = [Item(i, -1, "") for i in range(5)]
    assert [r.n for r in fold_rows(plain)] == [0, 1, 2, 3, 4]


def test_checks_model_and_panel(qtbot, qtmodeltester) -> None:
    from ui.learn.widgets import ChecksPanel

    m = CheckListModel()
    qtmodeltester.check(m)
    m.set_checking()
    assert m.state == "checking" and m.rowCount() == 0
    m.set_lines(["✓ the server holds 9 messages", "✗ carol holds every message once"])
    qtmodeltester.check(m)
    assert (m.passed, m.failed) == (1, 1) and m.state == "done"
    assert m.index(0, 0).data(CheckOkRole) is True
    assert m.index(1, 0).data(CheckOkRole) is False
    m.set_lines([], "✗ waited 20 s for carol's recovery")
    assert m.state == "stopped" and m.lines == ["✗ waited 20 s for carol's recovery"]

    host = QWidget()
    qtbot.addWidget(host)
    panel = ChecksPanel(host)
    panel.resize(320, 300)
    host.show()
    assert not panel.isVisible()
    panel.checking()
    assert panel.isVisible() and "checking" in panel.status.text()
    panel.show_result(["✓ one", "✓ two", "✗ three"], "✗ three")
    assert panel.status.text() == "2 of 3 held." and panel.model.rowCount() == 3
    assert panel.list.height() >= 3 * panel.list.sizeHintForRow(0)
    panel.clear()
    assert not panel.isVisible()


def key(w: Any, name: str) -> None:
    codes = {"Space": Qt.Key.Key_Space, "Right": Qt.Key.Key_Right,
             "PgDown": Qt.Key.Key_PageDown, "Left": Qt.Key.Key_Left,
             "PgUp": Qt.Key.Key_PageUp}
    target = w.focusWidget() or w
    QTest.keyClick(target, codes[name])


def test_a_clicker_drives_a_step_by_step_lesson(run, server, make_window, qtbot):
    w = make_window(server.url, "teacher")
    connect(run, w)
    tab = w.learn
    w.tabs.setCurrentWidget(tab)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    tab.lesson_list.setFocus()
    tab.select("broadcast")
    tab.pace = 0.0
    assert set(NEXT_KEYS) == {"Space", "Right", "PgDown"}
    assert set(PREVIOUS_KEYS) == {"Left", "PgUp"}
    bar = tab.pacing
    bar.step_switch.click()                             # step by step, before Run
    assert bar.step_switch.isChecked()

    key(w, "Space")                                     # with no lesson: Next runs it
    run.until(lambda: tab.run is not None and tab.run.held, 30)
    lesson = tab.run
    assert lesson.step_by_step and lesson.current == 0 and tab.steps.current == 0
    assert "Waiting for you" in bar.status.text()

    key(w, "Right")                                     # exactly one step further
    run.until(lambda: lesson.current == 1 and lesson.held, 30)
    assert tab.steps.current == 1 and tab.diagram.canvas.current_step == 1
    key(w, "PgDown")
    run.until(lambda: lesson.current == 2 and lesson.held, 30)

    key(w, "Left")                                      # look back: the run holds
    run.until(lambda: lesson.viewing == 1)
    assert lesson.paused and tab.steps.current == 1
    assert tab.diagram.canvas.shown_step == 1 and tab.diagram.paused
    assert "cannot be un-sent" in bar.status.text()
    assert tab.result.text().startswith("Looking back at step 2 of 4")
    key(w, "PgUp")
    run.until(lambda: lesson.viewing == 0)
    key(w, "Space")                                     # forward through what was seen
    key(w, "Space")
    run.until(lambda: lesson.viewing == -1)
    assert lesson.current == 2 and tab.steps.current == 2
    assert tab.diagram.canvas.shown_step == -1

    # typing in a text field: the keys are the field's, not the lesson's
    field = QLineEdit(tab)
    field.show()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    assert not tab.keys_apply()
    key(w, "Space")
    key(w, "Right")
    assert field.text() == " " and lesson.current == 2
    field.deleteLater()
    tab.setFocus()

    # another tab in front: the keys are not for the lesson; typing in a field outside
    # the tabs (an address bar) and coming back, the tab takes the focus from it
    w.tabs.setCurrentIndex(0)
    assert not tab.keys_apply()
    box = QLineEdit(w)
    box.show()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    w.tabs.setCurrentWidget(tab)
    assert tab.keys_apply() and tab.hasFocus() and box.isVisible()
    box.deleteLater()

    bar.next_button.click()                              # the last step, by the button
    run.until(lambda: lesson.current == 3, 30)
    bar.step_switch.click()                              # off: the lesson ends by itself
    bar.pause_button.click()                             # (it was paused by looking back)
    run.until(lambda: lesson.state.value in ("passed", "failed"), 30)
    assert lesson.end is not None and lesson.end.ok, lesson.end.headline
    assert tab.checks.isVisible() and tab.checks.model.failed == 0


def test_speed_changes_while_the_lesson_plays(run, server, make_window):
    w = make_window(server.url, "teacher")
    connect(run, w)
    tab = w.learn
    w.tabs.setCurrentWidget(tab)
    tab.select("emit")
    tab.speed.setCurrentIndex(0)                        # Slow
    tab.run_button.click()
    run.until(lambda: tab.run is not None and tab.run.current >= 0, 30)
    assert tab.speed.isEnabled()
    tab.speed.setCurrentIndex(2)                        # Fast, while running
    assert tab.run.pace == tab.pace == 0.35
    started = time.monotonic()
    run.until(lambda: tab.run.state.value in ("passed", "failed"), 60)
    assert tab.run.end.ok and time.monotonic() - started < 20
