"""Running the bundled server as a child process (QProcess), without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

REPO_ROOT = Path(__file__).resolve().parent.parent


class EmbeddedServer(QObject):
    """``python -m server_stub --host 127.0.0.1 --port 0 --db DB``; ``url`` once started."""

    def __init__(self, db: Path, parent: QObject | None = None, *extra: str,
                 env: dict[str, str] | None = None) -> None:
        """`extra` arguments come after ``--host 127.0.0.1 --port 0`` and so override
        them; `env` adds variables (a token, kept out of the process list)."""
        super().__init__(parent)
        self.db = Path(db)
        self.extra = list(extra)
        self.url = ""
        self.output: list[str] = []
        self.proc = QProcess(self)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process_env = QProcessEnvironment.systemEnvironment()
        process_env.insert("PYTHONUNBUFFERED", "1")
        for name, value in (env or {}).items():
            process_env.insert(name, value)
        self.proc.setProcessEnvironment(process_env)
        if (REPO_ROOT / "server_stub").is_dir():
            self.proc.setWorkingDirectory(str(REPO_ROOT))
        self._buffer = b""
        self._first_line: asyncio.Future[str] | None = None
        self._launched = False
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
        self.proc.start(sys.executable, ["-m", "server_stub", "--host", "127.0.0.1",
                                         "--port", "0", "--db", str(self.db), *self.extra])

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

    def _error(self, _err: QProcess.ProcessError) -> None:
        if self._first_line is not None and not self._first_line.done():
            self._first_line.set_result(f"error: {self.proc.errorString()}")

    def _finished(self, *_args: object) -> None:
        if self._first_line is not None and not self._first_line.done():
            self._read()
            if not self._first_line.done():
                self._first_line.set_result("exited")

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
