"""Showing an invite to a hosted workspace: the line to copy, the certificate's
fingerprint, and a QR code big enough to scan off a classroom projector.

The invite holds the workspace's token, so the panel says so: whoever has it can join.
The QR code is always dark on white with its quiet zone (scanners need the contrast,
whatever the theme), drawn with whole pixels per module so it stays sharp at any size,
and fills the space it is given: on a projector the panel is made large, and so is the
code.
"""

from __future__ import annotations

import io

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.invite import InviteError, parse_invite
from ui import theme
from ui.widgets.dialog_size import fit_screen

#: Modules of white around the code: the QR standard's quiet zone.
QUIET_ZONE = 4
#: How long the Copy button says "Copied".
COPIED_MS = 1500


def qr_image(text: str) -> QImage:
    """The QR code of ``text`` at one pixel per module, quiet zone included. Error
    correction M (15 %): a smudged projector or a phone at an angle still reads it,
    and the code stays coarse enough to scan from the back of a room."""
    import segno  # 18 ms of imports (urllib among them): not on the way to the first paint

    code = segno.make_qr(text, error="m")
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=1, border=QUIET_ZONE)
    image = QImage()
    if not image.loadFromData(buf.getvalue(), "PNG"):
        raise ValueError("segno made a PNG Qt cannot read")
    return image


def group_fingerprint(fingerprint: str) -> str:
    """64 hex digits in groups of four, to read aloud and compare by eye."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


class QrCode(QWidget):
    """A QR code as large as the widget allows, square, each module whole pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(160, 160)
        self.setAccessibleName("QR code of the invite")

    def set_text(self, text: str | None) -> None:
        self._image = qr_image(text) if text else None
        self.update()

    @property
    def modules(self) -> int:
        """Modules per side, quiet zone included (0 without a code)."""
        return self._image.width() if self._image is not None else 0

    def pixmap(self, side: int | None = None) -> QPixmap:
        """The code drawn at most ``side`` pixels wide (default: what fits the widget),
        at the largest whole number of pixels per module; a null pixmap without a
        code."""
        if self._image is None:
            return QPixmap()
        side = side if side is not None else min(self.width(), self.height())
        scale = max(1, side // self._image.width())
        size = self._image.width() * scale
        return QPixmap.fromImage(self._image.scaled(
            size, size, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation))  # nearest: crisp module edges

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        ratio = self.devicePixelRatioF()
        side = min(self.width(), self.height())
        pix = self.pixmap(int(side * ratio))
        pix.setDevicePixelRatio(ratio)
        shown = pix.width() / ratio
        x = (self.width() - shown) / 2
        y = (self.height() - shown) / 2
        painter.drawPixmap(int(x), int(y), pix)  # its quiet zone is the white margin
        painter.end()


class InvitePanel(QWidget):
    """The invite line with Copy, the certificate fingerprint, and the QR code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text: str | None = None
        self.fingerprint: str | None = None
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.invite_edit = QLineEdit()
        self.invite_edit.setReadOnly(True)
        self.invite_edit.setAccessibleName("Invite")
        self.copy_button = QPushButton(theme.icon("copy"), "Copy")
        self.copy_button.setToolTip("Copy the invite to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.fingerprint_label = QLabel()
        self.fingerprint_label.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint_label.setWordWrap(True)
        self.fingerprint_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.qr = QrCode()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.invite_edit, 1)
        row.addWidget(self.copy_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.hint)
        lay.addLayout(row)
        lay.addWidget(self.fingerprint_label)
        lay.addWidget(self.qr, 1)
        self._restore = QTimer(self)
        self._restore.setSingleShot(True)
        self._restore.setInterval(COPIED_MS)
        self._restore.timeout.connect(lambda: self.copy_button.setText("Copy"))
        self.set_invite(None)

    def set_invite(self, text: str | None, fingerprint: str | None = None) -> None:
        """Show ``text`` (None: this server has no invite) and the fingerprint of the
        certificate it pins (None: plain HTTP, or the invite's own ``fp``)."""
        self.text = text.strip() if text else None
        if fingerprint is None and self.text:
            try:
                fingerprint = parse_invite(self.text).fingerprint
            except InviteError:
                fingerprint = None
        self.fingerprint = fingerprint
        has = self.text is not None
        self.invite_edit.setText(self.text or "")
        self.invite_edit.setCursorPosition(0)
        self.invite_edit.setVisible(has)
        self.copy_button.setVisible(has)
        self.qr.setVisible(has)
        self.qr.set_text(self.text)
        if has:
            self.hint.setText("Whoever has this invite can join: it holds the workspace's "
                              "token. Give it to your team or class only, or show the QR "
                              "code to scan.")
        else:
            self.hint.setText("There is no invite: this server has no token, so it is "
                              "not meant for others to join.")
        if fingerprint:
            self.fingerprint_label.setText(
                f"Certificate SHA-256: {group_fingerprint(fingerprint)}\n"
                "The invite pins this certificate; people joining by hand compare it "
                "with what SockDesk shows them.")
        else:
            self.fingerprint_label.setText(
                "No TLS certificate: the connection is plain HTTP." if has else "")
        self.fingerprint_label.setVisible(bool(self.fingerprint_label.text()))

    def copy(self) -> None:
        """Put the invite on the clipboard."""
        if not self.text:
            return
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setText("Copied")
        self._restore.start()


#: the invite window's size where the screen has room for it
DIALOG_SIZE = QSize(560, 720)


class InviteDialog(QDialog):
    """The invite in a window of its own, to put on a projector or beside the chat.
    Never modal: people keep using the app while it is shown."""

    def __init__(self, text: str | None, fingerprint: str | None = None,
                 parent: QWidget | None = None, workspace: str | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setWindowIcon(theme.icon("app"))
        name = workspace
        if name is None and text:
            try:
                name = parse_invite(text).name
            except InviteError:
                name = None
        self.setWindowTitle(f"Invite to {name}" if name else "Invite")
        title = QLabel(f"Invite people to {name}" if name else "Invite people")
        title.setObjectName("roomTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        self.panel = InvitePanel()
        self.panel.set_invite(text, fingerprint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 18, 20, 14)
        lay.addWidget(title)
        lay.addWidget(self.panel, 1)
        lay.addWidget(buttons)
        # on a 1280x720 projector as tall as the screen leaves (its Close button was
        # under the screen's edge)
        fit_screen(self, DIALOG_SIZE)

    def set_invite(self, text: str | None, fingerprint: str | None = None) -> None:
        self.panel.set_invite(text, fingerprint)

    def open(self) -> None:
        """Show it without blocking anything: QDialog.open() would make it
        window-modal, and the host's window must stay usable meanwhile."""
        self.show()
        self.raise_()
        self.activateWindow()
