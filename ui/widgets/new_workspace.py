"""The first-run and "New workspace" dialog: try it here, host, or join.

Three ways to begin, as chat apps put "create or join" first:

* **Try it here**: a private server on this computer, for this user alone (what SockDesk
  always did on first run). Only a user name is needed.
* **Host for my team or class**: a server on this computer that others join with an
  invite: which network it listens on, its port, TLS (on unless plain HTTP is asked for
  explicitly, with a warning), and the token the invite will carry.
* **Join**: somebody else's server, from an invite (parsed as it is pasted, so a wrong
  paste is caught here and not at the first connect), or by hand for any Socket.IO
  server: URL, path, namespaces, token, certificate fingerprint.

Only the first two say that SockDesk runs a server: joining never starts one. The
dialog makes the ``Workspace`` (``workspace()`` once accepted) and checks it with
``Workspace.validate()`` as it is filled in: the problem is shown under the fields and
the button stays disabled until there is none. Given the ``WorkspaceStore``, a name
typed that another saved workspace has is such a problem too, and a name left to its
default ("Private sandbox", the invite's) becomes "Private sandbox (2)" rather than
one: a second private sandbox is no mistake the user made. Saving it and starting or
connecting is the caller's business.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import TlsSettings
from app.invite import DEFAULT_PATH, Invite, InviteError, parse_invite
from app.workspace import (
    SOCKDESK_NAMESPACES,
    HostSettings,
    ServerKind,
    Workspace,
    WorkspaceError,
    WorkspaceStore,
    from_invite,
)
from ui import theme
from ui.hosting import TOKEN_BYTES, is_loopback, local_addresses, route_address
from ui.widgets.firstrun import USER_RE, suggested_name
from ui.workspaces import unique_name

PAGE_TRY = "try"
PAGE_HOST = "host"
PAGE_JOIN = "join"
PAGES = (PAGE_TRY, PAGE_HOST, PAGE_JOIN)
#: What a private workspace is called unless the user names it.
PRIVATE_NAME = "Private sandbox"
DEFAULT_PORT = 5000
USER_RULE = "1-32 letters, digits, '.', '_' or '-'"
PLAIN_HTTP_WARNING = (
    "Without TLS, everything sent to this server, messages and the token included, "
    "crosses the network readable by anyone on it, and another computer could answer "
    "in this one's place. Use plain HTTP only on a network you trust.")
_CHOICES = {
    PAGE_TRY: ("Try it here", "A private server on this computer, only for you."),
    PAGE_HOST: ("Host for my team or class",
                "A server on this computer that others join with an invite."),
    PAGE_JOIN: ("Join", "Paste an invite, or connect to any Socket.IO server."),
}
_ACCEPT_TEXT = {PAGE_TRY: "Start", PAGE_HOST: "Host", PAGE_JOIN: "Join"}


def _form_label(text: str, width: int) -> QLabel:
    """A form's label at least ``width`` wide, so that two forms line up."""
    label = QLabel(text)
    label.setMinimumWidth(width)
    return label


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _user_edit(text: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setPlaceholderText("your name (letters, digits, . _ -)")
    edit.setMaxLength(32)
    return edit


def _check_user(text: str, required: bool = True) -> str | None:
    """The user name, None when empty and optional; WorkspaceError when invalid."""
    if not text and not required:
        return None
    if not USER_RE.fullmatch(text):
        raise WorkspaceError(f"Your name must be {USER_RULE}.")
    return text


def parse_namespaces(text: str) -> list[str]:
    """Namespaces typed as a list ("/, /admin" or "/ /admin"); each must start with /."""
    names = [n for n in re.split(r"[\s,]+", text.strip()) if n]
    if not names:
        raise WorkspaceError("Give at least one namespace, e.g. /.")
    bad = [n for n in names if not n.startswith("/")]
    if bad:
        raise WorkspaceError(f"A namespace starts with /: {bad[0]!r} does not.")
    return list(dict.fromkeys(names))


def _choice_button(heading: str, blurb: str) -> QPushButton:
    """A card-like checkable button: the heading in bold, the blurb wrapped below (a
    plain button's text does not wrap, and the blurbs are a sentence long)."""
    button = QPushButton()
    button.setCheckable(True)
    button.setToolTip(blurb)
    button.setAccessibleName(heading)
    title = QLabel(heading)
    title.setObjectName("sectionTitle")
    text = _hint(blurb)
    lay = QVBoxLayout(button)
    lay.setContentsMargins(10, 8, 10, 8)
    lay.setSpacing(2)
    for label in (title, text):
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        lay.addWidget(label)
    lay.addStretch(1)
    # room for a three-line blurb, whatever the font
    lines = text.fontMetrics().lineSpacing() * 3 + title.fontMetrics().lineSpacing()
    button.setMinimumHeight(lines + 22)
    # the chosen card stands out (the app's stylesheet has no rule for checked buttons)
    button.setStyleSheet("QPushButton:checked { border: 2px solid palette(highlight); "
                         "background: palette(base); }")
    return button


class _TryPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.name = QLineEdit()
        self.name.setPlaceholderText(PRIVATE_NAME)
        self.user = _user_edit(suggested_name())
        form = QFormLayout()
        # in the order the Host and Join pages ask (a reviewer saw them swapped here)
        form.addRow("Workspace", self.name)
        form.addRow("Your name", self.user)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(_hint(
            "SockDesk starts a small Socket.IO server on this computer and connects you "
            "to it. Only this computer can reach it: a place to learn and try things."))
        lay.addLayout(form)
        lay.addStretch(1)

    def build(self) -> Workspace:
        ws = Workspace(name=self.name.text().strip() or PRIVATE_NAME,
                       server=ServerKind.PRIVATE, user=_check_user(self.user.text().strip()),
                       namespaces=list(SOCKDESK_NAMESPACES),
                       host=HostSettings(interface="127.0.0.1", port=0))
        ws.ensure_key()
        return ws


class _HostPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Networks 101")
        self.user = _user_edit(suggested_name())
        self.interface = QComboBox()
        route = route_address()
        for address, label in local_addresses():
            self.interface.addItem(f"{label} ({address})", address)
        # The LAN address by default: reachable by the class, not by every network the
        # computer is on. Without one, every network.
        index = self.interface.findData(route) if route else -1
        self.interface.setCurrentIndex(index if index >= 0
                                       else self.interface.findData("0.0.0.0"))
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.port.setToolTip("The port stays the same each time you host, so invites you "
                             "handed out keep working.")
        self.plain = QCheckBox("Without TLS (plain HTTP)")
        self.warning = QLabel(PLAIN_HTTP_WARNING)
        self.warning.setObjectName("errorLabel")
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.token = QLineEdit(secrets.token_urlsafe(TOKEN_BYTES))
        self.token.setReadOnly(True)
        self.token.setToolTip("Everyone joining needs this token; the invite carries it.")
        self.new_token = QPushButton(theme.icon("retry"), "New")
        self.new_token.setToolTip("Make another token (invites with the old one stop "
                                  "working)")
        self.new_token.clicked.connect(
            lambda: self.token.setText(secrets.token_urlsafe(TOKEN_BYTES)))
        token_row = QHBoxLayout()
        token_row.setContentsMargins(0, 0, 0, 0)
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.new_token)
        form = QFormLayout()
        form.addRow("Workspace", self.name)
        form.addRow("Your name", self.user)
        form.addRow("Listen on", self.interface)
        form.addRow("Port", self.port)
        form.addRow("", self.plain)
        form.addRow("Token", token_row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(_hint(
            "SockDesk runs a Socket.IO server on this computer for your team or class, "
            "with TLS and a token. You get an invite (a line and a QR code) to hand out; "
            "keep SockDesk open while they use it."))
        lay.addLayout(form)
        lay.addWidget(self.warning)
        lay.addStretch(1)
        self.plain.toggled.connect(self._show_warning)
        self.interface.currentIndexChanged.connect(self._show_warning)
        self._show_warning()

    def address(self) -> str:
        return str(self.interface.currentData() or "0.0.0.0")

    def _show_warning(self) -> None:
        self.warning.setVisible(self.plain.isChecked() and not is_loopback(self.address()))

    def build(self) -> Workspace:
        plain = self.plain.isChecked()
        ws = Workspace(name=self.name.text().strip(), server=ServerKind.HOST,
                       user=_check_user(self.user.text().strip()),
                       namespaces=list(SOCKDESK_NAMESPACES),
                       host=HostSettings(interface=self.address(), port=self.port.value(),
                                         tls=not plain, plain_http_ok=plain),
                       token=self.token.text())
        ws.ensure_key()
        return ws


class _JoinPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.with_invite = QRadioButton("With an invite")
        self.by_hand = QRadioButton("By hand (any Socket.IO server)")
        self.with_invite.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.with_invite)
        modes.addButton(self.by_hand)
        mode_row = QHBoxLayout()
        mode_row.setContentsMargins(0, 0, 0, 0)
        mode_row.addWidget(self.with_invite)
        mode_row.addWidget(self.by_hand)
        mode_row.addStretch(1)

        self.invite = QLineEdit()
        self.invite.setPlaceholderText("sockdesk://join?…")
        self.invite.setAccessibleName("Invite")
        self.invite_status = QLabel()
        self.invite_status.setWordWrap(True)
        self.invite_status.setTextFormat(Qt.TextFormat.PlainText)
        invite_page = QWidget()
        invite_lay = QVBoxLayout(invite_page)
        invite_lay.setContentsMargins(0, 0, 0, 0)
        invite_lay.addWidget(self.invite)
        invite_lay.addWidget(self.invite_status)
        invite_lay.addStretch(1)

        self.url = QLineEdit()
        self.url.setPlaceholderText("https://host:port")
        self.path = QLineEdit(DEFAULT_PATH)
        self.namespaces = QLineEdit("/")
        self.namespaces.setToolTip("Separated by commas or spaces, e.g. /, /admin")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("optional: sent as auth.token")
        self.fingerprint = QLineEdit()
        self.fingerprint.setPlaceholderText("optional: SHA-256 of a self-signed certificate")
        # two forms, one under the other, with their fields in one column: every label
        # as wide as the widest of both
        hand_rows = (("Server URL", self.url), ("Socket.IO path", self.path),
                     ("Namespaces", self.namespaces), ("Token", self.token),
                     ("Certificate", self.fingerprint))
        self.name = QLineEdit()
        self.user = _user_edit(suggested_name())
        common_rows = (("Workspace", self.name), ("Your name", self.user))
        label_width = max(self.fontMetrics().horizontalAdvance(text)
                          for text, _field in (*hand_rows, *common_rows))
        hand_page = QWidget()
        hand = QFormLayout(hand_page)
        hand.setContentsMargins(0, 0, 0, 0)
        for text, field in hand_rows:
            hand.addRow(_form_label(text, label_width), field)

        self.modes = QStackedWidget()
        self.modes.addWidget(invite_page)
        self.modes.addWidget(hand_page)
        common = QFormLayout()
        for text, field in common_rows:
            common.addRow(_form_label(text, label_width), field)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(_hint(
            "Join a workspace somebody else runs: paste the invite they gave you, or "
            "enter the address of any Socket.IO server."))
        lay.addLayout(mode_row)
        lay.addWidget(self.modes)
        lay.addLayout(common)
        lay.addStretch(1)
        self.by_hand.toggled.connect(self._mode_changed)
        self.invite.textChanged.connect(self._invite_changed)
        self.url.textChanged.connect(self._placeholders)
        self._invite_changed()

    def _mode_changed(self) -> None:
        self.modes.setCurrentIndex(1 if self.by_hand.isChecked() else 0)
        self.user.setPlaceholderText("optional: sent as auth.user" if self.by_hand.isChecked()
                                     else "your name (letters, digits, . _ -)")
        self._placeholders()

    def parsed_invite(self) -> Invite:
        """The pasted invite, or InviteError saying what is wrong with it."""
        if not self.invite.text().strip():
            raise InviteError("Paste the invite you were given (it starts with "
                              "sockdesk://join?).")
        return parse_invite(self.invite.text())

    def _invite_changed(self) -> None:
        """Parse as it is pasted, and say what the invite is or what is wrong with it."""
        text = self.invite.text().strip()
        try:
            inv = self.parsed_invite()
        except InviteError as exc:
            self.invite_status.setObjectName("errorLabel" if text else "hint")
            self.invite_status.setText(str(exc))
            invalid = bool(text)
        else:
            pinned = ("its certificate is pinned" if inv.fingerprint else
                      "plain HTTP" if inv.url.startswith(("http:", "ws:"))
                      else "its certificate is checked by your system")
            self.invite_status.setObjectName("hint")
            self.invite_status.setText(
                f"An invite to {inv.name or inv.url} at {inv.url}"
                f"{', with a token' if inv.token else ', without a token'}; {pinned}.")
            invalid = False
        self.invite.setProperty("invalid", invalid)
        for widget in (self.invite, self.invite_status):
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self._placeholders()

    def _placeholders(self) -> None:
        """The name a workspace gets when none is typed: the invite's, or the host's."""
        self.name.setPlaceholderText(self.default_name() or "a name for this workspace")

    def default_name(self) -> str:
        if self.by_hand.isChecked():
            return urlsplit(self.url.text().strip()).netloc
        try:
            inv = self.parsed_invite()
        except InviteError:
            return ""
        return inv.name or urlsplit(inv.url).netloc

    def build(self) -> Workspace:
        name = self.name.text().strip() or self.default_name()
        if not self.by_hand.isChecked():
            try:
                inv = self.parsed_invite()
            except InviteError as exc:
                raise WorkspaceError(str(exc)) from None
            user = _check_user(self.user.text().strip())
            assert user is not None
            return from_invite(inv, user=user, name=name)
        url = self.url.text().strip()
        if not url:
            raise WorkspaceError("Enter the server's URL, e.g. https://example.com:3000.")
        path = self.path.text().strip() or DEFAULT_PATH
        user = _check_user(self.user.text().strip(), required=False)
        ws = Workspace(name=name, urls=[url], path=path if path.startswith("/") else "/" + path,
                       namespaces=parse_namespaces(self.namespaces.text()), user=user,
                       token=self.token.text().strip() or None,
                       tls=TlsSettings(fingerprint=self.fingerprint.text().strip() or None),
                       server=ServerKind.REMOTE)
        if user:
            ws.ensure_key()
        return ws


