"""The one way the app makes a tool button, so every toolbar looks and reads alike.

Tool buttons appear in the chat header, the composer, the sidebar, Compose, the Events
and Queues tabs and the Learn diagram; before this factory each built its own with a
slightly different set of calls (some forgot auto-raise, some the text style).

A button with an icon and text is a ``CompactToolButton``: where its row has room it
reads "⟳ Refresh", where the row is squeezed (a window 800 px wide) it shows the icon
alone, its text still in the tooltip, so toolbars never set the window's minimum width.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QSizePolicy,
    QStyle,
    QStyleOptionToolButton,
    QToolButton,
    QWidget,
)

from ui import theme


class CompactToolButton(QToolButton):
    """A tool button whose text stands beside its icon when it gets the room for both,
    and disappears (icon only) when its layout gives it less. Its size hint is always
    the one with text (so a layout gives that room when it can), its minimum the one
    without, whatever it shows right now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # a QToolButton is Fixed: a layout would never give it less than its size hint
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def _hint_for(self, style: Qt.ToolButtonStyle) -> QSize:
        """QToolButton::sizeHint for ``style``, not the one it shows now."""
        opt = QStyleOptionToolButton()
        self.initStyleOption(opt)
        icon = opt.iconSize
        w, h = icon.width(), icon.height()
        if style == Qt.ToolButtonStyle.ToolButtonTextBesideIcon and self.text():
            fm = self.fontMetrics()
            text = fm.size(Qt.TextFlag.TextShowMnemonic, self.text())
            w += 4 + text.width() + fm.horizontalAdvance(" ") * 2
            h = max(h, text.height())
        opt.toolButtonStyle = style
        opt.rect.setSize(QSize(w, h))
        return self.style().sizeFromContents(QStyle.ContentsType.CT_ToolButton, opt,
                                              QSize(w, h), self)

    def sizeHint(self) -> QSize:
        return self._hint_for(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def minimumSizeHint(self) -> QSize:
        return self._hint_for(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def resizeEvent(self, event: QResizeEvent) -> None:
        roomy = event.size().width() >= self.sizeHint().width()
        wanted = (Qt.ToolButtonStyle.ToolButtonTextBesideIcon if roomy
                  else Qt.ToolButtonStyle.ToolButtonIconOnly)
        if self.toolButtonStyle() != wanted:
            self.setToolButtonStyle(wanted)
        super().resizeEvent(event)

    @property
    def compact(self) -> bool:
        """Showing the icon alone (squeezed)."""
        return self.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly


def tool_button(tip: str, *, icon: str | None = None, text: str = "",
                icon_color: QColor | None = None, checkable: bool = False,
                name: str | None = None, parent: QWidget | None = None) -> QToolButton:
    """A flat (auto-raised) tool button with a tooltip, an optional icon and text.

    With both an icon and text the text stands beside the icon; with text alone it is a
    text button (a ``CompactToolButton`` with both: icon only when squeezed). `name` sets
    the object name the stylesheet and tests refer to.
    """
    b = CompactToolButton(parent) if icon is not None and text else QToolButton(parent)
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setCheckable(checkable)
    if icon is not None:
        b.setIcon(theme.icon(icon, icon_color))
    if text:
        b.setText(text)
        if icon is not None:
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    if name:
        b.setObjectName(name)
    return b
