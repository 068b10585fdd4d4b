"""Entry point of the ``sockdesk`` GUI: arguments, the qasync loop, windows, workspaces.

Start-up only: what runs from the command line to the window being shown on a workspace
and connected, and the clean exit. Staging the app for a screenshot is ``ui.screenshots``.

    sockdesk                         reopen the workspace used last
    sockdesk --workspace NAME        open that saved workspace
    sockdesk --url URL [options]     open (and save) a workspace for any Socket.IO v4
                                     server, named after host:port unless --workspace
                                     names it
    sockdesk --join INVITE [--user U] join a hosted workspace from its invite (what a
                                     clicked sockdesk:// link runs), or open the one
                                     joined before
    sockdesk --install-desktop-entry make sockdesk:// links open SockDesk (Linux), exit
    sockdesk --clients 3             three windows, three users (alice, bob, carol)
    sockdesk --screenshot out.png    connect, show a little activity, save a PNG, exit
             [--screenshot-size 800x657] (the window's size: the narrow layout)
             [--screenshot-tab learn]    (a lesson running in the Learn tab)
    sockdesk --present               presenter mode: big text, side panels folded (F5)
    sockdesk --theme dark            light, dark or system (View → Theme; remembered
                                     when chosen there)

SockDesk starts a server of its own only for a workspace it runs (a private one on this
computer, or one hosted for a team), and only when that workspace is opened. With no
workspace saved yet, the first run asks how to begin (try it here, host, or join:
``ui.widgets.new_workspace``); where nobody can answer (offscreen, ``--screenshot``) it
makes a private one ("On this computer"), as it always did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from PySide6.QtCore import QMessageLogContext, QRect, QtMsgType
    from PySide6.QtWidgets import QDialog, QWidget

    from app.workspace import Workspace, WorkspaceStore
    from ui.server import EmbeddedServer
    from ui.settings import Settings
    from ui.window import MainWindow
    from ui.workspaces import Workspaces

T = TypeVar("T")

NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter")
USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
#: options that describe a server, and so need --url
URL_OPTIONS = ("path", "namespaces", "auth", "header", "query", "transport", "fingerprint",
               "parser")
#: Test hook, inert unless set: "ROOM:TEXT" has the first window join ROOM and send TEXT
#: there once, through the chat as a user would, when it is connected. The tests that
#: drive real app processes (two apps chatting, restarts) use it: an offscreen process
#: has no keyboard.
SAY_ENV = "SOCKDESK_TEST_SAY"
#: the room every ``--clients`` window opens
CLIENTS_ROOM = "general"
log = logging.getLogger("sockdesk")

#: The cyclic collector's generation thresholds once the window is up (Python's are
#: 700, 10, 10). A flood of events allocates containers fast enough that the defaults
#: ran ~1,000-1,300 young and 7-10 full collections in B5h's 20 s (0.4-0.55 s of GUI
#: time, a full one up to 35-70 ms); these ran a handful of young ones (10-40 ms in all)
#: and no full one. Reference counting frees almost everything anyway.
GC_THRESHOLDS = (20_000, 10, 10)


def client_names(n: int) -> list[str]:
    """alice, bob, carol, … then alice2, bob2, … for more clients than names."""
    return [NAMES[i % len(NAMES)] + (str(i // len(NAMES) + 1) if i >= len(NAMES) else "")
            for i in range(n)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="sockdesk", description="SockDesk: Socket.IO chat, inspector and composer. "
        "It reopens the workspace used last; --workspace opens a saved one by name, --url "
        "opens (and saves) one for any Socket.IO v4 server.")
    p.add_argument("--workspace", metavar="NAME",
                   help="open the saved workspace NAME (with --url: save that server "
                        "under this name)")
    p.add_argument("--url", help="connect to this Socket.IO v4 server, saved as a workspace "
                                 "named after its host:port")
    p.add_argument("--path", help="the server's Socket.IO path (default /socket.io)")
    p.add_argument("--namespaces", help="namespaces to open, comma separated (default: /, "
                   "and /chat and /queue once the server says it is SockDesk's)")
    p.add_argument("--auth", metavar="JSON", help="extra auth fields, a JSON object")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="an HTTP header for the server (repeatable)")
    p.add_argument("--query", action="append", default=[], metavar="K=V",
                   help="a query parameter for the server (repeatable)")
    p.add_argument("--transport", choices=("websocket", "polling", "both"),
                   help="how to connect (default: both, upgrading to WebSocket)")
    p.add_argument("--fingerprint", metavar="SHA256",
                   help="accept exactly the TLS certificate with this SHA-256 fingerprint")
    p.add_argument("--parser", choices=("default", "msgpack"),
                   help="the server's packet parser: msgpack for servers that use "
                        "socket.io-msgpack-parser (remembered)")
    p.add_argument("--user", help="user name to connect as (remembered in the workspace)")
    p.add_argument("--token", help="token for servers started with --token (remembered)")
    p.add_argument("--clients", type=int, default=1, metavar="N",
                   help="open N windows in this process as N users (alice, bob, carol, …)")
    p.add_argument("--screenshot", metavar="FILE", type=Path,
                   help="connect, show some sample activity, save a PNG of the window and exit")
    p.add_argument("--screenshot-size", metavar="WxH", default="1280x800",
                   help="the window's size for --screenshot (default 1280x800; 800x657 "
                        "shows the narrow layout)")
    p.add_argument("--screenshot-tab", choices=("chat", "learn"), default="chat",
                   help="what --screenshot shows: the chat (default), or a lesson "
                        "running in the Learn tab")
    p.add_argument("--present", action="store_true",
                   help="start in presenter mode: bigger text (its own zoom, 125 %% "
                        "until changed), side panels folded; F5 toggles it")
    p.add_argument("--theme", choices=("system", "light", "dark"),
                   help="the theme for this run (default: the one chosen in View → "
                        "Theme, else the system's)")
    p.add_argument("--data-dir", type=Path, help="keep workspaces, their outboxes and stores "
                   "and the servers SockDesk runs under this folder")
    p.add_argument("--join", metavar="INVITE",
                   help="join the hosted workspace of this invite (sockdesk://join?...), "
                        "saved under --workspace NAME or its own name; opens the one joined "
                        "before for the same server and user")
    p.add_argument("--install-desktop-entry", action="store_true",
                   help="make sockdesk:// links (invites) open SockDesk on this Linux "
                        "desktop, print the files written, and exit")
    args = p.parse_args(argv)
    if args.clients < 1:
        p.error("--clients must be at least 1")
    size = re.fullmatch(r"(\d{2,5})x(\d{2,5})", args.screenshot_size or "")
    if size is None:
        p.error("--screenshot-size: WIDTHxHEIGHT in pixels, like 800x600")
    args.screenshot_wh = (int(size.group(1)), int(size.group(2)))
    if args.user and not USER_RE.match(args.user):
        p.error("--user: 1-32 letters, digits, '.', '_' or '-'")
    given = [f"--{name}" for name in URL_OPTIONS if getattr(args, name) not in (None, [])]
    if args.join is not None:
        clash = [*(["--url"] if args.url else []), *given,
                 *(["--token"] if args.token else [])]
        if clash:
            p.error(f"--join takes the server from the invite: leave out {', '.join(clash)}")
    if given and not args.url:
        p.error(f"{', '.join(given)} describe a server: give its --url too")
    from ui.workspaces import parse_auth, parse_pairs

    try:
        args.auth_fields = parse_auth(args.auth) if args.auth is not None else None
        args.headers = parse_pairs(args.header, ":", "--header")
        args.query_params = parse_pairs(args.query, "=", "--query")
        if args.fingerprint:
            from app.invite import normalize_fingerprint

            args.fingerprint = normalize_fingerprint(args.fingerprint)
    except ValueError as exc:
        p.error(str(exc))
    if args.url:
        from app.errors import check_url

        bad = check_url(args.url)
        if bad:
            p.error(bad)
    return args


def offscreen_platform(width: int, height: int) -> str:
    """The offscreen platform with a screen that holds a ``width`` x ``height`` window.
    Its default screen is 800x600, and a window never grows past its screen, so a
    1280x720 screenshot would silently come out 800 px wide."""
    import atexit
    import json
    import tempfile

    screen = {"name": "screenshot", "x": 0, "y": 0, "width": max(width, 800) + 100,
              "height": max(height, 600) + 100, "logicalDpi": 96, "logicalBaseDpi": 96,
              "dpr": 1}
    fd, path = tempfile.mkstemp(prefix="sockdesk-screen-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"screens": [screen]}, f)
    atexit.register(os.remove, path)  # read once, when the application starts
    return f"offscreen:configfile={path}"


def main(argv: list[str] | None = None) -> int:
    from app import vault

    vault.detect_in_background()  # overlaps the imports and the window below
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.install_desktop_entry:
        return install_entry()
    if args.screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = offscreen_platform(*args.screenshot_wh)

    from PySide6.QtWidgets import QApplication

    from app.workspace import WorkspaceError
    from ui import settings as settings_mod
    from ui.eventloop import GuiEventLoop

    install_qt_message_handler()
    settings_mod.init_application_names()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    settings_mod.init_application_names()
    app.setQuitOnLastWindowClosed(False)
    runner = App(args)
    try:
        runner.prepare()
    except WorkspaceError as exc:
        print(f"sockdesk: {exc}", file=sys.stderr)
        if App._interactive():
            # started from a desktop (a clicked invite link): stderr is seen by nobody.
            # Before the loop runs, so exec() blocks nothing.
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "SockDesk", str(exc))
        return 2
    loop = GuiEventLoop(app)
    asyncio.set_event_loop(loop)
    runner.launch_server(loop)  # before our own imports: see App.launch_server

    apply_view(args)
    try:
        with loop:
            return loop.run_until_complete(runner.run())
    finally:
        runner.kill_leftovers()


def apply_view(args: argparse.Namespace) -> None:
    """The theme (``--theme``, else the one chosen in View → Theme) and the zoom of the
    mode asked for (``--present``), before any window is built."""
    from PySide6.QtWidgets import QApplication

    from ui import theme
    from ui.settings import Settings
    from ui.zoom import view_state

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    mode = args.theme or Settings().theme
    theme.apply(app, mode if mode in theme.THEMES else "system")
    view_state().restore(presenting=bool(args.present))


def install_entry() -> int:
    """``--install-desktop-entry``: register the ``sockdesk://`` handler, say which files
    were written (or why it cannot be done: exit 2)."""
    from ui.desktop_entry import DesktopEntryError, install_desktop_entry

    try:
        written = install_desktop_entry()
    except DesktopEntryError as exc:
        print(f"sockdesk: {exc}", file=sys.stderr)
        return 2
    print("sockdesk:// links now open SockDesk. Files written:")
    for path in written:
        print(f"  {path}")
    return 0


#: Qt messages that say nothing useful to a user (the offscreen platform's limits).
QT_NOISE = ("propagateSizeHints", "QFont::setPointSizeF", "This plugin does not support")


def install_qt_message_handler() -> None:
    """Route Qt's own messages into logging, dropping known harmless noise."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(mode: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if any(n in message for n in QT_NOISE):
            return
        logging.getLogger("qt").log(levels.get(mode, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


# -- which workspace ----------------------------------------------------------------------------

def choose_workspace(args: argparse.Namespace, store: WorkspaceStore) -> Workspace | None:
    """The workspace the arguments open: ``--url`` (saved), ``--workspace NAME``, else the
    one used last (or the first saved); None when none is saved yet (the first run).
    WorkspaceError with a sentence (naming the saved ones) when it cannot be."""
    if args.url:
        return workspace_for_url(args, store)
    found = store.get(args.workspace) if args.workspace else (
        store.last() or next(iter(store.saved()), None))
    if found is None:
        return None
    ws = found
    changed = False
    if args.user and args.user != ws.user:
        ws.user, changed = args.user, True
    if args.token and args.token != ws.token:
        ws.token, changed = args.token, True
    if changed:
        if ws.user:
            ws.ensure_key()
        store.save(ws)
    return ws


def join_workspace(args: argparse.Namespace, store: WorkspaceStore,
                   can_ask: bool) -> Workspace | None:
    """The workspace ``--join INVITE`` opens, saved: the one joined before for the same
    server and user (``--user``; without it, any user: clicking an invite again must not
    make a second workspace) with the invite's token and certificate taken over, else a
    new one from the invite, named ``--workspace`` or as the invite says.

    None when the user name is still to be asked (``can_ask``: the app asks with the
    new-workspace dialog, on its Join page). WorkspaceError with a sentence when the
    invite cannot be used, ``--workspace`` names another workspace, or the name is
    needed and nobody can be asked."""
    from app.invite import InviteError, parse_invite
    from app.workspace import WorkspaceError, from_invite
    from ui.workspaces import host_port, joined_before, take_over, unique_name

    try:
        invite = parse_invite(args.join)
    except InviteError as exc:
        raise WorkspaceError(f"--join: {exc}") from None
    found = joined_before(store, invite.url, args.user, args.workspace)
    if found is not None:
        if take_over(found, invite.token, invite.fingerprint, invite.path):
            store.save(found)
        return found
    if args.workspace and store.find(args.workspace) is not None:
        raise WorkspaceError(f"A workspace named {args.workspace!r} exists already (for "
                             "another server or user): name another with --workspace.")
    if not args.user:
        if can_ask:
            return None
        raise WorkspaceError("--join needs --user NAME here: there is no display to ask "
                             "what to call you.")
    name = args.workspace or unique_name(store, invite.name or host_port(invite.url))
    ws = from_invite(invite, args.user, name=name)
    store.save(ws)
    return ws


def workspace_for_url(args: argparse.Namespace, store: WorkspaceStore) -> Workspace:
    """The workspace for a server given by hand, made or updated with what was given,
    and saved. A hand-given server opens `/` only unless ``--namespaces`` says more (the
    session adds /chat and /queue once the server says it is SockDesk's)."""
    from app.config import TlsSettings
    from app.workspace import Workspace, WorkspaceError, waiting_count
    from ui.workspaces import host_port

    url = args.url.strip()
    name = args.workspace or host_port(url)
    ws = store.find(name)
    if ws is None:
        ws = Workspace(name=name, urls=[url], namespaces=[])
    elif url not in ws.urls:
        if ws.embedded:
            raise WorkspaceError(f"SockDesk runs the server of workspace {ws.name!r} on this "
                                 "computer; --url cannot point it elsewhere.")
        waiting = waiting_count(store.data_dir(ws))
        if waiting:
            raise WorkspaceError(
                f"{waiting} message(s) wait in workspace {ws.name!r} for {ws.url}: open it "
                "without --url, change its server in the Connection dialog (which asks "
                "what to do with them), or name another workspace with --workspace.")
        ws.urls = [url]
    if args.path is not None:
        ws.path = "/" + (args.path.strip().strip("/") or "socket.io")
    if args.namespaces is not None:
        ws.namespaces = [n if n.startswith("/") else "/" + n
                         for n in (x.strip() for x in args.namespaces.split(",")) if n]
    if args.auth_fields is not None:
        ws.auth = dict(args.auth_fields)
    if args.headers:
        ws.headers = {**ws.headers, **args.headers}
    if args.query_params:
        ws.query = {**ws.query, **args.query_params}
    if args.transport:
        ws.transports = ["websocket", "polling"] if args.transport == "both" \
            else [args.transport]
    if args.fingerprint:
        ws.tls = TlsSettings(verify=ws.tls.verify, ca_file=ws.tls.ca_file,
                             fingerprint=args.fingerprint)
    if args.parser:
        ws.parser = args.parser
    if args.user:
        ws.user = args.user
    if args.token:
        ws.token = args.token
    if ws.user:
        ws.ensure_key()
    store.save(ws)
    return ws


class App:
    """Everything the process does, from start to clean exit."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workspaces: Workspaces | None = None
        #: the workspace opened at start (None until decided; the first run makes one)
        self.workspace: Workspace | None = None
        self.settings: Settings | None = None
        self.windows: list[MainWindow] = []
        self.done: asyncio.Future[int] | None = None
        self.rc = 0
        self._prepared = False
        self._preload: asyncio.Task[None] | None = None
        self._say: asyncio.Task[None] | None = None
        self._tiling: asyncio.Task[list[QRect]] | None = None

    @property
    def server(self) -> EmbeddedServer | None:
        """The server SockDesk runs for the workspace opened at start (None for somebody
        else's server)."""
        if self.workspaces is None or self.workspace is None:
            return None
        return self.workspaces.server(self.workspace)

    def _store(self) -> WorkspaceStore:
        from app.workspace import WorkspaceStore

        if self.args.data_dir:
            root = Path(self.args.data_dir).expanduser()
            return WorkspaceStore(root / "config", root)
        return WorkspaceStore()

    def prepare(self) -> None:
        """Decide which workspace opens, before the loop runs (so its server can start
        at once). WorkspaceError with a sentence when the arguments name none that can."""
        if self._prepared:
            return
        from ui.settings import Settings, default_data_dir
        from ui.workspaces import Workspaces, migrate_settings

        store = self._store()
        self.settings = Settings()
        old_root = Path(self.args.data_dir).expanduser() if self.args.data_dir \
            else default_data_dir()
        migrate_settings(store, self.settings, old_root)
        self.workspaces = Workspaces(store)
        if self.args.join is not None:
            can_ask = not self.args.screenshot and self._interactive()
            known = {ws.id for ws in store.saved()}
            self.workspace = join_workspace(self.args, store, can_ask)
            if self.workspace is not None and self.workspace.id not in known:
                self.workspaces.made_for_a_team(self.workspace)  # starts in #general
        else:
            self.workspace = choose_workspace(self.args, store)
        self._prepared = True

    def launch_server(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the opened workspace's server process right away when SockDesk runs it:
        it needs about 0.6 s to listen, and the GUI still has its windows to import and
        build meanwhile. Nothing is started for somebody else's server."""
        if self.workspaces is not None and self.workspace is not None \
                and self.workspace.embedded:
            self.workspaces.launch(self.workspace, loop)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self._install_signal_handlers()
        try:
            self.prepare()
            assert self.workspaces is not None
            ws = self.workspace or await (
                self._join_asked() if self.args.join is not None else self._first_run())
            if ws is None:
                return self.rc  # the dialog was cancelled (0), or saving failed (2)
            self.workspace = ws
            if self.workspaces.is_saved(ws):
                self.workspaces.store.set_last(ws)
            self._open_windows(ws)
            # Everything built so far lives as long as the app: keep the cyclic garbage
            # collector from walking it again on every full collection (under a flood of
            # events those walks were the longest GUI stalls).
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
            self._preload = asyncio.ensure_future(self._after_first_paint())
            say = os.environ.get(SAY_ENV)
            if say:
                self._say = asyncio.ensure_future(say_once(self.windows[0], say))
            if self.args.screenshot:
                return await self._screenshot(self.windows[0],
                                              self.workspaces.store.data_root)
            return await self.done
        finally:
            for task in (self._preload, self._say, self._tiling):
                if task is not None:
                    task.cancel()
            await self._shutdown()

    # -- the first run -------------------------------------------------------------------------
    async def _first_run(self) -> Workspace | None:
        """No workspace is saved yet: make the first one, saved (None if the user
        cancels).

        Interactive, the new-workspace dialog asks how to begin: try it here (a private
        server), host for a team or class, or join somebody else's. Where nobody could
        answer (offscreen, ``--screenshot``) it is what SockDesk always did: a private
        workspace, "On this computer", for ``--user`` or the name used last.
        """
        from app.workspace import ServerKind
        from ui.workspaces import private_workspace

        assert self.workspaces is not None
        # --clients N: the names are alice, bob, ... on a private server, nothing to ask
        if self.args.screenshot or self.args.clients > 1 or not self._interactive():
            name = await self._user_name(server_here=True)
            if not name:
                return None
            ws = private_workspace(name)
            self.workspaces.save(ws)
            return ws
        answer = await ask_new_workspace(self.workspaces.store, user=self._known_user())
        if answer is None:
            return None
        made, with_invite = answer
        if with_invite or made.server == ServerKind.HOST:
            self.workspaces.made_for_a_team(made)  # it starts in the team's room
        return self._save_new(made)

    async def _join_asked(self) -> Workspace | None:
        """``--join`` without ``--user``, interactive: the new-workspace dialog on its
        Join page with the invite filled in, so the user sees what they join and says
        what to call them. Joining a server joined before as that user opens that
        workspace instead of making a second one."""
        from ui.workspaces import joined_before, take_over

        assert self.workspaces is not None and self.args.join is not None
        store = self.workspaces.store
        answer = await ask_new_workspace(store, invite=self.args.join,
                                         user=self._known_user(),
                                         join_name=self.args.workspace)
        if answer is None:
            return None
        made, with_invite = answer
        found = joined_before(store, made.url, made.user) if with_invite else None
        if found is not None:
            if take_over(found, made.token, made.tls.fingerprint, made.path):
                store.save(found)
            self._remember_user(found)
            return found
        self.workspaces.made_for_a_team(made)
        return self._save_new(made)

    def _known_user(self) -> str | None:
        """The user name to suggest: ``--user``, else the one used last."""
        return self.args.user or (self.settings.user if self.settings else None) or None

    def _remember_user(self, ws: Workspace) -> None:
        if self.settings is not None and ws.user:
            self.settings.user = ws.user

    def _save_new(self, ws: Workspace) -> Workspace | None:
        """Save a workspace the dialog made; None (exit status 2) if it cannot be."""
        from app.workspace import WorkspaceError

        assert self.workspaces is not None
        try:
            self.workspaces.save(ws)
        except WorkspaceError as exc:
            print(f"sockdesk: {exc}", file=sys.stderr)
            self.rc = 2
            return None
        self._remember_user(ws)
        return ws

    async def _user_name(self, server_here: bool) -> str | None:
        settings = self.settings
        if self.args.user:
            return str(self.args.user)
        if self.args.clients > 1:
            return client_names(self.args.clients)[0]
        if settings is not None and settings.user:
            return settings.user
        if self.args.screenshot or not self._interactive():  # nobody could answer a dialog
            return "alice"
        name = await ask_user_name(server_here)
        if name and settings is not None:
            settings.user = name
        return name

    @staticmethod
    def _interactive() -> bool:
        from PySide6.QtGui import QGuiApplication

        return QGuiApplication.platformName() not in ("offscreen", "minimal")

    # -- windows -------------------------------------------------------------------------------
    def _open_windows(self, ws: Workspace) -> None:
        """One window on ``ws`` (``--clients N``: N windows, N users, each with a data
        folder of its own); each shows itself at once and connects when it can (a server
        SockDesk runs may still be starting)."""
        from ui.window import MainWindow

        assert self.workspaces is not None
        many = self.args.clients > 1
        users = client_names(self.args.clients) if many else [ws.user or ""]
        for user in users:
            w = MainWindow(ws, self.workspaces.store.data_root, self.settings,
                           key=user if many else "main", title_suffix=user if many else "",
                           workspaces=self.workspaces, as_user=user if many else None)
            if self.args.screenshot:
                w.resize(*self.args.screenshot_wh)
            w.closed.connect(self._window_closed)
            w.show()
            self.windows.append(w)
            w.spawn(self._open_client(w, ws) if many else w.open_workspace(ws))
        if many:
            from ui.tiling import tile_when_placed

            # side by side, or a grid, on the free area, once the window manager has
            # placed them (it would cascade them over tiles set before)
            self._tiling = asyncio.ensure_future(tile_when_placed(self.windows))
        from ui.tray import app_tray

        app_tray().quit_requested.connect(self._quit)

    @staticmethod
    async def _open_client(w: MainWindow, ws: Workspace) -> None:
        """A ``--clients`` window: open the workspace and show #general, so the class
        sees a conversation at once (a room it is in already is just shown)."""
        await w.open_workspace(ws)
        if w.session is not None and not w.chat.kind:
            await w.conversations.join_room(CLIENTS_ROOM)

    async def _after_first_paint(self) -> None:
        """Once the first window has painted: build the tabs it was shown without, then
        import the core session (the Socket.IO client: half a second of imports) on a
        worker thread, unless connecting has needed it already: the window stays
        responsive meanwhile, and connecting (once a server SockDesk runs listens) does
        not wait for it."""
        if not self.windows:
            return
        await first_paint(self.windows[0])
        for w in self.windows:
            w.build_deferred_tabs()
        gc.freeze()  # those tabs live as long as their window too (see run)
        if "app.session" not in sys.modules:
            await asyncio.get_running_loop().run_in_executor(
                None, importlib.import_module, "app.session")

    def _window_closed(self) -> None:
        if all(w.is_closed for w in self.windows) and self.done is not None \
                and not self.done.done():
            self.done.set_result(self.rc)

    # -- screenshot ----------------------------------------------------------------------------
    async def _screenshot(self, window: MainWindow, data_dir: Path) -> int:
        """--screenshot: stage some activity in ``window`` and save it (ui.screenshots)."""
        from ui.screenshots import stage_and_save, stage_learn

        if self.args.screenshot_tab == "learn":
            return await stage_learn(window, Path(self.args.screenshot))
        return await stage_and_save(window, Path(self.args.screenshot), data_dir,
                                    taken=[w.user for w in self.windows])

    # -- shutdown ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        def request(*_a: object) -> None:
            loop.call_soon_threadsafe(self._quit, True)

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                signal.signal(sig, request)
        # let Python run its signal handlers while Qt sleeps in C++
        from PySide6.QtCore import QTimer

        self._signal_timer = QTimer()
        self._signal_timer.start(250)
        self._signal_timer.timeout.connect(lambda: None)

    def _quit(self, signalled: bool = False) -> None:
        """Close every window (the tray's Quit; SIGINT/SIGTERM, ``signalled``: then
        nobody is asked whether to stop a hosted server)."""
        from ui.tray import app_tray

        app_tray().quitting = True  # closing a window now closes it, tray or not
        for w in self.windows:
            if signalled:
                w.confirm_stop_hosting = False
            w.close()
        if not self.windows and self.done is not None and not self.done.done():
            self.done.set_result(0)

    async def _shutdown(self) -> None:
        for w in self.windows:
            with contextlib.suppress(Exception):
                await w.shutdown()
        if self.workspaces is not None:
            await self.workspaces.stop_servers()
        # let the qasync loop deliver the last callbacks before it closes
        await asyncio.sleep(0)

    def kill_leftovers(self) -> None:
        if self.workspaces is not None:
            self.workspaces.kill_servers()


def first_paint(widget: QWidget) -> asyncio.Future[None]:
    """Done on the loop turn after ``widget`` first receives a paint event (so work
    started then runs after the first frame, not before it)."""
    from PySide6.QtCore import QEvent, QObject

    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def painted() -> None:
        if not fut.done():
            fut.set_result(None)

    class Watch(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not fut.done():
                loop.call_soon(painted)
            return False

    watch = Watch(widget)
    widget.installEventFilter(watch)
    fut.add_done_callback(lambda _f: watch.deleteLater())
    return fut


async def ask_new_workspace(store: WorkspaceStore, invite: str | None = None,
                            user: str | None = None,
                            join_name: str | None = None) -> tuple[Workspace, bool] | None:
    """The new-workspace dialog (try it here, host, or join), opened with open(), never
    exec() in a coroutine: the workspace it made (not saved yet) and whether it was
    joined with an invite, or None if cancelled. ``invite`` opens it on the Join page
    filled in; ``join_name`` names that workspace."""
    from ui.widgets.new_workspace import NewWorkspaceDialog

    dlg = NewWorkspaceDialog(invite=invite, store=store)
    if user:
        dlg.set_user(user)
    if join_name:
        dlg.join_page.name.setText(join_name)
    return await answer_of(dlg, lambda: (dlg.workspace(), dlg.joined_with_invite()))


async def answer_of(dlg: QDialog, accepted: Callable[[], T]) -> T | None:
    """Open a dialog with open() (never exec() inside a coroutine: qasync #59) and wait
    for it: `accepted()` read when it was accepted, None when it was cancelled."""
    from PySide6.QtWidgets import QDialog

    fut: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not fut.done():
            fut.set_result(accepted() if result == QDialog.DialogCode.Accepted else None)

    dlg.finished.connect(finished)
    dlg.open()
    try:
        return await fut
    finally:
        dlg.deleteLater()


async def say_once(window: MainWindow, line: str) -> None:
    """The ``SOCKDESK_TEST_SAY`` hook (see SAY_ENV): once ``window``'s chat is ready,
    join the room and send the text through the chat, as typing it would."""
    room, _, text = line.partition(":")
    while window.session is None or not window.session.is_ready("/chat"):
        await asyncio.sleep(0.05)
    await window.conversations.join_room(room)
    window.conversations.send_chat("room", room, text)


async def ask_user_name(server_here: bool = True) -> str | None:
    """The first-run dialog, opened with open() (never exec() in a coroutine);
    ``server_here``: the name is for a workspace whose server SockDesk runs."""
    from ui.widgets.firstrun import FirstRunDialog

    dlg = FirstRunDialog(server_here=server_here)
    return await answer_of(dlg, dlg.name)


if __name__ == "__main__":
    raise SystemExit(main())
