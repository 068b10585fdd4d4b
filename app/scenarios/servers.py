"""Processes a lesson starts for itself and stops afterwards: a throw-away redis-server
on a free loopback port, and SockDesk server processes (``python -m server_stub``, as a
user would run ``sockdesk-server``: the core never imports the server, it only runs it).

Why the lesson starts them rather than asking the teacher to: by hand the Redis lesson
takes five commands in three terminals, and killing one process at the right moment is
part of the lesson.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import sys
from pathlib import Path

from app.scenarios.engine import ScenarioError

log = logging.getLogger(__name__)

#: The sentence a student sees when Redis is missing.
REDIS_MISSING = ("this lesson needs Redis on this computer: install redis-server "
                 "(apt-get install redis-server), then run it again")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _stop(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not go within `grace` seconds."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class RedisProcess:
    """redis-server on a free loopback port, no persistence, its files in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self, timeout: float = 15.0) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise ScenarioError(REDIS_MISSING)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = await asyncio.create_subprocess_exec(
            exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self._pong():
            if self.proc.returncode is not None:
                raise ScenarioError(f"redis-server exited at once (status "
                                    f"{self.proc.returncode}) on port {self.port}")
            if loop.time() > deadline:
                await self.stop()
                raise ScenarioError(f"redis-server did not answer within {timeout:g} s")
            await asyncio.sleep(0.05)

    async def _pong(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 2.0)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self.proc is not None:
            await _stop(self.proc)


class ServerProcess:
    """One SockDesk server process started with `args` (``--redis URL`` ...) on a free
    port; `url` is what it printed first ("Listening on URL")."""

    def __init__(self, name: str, *args: str) -> None:
        self.name = name
        self.args = list(args)
        self.url = ""
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, timeout: float = 30.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server_stub", "--host", "127.0.0.1", "--port", "0",
            *self.args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert self.proc.stdout is not None
        try:
            first = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            await self.stop()
            raise ScenarioError(f"{self.name} did not start within {timeout:g} s") from None
        line = first.decode("utf-8", "replace").strip()
        if not line.startswith("Listening on "):
            rest = (await self.proc.stdout.read()).decode("utf-8", "replace")
            await self.stop()
            why = " ".join((line + " " + rest).split())[:300] or "no output"
            raise ScenarioError(f"{self.name} did not start: {why}")
        self.url = line.split("Listening on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self._drain = asyncio.ensure_future(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.output.append(raw.decode("utf-8", "replace"))
            del self.output[:-200]

    def kill(self) -> None:
        """SIGKILL: a crash, nothing is cleaned up by the process itself."""
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def wait(self) -> None:
        if self.proc is not None:
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None:
            await _stop(self.proc)
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain, 2.0)


async def stop_all(procs: list[ServerProcess | RedisProcess]) -> None:
    """Stop every process (servers first, Redis last); one failing does not stop the
    others from being stopped."""
    for proc in procs:
        try:
            await proc.stop()
        except Exception as exc:  # stopping must go on
            log.debug("stopping %s failed: %s", proc, exc)
