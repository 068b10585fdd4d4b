"""How big a dialog opens: as big as it asks, where the screen has room for that.

A window nobody sizes opens at most two thirds of its screen's height (Qt's rule for a
first show). On a 1280x720 projector that is 480 px, and the workspace's Connection
dialog, which asks for about 520 px, opened with its form scrolled. A dialog that calls
`fit_screen` gets the height it asks for, or as much as the screen leaves below the
window manager's title bar.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: what a window manager's title bar and frame take above a window's own height
TITLE_BAR_ALLOWANCE = 40


def fit_screen(dialog: QWidget, wanted: QSize) -> None:
    """Resize ``dialog`` to ``wanted``, no taller than its screen leaves (nor shorter
    than its own minimum)."""
    screen = dialog.screen() or QGuiApplication.primaryScreen()
    height = wanted.height()
    if screen is not None:
        height = min(height, screen.availableGeometry().height() - TITLE_BAR_ALLOWANCE)
    dialog.resize(wanted.width(), max(height, dialog.minimumSizeHint().height()))
