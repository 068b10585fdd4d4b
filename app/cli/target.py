"""Which server a run talks to, how, and which data folder it uses.

A run starts from a saved workspace (`--workspace`) or from an empty one, and every
connection flag given on the command line is put over it, for that run only. `workspace
save` applies the very same flags and keeps the result, so a flag means one thing
whether it is saved or used once. Maps (`--header`, `--query`, `--auth`) are merged key
by key; lists (`--url`, `--namespaces`) are replaced.
"""

from __future__ import annotations

import argparse
import copy
import os
from dataclasses import dataclass
from pathlib import Path

from app.cli.common import CliError, kv, parse_json_arg
from app.config import ConnectionConfig, ReconnectPolicy
from app.errors import check_url
from app.paths import CLI_DIR_NAME, cli_data_dir, default_data_dir
from app.workspace import Delivery, Workspace, WorkspaceStore

#: the name of the unsaved workspace a run without --workspace is made of
COMMAND_LINE = "(command line)"
#: a CLI run is short: retry soon and often rather than the GUI's patient back-off
CLI_RECONNECT = ReconnectPolicy(delay=0.2, delay_max=2.0)


def workspace_store() -> WorkspaceStore:
    """The user's saved workspaces ($SOCKDESK_CONFIG_DIR / $SOCKDESK_DATA_DIR apply)."""
    return WorkspaceStore()


def apply_flags(ws: Workspace, a: argparse.Namespace) -> None:
    """Put every connection flag that was given into `ws`; flags not given leave what
    the workspace has. CliError for a value that cannot be used."""
    if a.url:
        ws.urls = list(dict.fromkeys(u.strip() for u in a.url))
    if a.path is not None:
        path = a.path.strip().strip("/")
        if not path:
            raise CliError("--path must name the Socket.IO path, e.g. /socket.io.")
        ws.path = "/" + path
    if a.namespaces is not None:
        ws.namespaces = list(a.namespaces)
    if a.user is not None:
        ws.user = a.user
    if a.token is not None:
        ws.token = a.token or None
    if a.auth is not None:
        try:
            value = parse_json_arg(a.auth, 0)
        except CliError:
            raise CliError(f"--auth is not valid JSON: {a.auth!r}.") from None
        if not isinstance(value, dict):
            raise CliError("--auth must be a JSON object, e.g. '{\"role\": \"admin\"}'.")
        ws.auth.update(value)
    for key in getattr(a, "secret_auth", None) or []:
        if key not in ws.auth:
            raise CliError(f"--secret-auth {key}: there is no auth field {key!r} "
                           "(give it with --auth).")
        if key not in ws.secret_auth:
            ws.secret_auth.append(key)
    try:
        ws.headers.update(kv(h, ":") for h in a.header or [])
        ws.query.update(kv(q, "=") for q in a.query or [])
    except argparse.ArgumentTypeError as exc:
        raise CliError(str(exc)) from None
    if a.transport is not None:
        ws.transports = ["websocket", "polling"] if a.transport == "both" else [a.transport]
    if a.fingerprint is not None:
        ws.tls.fingerprint = a.fingerprint or None
    if a.ca_file is not None:
        ws.tls.ca_file = str(Path(a.ca_file).expanduser().resolve()) if a.ca_file else None
    if a.insecure is not None:
        ws.tls.verify = not a.insecure
    if a.delivery is not None:
        ws.delivery = Delivery(a.delivery)
    if a.parser is not None:
        ws.parser = a.parser
    if a.ack_timeout is not None:
        ws.ack_timeout = a.ack_timeout


@dataclass
class Run:
    """A connecting command's server (the workspace with the flags applied), and its
    data folder."""

    ws: Workspace
    #: the saved workspace the run started from, if any
    saved: Workspace | None
    data_dir: Path
    #: --namespaces was given
    namespaces_flag: bool = False

    @property
    def namespaces_chosen(self) -> bool:
        """The namespaces came from somebody (a workspace or --namespaces), not from the
        empty workspace's default."""
        return self.saved is not None or self.namespaces_flag


def resolve_run(a: argparse.Namespace) -> Run:
    """The run's settings: `--workspace` (if given) with the flags over it. The data
    folder is --data-dir, else the workspace's own, else the CLI's folder for this
    server and user (`app.paths.cli_data_dir`)."""
    saved = workspace_store().get(a.workspace) if a.workspace else None
    ws = copy.deepcopy(saved) if saved else Workspace(name=COMMAND_LINE)
    apply_flags(ws, a)
    if not ws.urls:
        if saved is not None and saved.embedded:
            raise CliError(f"Workspace {saved.name!r} is a server SockDesk runs itself "
                           f"({saved.server.value}) and has no fixed address: start it in "
                           "SockDesk and give its address with --url.")
        if saved is not None:
            raise CliError(f"Workspace {saved.name!r} has no server URL: give one with "
                           "--url, or save one with sockdesk-cli workspace save.")
        raise CliError("Which server? Give --url URL, or --workspace NAME for a saved "
                       "one (sockdesk-cli workspaces lists them).")
    ws.validate()
    if a.data_dir:
        data_dir = Path(a.data_dir).expanduser()
    elif saved is not None:
        data_dir = workspace_store().data_dir(saved)
    else:
        data_dir = cli_data_dir(ws.urls[0], ws.user)
    return Run(ws=ws, saved=saved, data_dir=data_dir,
               namespaces_flag=a.namespaces is not None)


def run_config(run: Run, a: argparse.Namespace, namespaces: list[str]) -> ConnectionConfig:
    """The session's settings for this run: the workspace's, with the run-only options
    (namespaces used, acks, window, how long to try)."""
    cfg = run.ws.connection_config()
    cfg.namespaces = list(namespaces)
    cfg.reconnect = ReconnectPolicy(**vars(CLI_RECONNECT))
    cfg.no_ack = a.no_ack
    cfg.window = a.window
    cfg.connect_timeout = 5.0 if a.wait is None else 10.0
    return cfg


def data_only_folder(a: argparse.Namespace) -> Path | None:
    """The folder of a command that needs no connection (queues, export, import):
    --data-dir, else the workspace's, else the CLI's folder for --url and --user; None
    when none of them was given (the caller lists the folders there are)."""
    if a.data_dir:
        return Path(a.data_dir).expanduser()
    if a.workspace:
        store = workspace_store()
        return store.data_dir(store.get(a.workspace))
    if a.url:
        bad = check_url(a.url[0])
        if bad:
            raise CliError(bad)
        path = cli_data_dir(a.url[0], a.user)
        private_parents(path)
        return path
    return None


def private_parents(folder: Path) -> None:
    """Create the data root and its `cli` folder readable only by the user when they do
    not exist yet (folder names say which servers and users there are). Existing ones
    are left as the user set them; a folder elsewhere (--data-dir, a workspace's) is
    not the CLI's to prepare."""
    root = default_data_dir()
    if folder.parent != root / CLI_DIR_NAME:
        return
    for path in (root, folder.parent):
        if not path.exists():
            try:
                path.mkdir(parents=True, mode=0o700)
                os.chmod(path, 0o700)
            except OSError:
                return  # the folder itself will fail to be created, with a clear sentence
