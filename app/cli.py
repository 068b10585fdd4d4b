"""`sockdesk-cli` (= `python -m app`): the client core without a window.

Scripts and tests drive the same Session, outbox and store as the GUI. Exit codes:
0 done, 1 some messages failed or some import lines were bad, 2 usage, connection or
storage error (bad URL, refused, unknown namespace, invalid JSON; a data folder or
database that cannot be used: the message was not accepted and the file is left as it
was), 3 --wait timed out (what was not sent stays queued for the next run). Every error
is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from app import db as dbmod
from app import jsonmod
from app.config import ConnectionConfig, ReconnectPolicy
from app.errors import SessionError, check_url
from app.ndjson import export_ndjson, import_ndjson, read_ndjson
from app.outbox import Outbox, OutboxMessage, OutboxState
from app.paths import db_path, default_data_dir
from app.replay import Replayer, ReplayItem
from app.session import ConnectionState, Session
from app.store import MessageStore

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2, 3
SHORT_ATTEMPT = 5.0


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _err(msg: str) -> None:
    print(f"sockdesk-cli: {msg}", file=sys.stderr, flush=True)


def _ns(value: str) -> str:
    return value if value.startswith("/") else "/" + value


def _kv(value: str, sep: str) -> tuple[str, str]:
    if sep not in value:
        raise argparse.ArgumentTypeError(f"expected KEY{sep}VALUE, got {value!r}")
    k, v = value.split(sep, 1)
    return k.strip(), v.strip()


def parse_json_arg(text: str, index: int) -> Any:
    """One JSON command-line argument; CliError names the argument and the position."""
    try:
        return jsonmod.loads(text)
    except ValueError as exc:
        raise CliError(f"Invalid JSON in argument {index} ({text!r}): {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree (exposed for tests and for --help)."""
    p = argparse.ArgumentParser(prog="sockdesk-cli",
                                description="SockDesk client core, headless.")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    def data_dir(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", type=Path, default=None,
                        help="where the outbox and store live (default: $SOCKDESK_DATA_DIR "
                             "or the per-user data dir)")

    def conn(sp: argparse.ArgumentParser, ns_required: bool = True,
             url_required: bool = True) -> None:
        sp.add_argument("--url", required=url_required, help="server URL, http://host:port")
        sp.add_argument("--namespace", "-n", required=ns_required, type=_ns)
        sp.add_argument("--user", "-u", default=None)
        sp.add_argument("--token", default=None, help="shared secret (never printed)")
        sp.add_argument("--auth", default=None, help="extra auth as a JSON object")
        sp.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
        sp.add_argument("--query", action="append", default=[], metavar="KEY=VALUE")
        sp.add_argument("--transport", choices=("websocket", "polling", "both"),
                        default="both")
        sp.add_argument("--no-ack", action="store_true",
                        help="do not ask for acks: a message is done once written")
        sp.add_argument("--ack-timeout", type=float, default=10.0)
        sp.add_argument("--window", type=int, default=32, help="messages in flight")
        sp.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="wait until everything pending is acked (exit 3 on timeout)")

    sp = sub.add_parser("send", help="enqueue an event durably, then flush")
    data_dir(sp)
    conn(sp)
    sp.add_argument("event")
    sp.add_argument("json", nargs="*", help="arguments, each one JSON value")

    sp = sub.add_parser("flush", help="send what is queued")
    data_dir(sp)
    conn(sp, ns_required=False)

    sp = sub.add_parser("listen", help="print received events as NDJSON")
    data_dir(sp)
    conn(sp)
    sp.add_argument("--room", action="append", default=[], help="join a /chat room")
    sp.add_argument("--count", type=int, default=None, help="exit after N events")

    sp = sub.add_parser("queues", help="depth, sent, acked, failed per queue")
    data_dir(sp)
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("export", help="write queues as NDJSON")
    data_dir(sp)
    sp.add_argument("--queue", default=None)
    sp.add_argument("--output", "-o", type=Path, default=None)

    sp = sub.add_parser("import", help="read NDJSON into the store")
    data_dir(sp)
    sp.add_argument("file", type=Path)

    sp = sub.add_parser("replay", help="re-emit an NDJSON file through the outbox")
    data_dir(sp)
    conn(sp, ns_required=False)
    sp.add_argument("file", type=Path)
    sp.add_argument("--event", default=None)
    sp.add_argument("--room", default=None)
    sp.add_argument("--speed", type=float, default=None,
                    help="keep the original spacing, this many times faster")
    return p


