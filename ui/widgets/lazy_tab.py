"""A tab whose page is built when it is first needed, not on the way to the first paint.

Every widget built before the window first paints delays it, and under the application's
stylesheet a widget costs a few hundred microseconds: the Queues tab (150 widgets) and
the Learn tab (which imports every lesson) are not needed to show the window. Their place
(icon, title, Ctrl+N number) is held by an empty page until the user opens the tab, code
asks for it (``get``), or the window builds it once it has painted (``build``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QTabWidget, QWidget

from ui import theme

W = TypeVar("W", bound=QWidget)


class LazyTab(Generic[W]):
    """One tab of ``tabs`` (added now, at the end) whose page ``make()`` builds later."""

    def __init__(self, tabs: QTabWidget, icon: str, title: str, make: Callable[[], W]) -> None:
        self._tabs = tabs
        self._icon = icon
        self._title = title
        self._make = make
        self.page: W | None = None  # None until built
        self._slot: QWidget | None = QWidget()
        tabs.addTab(self._slot, theme.icon(icon), title)
        tabs.currentChanged.connect(self._current_changed)

    def get(self) -> W:
        """The page, built now if it was not yet."""
        return self.page if self.page is not None else self.build()

    def build(self) -> W:
        """Put the real page in place of the placeholder (same index, icon and title),
        keeping it the current tab when the user was opening it."""
        if self.page is not None:
            return self.page
        page = self.page = self._make()
        slot, self._slot = self._slot, None
        assert slot is not None
        showing = self._tabs.currentWidget() is slot
        i = self._tabs.indexOf(slot)
        self._tabs.insertTab(i, page, theme.icon(self._icon), self._title)
        self._tabs.removeTab(i + 1)
        slot.deleteLater()
        if showing:
            self._tabs.setCurrentWidget(page)
        return page

    def _current_changed(self, index: int) -> None:
        if self._slot is not None and self._tabs.widget(index) is self._slot:
            self.build()
