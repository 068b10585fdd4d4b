"""Imports and exports of the Queues tab, with their progress strip and Cancel button.

An import reads an NDJSON file into the session's store in small batches (bad lines are
listed by number in a ``ProblemsDialog``, good ones imported); an export writes the
selected messages, the selected queue or every queue, beside the target and renamed when
complete, so a cancelled export leaves no file. A server work queue is not in the store:
its export is what the last peek loaded, as ``app.ndjson.peek_record`` lines.

The work is app/ndjson.py's (it awaits between batches, so the window keeps painting);
this module picks the files, shows progress, and reports. It owns no widget: the header's
buttons and the progress strip (ui/inspector/status.py) are driven through their methods.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.workspace import slug
from ui.inspector.detail import ProblemsDialog
from ui.inspector.messages import MessagePane
from ui.inspector.status import ProgressStrip, QueuesHeader
from ui.text import escape_controls, human_size

if TYPE_CHECKING:
    from app.inspector import QueueRow
    from app.ndjson import ExportResult, ImportResult
    from ui.inspector.host import InspectorHost
    from ui.inspector.models import MessageRow


class TransferController(QObject):
    """Import into the store, export a selection or a queue; one file at a time."""

    import_finished = Signal(object)   # app.ndjson.ImportResult
    export_finished = Signal(object)   # app.ndjson.ExportResult
    stored = Signal()                  # an import added rows: refresh the list of queues

    def __init__(self, host: InspectorHost, view: QWidget, header: QueuesHeader,
                 messages: MessagePane, progress: ProgressStrip) -> None:
        """`view` is the tab: it parents the dialogs (and this controller)."""
        super().__init__(view)
        self.host = host
        self.view = view
        self.header = header
        self.messages = messages
        self.progress_strip = progress
        self.problems: ProblemsDialog | None = None
        self.last_import: ImportResult | None = None
        self.last_export: ExportResult | None = None
        self._cancel = False
        header.import_requested.connect(self.choose_import)
        header.export_requested.connect(self.choose_export)
        progress.cancel_requested.connect(self.cancel_work)

    # -- choosing a file ----------------------------------------------------------------------
    def choose_import(self) -> QFileDialog:
        dlg = QFileDialog(self.view, "Import NDJSON", str(Path.home()),
                          "NDJSON (*.ndjson *.jsonl *.json);;All files (*)")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(lambda p: self.host.spawn(self.import_file(Path(p))))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def choose_export(self) -> QFileDialog:
        q = self.messages.queue
        # "order · /orders" is saved as order-orders.ndjson
        name = slug(q.label.strip("#@ ")) if q else "queues"
        dlg = QFileDialog(self.view, "Export NDJSON", str(Path.home() / f"{name}.ndjson"),
                          "NDJSON (*.ndjson *.jsonl);;All files (*)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("ndjson")
        dlg.fileSelected.connect(lambda p: self.host.spawn(self.export_file(Path(p))))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    # -- progress -----------------------------------------------------------------------------
    def _start_work(self, label: str) -> None:
        self._cancel = False
        self.progress_strip.start(label)
        self.header.set_transfers_enabled(False)

    def _end_work(self) -> None:
        if shiboken6.isValid(self):
            self.progress_strip.finish()
            self.header.set_transfers_enabled(True)

    def _progress(self, done: int, total: int) -> None:
        if shiboken6.isValid(self.progress_strip):
            self.progress_strip.set_progress(done, total)

    def cancel_work(self) -> None:
        """Stop the running import or export after its current batch."""
        self._cancel = True

    # -- import and export --------------------------------------------------------------------
    async def import_file(self, path: Path) -> ImportResult | None:
        """Import an NDJSON file in small batches; bad lines are listed by number."""
        from app.ndjson import import_ndjson_async

        s = self.host.session
        if s is None:
            self.host.show_error("Open a connection first: imports go into its store")
            return None
        self._start_work(f"Importing {path.name}…")
        try:
            result = await import_ndjson_async(s.store, path, progress=self._progress,
                                               cancelled=lambda: self._cancel)
        except OSError as exc:
            self.host.show_error(f"Could not read {path}: {exc.strerror or exc}")
            return None
        finally:
            self._end_work()
        self.last_import = result
        summary = (f"Imported {result.imported:,} message(s) from {path.name}"
                   + (f", {result.duplicates:,} duplicate(s) skipped" if result.duplicates
                      else "")
                   + (f"; {len(result.errors):,} bad line(s) skipped" if result.errors
                      else "")
                   + ("; stopped by you" if result.cancelled else "") + ".")
        self.host.show_info(summary)
        if result.errors and shiboken6.isValid(self):
            self.problems = ProblemsDialog("Import: bad lines", summary, result.errors,
                                           self.view, name=path.name)
            self.problems.finished.connect(self.problems.deleteLater)
            self.problems.open()
        if shiboken6.isValid(self):
            self.stored.emit()
            self.import_finished.emit(result)
        return result

    async def export_file(self, path: Path, whole_queue: bool | None = None
                          ) -> ExportResult | None:
        """Export the selected messages, or the selected queue, or everything."""
        from app.ndjson import ExportResult, export_ndjson_async

        s = self.host.session
        if s is None:
            self.host.show_error("Open a connection first")
            return None
        q = self.messages.queue
        rows = self.messages.selected_rows()
        use_rows = bool(rows) and len(rows) > 1 if whole_queue is None else not whole_queue
        self._start_work(f"Exporting to {path.name}…")
        try:
            if q is not None and q.is_server:
                result = await self._export_peek(path, q, rows if use_rows else
                                                 self.messages.loaded_rows())
            else:
                result = await export_ndjson_async(
                    s.store, path, q.key if q is not None else None,
                    rowids=[r.key for r in rows] if use_rows else None,
                    progress=self._progress, cancelled=lambda: self._cancel)
        except OSError as exc:
            self.host.show_error(f"Could not write {path}: {exc.strerror or exc}")
            return ExportResult(path=path)
        finally:
            self._end_work()
        self.last_export = result
        if result.cancelled:
            self.host.show_info("Export cancelled; no file was written")
        else:
            size = human_size(path.stat().st_size) if path.exists() else ""
            self.host.show_info(f"Exported {result.count:,} message(s) to "
                                f"{escape_controls(str(path))} ({size})")
        if shiboken6.isValid(self):
            self.export_finished.emit(result)
        return result

    async def _export_peek(self, path: Path, q: QueueRow,
                           rows: list[MessageRow]) -> ExportResult:
        from app import jsonmod
        from app.ndjson import ExportResult, peek_record

        name = q.work_queue or ""
        lines = [jsonmod.dumps(peek_record(name, r.source if isinstance(r.source, dict)
                                           else {}, r.ts, r.msg_id)) + "\n" for r in rows]

        def write() -> None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.writelines(lines)

        await asyncio.get_running_loop().run_in_executor(None, write)
        return ExportResult(count=len(lines), path=path)
