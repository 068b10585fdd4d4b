"""The invite panel: the QR code is the invite's, square, crisp and as large as the
panel; Copy puts the invite on the clipboard; the dialog never blocks the window."""

from __future__ import annotations

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QDialogButtonBox

from app.invite import Invite
from ui.widgets.invite import QUIET_ZONE, InviteDialog, InvitePanel

FP = "0123456789abcdef" * 4
INVITE = Invite(url="https://192.168.1.20:5000", token="tok-Zq9x_3kPp2mW8vYc", name="Networks 101",
                fingerprint=FP).to_text()


def modules_of(image: QImage, count: int) -> list[list[bool]]:
    """Dark (True) or light per module, sampled at each module's centre."""
    scale = image.width() / count
    return [[image.pixelColor(int((x + 0.5) * scale), int((y + 0.5) * scale)).lightness() < 128
             for x in range(count)] for y in range(count)]


def test_the_qr_code_is_the_invites_square_and_grows_with_the_panel(qtbot):
    panel = InvitePanel()
    qtbot.addWidget(panel)
    panel.set_invite(INVITE)
    panel.resize(420, 560)
    panel.show()
    qtbot.waitExposed(panel)
    small = panel.qr.pixmap()
    assert not small.isNull() and small.width() == small.height()
    assert small.width() % panel.qr.modules == 0          # whole pixels per module

    # exactly the code of the invite, with its white quiet zone
    expected = segno.make_qr(INVITE, error="m")
    size = expected.symbol_size(scale=1, border=QUIET_ZONE)[0]
    assert panel.qr.modules == size
    drawn = modules_of(small.toImage(), size)
    matrix = [[bool(v) for v in row] for row in expected.matrix]
    inner = [row[QUIET_ZONE:size - QUIET_ZONE] for row in drawn[QUIET_ZONE:size - QUIET_ZONE]]
    assert inner == matrix
    assert not any(drawn[0]) and not any(row[0] for row in drawn)  # quiet zone is light

    panel.resize(1000, 1300)                              # a projector-sized window
    qtbot.waitUntil(lambda: panel.qr.width() >= 900)
    big = panel.qr.pixmap()
    assert big.width() == big.height() and big.width() > 2 * small.width()


def test_copy_puts_the_invite_on_the_clipboard_and_the_fingerprint_is_shown(qtbot):
    panel = InvitePanel()
    qtbot.addWidget(panel)
    panel.set_invite(INVITE + "\n")                      # as pasted: the line end goes
    QGuiApplication.clipboard().setText("something else")
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == INVITE
    assert panel.copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: panel.copy_button.text() == "Copy", timeout=5000)
    # the fingerprint comes from the invite when not given, grouped for reading aloud
    assert "0123 4567 89ab cdef" in panel.fingerprint_label.text()
    assert panel.invite_edit.isReadOnly() and panel.invite_edit.text() == INVITE

    panel.set_invite(None)
    assert panel.qr.pixmap().isNull() and panel.copy_button.isHidden()
    assert "no token" in panel.hint.text()


def test_the_invite_dialog_is_not_modal(qtbot):
    dialog = InviteDialog(INVITE)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert "Networks 101" in dialog.windowTitle()
    assert not dialog.panel.qr.pixmap().isNull()


def test_the_invite_dialog_fits_a_720_pixel_high_screen(qtbot, monkeypatch):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QScreen

    monkeypatch.setattr(QScreen, "availableGeometry", lambda _self: QRect(0, 0, 1280, 720))
    dialog = InviteDialog(INVITE)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    assert dialog.height() <= 720 - 40
    close = dialog.findChild(QDialogButtonBox)
    assert close is not None and close.geometry().bottom() < dialog.height()
    qr = dialog.panel.qr
    assert qr.height() >= 240 and not qr.pixmap().isNull()  # still big enough to scan
