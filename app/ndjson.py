"""Export and import of queues as NDJSON (format: docs/NDJSON.md).

One JSON object per line, so a file can be streamed, grepped, cut with head/tail and
imported partially: a bad line is reported with its number and the rest still imports.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app import binary, jsonmod
from app.inspector import base_queue
from app.keys import QUEUE_NAMESPACE, queue_key, work_key
from app.store import MessageStore, StoredMessage, describe

#: outbox states that an import keeps; queued/sent are not re-sent by an import
#: (use replay for that), so they are imported without a state.
KEPT_STATES = {"acked", "failed"}


@dataclass
class ImportReport:
    """What an import did: rows added, duplicates skipped, bad lines (number, why)."""

    imported: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every line was good."""
        return not self.errors


def export_ndjson(store: MessageStore, out: IO[str] | Path | str,
                  queue: str | None = None) -> int:
    """Write every message of `queue` (or of all queues) as NDJSON; returns the count."""
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8") as fh:
            return export_ndjson(store, fh, queue)
    n = 0
    for m in store.iter_queue(queue):
        out.write(jsonmod.dumps(m.to_record()))
        out.write("\n")
        n += 1
    out.flush()
    return n


def record_to_message(rec: Any) -> StoredMessage:
    """Validate one parsed line and build the message; ValueError says what is wrong."""
    if not isinstance(rec, dict):
        raise ValueError(f"expected a JSON object, got {type(rec).__name__}")
    event = rec.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError('"event" must be a non-empty string')
    args = rec.get("args", [])
    if not isinstance(args, list):
        raise ValueError('"args" must be a JSON array')
    ns = rec.get("namespace", "/")
    if not isinstance(ns, str) or not ns:
        raise ValueError('"namespace" must be a string like "/chat"')
    ns = ns if ns.startswith("/") else "/" + ns
    direction = rec.get("direction", "in")
    if direction not in ("in", "out"):
        raise ValueError('"direction" must be "in" or "out"')
    ts = rec.get("ts", time.time())
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise ValueError('"ts" must be a number (seconds since the epoch)')
    try:
        ts = float(ts)
    except OverflowError:
        raise ValueError('"ts" is out of range') from None
    if not math.isfinite(ts):
        raise ValueError('"ts" must be a finite number')
    queue = rec.get("queue")
    if queue is None:
        queue = queue_key(ns, event, args, direction)
    if not isinstance(queue, str) or not queue:
        raise ValueError('"queue" must be a non-empty string')
    m = describe(ns, event, args, direction, queue, ts=ts)
    for key in ("msg_id", "room", "user", "text", "error"):
        if key in rec:
            if rec[key] is not None and not isinstance(rec[key], str):
                raise ValueError(f'"{key}" must be a string')
            setattr(m, key, rec[key])
    if "offset" in rec:
        off = rec["offset"]
        if off is not None and (isinstance(off, bool) or not isinstance(off, int)):
            raise ValueError('"offset" must be an integer')
        if off is not None and not -(2**63) <= off < 2**63:
            raise ValueError('"offset" is out of range (64-bit)')
        m.offset = off if queue.startswith("room:") else None
    rec_flag = rec.get("recovered", False)
    if not isinstance(rec_flag, bool):
        raise ValueError('"recovered" must be true or false')
    m.recovered = rec_flag
    state = rec.get("state")
    if state is not None and not isinstance(state, str):
        raise ValueError('"state" must be a string')
    outbox = queue.startswith("outbox:")
    m.state = state if state in KEPT_STATES and outbox else None
    reply = rec.get("reply")
    if reply is not None and not isinstance(reply, list):
        raise ValueError('"reply" must be a JSON array (the ack\'s arguments)')
    m.reply = reply if outbox and m.state is not None else None
    timeout = rec.get("ack_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or not 0 < timeout < math.inf):
        raise ValueError('"ack_timeout" must be a number of seconds above 0')
    m.ack_timeout = float(timeout) if timeout is not None and outbox else None
    try:
        binary.to_wire(args)
        if reply is not None:
            binary.to_wire(reply)
    except binary.BinaryError as exc:
        raise ValueError(str(exc)) from None
    return m


def parse_lines(lines: Iterable[str | bytes] | IO[str] | IO[bytes]
                ) -> Iterator[tuple[int, StoredMessage | str]]:
    """Yield (line number, message) for good lines and (line number, error) for bad ones.

    Blank lines are skipped silently; line numbers start at 1. Lines may be bytes (files
    are read in binary), so one line that is not UTF-8 is one bad line, not a failed
    import.
    """
    for no, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield no, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                continue
        if no == 1:
            line = line.removeprefix("\ufeff")  # a byte order mark some editors write
        text = line.strip()
        if not text:
            continue
        try:
            rec = jsonmod.loads(text)
        except ValueError as exc:
            yield no, f"invalid JSON: {exc}"
            continue
        try:
            yield no, record_to_message(rec)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            yield no, str(exc) or type(exc).__name__


def read_ndjson(source: Path | str | IO[str] | IO[bytes]
                ) -> tuple[list[StoredMessage], list[tuple[int, str]]]:
    """All good records of a file and the bad lines (number, why)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            return read_ndjson(fh)
    good: list[StoredMessage] = []
    bad: list[tuple[int, str]] = []
    for no, item in parse_lines(source):
        if isinstance(item, str):
            bad.append((no, item))
        else:
            good.append(item)
    return good, bad


def import_ndjson(store: MessageStore, source: Path | str | IO[str] | IO[bytes],
                  batch: int = 10_000) -> ImportReport:
    """Import good lines (in big transactions), report bad ones with their number."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            return import_ndjson(store, fh, batch)
    report = ImportReport()
    chunk: list[StoredMessage] = []

    def flush() -> None:
        if chunk:
            added = store.bulk_insert(chunk)
            report.imported += added
            report.duplicates += len(chunk) - added
            chunk.clear()

    for no, item in parse_lines(source):
        if isinstance(item, str):
            report.errors.append((no, item))
        else:
            chunk.append(item)
            if len(chunk) >= batch:
                flush()
    flush()
    return report


def dumps_line(m: StoredMessage) -> str:
    """One message as an NDJSON line (with the newline)."""
    return jsonmod.dumps(m.to_record()) + "\n"


def peek_record(work_queue: str, message: Mapping[str, Any], ts: float,
                msg_id: str | None = None) -> dict[str, Any]:
    """A message peeked from a server work queue (``/queue peek``) as an NDJSON record.

    The server's queues are not in the store, so there is no StoredMessage to export:
    the record is what a consumer of the queue receives, a ``deliver`` event in
    ``/queue`` carrying the peeked message, keyed ``work:<Q>`` as the store keys
    deliveries (``Q.dead`` is exported under ``Q``). Importing the file therefore puts
    the messages in the ``work:<Q>`` inbox, not back on the server (replay does that).
    `ts` is the peeked message's time in epoch seconds (0.0 when unknown); `msg_id`
    its publish id, left out when there is none.
    """
    rec: dict[str, Any] = {"queue": work_key(base_queue(work_queue)), "direction": "in",
                           "namespace": QUEUE_NAMESPACE, "event": "deliver",
                           "args": [dict(message)], "ts": ts}
    if msg_id:
        rec["msg_id"] = msg_id
    return rec


__all__ = ["ImportReport", "dumps_line", "export_ndjson", "import_ndjson", "peek_record",
           "read_ndjson", "record_to_message"]


# ---- long imports and exports with progress and cancel (the GUI's path) -------------------
#
# The functions above run to the end in one go, which is right for the CLI. The GUI
# must keep painting and answering pings meanwhile, and let the user stop a big file:
# these variants work in small batches (one short transaction each), await between
# batches so the event loop runs, report progress, and stop when `cancelled()` is true.

#: progress callback: (done, total); bytes of the file for imports, rows for exports
Progress = Callable[[int, int], None]


@dataclass
class ImportResult(ImportReport):
    """An ImportReport that also says whether the import was stopped part way."""

    cancelled: bool = False
    lines: int = 0


@dataclass
class ExportResult:
    """Rows written; a cancelled export leaves no file behind (it is written beside the
    target and renamed only when complete)."""

    count: int = 0
    cancelled: bool = False
    path: Path | None = None


def _parse_line(raw: bytes) -> StoredMessage | str | None:
    """One line of a file read as bytes: a message, an error sentence, or None (blank).
    The same rules as `parse_lines` (it does the work)."""
    for _no, item in parse_lines([raw]):
        return item
    return None


async def import_ndjson_async(store: MessageStore, path: Path | str, *, batch: int = 1000,
                              progress: Progress | None = None,
                              cancelled: Callable[[], bool] | None = None,
                              max_errors: int = 10_000) -> ImportResult:
    """Import a file like `import_ndjson`, in batches, yielding to the loop in between.

    Good lines before a cancel stay imported (each batch is its own transaction); at
    most `max_errors` bad lines are listed (the count in `lines` covers all of them).
    """
    result = ImportResult()
    src = Path(path)
    total = max(1, src.stat().st_size)
    done_bytes = 0
    chunk: list[StoredMessage] = []
    chunk_bytes = 0

    def flush() -> None:
        if chunk:
            added = store.bulk_insert(chunk)
            result.imported += added
            result.duplicates += len(chunk) - added
            chunk.clear()

    with open(src, "rb") as fh:
        for no, raw in enumerate(fh, 1):
            result.lines = no
            done_bytes += len(raw)
            item = _parse_line(raw)
            if isinstance(item, str):
                if len(result.errors) < max_errors:
                    result.errors.append((no, item))
            elif item is not None:
                chunk.append(item)
                chunk_bytes += len(raw)
            if len(chunk) >= batch or chunk_bytes > 4_000_000 or no % (batch * 4) == 0:
                flush()
                chunk_bytes = 0
                if progress is not None:
                    progress(done_bytes, total)
                await asyncio.sleep(0)
                if cancelled is not None and cancelled():
                    result.cancelled = True
                    return result
    flush()
    if progress is not None:
        progress(total, total)
    return result


async def export_ndjson_async(store: MessageStore, path: Path | str,
                              queue: str | None = None, *,
                              rowids: Iterable[int] | None = None, batch: int = 1000,
                              progress: Progress | None = None,
                              cancelled: Callable[[], bool] | None = None) -> ExportResult:
    """Write `queue` (or all queues, or just `rowids`) like `export_ndjson`, in batches."""
    dest = Path(path)
    tmp = dest.with_name(dest.name + ".partial")
    result = ExportResult(path=dest)
    ids = sorted(set(rowids)) if rowids is not None else None
    if ids is not None:
        total = len(ids)
    elif queue is not None:
        total = store.count(queue)
    else:
        total = sum(q.total for q in store.queues())
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            after = 0
            while True:
                if ids is not None:
                    want = ids[result.count:result.count + batch]
                    if not want:
                        break
                    fh.writelines(dumps_line(m) for m in store.get_many(want))
                    result.count += len(want)
                else:
                    msgs = (store.page(queue, after=after, limit=batch) if queue is not None
                            else _page_all(store, after, batch))
                    if not msgs:
                        break
                    fh.writelines(dumps_line(m) for m in msgs)
                    result.count += len(msgs)
                    after = msgs[-1].rowid
                if progress is not None:
                    progress(result.count, max(total, result.count))
                await asyncio.sleep(0)
                if cancelled is not None and cancelled():
                    result.cancelled = True
                    break
        if result.cancelled:
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _page_all(store: MessageStore, after: int, limit: int) -> list[StoredMessage]:
    """The next `limit` messages of all queues after rowid `after` (keyset, oldest first)."""
    return store.get_many(store.rowids_after(after, limit))


__all__ += ["ExportResult", "ImportResult", "export_ndjson_async",
            "import_ndjson_async"]
