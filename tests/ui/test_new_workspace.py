"""The new-workspace dialog: each start makes the workspace it says, a wrong invite is
caught where it is pasted, and the button stays off while anything is wrong."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QWidget

from app.invite import Invite
from app.workspace import SOCKDESK_NAMESPACES, ServerKind
from ui.widgets.new_workspace import (
    PAGE_HOST,
    PAGE_JOIN,
    PAGE_TRY,
    PLAIN_HTTP_WARNING,
    NewWorkspaceDialog,
)

FP = "ab" * 32
INVITE = Invite(url="https://192.168.1.20:5000", token="tok-Zq9x_3kPp2mW8vYc",
                name="Networks 101", fingerprint=FP).to_text()


def accept(qtbot, dialog: NewWorkspaceDialog) -> None:
    assert dialog.ok_button.isEnabled(), dialog.problem.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted


def make(qtbot, invite: str | None = None) -> NewWorkspaceDialog:
    dialog = NewWorkspaceDialog(invite=invite)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_try_it_here_makes_a_private_workspace(qtbot):
    dialog = make(qtbot)
    assert dialog.page() == PAGE_TRY and dialog.ok_button.text() == "Start"
    page = dialog.try_page
    page.user.setText("not a name!")
    assert not dialog.ok_button.isEnabled() and "letters, digits" in dialog.problem.text()
    page.user.setText("alice")
    accept(qtbot, dialog)
    ws = dialog.workspace()
    assert ws.server == ServerKind.PRIVATE and ws.user == "alice"
    assert ws.name == "Private sandbox" and ws.urls == [] and ws.token is None
    assert ws.host.interface == "127.0.0.1" and ws.host.port == 0
    assert ws.namespaces == SOCKDESK_NAMESPACES and ws.key
    assert dialog.workspace() is ws                        # the key is made once


def test_host_makes_a_hosted_workspace_with_tls_and_the_shown_token(qtbot):
    dialog = make(qtbot)
    qtbot.mouseClick(dialog.choices[PAGE_HOST], Qt.MouseButton.LeftButton)
    assert dialog.page() == PAGE_HOST and dialog.ok_button.text() == "Host"
    page = dialog.host_page
    # nothing typed yet: no complaint; pressing Host says what is missing
    assert dialog.problem.text() == "" and dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.isVisible()
    assert not dialog.ok_button.isEnabled()               # it needs a name
    assert "needs a name" in dialog.problem.text()
    page.name.setText("Networks 101")
    page.user.setText("teacher")
    page.interface.setCurrentIndex(page.interface.findData("127.0.0.1"))
    assert page.port.value() == 5000
    page.port.setValue(5050)
    shown = page.token.text()
    assert len(shown) >= 16
    # plain HTTP on loopback: no warning (nobody else can listen in)
    page.plain.setChecked(True)
    assert page.warning.isHidden()
    page.plain.setChecked(False)
    accept(qtbot, dialog)
    ws = dialog.workspace()
    assert ws.server == ServerKind.HOST and ws.name == "Networks 101"
    assert ws.user == "teacher" and ws.token == shown and ws.key
    assert (ws.host.interface, ws.host.port) == ("127.0.0.1", 5050)
    assert ws.host.tls and not ws.host.plain_http_ok
    assert ws.namespaces == SOCKDESK_NAMESPACES


def test_host_without_tls_beyond_loopback_warns_and_says_so(qtbot):
    dialog = make(qtbot)
    dialog.set_page(PAGE_HOST)
    page = dialog.host_page
    page.name.setText("Open lab")
    page.interface.setCurrentIndex(page.interface.findData("0.0.0.0"))
    assert page.warning.isHidden()
    page.plain.setChecked(True)
    assert page.warning.isVisible() and page.warning.text() == PLAIN_HTTP_WARNING
    old = page.token.text()
    qtbot.mouseClick(page.new_token, Qt.MouseButton.LeftButton)
    assert page.token.text() != old
    accept(qtbot, dialog)
    ws = dialog.workspace()
    assert ws.host.interface == "0.0.0.0" and not ws.host.tls and ws.host.plain_http_ok
    assert ws.token == page.token.text()


def test_join_with_an_invite_opens_prefilled(qtbot):
    dialog = make(qtbot, invite=INVITE)
    assert dialog.page() == PAGE_JOIN and dialog.ok_button.text() == "Join"
    page = dialog.join_page
    assert page.invite.text() == INVITE
    assert "Networks 101" in page.invite_status.text()
    assert "pinned" in page.invite_status.text()
    assert page.name.placeholderText() == "Networks 101"
    page.user.setText("student")
    accept(qtbot, dialog)
    ws = dialog.workspace()
    assert ws.server == ServerKind.REMOTE and ws.name == "Networks 101"
    assert ws.urls == ["https://192.168.1.20:5000"] and ws.token == "tok-Zq9x_3kPp2mW8vYc"
    assert ws.tls.fingerprint == FP and ws.namespaces == SOCKDESK_NAMESPACES
    assert ws.user == "student" and ws.key


def test_a_bad_invite_shows_its_error_and_join_stays_off(qtbot):
    dialog = make(qtbot)
    dialog.set_page(PAGE_JOIN)
    page = dialog.join_page
    page.user.setText("student")
    page.invite.setText("https://192.168.1.20:5000")
    assert "not a SockDesk invite" in page.invite_status.text()
    assert page.invite_status.objectName() == "errorLabel"
    assert page.invite.property("invalid") is True
    assert not dialog.ok_button.isEnabled()
    assert "not a SockDesk invite" in dialog.problem.text()
    page.invite.setText(INVITE.replace("fp=" + FP, "fp=1234"))
    assert "not a SHA-256 fingerprint" in page.invite_status.text()
    assert not dialog.ok_button.isEnabled()
    page.invite.setText(INVITE)
    assert dialog.ok_button.isEnabled() and page.invite.property("invalid") is False


def test_join_by_hand_for_any_socketio_server(qtbot):
    dialog = make(qtbot)
    dialog.set_page(PAGE_JOIN)
    page = dialog.join_page
    qtbot.mouseClick(page.by_hand, Qt.MouseButton.LeftButton)
    assert page.by_hand.isChecked()
    # the fields of both forms in one column (Workspace and Your name stood further left)
    qtbot.waitExposed(dialog)
    lefts = {f.mapTo(page, f.rect().topLeft()).x()
             for f in (page.url, page.path, page.fingerprint, page.name, page.user)}
    assert len(lefts) == 1, lefts
    page.user.setText("")                                  # optional for any server
    page.url.setText("ftp://example.com")
    assert not dialog.ok_button.isEnabled() and "http://" in dialog.problem.text()
    page.url.setText("https://example.com:3000")
    assert page.namespaces.text() == "/"                   # not SockDesk's namespaces
    ws = dialog.workspace()
    assert ws.namespaces == ["/"] and ws.user is None and ws.key is None
    page.path.setText("ws/socket.io")
    page.namespaces.setText("/, /admin /admin")
    page.token.setText("s3cret")
    page.fingerprint.setText("SHA256:" + ":".join(["AB"] * 32))
    page.user.setText("dev")
    accept(qtbot, dialog)
    ws = dialog.workspace()
    assert ws.server == ServerKind.REMOTE and ws.name == "example.com:3000"
    assert ws.urls == ["https://example.com:3000"] and ws.path == "/ws/socket.io"
    assert ws.namespaces == ["/", "/admin"] and ws.token == "s3cret"
    assert ws.tls.fingerprint == FP and ws.user == "dev" and ws.key


def test_only_try_and_host_say_sockdesk_runs_a_server(qtbot):
    dialog = make(qtbot)

    def words(page: QWidget) -> str:
        return " ".join(label.text() for label in page.findChildren(QLabel))

    join = words(dialog.join_page)
    assert "SockDesk starts" not in join and "SockDesk runs" not in join
    assert "on this computer" not in join
    assert "SockDesk starts a small Socket.IO server on this computer" in words(
        dialog.try_page)
    assert "SockDesk runs a Socket.IO server on this computer" in words(dialog.host_page)


def test_every_page_asks_for_the_workspace_then_your_name(qtbot):
    from PySide6.QtWidgets import QFormLayout, QLabel

    dialog = make(qtbot)
    for page in (dialog.try_page, dialog.host_page, dialog.join_page):
        labels = [w.text() for form in page.findChildren(QFormLayout)
                  for r in range(form.rowCount())
                  if (item := form.itemAt(r, QFormLayout.ItemRole.LabelRole)) is not None
                  and isinstance(w := item.widget(), QLabel)
                  and w.text() in ("Workspace", "Your name")]
        assert labels == ["Workspace", "Your name"], (page, labels)
