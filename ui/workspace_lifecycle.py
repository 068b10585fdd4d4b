"""The lifecycle of the workspace a window shows: open, switch, close, a server that
restarts under it, and a server that turns out not to be SockDesk's.

A workspace (``app.workspace.Workspace``) is a saved server with its own data folder, so
its own outbox: the session of the workspace shown is
``Session(ws.connection_config(url), <its data folder>)``, and a message is only ever
sent by the session of the workspace it was written in. Switching closes that session
(its outbox stays on disk) and swaps the whole view.

Kept out of ``ui.window`` because it is one flow with state of its own (which opening is
the latest, whether the server introduced itself) that runs over time, while the window
is the shell that lays out the widgets. The window keeps thin methods of the same names
(``open_workspace``, ``open_session``, ...) that tests and other modules call.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from app.acks import AckMode, AckRule
from app.workspace import Workspace

if TYPE_CHECKING:
    import asyncio
    from typing import Any

    from ui.hosting import HostInfo
    from ui.server import EmbeddedServer
    from ui.window import MainWindow

log = logging.getLogger(__name__)

#: what the chat says on a server that is not SockDesk's
NOT_SOCKDESK = ("This server is not a SockDesk server: chat rooms are off. Events and "
                "Queues show its traffic.")


#: the room a new team workspace starts in (the host's and everyone joining by invite)
TEAM_ROOM = "general"


class WorkspaceLifecycle(QObject):
    """Opens, switches and closes the window's workspace and session, and tells a
    foreign server from SockDesk's (see the module doc)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: bumped by every opening (and by closing the window): an opening that is no
        #: longer the latest stops where it is
        self._open_gen = 0
        #: None: not known yet; True: the server did not introduce itself as SockDesk's
        self.foreign: bool | None = None
        # a server that has not introduced itself a while after a namespace got ready is
        # not SockDesk's (its `welcome` comes right after CONNECT; see app.base_session)
        self._intro_timer = QTimer(self)
        self._intro_timer.setSingleShot(True)
        self._intro_timer.timeout.connect(self._introduction_over)

    def cancel_opening(self) -> None:
        """A workspace still being opened is not opened any more (the window closes)."""
        self._open_gen += 1

    # -- workspaces ------------------------------------------------------------------------
    def switch_workspace(self, ws_id: str) -> asyncio.Task[Any] | None:
        """Show another saved workspace in this window (nothing happens for this one)."""
        w = self.window
        if ws_id == w.workspace.id:
            return None
        ws = w.workspaces.store.find(ws_id)
        if ws is None:
            w.show_error("That workspace is gone (deleted in another window?)")
            return None
        return w.spawn(self.open_workspace(ws))

    async def open_workspace(self, ws: Workspace) -> None:
        """Show ``ws`` here: close the current session (its outbox stays on disk for next
        time), swap the whole view (conversations, members, badge, title, Events and
        Queues), start the workspace's server when SockDesk runs it, and connect."""
        w = self.window
        self._open_gen += 1
        gen = self._open_gen
        if w.as_user:
            ws = dataclasses.replace(ws, user=w.as_user)
        await self.close_session()
        if gen != self._open_gen or w.closing:
            return  # another workspace was chosen meanwhile, or the window is closing
        w.workspace = ws
        w.url = ws.url
        w.bundled_url = None
        w.embedded_server = None
        self._reset_view()
        if not w.as_user and w.workspaces.is_saved(ws):
            w.workspaces.store.set_last(ws)
        if ws.embedded:
            w.server_starting()
            try:
                url = await w.workspaces.server_url(ws)
            except Exception as exc:
                if gen == self._open_gen:
                    w.on_state("offline", str(exc))
                    w.show_error(str(exc))
                    # Start hosting (the Hosting menu) tries again, e.g. once the port
                    # is free
                    w.hosting.attach(w.workspaces.hosted(ws))
                    w.hosting.start_failed(str(exc))
                return
            if gen != self._open_gen or w.closing:
                return
            self.use_server(url, w.workspaces.server(ws))
            w.hosting.attach(w.workspaces.hosted(ws))
            if w.workspaces.first_start(ws):
                # just hosted: who joins needs the invite (a reviewer looked for it)
                w.hosting.show_invite()
        else:
            self.use_server(ws.url)
        await self.open_session()
        if w.workspaces.take_new_team(ws) and w.session is not None \
                and gen == self._open_gen:
            # as a new Slack workspace has #general and everyone in it: the host and
            # whoever joins with the invite meet there (reviewers found an empty list)
            await w.conversations.join_room(TEAM_ROOM)

    def _reset_view(self) -> None:
        """Nothing of the last workspace stays in view."""
        w = self.window
        w.update_title()
        w.bar.set_workspace(w.workspace.name, w.workspace.embedded, w.workspace_menu)
        w.hosting.show_workspace(w.workspace)
        w.conversations.reset()
        if w.tools_if_built is not None:
            w.tools_if_built.events.start_over()
        else:  # the Events tab, built later, starts from this model
            w.packets.clear()
        w.sidebar_model.set_namespaces([])
        w.sidebar.clear_namespace_errors()
        self.set_foreign(None)
        w.error_label.setText("")
        w.bar.set_depth(0)
        w.fill_bar()
        queues = w.queues_if_built
        if queues is not None:
            queues.refresh_now()  # the Queues tab lets go of the last session's queues
        learn = w.learn_if_built
        if learn is not None:
            # a lesson played on the last workspace's server (or its result) goes too
            w.spawn(learn.reset())

    # -- the server ------------------------------------------------------------------------
    def use_server(self, url: str, embedded: EmbeddedServer | None = None) -> None:
        """Connect to ``url`` from now on; ``embedded`` is the server SockDesk runs for
        this workspace when ``url`` is its address (the Learn tab can then stop and start
        it)."""
        w = self.window
        w.url = url
        w.bundled_url = url if embedded is not None else None
        w.embedded_server = embedded
        w.update_title()
        w.fill_bar()
        if w.state == "starting":
            w.on_state("offline", "")
        learn = w.learn_if_built
        if learn is not None:
            learn.classroom.refresh_server()

    def server_restarted(self, info: HostInfo) -> None:
        """The server SockDesk runs for this workspace listens again (Start hosting):
        use its new process, and connect now (after Stop hosting the session is
        offline; otherwise this cuts its back-off short). A hosted server keeps its
        port, so the session only reconnects; one that got another address gets a new
        session."""
        w = self.window
        self.use_server(info.url, w.workspaces.server(w.workspace))
        session = w.session
        if session is None:
            return
        if session.config.url == info.url:
            # connects again after Stop hosting went offline, or cuts a back-off short
            w.spawn(session.connect())
        else:
            w.spawn(self.open_session())

    # -- the session -----------------------------------------------------------------------
    async def open_session(self) -> None:
        """(Re)create the session of the workspace shown and connect."""
        from app.session import Session

        w = self.window
        await self.close_session()
        ws = w.workspace
        # the workspace's own addresses (all of them, to fail over between), unless its
        # server is SockDesk's own, which listens where it listens this time
        url = w.url if w.url and w.url not in ws.urls else None
        cfg = ws.connection_config(url)
        info = w.workspaces.host_info(ws) if ws.embedded else None
        if info is not None and info.fingerprint:
            # a hosted server with TLS: exactly the certificate it printed, nothing else
            cfg.tls.fingerprint = info.fingerprint
        w.error_label.setText("")
        w.session = session = Session(cfg, w.session_dir())
        # somebody else's server gets no made-up answer: its ack requests wait for yours
        session.foreign_ack_default = AckRule(AckMode.HOLD)
        w.bridge.attach(session)
        w.sidebar_model.set_namespaces(cfg.normalized_namespaces())
        tools = w.tools_if_built  # else they take both from the window when built
        if tools is not None:
            tools.controller.refresh_acks()
            tools.compose.set_namespaces(cfg.normalized_namespaces(), replace=True)
        w.fill_bar()
        w.conversations.session_opened()
        for ns, why in session.namespace_errors.items():
            w.sidebar.set_namespace_error(ns, why)
        self.set_foreign(True if session.extensions_on is False else None)
        w.refresh_depth()
        if not ws.embedded:
            w.settings.remember_connection({"url": cfg.url, "user": w.user})
        await session.connect()

    async def close_session(self) -> None:
        """Close the session shown (its outbox stays on disk); the window says offline."""
        w = self.window
        session, w.session = w.session, None
        if session is None:
            return
        w.bridge.detach()
        self._intro_timer.stop()
        try:
            await session.close()
        except Exception as exc:  # closing must not stop a shutdown
            log.debug("session close failed: %s", exc)
        w.show_state("offline", "Closed")
        # the switcher must not go on saying "connected" about a workspace nobody shows;
        # "server unreachable" stays, as the last thing known about that server
        if w.workspaces.last_state(w.workspace) in ("connected", "connecting", "starting"):
            w.workspaces.note_state(w.workspace, "offline")

    # -- a server that is not SockDesk's ---------------------------------------------------
    def check_server(self) -> None:
        """Has the server said what it is? SockDesk's introduces itself on every
        namespace right after CONNECT; a namespace that is ready without that, for a
        while, means a server of somebody else's."""
        w = self.window
        s = w.session
        if s is None or w.state != "connected":
            return
        if s.extensions_on is True:
            self.set_foreign(False)
        elif s.extensions_on is False:
            self.set_foreign(True)
        elif not self._intro_timer.isActive() and self.foreign is None:
            from app.base_session import INTRODUCTION_WAIT

            self._intro_timer.start(int(INTRODUCTION_WAIT * 1000) + 250)

    def _introduction_over(self) -> None:
        w = self.window
        s = w.session
        if s is not None and w.state == "connected" and s.extensions_on is not True:
            self.set_foreign(True)

    def set_foreign(self, foreign: bool | None) -> None:
        """Chat off and the Events tab in front on a foreign server; chat back on when
        the server turns out to be SockDesk's after all."""
        if foreign == self.foreign:
            return
        self.foreign = foreign
        w = self.window
        w.conversations.set_chat_available(NOT_SOCKDESK if foreign else None)
        if w.tools_if_built is not None:  # what an ack request gets follows the server
            w.tools_if_built.controller.refresh_acks()
        if foreign:
            w.tabs.setCurrentWidget(w.events)
