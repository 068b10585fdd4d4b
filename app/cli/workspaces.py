"""The workspace commands: `workspaces` (the list, with what waits in each), `workspace
save | show | delete`, and `join` (a workspace from an invite).

What is printed never holds a secret (token, name-claim key, secret auth fields, the
invite itself); it says where they are kept instead, so nobody believes a secret is in
a keyring when it is in a file.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from app import jsonmod
from app.cli.common import EXIT_OK, CliError
from app.cli.folders import describe_waiting, peek
from app.cli.target import apply_flags, workspace_store
from app.invite import parse_invite
from app.workspace import Workspace, WorkspaceStore, from_invite

HIDDEN = "(hidden)"
#: header values that are credentials as often as not
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def cmd_workspaces(a: argparse.Namespace) -> int:
    """Every saved workspace, one line each: name, URL, user, what waits in its outbox."""
    store = workspace_store()
    rows: list[tuple[Workspace, Any]] = [(ws, peek(store.data_dir(ws)))
                                         for ws in store.saved()]
    if a.json:
        for ws, p in rows:
            print(jsonmod.dumps({
                "name": ws.name, "id": ws.id, "urls": ws.urls, "user": ws.user,
                "server": ws.server.value, "data_dir": str(store.data_dir(ws)),
                "waiting": p.waiting, "queued": p.queued, "sent": p.sent,
                "failed": p.failed, "readable": p.readable}), flush=True)
        return EXIT_OK
    if not rows:
        print("No workspaces yet: sockdesk-cli workspace save NAME --url URL, or "
              "sockdesk-cli join INVITE --user NAME.")
        return EXIT_OK
    table = [(ws.name, _address(ws), ws.user or "-", describe_waiting(p)) for ws, p in rows]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for name, url, user, waiting in table:
        print(f"{name:<{widths[0]}}  {url:<{widths[1]}}  {user:<{widths[2]}}  {waiting}")
    return EXIT_OK


def _address(ws: Workspace) -> str:
    if not ws.urls:
        return f"({ws.server.value}, started by SockDesk)"
    more = f" (+{len(ws.urls) - 1})" if len(ws.urls) > 1 else ""
    return ws.urls[0] + more


def cmd_workspace(a: argparse.Namespace) -> int:
    """`workspace save | show | delete NAME`."""
    store = workspace_store()
    if a.ws_command == "save":
        return _save(a, store)
    ws = store.get(a.name)
    if a.ws_command == "show":
        shown = masked(ws, store)
        if a.json:
            print(jsonmod.dumps(shown))
        else:
            for key, value in shown.items():
                text = value if isinstance(value, str) else jsonmod.dumps(value)
                print(f"{key + ':':<14}{text}")
        return EXIT_OK
    # delete
    data_dir = store.data_dir(ws)
    p = peek(data_dir)
    store.delete(ws)
    print(f"Deleted workspace {ws.name!r}. Its data folder {data_dir} was left in place"
          + (f"; {p.waiting} message(s) still wait there for {_address(ws)} (send them "
             f"with --data-dir {shlex.quote(str(data_dir))} --url URL, or remove the "
             "folder)." if p.waiting else
             "; remove it when you no longer need its messages."))
    return EXIT_OK


def _save(a: argparse.Namespace, store: WorkspaceStore) -> int:
    ws = store.find(a.name)
    created = ws is None
    if ws is None:
        ws = Workspace(name=a.name.strip())
    elif a.replace:
        ws = Workspace(name=ws.name, id=ws.id, created=ws.created, key=ws.key,
                       token=ws.token)
    apply_flags(ws, a)
    if not ws.urls and not ws.embedded:
        raise CliError(f"Workspace {ws.name!r} needs the server's address: --url URL.")
    store.save(ws)
    print(f"{'Saved new' if created else 'Updated'} workspace {ws.name!r}: "
          f"{_address(ws)}, user {ws.user or '(none)'}, namespaces "
          f"{','.join(ws.namespaces)}.")
    _tell_secrets(ws, store)
    print(f"Its messages are kept in {store.data_dir(ws)}.")
    _tell_usage(ws)
    return EXIT_OK


def cmd_join(a: argparse.Namespace) -> int:
    """Save the workspace an invite describes, with its own name-claim key."""
    if not a.user.strip():
        raise CliError("--user must name you on that server.")
    text = sys.stdin.readline() if a.invite == "-" else a.invite
    invite = parse_invite(text)
    ws = from_invite(invite, user=a.user, name=a.workspace)
    store = workspace_store()
    if store.find(ws.name) is not None:
        raise CliError(f"A workspace named {ws.name!r} exists already: name this one with "
                       f"--workspace NAME, or delete the old one (sockdesk-cli workspace "
                       f"delete {shlex.quote(ws.name)}).")
    store.save(ws)
    pinned = f", certificate pinned ({ws.tls.fingerprint[:16]}…)" if ws.tls.fingerprint \
        else ""
    print(f"Joined: saved workspace {ws.name!r} for {ws.user} at {ws.url} "
          f"(path {ws.path}{pinned}).")
    _tell_secrets(ws, store)
    _tell_usage(ws)
    return EXIT_OK


def _tell_secrets(ws: Workspace, store: WorkspaceStore) -> None:
    names = [n for n, v in (("token", ws.token), ("name-claim key", ws.key)) if v]
    names += [f"auth.{k}" for k in ws.secret_auth if k in ws.auth]
    if names:
        print(f"Its secrets ({', '.join(names)}) are kept {store.secrets_where}.")
    else:
        print("It has no secrets to keep.")


def _tell_usage(ws: Workspace) -> None:
    name = shlex.quote(ws.name)
    if "/chat" in ws.namespaces:
        example = "-n /chat message " + shlex.quote('{"room": "lobby", "text": "hello"}')
    else:
        example = f"-n {ws.namespaces[0] if ws.namespaces else '/'} EVENT [JSON ...]"
    print(f"Send with:    sockdesk-cli send -w {name} {example}")
    print(f"Listen with:  sockdesk-cli listen -w {name}"
          + (" --room lobby" if "/chat" in ws.namespaces else ""))


def masked(ws: Workspace, store: WorkspaceStore) -> dict[str, Any]:
    """The workspace as `workspace show` prints it: every setting, no secret."""
    auth = {k: (HIDDEN if k in ws.secret_auth else v) for k, v in ws.auth.items()}
    headers = {k: (HIDDEN if k.lower() in SECRET_HEADERS else v)
               for k, v in ws.headers.items()}
    p = peek(store.data_dir(ws))
    return {
        "name": ws.name, "urls": ws.urls, "path": ws.path, "namespaces": ws.namespaces,
        "user": ws.user, "token": HIDDEN if ws.token else None,
        "key": HIDDEN if ws.key else None, "auth": auth, "headers": headers,
        "query": ws.query, "transports": ws.transports, "ack_timeout": ws.ack_timeout,
        "delivery": ws.delivery.value, "parser": ws.parser,
        "tls": {"verify": ws.tls.verify, "ca_file": ws.tls.ca_file,
                "fingerprint": ws.tls.fingerprint},
        "server": ws.server.value, "secrets": store.secrets_where,
        "data_dir": str(store.data_dir(ws)), "outbox": describe_waiting(p),
        "id": ws.id,
    }

