"""Making, changing and deleting workspaces from the window: "New workspace…", the
Connection dialog, "Delete this workspace…", and the questions asked when an edit would
take waiting messages to another address, or send them under another name than the one
they were written under.

Kept out of `ui.window` because it is a flow of its own (dialogs opened with `open()`,
answers handled when they come, then a save and a switch), and the window is the shell.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from app.workspace import ServerKind, Workspace, WorkspaceError
from ui.chat_presence import taken_name
from ui.widgets.connection import ConnectionDialog
from ui.workspaces import host_port, joined_before, new_copy, take_over, unique_name

if TYPE_CHECKING:
    from ui.widgets.new_workspace import NewWorkspaceDialog
    from ui.window import MainWindow


def moved_urls(old: Workspace, new: Workspace) -> bool:
    """The edit takes away an address messages may be waiting for (adding a second
    address for the same server does not)."""
    return not old.embedded and bool(set(old.urls) - set(new.urls))


def renamed(old: Workspace, new: Workspace) -> bool:
    """The edit changes the name the waiting messages were written under: the server
    takes the sender from the connection, so they would go out under the new one."""
    return (old.user or "") != (new.user or "")


class WorkspaceEditing(QObject):
    """The window's workspace dialogs and what follows their answers."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def new_workspace_dialog(self) -> NewWorkspaceDialog:
        """"New workspace…": try it here, host, or join (the first run's dialog); the
        new workspace is saved and shown in this window."""
        from ui.widgets.new_workspace import NewWorkspaceDialog

        dlg = NewWorkspaceDialog(self.window, store=self.window.workspaces.store)
        if self.window.user:
            dlg.set_user(self.window.user)

        def done(result: int) -> None:
            if result == NewWorkspaceDialog.DialogCode.Accepted:
                self.window.spawn(self._add_and_open(dlg.workspace(), dlg.joined_with_invite()))
            dlg.deleteLater()

        dlg.finished.connect(done)
        dlg.open()
        return dlg

    async def _add_and_open(self, ws: Workspace, with_invite: bool = False) -> None:
        """Save a new workspace and switch to it (its server starts if SockDesk runs
        it). An invite used before, as the same user, opens what it made then (with the
        newer invite's token and certificate) rather than a second workspace."""
        found = joined_before(self.window.workspaces.store, ws.url, ws.user) if with_invite \
            else None
        if found is not None:
            take_over(found, ws.token, ws.tls.fingerprint, ws.path)
            ws = found
            self.window.show_info(f"You joined this server as {ws.user} before: {ws.name}")
        elif with_invite or ws.server == ServerKind.HOST:
            self.window.workspaces.made_for_a_team(ws)
        await self._save_and_open(ws)

    def open_connection_dialog(self) -> ConnectionDialog:
        """Edit the workspace shown (every field); saving reconnects it."""
        w = self.window
        dlg = ConnectionDialog(w.workspace, w, store=w.workspaces.store)

        def done(result: int) -> None:
            if result == ConnectionDialog.DialogCode.Accepted:
                self.apply_edit(dlg.workspace())
            dlg.deleteLater()

        dlg.finished.connect(done)
        dlg.open()
        return dlg

    def apply_edit(self, new: Workspace) -> QMessageBox | None:
        """Save the edited workspace and show it again. When its address changes while
        messages wait for the old one, ask first (the returned box) whether they go to
        the new address, or stay with the old one while a new workspace is made for the
        new address."""
        old = self.window.workspace
        waiting = self.window.waiting_here()
        if waiting and moved_urls(old, new):
            return self._ask_where_waiting_go(old, new, waiting)
        if waiting and renamed(old, new) and not self.window.as_user:
            return self._ask_whose_waiting_they_are(old, new, waiting)
        self.window.spawn(self._rename(old, new) if renamed(old, new)
                          else self._save_and_open(new))
        return None

    async def _rename(self, old: Workspace, new: Workspace) -> None:
        """Connect under the new name; when the server says it is somebody else's, go
        back to the old one (as Slack refuses a taken name: you stay who you were,
        connected) and say so. A reviewer who tried a taken name was left offline."""
        await self._save_and_open(new)
        w = self.window
        session = w.session
        taken = taken_name(session.last_error) if session is not None else None
        if w.workspace.id != new.id or w.is_connected or taken is None or not old.user:
            return
        w.bar.user.setText(old.user)
        await self._save_and_open(dataclasses.replace(w.workspace, user=old.user))
        w.show_error(f"The name {taken} is taken on this server: you are still {old.user}")

    def _ask_whose_waiting_they_are(self, old: Workspace, new: Workspace,
                                    waiting: int) -> QMessageBox:
        """Messages written as ``old.user`` wait: they go out as ``new.user`` only if
        the user says so (a reviewer, refused a taken name, saw what they had written
        under it go out later under their own, unasked)."""
        n = f"{waiting} message{'s' if waiting != 1 else ''}"
        was, now = old.user or "(no name)", new.user or "(no name)"
        them = "it" if waiting == 1 else "them"
        box = QMessageBox(QMessageBox.Icon.Question, "Messages are waiting",
                          f"{n} written as {was} wait{'s' if waiting == 1 else ''} in "
                          f"the outbox. Send {them} as {now}?", parent=self.window)
        box.setInformativeText(f"Or stay {was}: nothing changes, and the waiting messages "
                               "can be read or cancelled in Queues, under the outbox.")
        send = box.addButton(f"Send {them} as {now}", QMessageBox.ButtonRole.AcceptRole)
        stay = box.addButton(f"Stay {was}", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        self.window.where_box = box

        def finished(_result: int) -> None:
            self.window.where_box = None
            if box.clickedButton() is send:
                self.window.spawn(self._rename(old, new))
            else:
                self.window.bar.user.setText(old.user or "")
                self.window.show_info(f"Nothing changed: you are still {was}, and {n} "
                                      "wait in the outbox")
            box.deleteLater()

        box.finished.connect(finished)
        box.open()
        return box

    def _ask_where_waiting_go(self, old: Workspace, new: Workspace,
                              waiting: int) -> QMessageBox:
        n = f"{waiting} message{'s' if waiting != 1 else ''}"
        as_whom = f" as {new.user or '(no name)'}" if renamed(old, new) else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Messages are waiting",
                          f"{n} wait{'s' if waiting == 1 else ''} for {old.url}. "
                          f"Send them to {new.url}{as_whom} instead?", parent=self.window)
        box.setInformativeText(f"Or keep them for {old.url}: this workspace stays as it "
                               f"is, and a new workspace is made for {new.url}.")
        send = box.addButton(f"Send them to {new.url}", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(f"Keep them for {old.url} (new workspace for {new.url})",
                             QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        self.window.where_box = box

        def finished(_result: int) -> None:
            self.window.where_box = None
            clicked = box.clickedButton()
            if clicked is send:
                self.window.spawn(self._save_and_open(new))
            elif clicked is keep:
                self.window.spawn(self._save_and_open(self._copy_for(new, old)))
            else:
                self.window.show_info("Nothing changed: the waiting messages stay with "
                               f"{old.url}")
            box.deleteLater()

        box.finished.connect(finished)
        box.open()
        return box

    def ask_delete(self) -> QMessageBox:
        """"Delete this workspace…": asked first (what waits in its outbox is never sent;
        its history stays on disk); the window then shows another workspace. The only
        workspace is not deleted: the window has to show one."""
        w = self.window
        ws = w.workspace
        others = [o for o in w.workspaces.saved() if o.id != ws.id]
        if not others:
            box = QMessageBox(QMessageBox.Icon.Information, "Delete this workspace",
                              f"'{ws.name}' is your only workspace: make another first "
                              "(Workspace → New workspace…), then delete this one.",
                              parent=w)
            box.finished.connect(box.deleteLater)
            box.open()
            return box
        waiting = w.waiting_here()
        lines = [f"It goes from the list, and you see '{others[0].name}' instead."]
        if ws.embedded:
            lines.append("The server SockDesk runs for it stops.")
        if waiting:
            lines.append(f"{waiting} message{'s' if waiting != 1 else ''} waiting in its "
                         "outbox will not be sent.")
        lines.append(f"Its history stays on this computer, in {w.workspaces.data_dir(ws)}.")
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete this workspace",
                          f"Delete the workspace '{ws.name}'?", parent=w)
        box.setInformativeText(" ".join(lines))
        delete = box.addButton("Delete workspace", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        w.where_box = box

        def finished(_result: int) -> None:
            w.where_box = None
            if box.clickedButton() is delete:
                w.spawn(self._delete(ws, others[0]))
            box.deleteLater()

        box.finished.connect(finished)
        box.open()
        return box

    async def _delete(self, ws: Workspace, then: Workspace) -> None:
        """Show ``then``, which closes ``ws``'s session, and forget ``ws``."""
        await self.window.open_workspace(then)
        await self.window.workspaces.delete(ws)
        self.window.show_info(f"Deleted the workspace '{ws.name}'")

    def _copy_for(self, new: Workspace, old: Workspace) -> Workspace:
        """A new workspace for the new address (its own outbox); the edited one keeps
        its old address and the messages waiting for it."""
        base = new.name if new.name != old.name else f"{old.name} ({host_port(new.url)})"
        return new_copy(new, name=unique_name(self.window.workspaces.store, base))

    async def _save_and_open(self, ws: Workspace) -> None:
        if self.window.as_user:
            # this window is one of several users on the workspace (--clients): its user
            # is not the workspace's
            stored = self.window.workspaces.store.find(ws.id)
            if stored is not None:
                ws = dataclasses.replace(ws, user=stored.user)
        if ws.user:
            ws.ensure_key()
        try:
            self.window.workspaces.save(ws)
        except WorkspaceError as exc:
            self.window.show_error(f"Not saved: {exc}")
            return
        await self.window.open_workspace(ws)

