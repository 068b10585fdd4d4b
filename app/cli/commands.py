"""The message commands: send, flush, listen and replay talk to a server; queues, export
and import only read or write a data folder.

Every connecting command first makes sure the folder's waiting messages are for the
server it is about to talk to (`folders.check_outbox_server`), before a session opens
the folder: opening it starts flushing, and that must never happen towards the wrong
server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app import jsonmod
from app.cli.common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    SHORT_ATTEMPT,
    CliError,
    err,
    parse_json_arg,
)
from app.cli.folders import Peek, check_outbox_server, record_outbox_server
from app.cli.target import Run, private_parents, resolve_run, run_config
from app.ndjson import export_ndjson, import_ndjson, read_ndjson
from app.outbox import OutboxMessage, OutboxState
from app.replay import Replayer, ReplayItem
from app.session import AckRequest, ConnectionState, Session
from app.store import MessageStore


@contextlib.asynccontextmanager
async def _session(run: Run, a: argparse.Namespace, namespaces: list[str],
                   peeked: Peek | None = None) -> AsyncIterator[Session]:
    """A session on the run's folder, opened only once the folder's waiting messages are
    known to be for this server; the folder then records this server as the one its
    outbox is for (see `app.cli.folders`)."""
    p = peeked if peeked is not None else check_outbox_server(run.data_dir, run.ws.urls)
    private_parents(run.data_dir)
    async with Session(run_config(run, a, namespaces), run.data_dir) as session:
        record_outbox_server(session.store, p.waiting, run.ws.urls, run.ws.user)
        yield session


def outcome(m: OutboxMessage) -> str:
    """What happened to one message, as `send` and `replay` print it: `acked` and the
    ack's arguments (each one JSON value), `no ack: why`, `failed: why`, `queued`."""
    if m.state == OutboxState.ACKED:
        if not m.ack:
            return "sent (no ack asked)"
        args = m.reply_args if m.reply_args is not None else (
            [] if m.reply is None else [m.reply])
        return " ".join(["acked", *(jsonmod.dumps(x) for x in args)])
    if m.state == OutboxState.NO_ACK:
        return f"no ack: {m.error}" if m.error else "no ack"
    if m.state == OutboxState.FAILED:
        return f"failed: {m.error or 'unknown error'}"
    if m.state == OutboxState.SENT:
        return "sent, no ack yet"
    return m.state.value


def _report(session: Session, a: argparse.Namespace, mine: list[OutboxMessage]) -> None:
    """One line (or, with --json, one NDJSON record) per message of this run."""
    as_json = getattr(a, "as_json", False)
    for m in mine:
        now = session.outbox.get(m.id)
        if now is None:
            continue
        if as_json:
            row = session.store.get(now.rowid)
            if row is not None:
                sys.stdout.write(jsonmod.dumps(row.to_record()) + "\n")
        else:
            sys.stdout.write(outcome(now) + "\n")
    sys.stdout.flush()


async def _deliver(session: Session, a: argparse.Namespace, mine: list[OutboxMessage],
                   namespaces: list[str]) -> int:
    """Connect and flush; the common tail of send, flush and replay. Prints what
    happened to each message of this run (`mine`), then the counts (not with --json:
    the records say it all, and the exit code)."""
    started = time.monotonic()
    try:
        # --wait bounds the whole run, the first connection attempt included (one to a
        # port that never answers would otherwise take its own ~15 s)
        ok = await asyncio.wait_for(session.connect(), a.wait)
    except TimeoutError:
        ok = False
    if not ok and session.state == ConnectionState.OFFLINE:
        # refused / unknown namespace: retrying cannot help; take back this run's messages
        for m in mine:
            with contextlib.suppress(Exception):
                session.outbox.cancel(m.id)
        err(session.last_error or "could not connect")
        return EXIT_ERROR
    if a.wait is None:
        if ok:
            await session.wait_flushed(timeout=SHORT_ATTEMPT, namespaces=namespaces)
        else:
            err(session.last_error or "could not connect")
    else:
        left_s = max(0.0, a.wait - (time.monotonic() - started))
        done = await session.wait_flushed(timeout=left_s, namespaces=namespaces)
        if not done:
            left = sum(session.outbox.depth(n) for n in namespaces)
            _report(session, a, mine)
            if session.state != ConnectionState.CONNECTED:
                err(session.last_error or
                    f"not connected: {session.config.url} has not answered yet.")
            err(f"timed out after {a.wait:g} s; {left} message(s) remain queued.")
            return EXIT_TIMEOUT
    left = sum(session.outbox.depth(n) for n in namespaces)
    failed = [session.outbox.get(m.id) for m in mine]
    failed_msgs = [m for m in failed if m is not None and m.state == OutboxState.FAILED]
    acked = sum(1 for m in failed if m is not None and m.state == OutboxState.ACKED)
    _report(session, a, mine)
    if not getattr(a, "as_json", False):
        print(f"{acked} acked, {len(failed_msgs)} failed, {left} queued", flush=True)
    for m in failed_msgs[:10]:
        err(f"message {m.id} failed: {m.error}")
    return EXIT_FAILED if failed_msgs else EXIT_OK