def make_config(a: argparse.Namespace, namespaces: list[str]) -> ConnectionConfig:
    """ConnectionConfig from the connection options (validated: CliError if bad)."""
    bad = check_url(a.url)
    if bad:
        raise CliError(bad)
    auth: dict[str, Any] = {}
    if a.auth:
        value = parse_json_arg(a.auth, 0) if a.auth else {}
        if not isinstance(value, dict):
            raise CliError("--auth must be a JSON object.")
        auth = value
    try:
        headers = dict(_kv(h, ":") for h in a.header)
        query = dict(_kv(q, "=") for q in a.query)
    except argparse.ArgumentTypeError as exc:
        raise CliError(str(exc)) from None
    transports = ["websocket", "polling"] if a.transport == "both" else [a.transport]
    return ConnectionConfig(
        url=a.url, user=a.user, token=a.token, namespaces=namespaces, auth=auth,
        headers=headers, query=query, transports=transports,
        reconnect=ReconnectPolicy(delay=0.2, delay_max=2.0), no_ack=a.no_ack,
        ack_timeout=a.ack_timeout, window=a.window,
        connect_timeout=SHORT_ATTEMPT if a.wait is None else 10.0)


async def _deliver(session: Session, a: argparse.Namespace, mine: list[OutboxMessage],
                   namespaces: list[str]) -> int:
    """Connect and flush; the common tail of send, flush and replay."""
    ok = await session.connect()
    if not ok and session.state == ConnectionState.OFFLINE:
        # refused / unknown namespace: retrying cannot help; take back this run's messages
        for m in mine:
            with contextlib.suppress(Exception):
                session.outbox.cancel(m.id)
        _err(session.last_error or "could not connect")
        return EXIT_ERROR
    if a.wait is None:
        if ok:
            await session.wait_flushed(timeout=SHORT_ATTEMPT, namespaces=namespaces)
        else:
            _err(session.last_error or "could not connect")
    else:
        done = await session.wait_flushed(timeout=a.wait, namespaces=namespaces)
        if not done:
            left = sum(session.outbox.depth(n) for n in namespaces)
            if session.last_error and session.state != ConnectionState.CONNECTED:
                _err(session.last_error)
            _err(f"timed out after {a.wait:g} s; {left} message(s) remain queued.")
            return EXIT_TIMEOUT
    left = sum(session.outbox.depth(n) for n in namespaces)
    failed = [session.outbox.get(m.id) for m in mine]
    failed_msgs = [m for m in failed if m is not None and m.state == OutboxState.FAILED]
    acked = sum(1 for m in failed if m is not None and m.state == OutboxState.ACKED)
    print(f"{acked} acked, {len(failed_msgs)} failed, {left} queued", flush=True)
    for m in failed_msgs[:10]:
        _err(f"message {m.id} failed: {m.error}")
    return EXIT_FAILED if failed_msgs else EXIT_OK


async def cmd_send(a: argparse.Namespace, data_dir: Path) -> int:
    """Enqueue one event (durably), then flush."""
    args = [parse_json_arg(t, i) for i, t in enumerate(a.json, 1)]
    cfg = make_config(a, [a.namespace])
    async with Session(cfg, data_dir) as session:
        msg = session.emit(a.namespace, a.event, *args, ack=not a.no_ack)
        return await _deliver(session, a, [msg], [a.namespace])


async def cmd_flush(a: argparse.Namespace, data_dir: Path) -> int:
    """Send whatever is queued (in one namespace, or every namespace with work)."""
    if a.namespace:
        namespaces = [a.namespace]
    else:
        store = MessageStore.open(data_dir)
        try:
            namespaces = Outbox(store).namespaces_pending()
        finally:
            store.close()
    if not namespaces:
        print("0 acked, 0 failed, 0 queued", flush=True)
        return EXIT_OK
    cfg = make_config(a, namespaces)
    async with Session(cfg, data_dir) as session:
        return await _deliver(session, a, [], namespaces)


async def cmd_listen(a: argparse.Namespace, data_dir: Path) -> int:
    """Print received events as NDJSON, one flushed line each."""
    cfg = make_config(a, [a.namespace])
    done = asyncio.Event()
    printed = 0
    async with Session(cfg, data_dir) as session:
        def on_event(m: Any) -> None:
            nonlocal printed
            if m.event == "welcome" or done.is_set():
                return
            sys.stdout.write(jsonmod.dumps(m.to_record()) + "\n")
            sys.stdout.flush()
            printed += 1
            if a.count is not None and printed >= a.count:
                done.set()

        session.event_received.connect(on_event)
        session.errors.connect(_err)
        for room in a.room:
            session.chat.remember(room)
        ok = await session.connect()
        if not ok and session.state == ConnectionState.OFFLINE:
            return EXIT_ERROR
        if a.count == 0:
            return EXIT_OK
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, done.set)
        await done.wait()
        session.store.flush()
    return EXIT_OK


