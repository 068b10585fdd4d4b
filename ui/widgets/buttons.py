"""The one way the app makes a tool button, so every toolbar looks and reads alike.

Tool buttons appear in the chat header, the composer, the sidebar, Compose, the Events
and Queues tabs and the Learn diagram; before this factory each built its own with a
slightly different set of calls (some forgot auto-raise, some the text style).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QToolButton, QWidget

from ui import theme


def tool_button(tip: str, *, icon: str | None = None, text: str = "",
                icon_color: QColor | None = None, checkable: bool = False,
                name: str | None = None, parent: QWidget | None = None) -> QToolButton:
    """A flat (auto-raised) tool button with a tooltip, an optional icon and text.

    With both an icon and text the text stands beside the icon; with text alone it is a
    text button. `name` sets the object name the stylesheet and tests refer to.
    """
    b = QToolButton(parent)
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