async def cmd_send(a: argparse.Namespace) -> int:
    """Enqueue one event (durably), then flush."""
    args = [parse_json_arg(t, i) for i, t in enumerate(a.json, 1)]
    run = resolve_run(a)
    if a.namespace:
        namespace = a.namespace
    elif run.namespaces_chosen and run.ws.namespaces:
        namespace = run.ws.namespaces[0]
    else:
        raise CliError("send needs the namespace to send to: --namespace/-n NS (a "
                       "workspace's first namespace is used when there is one).")
    async with _session(run, a, [namespace]) as session:
        msg = session.emit(namespace, a.event, *args, ack=not a.no_ack,
                           ack_timeout=a.ack_timeout)
        return await _deliver(session, a, [msg], [namespace])


async def cmd_flush(a: argparse.Namespace) -> int:
    """Send whatever is queued (in one namespace, or every namespace with work)."""
    run = resolve_run(a)
    p = check_outbox_server(run.data_dir, run.ws.urls)
    namespaces = [a.namespace] if a.namespace else p.namespaces_waiting()
    if not namespaces:
        print("0 acked, 0 failed, 0 queued", flush=True)
        return EXIT_OK
    async with _session(run, a, namespaces, p) as session:
        return await _deliver(session, a, [], namespaces)


async def cmd_listen(a: argparse.Namespace) -> int:
    """Print received events as NDJSON, one flushed line each."""
    run = resolve_run(a)
    if a.namespace:
        namespaces = [a.namespace]
    elif run.namespaces_chosen and run.ws.namespaces:
        namespaces = list(run.ws.namespaces)
    else:
        raise CliError("listen needs a namespace: --namespace/-n NS or --namespaces "
                       "NS,NS (or a workspace, whose namespaces are used).")
    reply = None if a.ack_reply is None else [parse_json_arg(t, i)
                                              for i, t in enumerate(a.ack_reply, 1)]
    done = asyncio.Event()
    printed = 0
    async with _session(run, a, namespaces) as session:
        def on_event(m: Any) -> None:
            nonlocal printed
            if done.is_set():
                return
            # the bundled server's own greeting is ours to read, not the user's; any
            # other server's `welcome` is an event like every other
            if m.event == "welcome" and session.introduction(m.namespace, m.event, m.args):
                return
            sys.stdout.write(jsonmod.dumps(m.to_record()) + "\n")
            sys.stdout.flush()
            printed += 1
            if a.count is not None and printed >= a.count:
                done.set()

        def on_ack_request(req: AckRequest) -> None:
            if a.ack_hold:
                req.ignore()
            elif reply is not None:
                req.answer(*reply)

        session.event_received.connect(on_event)
        session.ack_requested.connect(on_ack_request)
        session.errors.connect(err)
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


async def cmd_replay(a: argparse.Namespace) -> int:
    """An NDJSON file re-emitted through the outbox to the run's server."""
    readable(a.file)
    run = resolve_run(a)
    records, bad = read_ndjson(a.file)
    for no, why in bad:
        err(f"{a.file}:{no}: {why}")
    items = [ReplayItem.from_stored(m) for m in records]
    namespaces = sorted({a.namespace or it.namespace for it in items}) or ["/"]
    if a.wait is None:
        a.wait = 60.0
    async with _session(run, a, namespaces) as session:
        if a.speed:
            # the spacing is kept between emits on the wire: connect first, so nothing
            # piles up in the outbox while the gaps are waited out
            ok = await session.connect()
            if not ok:
                err(session.last_error or "could not connect")
                return EXIT_ERROR
            for ns in namespaces:
                if not await session.wait_ready(ns, timeout=run_config(
                        run, a, namespaces).connect_timeout):
                    err(session.namespace_errors.get(ns)
                        or f"{ns} did not become ready; nothing was replayed.")
                    return EXIT_ERROR
        try:
            msgs = await Replayer(session).replay(
                items, namespace=a.namespace, event=a.event, room=a.room, speed=a.speed,
                ack_timeout=a.ack_timeout)
        except ValueError as exc:  # invalid binary in a record
            raise CliError(f"{a.file}: {exc}") from None
        code = await _deliver(session, a, msgs, namespaces)
    if code == EXIT_OK and bad:
        return EXIT_FAILED
    return code


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
    readable(a.file)
    store = MessageStore.open(data_dir)
    try:
        report = import_ndjson(store, a.file)
    finally:
        store.close()
    for no, why in report.errors:
        err(f"{a.file}:{no}: {why}")
    print(f"imported {report.imported}, duplicates {report.duplicates}, "
          f"bad lines {len(report.errors)}", flush=True)
    return EXIT_OK if report.ok else EXIT_FAILED


def readable(path: Path) -> None:
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
