"""Tabs built after the first paint or on first use (ui.widgets.lazy_tab), and the window's
Queues and Learn tabs that use them."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QLabel, QTabWidget


def test_a_lazy_tab_holds_its_place_and_is_built_once_when_opened(qtbot):
    from ui.widgets.lazy_tab import LazyTab

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("first"), "First")
    made: list[QLabel] = []

    def make() -> QLabel:
        made.append(QLabel("the real page"))
        return made[-1]

    lazy = LazyTab(tabs, "queues", "Later", make)
    tabs.addTab(QLabel("last"), "Last")
    assert (tabs.count(), tabs.tabText(1), lazy.page, made) == (3, "Later", None, [])
    assert not tabs.tabIcon(1).isNull()

    tabs.setCurrentIndex(1)  # the user opens it
    assert made and lazy.page is made[0]
    assert tabs.widget(1) is made[0] and tabs.currentWidget() is made[0]
    assert (tabs.count(), tabs.tabText(1), tabs.tabText(2)) == (3, "Later", "Last")
    assert lazy.get() is made[0] and lazy.build() is made[0] and len(made) == 1

    # built by code while another tab is in front: that tab stays in front
    other = LazyTab(tabs, "learn", "Other", lambda: QLabel("other"))
    tabs.setCurrentIndex(0)
    page = other.get()
    assert tabs.widget(3) is page and tabs.currentIndex() == 0


def test_the_window_shows_with_the_chat_alone_then_builds_the_other_tabs_but_learn(
        run, make_window):
    w = make_window("http://127.0.0.1:9", "alice")
    titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert titles == ["Chat", "Events", "Compose", "Queues", "Learn"]
    assert w.tools_if_built is None and w.queues_if_built is None
    assert w.learn_if_built is None and w.tabs.widget(0) is w.chat

    w.build_deferred_tabs()
    tools, queues = w.tools_if_built, w.queues_if_built
    assert tools is not None and queues is not None
    assert [w.tabs.widget(i) for i in range(4)] == [w.chat, tools.events, tools.compose,
                                                    queues]
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == titles
    assert (w.events, w.compose, w.acks) == (tools.events, tools.compose, tools.acks)
    assert w.learn_if_built is None  # the Learn tab still waits to be opened
    assert w.queues is queues

    w.tabs.setCurrentIndex(4)
    assert w.learn_if_built is not None and w.tabs.currentWidget() is w.learn_if_built


def test_the_app_builds_the_queues_tab_once_the_window_has_painted(run, make_window):
    from ui import main as main_mod

    w = make_window("http://127.0.0.1:9", "alice")
    app = main_mod.App(main_mod.parse_args([]))
    app.windows = [w]

    async def after_paint() -> None:
        task = asyncio.ensure_future(app._after_first_paint())
        await asyncio.sleep(0)
        assert w.queues_if_built is None  # not before the window has painted
        w.update()
        await asyncio.wait_for(task, 30)

    run(after_paint())
    assert w.queues_if_built is not None
    assert w.learn_if_built is None


def test_what_the_window_learnt_before_events_and_compose_were_built_is_in_them(
        make_window, qtbot):
    """Packets logged, namespaces offered and splitter sizes saved before the two tabs
    existed are there once they are built (here: by opening the Events tab)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QSplitter

    from app.packets import Packet

    w = make_window("http://127.0.0.1:9", "alice")
    saved = QSplitter(Qt.Orientation.Horizontal)
    saved.addWidget(QLabel("a"))
    saved.addWidget(QLabel("b"))
    saved.setSizes([700, 300])
    w.settings.set(f"windows/{w.key}/splitters/compose", saved.saveState())
    w.packets.add_many([Packet(i, 1.0 + i, "in", "/orders", "EVENT", "tick", [i], None, None,
                               9) for i in range(1, 6)])
    w.packets.flush()
    w.sidebar_model.set_namespaces(["/orders", "/admin"])
    assert w.tools_if_built is None

    w.tabs.setCurrentIndex(1)  # the user opens Events
    tools = w.tools_if_built
    assert tools is not None and w.tabs.currentWidget() is tools.events
    qtbot.waitUntil(lambda: tools.events.table.model().rowCount() == 5)
    combo = tools.compose.namespace
    assert [combo.itemText(i) for i in range(combo.count())] == ["/orders", "/admin"]
    assert tools.compose.splitter.saveState() == saved.saveState()
    w.tabs.setCurrentIndex(2)  # Compose was built with Events: its tab now shows it
    assert w.tabs.currentWidget() is tools.compose


def test_the_events_and_compose_splitters_are_remembered(run, make_window, qtbot):
    """Every splitter of the two tabs comes back at its size in the next window, the
    packet list against the ack panel too (it was never saved)."""
    first = make_window("http://127.0.0.1:9", "alice")
    first.resize(1200, 800)
    for tab in (first.events, first.compose):
        first.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(lambda tab=tab: tab.height() > 300)
    tools = first.tools
    saved = {}
    for name, splitter in tools.splitters().items():
        total = sum(splitter.sizes())
        splitter.setSizes([total // 3, total - total // 3])
        saved[name] = bytes(splitter.saveState().data())
    assert set(saved) == {"events", "events_panel", "compose"}
    run(first.shutdown())

    again = make_window("http://127.0.0.1:9", "alice")
    again.build_deferred_tabs()
    restored = {name: bytes(splitter.saveState().data())
                for name, splitter in again.tools.splitters().items()}
    assert restored == saved
