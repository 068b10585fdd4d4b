"""The Events and Compose tabs, with the ack panel and Compose's controller: the parts
of the main window built right after its first paint (or when code first asks for
them), not on the way to it (B7, README "Performance").

What the window learnt before they existed is handed to them when they are built: the
packet log's model (kept by the window from the start), the namespaces the sidebar
lists, the splitter sizes saved for them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter

from ui.compose_controller import ComposeController
from ui.widgets.acks import AckPanel
from ui.widgets.compose import ComposeTab
from ui.widgets.events import EventsTab

if TYPE_CHECKING:
    from ui.window import MainWindow


@dataclasses.dataclass(frozen=True, slots=True)
class ToolTabs:
    """What the Events and Compose tabs are made of."""

    events: EventsTab
    acks: AckPanel
    compose: ComposeTab
    controller: ComposeController

    def splitters(self) -> dict[str, QSplitter]:
        """Their splitters whose sizes the window remembers, by the name they are saved
        under (``events_panel``: the packet list against the ack panel)."""
        return {"events": self.events.splitter, "events_panel": self.events.vsplit,
                "compose": self.compose.splitter}


def build_tool_tabs(w: MainWindow) -> ToolTabs:
    """Build them for window ``w``, wired to it and up to date with it."""
    events = EventsTab(w.packets)
    events.export_requested.connect(w.export_packets)
    compose = ComposeTab(w.settings)
    acks = AckPanel()
    events.add_panel(acks)
    controller = ComposeController(w, w.bridge, compose, acks, w)
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        send = QShortcut(QKeySequence(keys), compose)
        send.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send.activated.connect(compose.send)
    namespaces = w.sidebar_model.keys("namespace")
    if namespaces:
        compose.set_namespaces(namespaces, replace=True)
    controller.refresh_acks()
    tools = ToolTabs(events, acks, compose, controller)
    w.shape.restore_splitters(tools.splitters())
    return tools