def cmd_queues(a: argparse.Namespace, data_dir: Path) -> int:
    """Counters per queue."""
    store = MessageStore.open(data_dir)
    try:
        infos = store.queues()
    finally:
        store.close()
    if a.json:
        print(jsonmod.dumps([{"queue": q.queue, "depth": q.depth, "total": q.total,
                              "queued": q.queued, "sent": q.sent, "acked": q.acked,
                              "failed": q.failed} for q in infos]))
        return EXIT_OK
    width = max([len("QUEUE"), *(len(q.queue) for q in infos)])
    print(f"{'QUEUE':<{width}}  {'DEPTH':>8} {'SENT':>8} {'ACKED':>8} {'FAILED':>8}")
    for q in infos:
        print(f"{q.queue:<{width}}  {q.depth:>8} {q.sent:>8} {q.acked:>8} {q.failed:>8}")
    return EXIT_OK


def cmd_export(a: argparse.Namespace, data_dir: Path) -> int:
    """Queues to NDJSON (stdout or --output)."""
    store = MessageStore.open(data_dir)
    try:
        n = export_ndjson(store, a.output if a.output else sys.stdout, a.queue)
    finally:
        store.close()
    if a.output:
        print(f"exported {n} message(s) to {a.output}", file=sys.stderr)
    return EXIT_OK


def cmd_import(a: argparse.Namespace, data_dir: Path) -> int:
    """NDJSON into the store; bad lines reported by number."""
    _readable(a.file)
    store = MessageStore.open(data_dir)
    try:
        report = import_ndjson(store, a.file)
    finally:
        store.close()
    for no, why in report.errors:
        _err(f"{a.file}:{no}: {why}")
    print(f"imported {report.imported}, duplicates {report.duplicates}, "
          f"bad lines {len(report.errors)}", flush=True)
    return EXIT_OK if report.ok else EXIT_FAILED


def _readable(path: Path) -> None:
    """CliError unless `path` is a file we can open (checked before anything starts)."""
    if not path.exists():
        raise CliError(f"No such file: {path}")
    if not path.is_file():
        raise CliError(f"Not a file: {path}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror or exc}.") from None


async def cmd_replay(a: argparse.Namespace, data_dir: Path) -> int:
    """An NDJSON file re-emitted through the outbox to --url."""
    _readable(a.file)
    records, bad = read_ndjson(a.file)
    for no, why in bad:
        _err(f"{a.file}:{no}: {why}")
    items = [ReplayItem.from_stored(m) for m in records]
    namespaces = sorted({a.namespace or it.namespace for it in items}) or ["/"]
    cfg = make_config(a, namespaces)
    if a.wait is None:
        a.wait = 60.0
    async with Session(cfg, data_dir) as session:
        msgs = await Replayer(session).replay(items, namespace=a.namespace, event=a.event,
                                              room=a.room, speed=a.speed)
        code = await _deliver(session, a, msgs, namespaces)
    if code == EXIT_OK and bad:
        return EXIT_FAILED
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of `sockdesk-cli` and `python -m app`."""
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    data_dir = Path(a.data_dir).expanduser() if a.data_dir else default_data_dir()
    try:
        if a.command == "send":
            return asyncio.run(cmd_send(a, data_dir))
        if a.command == "flush":
            return asyncio.run(cmd_flush(a, data_dir))
        if a.command == "listen":
            return asyncio.run(cmd_listen(a, data_dir))
        if a.command == "queues":
            return cmd_queues(a, data_dir)
        if a.command == "export":
            return cmd_export(a, data_dir)
        if a.command == "import":
            return cmd_import(a, data_dir)
        if a.command == "replay":
            return asyncio.run(cmd_replay(a, data_dir))
    except (CliError, SessionError) as exc:  # StorageError included: one line, exit 2
        _err(str(exc))
        return EXIT_ERROR
    except sqlite3.Error as exc:  # the database failed mid-run (disk full, locked, ...)
        _err(dbmod.explain(db_path(data_dir), exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    parser.error(f"unknown command {a.command}")
    return EXIT_ERROR
