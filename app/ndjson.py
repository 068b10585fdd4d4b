"""Export and import of queues as NDJSON (format: docs/NDJSON.md).

One JSON object per line, so a file can be streamed, grepped, cut with head/tail and
imported partially: a bad line is reported with its number and the rest still imports.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app import jsonmod
from app.store import MessageStore, StoredMessage, describe, queue_key

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
    queue = rec.get("queue")
    if queue is None:
        queue = queue_key(ns, event, args, direction)
    if not isinstance(queue, str) or not queue:
        raise ValueError('"queue" must be a non-empty string')
    m = describe(ns, event, args, direction, queue, ts=float(ts))
    for key in ("msg_id", "room", "user", "text", "error"):
        if key in rec:
            if rec[key] is not None and not isinstance(rec[key], str):
                raise ValueError(f'"{key}" must be a string')
            setattr(m, key, rec[key])
    if "offset" in rec:
        off = rec["offset"]
        if off is not None and (isinstance(off, bool) or not isinstance(off, int)):
            raise ValueError('"offset" must be an integer')
        m.offset = off if queue.startswith("room:") else None
    rec_flag = rec.get("recovered", False)
    if not isinstance(rec_flag, bool):
        raise ValueError('"recovered" must be true or false')
    m.recovered = rec_flag
    state = rec.get("state")
    if state is not None and not isinstance(state, str):
        raise ValueError('"state" must be a string')
    m.state = state if state in KEPT_STATES and queue.startswith("outbox:") else None
    return m


def parse_lines(lines: Iterator[str] | IO[str]) -> Iterator[tuple[int, StoredMessage | str]]:
    """Yield (line number, message) for good lines and (line number, error) for bad ones.

    Blank lines are skipped silently; line numbers start at 1.
    """
    for no, line in enumerate(lines, 1):
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
        except ValueError as exc:
            yield no, str(exc)


def read_ndjson(source: Path | str | IO[str]) -> tuple[list[StoredMessage],
                                                        list[tuple[int, str]]]:
    """All good records of a file and the bad lines (number, why)."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as fh:
            return read_ndjson(fh)
    good: list[StoredMessage] = []
    bad: list[tuple[int, str]] = []
    for no, item in parse_lines(source):
        if isinstance(item, str):
            bad.append((no, item))
        else:
            good.append(item)
    return good, bad


def import_ndjson(store: MessageStore, source: Path | str | IO[str],
                  batch: int = 10_000) -> ImportReport:
    """Import good lines (in big transactions), report bad ones with their number."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as fh:
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


__all__ = ["ImportReport", "dumps_line", "export_ndjson", "import_ndjson",
           "read_ndjson", "record_to_message"]
