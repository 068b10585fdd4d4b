"""Entry point of the ``sockdesk`` GUI: arguments, the qasync loop, windows, the server.

Start-up only: what runs from the command line to the windows being shown and connected,
and the clean exit. Staging the app for a screenshot is ``ui.screenshots``.

    sockdesk                         start the bundled server and connect to it
    sockdesk --url URL [--user U]    connect to any Socket.IO v4 server instead
    sockdesk --clients 3             three windows, three users (alice, bob, carol)
    sockdesk --screenshot out.png    connect, show a little activity, save a PNG, exit
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QMessageLogContext, QtMsgType
    from PySide6.QtWidgets import QWidget

    from ui.server import EmbeddedServer
    from ui.settings import Settings
    from ui.window import MainWindow

NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter")
USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
log = logging.getLogger("sockdesk")


def client_names(n: int) -> list[str]:
    """alice, bob, carol, … then alice2, bob2, … for more clients than names."""
    return [NAMES[i % len(NAMES)] + (str(i // len(NAMES) + 1) if i >= len(NAMES) else "")
            for i in range(n)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="sockdesk", description="SockDesk: Socket.IO chat, inspector and composer. "
        "Without --url it starts its bundled server and connects to it.")
    p.add_argument("--url", help="connect to this Socket.IO v4 server instead of the bundled one")
    p.add_argument("--user", help="user name to connect as (remembered)")
    p.add_argument("--token", help="token for servers started with --token")
    p.add_argument("--clients", type=int, default=1, metavar="N",
                   help="open N windows in this process as N users (alice, bob, carol, …)")
    p.add_argument("--screenshot", metavar="FILE", type=Path,
                   help="connect, show some sample activity, save a PNG of the window and exit")
    p.add_argument("--data-dir", type=Path, help="where the outbox, the store and the "
                   "bundled server's database live")
    p.add_argument("--namespaces", default="/chat,/queue,/",
                   help="namespaces to open, comma separated (default: /chat,/queue,/)")
    args = p.parse_args(argv)
    if args.clients < 1:
        p.error("--clients must be at least 1")
    if args.user and not USER_RE.match(args.user):
        p.error("--user: 1-32 letters, digits, '.', '_' or '-'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from ui import settings as settings_mod
    from ui.eventloop import GuiEventLoop

    install_qt_message_handler()
    settings_mod.init_application_names()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    settings_mod.init_application_names()
    app.setQuitOnLastWindowClosed(False)
    loop = GuiEventLoop(app)
    asyncio.set_event_loop(loop)
    runner = App(args)
    runner.launch_server(loop)  # before our own imports: see App.launch_server

    from ui import theme

    theme.apply(app)
    try:
        with loop:
            return loop.run_until_complete(runner.run())
    finally:
        runner.kill_leftovers()


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


class App:
    """Everything the process does, from start to clean exit."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server: EmbeddedServer | None = None
        self.windows: list[MainWindow] = []
        self.done: asyncio.Future[int] | None = None
        self.rc = 0

    async def run(self) -> int:
        from ui.settings import Settings

        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self._install_signal_handlers()
        settings = Settings()
        data_dir = self._data_dir()
        namespaces = [n.strip() for n in self.args.namespaces.split(",") if n.strip()]

        # The bundled server child needs about a second to listen: start it first and
        # build the windows meanwhile. One loop turn runs the task up to the child's
        # start, before building the windows keeps the loop busy.
        starting = asyncio.ensure_future(self._server_url(data_dir, settings))
        await asyncio.sleep(0)
        attaching: asyncio.Task[None] | None = None
        try:
            users = await self._users(settings)
            if users is None:
                return 0  # first-run dialog cancelled
            if starting.done():  # --url: nothing to wait for
                self._open_windows(users, *starting.result(), data_dir, settings, namespaces)
            else:
                self._open_windows(users, "", "", data_dir, settings, namespaces)
                attaching = asyncio.ensure_future(self._attach_server(starting))
            # Everything built so far lives as long as the app: keep the cyclic garbage
            # collector from walking it again on every full collection (under a flood of
            # events those walks were the longest GUI stalls).
            gc.freeze()
            if self.args.screenshot:
                return await self._screenshot(self.windows[0], data_dir)
            return await self.done
        finally:
            for task in (starting, attaching):
                if task is not None:
                    task.cancel()
            await self._shutdown()

    # -- who and where ------------------------------------------------------------------------
    async def _users(self, settings: Settings) -> list[str] | None:
        if self.args.clients > 1:
            return client_names(self.args.clients)
        if self.args.user:
            settings.user = self.args.user
            return [self.args.user]
        if settings.user:
            return [settings.user]
        if self.args.screenshot or not self._interactive():  # nobody could answer a dialog
            return ["alice"]
        name = await ask_user_name()
        if not name:
            return None
        settings.user = name
        return [name]

    @staticmethod
    def _interactive() -> bool:
        from PySide6.QtGui import QGuiApplication

        return QGuiApplication.platformName() not in ("offscreen", "minimal")

    def _data_dir(self) -> Path:
        from ui.settings import default_data_dir

        data_dir = Path(self.args.data_dir or os.environ.get("SOCKDESK_DATA_DIR")
                        or default_data_dir()).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        return data_dir

    def launch_server(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the bundled server's process right away: it needs about 0.6 s to listen,
        and the GUI still has its windows to import and build meanwhile."""
        if self.args.url:
            return
        from ui.server import EmbeddedServer

        try:
            server = EmbeddedServer(self._data_dir() / "server.db")
            server.launch(loop)
        except OSError:
            return  # run() meets the same problem and reports it
        self.server = server

    async def _server_url(self, data_dir: Path, settings: Settings) -> tuple[str, str]:
        if self.args.url:
            return self.args.url, ""
        from ui.server import EmbeddedServer

        if self.server is None:
            self.server = EmbeddedServer(data_dir / "server.db")
        try:
            return await self.server.start(), ""
        except Exception as exc:
            recent = settings.recent_connections()
            return (recent[0]["url"] if recent else "http://127.0.0.1:5000"), str(exc)

    def _open_windows(self, users: list[str], url: str, error: str, data_dir: Path,
                      settings: Settings, namespaces: list[str]) -> None:
        """One window per user; with neither ``url`` nor ``error`` yet the bundled server
        is still starting, and ``_use_server`` connects the windows once it listens."""
        from ui.window import MainWindow

        many = len(users) > 1
        for i, user in enumerate(users):
            opts = {"url": url, "user": user, "token": self.args.token or "",
                    "namespaces": namespaces}
            w = MainWindow(opts, data_dir, settings, key=user if many else "main",
                           title_suffix=f"{user} @ {url or 'the bundled server'}")
            if many:
                w.move(60 + 40 * i, 60 + 40 * i)
            if self.args.screenshot:
                w.resize(1280, 800)
            w.closed.connect(self._window_closed)
            w.show()
            self.windows.append(w)
            if not (url or error):
                w.server_starting()
        if url or error:
            self._use_server(url, error)

    async def _attach_server(self, starting: asyncio.Future[tuple[str, str]]) -> None:
        """Connect the windows (already shown) once the bundled server listens.

        Meanwhile, once the window has painted, the core session (the Socket.IO client:
        half a second of imports) is imported on a worker thread, so connecting does not
        wait for it afterwards and the window stays responsive while it is imported.
        """
        painted = first_paint(self.windows[0])
        try:
            first: set[asyncio.Future[Any]] = {starting, painted}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        finally:
            painted.cancel()
        if not starting.done():
            await asyncio.get_running_loop().run_in_executor(
                None, importlib.import_module, "app.session")
        self._use_server(*await starting)

    def _use_server(self, url: str, error: str) -> None:
        """Point every window at ``url`` and connect; on ``error`` (the bundled server did
        not start) show it and leave the windows offline."""
        embedded = self.server if self.server is not None and not error else None
        for w in self.windows:
            w.use_server(url, embedded)  # the Learn tab can stop/start the bundled server
            if error:
                w.show_error(error)
            else:
                w.spawn(w.open_session())

    def _window_closed(self) -> None:
        if all(w.is_closed for w in self.windows) and self.done is not None \
                and not self.done.done():
            self.done.set_result(self.rc)

    # -- screenshot ----------------------------------------------------------------------------
    async def _screenshot(self, window: MainWindow, data_dir: Path) -> int:
        """--screenshot: stage some activity in ``window`` and save it (ui.screenshots)."""
        from ui.screenshots import stage_and_save

        return await stage_and_save(window, Path(self.args.screenshot), data_dir)

    # -- shutdown ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        def request(*_a: object) -> None:
            loop.call_soon_threadsafe(self._quit)

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                signal.signal(sig, request)
        # let Python run its signal handlers while Qt sleeps in C++
        from PySide6.QtCore import QTimer

        self._signal_timer = QTimer()
        self._signal_timer.start(250)
        self._signal_timer.timeout.connect(lambda: None)

    def _quit(self) -> None:
        for w in self.windows:
            w.close()
        if not self.windows and self.done is not None and not self.done.done():
            self.done.set_result(0)

    async def _shutdown(self) -> None:
        for w in self.windows:
            with contextlib.suppress(Exception):
                await w.shutdown()
        if self.server is not None:
            await self.server.stop()
        # let the qasync loop deliver the last callbacks before it closes
        await asyncio.sleep(0)

    def kill_leftovers(self) -> None:
        if self.server is not None:
            self.server.kill_now()


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


async def ask_user_name() -> str | None:
    """The first-run dialog, opened with open() (never exec() in a coroutine)."""
    from ui.widgets.firstrun import FirstRunDialog

    dlg = FirstRunDialog()
    fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not fut.done():
            fut.set_result(dlg.name() if result == FirstRunDialog.DialogCode.Accepted else None)

    dlg.finished.connect(finished)
    dlg.open()
    try:
        return await fut
    finally:
        dlg.deleteLater()


if __name__ == "__main__":
    raise SystemExit(main())
