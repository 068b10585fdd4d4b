"""`sockdesk-cli` (= `python -m app`): the client core without a window.

Scripts and tests drive the same Session, outbox and store as the GUI, and the same saved
workspaces. Exit codes:
0 done, 1 some messages failed or some import lines were bad, 2 usage, connection or
storage error (bad URL, refused, unknown namespace, invalid JSON, an unknown workspace or
a bad invite; a data folder or database that cannot be used: the message was not
accepted and the file is left as it was; messages waiting in a data folder for another
server than the one asked for: nothing is sent), 3 --wait timed out (what was not sent
stays queued for the next run). Every error is one line on stderr.

Modules: `parser` (the argparse tree), `target` (workspace + flags -> server and data
folder), `folders` (what waits in a folder, and for which server), `commands` (the
message commands), `workspaces` (workspaces, workspace, join).
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sqlite3
from pathlib import Path

from app import db as dbmod
from app.cli.commands import (
    cmd_export,
    cmd_flush,
    cmd_import,
    cmd_listen,
    cmd_queues,
    cmd_replay,
    cmd_send,
)
from app.cli.common import EXIT_ERROR, EXIT_OK, CliError, err, parse_json_arg
from app.cli.folders import describe_waiting, known_folders
from app.cli.parser import build_parser
from app.cli.target import data_only_folder, workspace_store
from app.cli.workspaces import cmd_join, cmd_workspace, cmd_workspaces
from app.errors import SessionError
from app.invite import InviteError
from app.paths import db_path, default_data_dir
from app.workspace import WorkspaceError

__all__ = ["CliError", "build_parser", "main", "parse_json_arg"]

CONNECTING = {"send": cmd_send, "flush": cmd_flush, "listen": cmd_listen,
              "replay": cmd_replay}
DATA_ONLY = {"queues": cmd_queues, "export": cmd_export, "import": cmd_import}


def _no_folder(command: str) -> int:
    """A data-only command with no folder named: say which folders there are (stdout)
    and what to give (one line, stderr)."""
    root = default_data_dir()
    found = list(known_folders(root, workspace_store()))
    if found:
        width = max(len(f.options) for f in found)
        for f in found:
            note = f"  ({f.note})" if f.note else ""
            print(f"{f.options:<{width}}  {describe_waiting(f.peek):<12}  {f.path}{note}")
    err(f"{command} needs a data folder: --workspace NAME, --data-dir DIR or --url URL "
        f"[--user NAME]; " + ("the existing data folders are listed above." if found else
                              f"there is none yet under {shlex.quote(str(root))}."))
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point of `sockdesk-cli` and `python -m app`."""
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    data_dir: Path | None = None
    try:
        if a.command in CONNECTING:
            return asyncio.run(CONNECTING[a.command](a))
        if a.command in DATA_ONLY:
            data_dir = data_only_folder(a)
            if data_dir is None:
                return _no_folder(a.command)
            return DATA_ONLY[a.command](a, data_dir)
        if a.command == "workspaces":
            return cmd_workspaces(a)
        if a.command == "workspace":
            return cmd_workspace(a)
        if a.command == "join":
            return cmd_join(a)
    except (CliError, SessionError, WorkspaceError, InviteError) as exc:
        # StorageError included: one line, exit 2
        err(str(exc))
        return EXIT_ERROR
    except sqlite3.Error as exc:  # the database failed mid-run (disk full, locked, ...)
        err(dbmod.explain(db_path(data_dir or Path(getattr(a, "data_dir", None) or ".")),
                          exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    parser.error(f"unknown command {a.command}")
    return EXIT_ERROR
