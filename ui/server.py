"""Running the bundled server as a child process (QProcess), without blocking the loop.

``EmbeddedServer`` is the process and its output; ``ui.hosting.HostedServer`` decides
how a workspace's server runs (address, port, token, TLS) and uses one of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

REPO_ROOT = Path(__file__).resolve().parent.parent


#: Lines kept from the start of each launch for ``wait_line`` (the server prints its
#: announcements first; only they are looked for).
ANNOUNCED_LINES = 20


def server_command(*args: str) -> tuple[str, list[str]]:
    """The program and arguments that run the bundled server's CLI with ``args``: this
    interpreter, so the child uses the app's own packages (a venv included)."""
    return sys.executable, ["-m", "server_stub", *args]


def server_workdir() -> str | None:
    """Run from the source tree when there is one, so ``-m server_stub`` finds it even
    when the app was started from elsewhere without being installed."""
    return str(REPO_ROOT) if (REPO_ROOT / "server_stub").is_dir() else None


class EmbeddedServer(QObject):
    """``python -m server_stub --host HOST --port PORT --db DB [extra]``; ``url`` once
    started. By default loopback and a fresh port: the private server of one user.

    ``env`` adds variables to the child's environment, or removes those given as None
    (a token goes there rather than on the command line, where other local users could
    read it in the process list).
    """

    def __init__(self, db: Path, parent: QObject | None = None, *extra: str,
                 host: str = "127.0.0.1", port: int = 0,
                 env: Mapping[str, str | None] | None = None) -> None:
        super().__init__(parent)
        self.db = Path(db)
        self.extra = list(extra)
        self.host = host
        self.port = port
        self.url = ""
        self.output: list[str] = []
        self.proc = QProcess(self)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        for name, value in (env or {}).items():
            if value is None:
                environment.remove(name)
            else:
                environment.insert(name, value)
        self.proc.setProcessEnvironment(environment)
        workdir = server_workdir()
        if workdir:
            self.proc.setWorkingDirectory(workdir)
        self._buffer = b""
        self._first_line: asyncio.Future[str] | None = None
        self._launched = False
        self._announced: list[str] = []
        self._line_waiters: list[tuple[str, asyncio.Future[str | None]]] = []
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.errorOccurred.connect(self._error)
        self.proc.finished.connect(self._finished)

    @property
    def running(self) -> bool:
        return self.proc.state() != QProcess.ProcessState.NotRunning

    def launch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the process now (even before ``loop`` runs); ``start()`` then waits for
        it. The app calls this before importing the rest of the GUI, so the server's own
        start-up (about 0.6 s of imports) overlaps with ours."""
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self._first_line = loop.create_future()
        self._launched = True
        self._announced = []
        program, args = server_command("--host", self.host, "--port", str(self.port),
                                       "--db", str(self.db), *self.extra)
        self.proc.start(program, args)

    async def start(self, timeout: float = 20.0) -> str:
        """Start (unless ``launch`` just did) and wait for ``Listening on
        http://HOST:PORT``; returns the URL."""
        if not self._launched:
            self.launch(asyncio.get_running_loop())
        self._launched = False
        assert self._first_line is not None
        try:
            line = await asyncio.wait_for(self._first_line, timeout)
        except TimeoutError:
            await self.stop()
            raise RuntimeError("The bundled server did not start in time") from None
        if not line.startswith("Listening on "):
            await self.stop()
            detail = "".join(self.output).strip().splitlines()
            raise RuntimeError("The bundled server did not start: " + (
                detail[-1] if detail else line or "no output"))
        self.url = line.split("Listening on ", 1)[1].strip()
        return self.url

    def _read(self) -> None:
        self._buffer += bytes(self.proc.readAllStandardOutput().data())
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            self.output.append(line + "\n")
            if len(self.output) > 2000:
                del self.output[:1000]
            if self._first_line is not None and not self._first_line.done():
                self._first_line.set_result(line)
            if len(self._announced) < ANNOUNCED_LINES:
                self._announced.append(line)
                for prefix, waiter in list(self._line_waiters):
                    if line.startswith(prefix):
                        self._line_waiters.remove((prefix, waiter))
                        if not waiter.done():
                            waiter.set_result(line[len(prefix):].strip())

    async def wait_line(self, prefix: str, timeout: float = 5.0) -> str | None:
        """The rest of the first line of this launch's output that starts with
        ``prefix`` (the lines the server prints after ``Listening on``: ``Invite:``,
        ``Certificate SHA-256:``); None when the process ends or ``timeout`` passes
        without one."""
        for line in self._announced:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        if not self.running:
            return None
        waiter: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        entry = (prefix, waiter)
        self._line_waiters.append(entry)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            with contextlib.suppress(ValueError):
                self._line_waiters.remove(entry)

    def _error(self, _err: QProcess.ProcessError) -> None:
        if self._first_line is not None and not self._first_line.done():
            self._first_line.set_result(f"error: {self.proc.errorString()}")

    def _finished(self, *_args: object) -> None:
        self._read()
        if self._first_line is not None and not self._first_line.done():
            self._first_line.set_result("exited")
        for _prefix, waiter in self._line_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._line_waiters.clear()

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait for it to exit (without blocking the loop), SIGKILL if it hangs."""
        if not self.running:
            return
        done = asyncio.get_running_loop().create_future()

        def finished(*_a: object) -> None:
            if not done.done():
                done.set_result(None)

        self.proc.finished.connect(finished)
        self.proc.terminate()
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            self.proc.kill()
            self.proc.waitForFinished(2000)
        finally:
            with contextlib.suppress(RuntimeError, TypeError):
                self.proc.finished.disconnect(finished)

    def kill_now(self) -> None:
        """Last resort at interpreter exit: never leave the child behind."""
        if self.running:
            self.proc.terminate()
            if not self.proc.waitForFinished(3000):
                self.proc.kill()
                self.proc.waitForFinished(2000)
