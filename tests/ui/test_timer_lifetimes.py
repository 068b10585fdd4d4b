"""Deferred calls die with the objects they are for.

A ``QTimer.singleShot(0, callable)`` without a context object fires even after the
widget the callable works on was deleted; the UI suite crashed now and then with a
timer firing on a freed object while the next test set up. With the object as the
timer's context, Qt drops the call when the object goes.
"""

from __future__ import annotations

import shiboken6

from ui.window import MainWindow


def test_a_window_deleted_right_after_show_gets_no_late_screen_fit(tmp_path, qtbot):
    w = MainWindow({"url": "http://127.0.0.1:9", "user": "alice"}, tmp_path,
                   bundled_url="http://127.0.0.1:9")
    fits: list[bool] = []
    original = w.shape.fit_screen
    w.shape.fit_screen = lambda: fits.append(shiboken6.isValid(w)) or original()
    w.show()                                  # asks for a fit on the next turn
    shiboken6.delete(w)
    qtbot.wait(30)                            # that turn: nothing runs on the dead window
    assert fits == []


def test_a_sidebar_selection_then_a_deleted_window_runs_no_find_update(tmp_path, qtbot):
    w = MainWindow({"url": "http://127.0.0.1:9", "user": "alice"}, tmp_path,
                   bundled_url="http://127.0.0.1:9")
    calls: list[bool] = []
    find = w.chat_find
    find._conversation_changed = lambda: calls.append(True)
    w.sidebar.conversation_selected.emit("room", "general")
    shiboken6.delete(w)
    qtbot.wait(30)
    assert calls == []
