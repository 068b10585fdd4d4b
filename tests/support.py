"""Helpers that start real components (our server, Node peers) on loopback for tests.

Every helper binds 127.0.0.1 on a port the OS picks and cleans up after itself, so tests
can run in parallel on one machine and never leave processes behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The load and kill suites at the sizes the README's figures were taken at. The default
#: run (CI included) uses half the messages or a third of the time: the same faults at
#: the same points of the run, so the suite stays within its time budget.
FULL_SIZE = os.environ.get("SOCKDESK_FULL_SIZE") == "1"
NODE_CACHE = Path(os.environ.get("SOCKDESK_NODE_CACHE", Path.home() / ".cache" / "sockdesk-node"))
#: the official packages; socket.io v2 under an alias, beside v4, for the version test
NODE_PACKAGES = ("socket.io@4", "socket.io-client@4", "socket.io-msgpack-parser@3",
                 "socket.io-v2@npm:socket.io@2")


def free_port() -> int:
    """A port that was free a moment ago; good enough for loopback tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """The bundled server run as a child process, exactly as a user would start it."""

    def __init__(self, db: Path, *extra: str, port: int = 0) -> None:
        self.db = db
        #: what runs after ``python -m`` (a benchmark may wrap the server, see tests/perf)
        self.module = ["server_stub"]
        self.extra = list(extra)
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 20.0) -> ServerProcess:
        cmd = [sys.executable, "-m", *self.module, "--host", "127.0.0.1",
               "--port", str(self.port), "--db", str(self.db), *self.extra]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        first = _readline_with_timeout(self.proc, timeout)
        if not first.startswith("Listening on "):
            rest = self.stop()
            raise RuntimeError(f"server did not start: {first!r}\n{rest}")
        self.url = first.split("Listening on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL: the crash case, nothing gets flushed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> str:
        """SIGTERM and wait: the clean shutdown case."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return "".join(self.output)

    def restart(self) -> ServerProcess:
        """Start again on the same database and the same port, so clients can reconnect."""
        self.proc = None
        self.output = []
        return self.start()


#: The line a server started with a token prints after "Listening on": the invite, which
#: carries the token on purpose (it is what the operator hands to the team).
INVITE_LINE = "Invite: sockdesk://join?"


def without_invite(output: str) -> str:
    """A server's output less its invite line: everything left is log, and the token
    must never appear there."""
    return "".join(line for line in output.splitlines(keepends=True)
                   if not line.startswith(INVITE_LINE))


def _readline_with_timeout(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return result[0] if result else ""


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_node_packages(cache: Path = NODE_CACHE,
                         packages: tuple[str, ...] = NODE_PACKAGES) -> Path:
    """Install the official socket.io packages into a cache folder once, and reuse them.

    Returns the folder holding node_modules; Node scripts are run with NODE_PATH set to it.
    A test needing other packages (the Admin UI's) names a cache folder of its own, so
    the shared one is not reinstalled under the other tests' feet.
    """
    marker = cache / ".installed"
    wanted = " ".join(packages)
    if marker.exists() and marker.read_text() == wanted:
        return cache / "node_modules"
    cache.mkdir(parents=True, exist_ok=True)
    lock = cache / ".lock"
    with open(lock, "w") as fh:
        import fcntl

        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (marker.exists() and marker.read_text() == wanted):
            if not (cache / "package.json").exists():
                (cache / "package.json").write_text(json.dumps({"private": True}))
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent",
                            *packages], cwd=cache, check=True, timeout=300)
            marker.write_text(wanted)
    return cache / "node_modules"


def run_node(script: Path | str, *args: str, timeout: float = 60.0,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a Node script against installed socket.io packages; stdout is usually NDJSON."""
    modules = ensure_node_packages()
    full_env = dict(os.environ, NODE_PATH=str(modules), **(env or {}))
    return subprocess.run(["node", str(script), *args], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@contextlib.contextmanager
def node_process(script: Path | str, *args: str, env: dict[str, str] | None = None,
                 modules: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """A long-running Node peer (a server), run against ``modules`` (default: the shared
    socket.io packages); killed when the block ends."""
    modules = modules or ensure_node_packages()
    full_env = dict(os.environ, NODE_PATH=str(modules), **(env or {}))
    proc = subprocess.Popen(["node", str(script), *args], env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def wait_for(check, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll a condition in sync tests (a polling wait, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


# -- Redis (for --redis servers) -------------------------------------------------------

REDIS_MISSING = "redis-server is not installed on this machine"


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A throw-away redis-server on a free loopback port: no persistence, a fresh folder,
    many databases (tests isolate server groups by database number)."""

    def __init__(self, folder: Path, databases: int = 1024) -> None:
        self.folder = folder
        self.databases = databases
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._next_db = 0

    def start(self, timeout: float = 20.0) -> RedisServer:
        """Start (again, on the same port if it ran before: an outage, not a move)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder),
             "--databases", str(self.databases)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: self.proc is not None and
                        (self.proc.poll() is not None or _redis_ping(self.port)), timeout):
            self.stop()
            raise RuntimeError("redis-server did not answer PING")
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def fresh_url(self) -> str:
        """The URL of a database nobody used yet in this redis-server."""
        db = self._next_db
        self._next_db += 1
        if db >= self.databases:
            raise RuntimeError("out of Redis databases; start another redis-server")
        return self.url(db)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