class NewWorkspaceDialog(QDialog):
    """Try it here, host, or join (see the module doc). With ``invite`` it opens on the
    Join page with the invite filled in (a ``sockdesk://`` link that was clicked)."""

    def __init__(self, parent: QWidget | None = None, invite: str | None = None, *,
                 store: WorkspaceStore | None = None) -> None:
        """``store``: the saved workspaces, so a name one of them has is caught here."""
        super().__init__(parent)
        self.setWindowTitle("New workspace")
        self.setWindowIcon(theme.icon("app"))
        self._result: Workspace | None = None
        self._store = store
        title = QLabel("Start, host or join")
        title.setObjectName("roomTitle")
        self.try_page = _TryPage()
        self.host_page = _HostPage()
        self.join_page = _JoinPage()
        self.pages = QStackedWidget()
        self.choices: dict[str, QPushButton] = {}
        choice_row = QHBoxLayout()
        group = QButtonGroup(self)
        group.setExclusive(True)
        for key, page in zip(PAGES, (self.try_page, self.host_page, self.join_page),
                             strict=True):
            button = _choice_button(*_CHOICES[key])
            group.addButton(button)
            button.toggled.connect(lambda on, k=key: self._chosen(k, on))
            self.choices[key] = button
            choice_row.addWidget(button)
            self.pages.addWidget(page)
        self.problem = QLabel()
        self.problem.setObjectName("errorLabel")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setProperty("accent", True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 18, 20, 14)
        lay.addWidget(title)
        lay.addLayout(choice_row)
        lay.addSpacing(6)
        lay.addWidget(self.pages, 1)
        lay.addWidget(self.problem)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(720)

        #: pages the user changed something on, or pressed OK on, since the dialog was
        #: shown: only those show what is missing (an empty form is no mistake yet)
        self._touched: set[str] = set()
        for edit in self.findChildren(QLineEdit):
            edit.textChanged.connect(self._edited)
        for box in self.findChildren(QCheckBox) + self.findChildren(QRadioButton):
            box.toggled.connect(self._edited)
        self.host_page.interface.currentIndexChanged.connect(self._edited)
        self.host_page.port.valueChanged.connect(self._edited)
        if invite:
            self.join_page.invite.setText(invite)
            self.join_page.invite.setCursorPosition(0)
            self.set_page(PAGE_JOIN)
        else:
            self.set_page(PAGE_TRY)

    def page(self) -> str:
        """Which start is chosen: PAGE_TRY, PAGE_HOST or PAGE_JOIN."""
        return PAGES[self.pages.currentIndex()]

    def set_page(self, page: str) -> None:
        if page not in PAGES:
            raise ValueError(f"no page {page!r}: one of {', '.join(PAGES)}")
        self.pages.setCurrentIndex(PAGES.index(page))
        self.choices[page].setChecked(True)
        self.ok_button.setText(_ACCEPT_TEXT[page])
        self._validate()

    def _chosen(self, page: str, on: bool) -> None:
        if on and self.page() != page:
            self.set_page(page)

    def _current(self) -> _TryPage | _HostPage | _JoinPage:
        return (self.try_page, self.host_page, self.join_page)[self.pages.currentIndex()]

    def joined_with_invite(self) -> bool:
        """The workspace is (to be) joined with an invite, not typed in by hand: the
        caller may then open the one an earlier use of the same invite made."""
        return self.page() == PAGE_JOIN and self.join_page.with_invite.isChecked()

    def set_user(self, name: str) -> None:
        """Fill in the user name on every page (one the app knows already: ``--user``,
        or the name used last)."""
        for page in (self.try_page, self.host_page, self.join_page):
            page.user.setText(name)

    def _build(self) -> Workspace:
        """The workspace the current page describes, checked; WorkspaceError with the
        first problem otherwise."""
        page = self._current()
        ws = page.build()
        ws.validate()
        if self._store is not None:
            if page.name.text().strip():
                other = self._store.find(ws.name)
                if other is not None and other.id != ws.id:
                    raise WorkspaceError(f"A workspace named {ws.name!r} exists already: "
                                         "choose another name.")
            else:
                ws.name = unique_name(self._store, ws.name, ws.id)
        return ws

    def current_problem(self) -> str | None:
        """What keeps the workspace from being made, as a sentence (None: nothing)."""
        try:
            self._build()
        except WorkspaceError as exc:
            return str(exc)
        return None

    def _edited(self, *_args: object) -> None:
        """A field changed: once the dialog is on screen, that is the user editing the
        page shown (what the app fills in before is not)."""
        if self.isVisible():
            self._touched.add(self.page())
        self._validate()

    def _validate(self) -> None:
        problem = self.current_problem()
        shown = problem if self.page() in self._touched else None
        self.problem.setText(shown or "")
        self.ok_button.setEnabled(shown is None)

    def accept(self) -> None:
        self._touched.add(self.page())
        try:
            self._result = self._build()
        except WorkspaceError as exc:
            self.problem.setText(str(exc))
            self.ok_button.setEnabled(False)
            return
        super().accept()

    def workspace(self) -> Workspace:
        """The new workspace once the dialog was accepted (its key, and for a host its
        token, made once); before that, what the page describes now (WorkspaceError when
        it cannot be made)."""
        return self._result if self._result is not None else self._build()
