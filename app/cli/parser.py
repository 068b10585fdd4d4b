"""The argparse tree of `sockdesk-cli` (exposed for tests and for --help).

Connection flags default to None, so a run can tell "not given" (keep the workspace's
value) from "given" (override it for this run)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from app.cli.common import EXIT_ERROR, PROG, ns, ns_list, positive_factor, positive_float
from app.paths import CLI_DIR_NAME, default_data_dir
from app.workspace import Delivery

EPILOG = """\
Where messages are kept: --workspace NAME uses the workspace's own data folder; without
it the CLI keeps one folder per server and user (under {cli_root}), so a
message written for one server is never flushed to another. --data-dir DIR chooses a
folder yourself; a run for another server is refused while messages wait there.

Exit codes: 0 done, 1 some messages failed or some import lines were bad, 2 usage,
connection or storage error, 3 --wait timed out (what was not sent stays queued)."""


BINARY_HELP = """\
Binary: an object {"$binary": "BASE64"} (that one key only) is sent as real Socket.IO
binary (a Buffer on a Node server), alone or nested in objects and arrays."""


class Parser(argparse.ArgumentParser):
    """argparse with the CLI's rule for errors: one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{PROG}: {message} (see {self.prog} --help)\n")


def _workspace(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--workspace", "-w", metavar="NAME", default=None,
                    help="a saved workspace: its server, settings and data folder "
                         "(flags given here override its values for this run)")


def _data_dir(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                    help="keep the outbox and store in DIR (default: the workspace's "
                         "folder, or one per server and user under $SOCKDESK_DATA_DIR)")


def server_flags(sp: argparse.ArgumentParser, title: str) -> None:
    """Everything a workspace holds, as flags (the same for runs and `workspace save`)."""
    g = sp.add_argument_group(title)
    g.add_argument("--url", action="append", default=None, metavar="URL",
                   help="server URL, http(s)://host:port; repeat it to list addresses "
                        "of one server to fail over between, in order")
    g.add_argument("--path", default=None, metavar="PATH",
                   help="the server's Socket.IO path (default /socket.io), "
                        "e.g. /ws/socket.io")
    g.add_argument("--namespaces", type=ns_list, default=None, metavar="NS,NS",
                   help="namespaces, comma separated, e.g. /chat,/queue")
    g.add_argument("--user", "-u", default=None, help="your user name (auth.user)")
    g.add_argument("--token", default=None,
                   help="shared secret, sent as auth.token (never printed)")
    g.add_argument("--auth", default=None, metavar="JSON",
                   help="more auth fields, a JSON object (merged key by key)")
    g.add_argument("--header", action="append", default=None, metavar="NAME:VALUE",
                   help="an HTTP header for the handshake (repeatable)")
    g.add_argument("--query", action="append", default=None, metavar="KEY=VALUE",
                   help="a query parameter for the handshake (repeatable)")
    g.add_argument("--transport", choices=("websocket", "polling", "both"), default=None,
                   help="transports to use (default both: polling, then upgrade)")
    g.add_argument("--fingerprint", default=None, metavar="SHA256",
                   help="pin the server's TLS certificate by its SHA-256 (64 hex digits, "
                        "colons allowed): that certificate only, self-signed or not")
    g.add_argument("--ca-file", default=None, metavar="FILE",
                   help="check the server's certificate against the CAs in FILE")
    g.add_argument("--insecure", action=argparse.BooleanOptionalAction, default=None,
                   help="accept any TLS certificate (a test server of your own only); "
                        "--no-insecure checks certificates again")
    g.add_argument("--delivery", choices=[d.value for d in Delivery], default=None,
                   help="when an ack does not come: auto (resend only where the server "
                        "drops duplicates), once, until_acked")
    g.add_argument("--parser", choices=("default", "msgpack"), default=None,
                   help="the server's Socket.IO parser (default: JSON)")
    g.add_argument("--ack-timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="how long to wait for an ack (default 10)")


def _connecting(sp: argparse.ArgumentParser, ns_help: str) -> None:
    _workspace(sp)
    _data_dir(sp)
    server_flags(sp, "server and connection (override the workspace's values)")
    g = sp.add_argument_group("this run")
    g.add_argument("--namespace", "-n", type=ns, default=None, help=ns_help)
    g.add_argument("--no-ack", action="store_true",
                   help="do not ask for acks: a message is done once written")
    g.add_argument("--window", type=int, default=32, help="messages in flight (default 32)")
    g.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait until everything pending is acked (exit 3 on timeout)")


def _data_only(sp: argparse.ArgumentParser) -> None:
    _workspace(sp)
    _data_dir(sp)
    sp.add_argument("--url", action="append", default=None, metavar="URL",
                    help="the CLI's folder for this server (with --user, as it was sent)")
    sp.add_argument("--user", "-u", default=None)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    epilog = EPILOG.format(cli_root=default_data_dir() / CLI_DIR_NAME)
    p = Parser(prog=PROG, description="SockDesk client core, headless.", epilog=epilog,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("send", help="enqueue an event durably, then flush",
                        description="Enqueue an event durably, send it, and print what "
                                    "happened to it: acked with the server's ack "
                                    "arguments, no ack, or failed and why.",
                        epilog=BINARY_HELP)
    _connecting(sp, "namespace to send to (default: the first of the workspace's or "
                    "--namespaces)")
    sp.add_argument("event")
    sp.add_argument("json", nargs="*", help="arguments, each one JSON value (binary as "
                                            '{"$binary": "BASE64"})')
    sp.add_argument("--json", dest="as_json", action="store_true",
                    help="print one NDJSON record per message (the export format, with "
                         "state, reply and error) instead of the outcome lines")

    sp = sub.add_parser("flush", help="send what is queued")
    _connecting(sp, "flush only this namespace (default: every one with messages)")

    sp = sub.add_parser("listen", help="print received events as NDJSON")
    _connecting(sp, "listen to this namespace only (default: the workspace's or "
                    "--namespaces)")
    sp.add_argument("--room", action="append", default=[], help="join a /chat room")
    sp.add_argument("--count", type=int, default=None, help="exit after N events")
    acks = sp.add_mutually_exclusive_group()
    acks.add_argument("--ack-reply", action="append", default=None, metavar="JSON",
                      help="answer every ack request of the server with this JSON value "
                           "(repeat it to answer with several arguments; default: the "
                           'workspace\'s ack rules, {"ok": true} unless set otherwise)')
    acks.add_argument("--ack-hold", action="store_true",
                      help="never answer the server's ack requests (its timeout fires)")

    sp = sub.add_parser("replay", help="re-emit an NDJSON file through the outbox")
    _connecting(sp, "send everything to this namespace (default: each record's own)")
    sp.add_argument("file", type=Path)
    sp.add_argument("--event", default=None)
    sp.add_argument("--room", default=None)
    sp.add_argument("--speed", type=positive_factor, default=None,
                    help="connect first, then keep the captured spacing between "
                         "emits, divided by this (2 = twice as fast)")

    sp = sub.add_parser("queues", help="depth, sent, acked, failed per queue")
    _data_only(sp)
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("export", help="write queues as NDJSON")
    _data_only(sp)
    sp.add_argument("--queue", default=None)
    sp.add_argument("--output", "-o", type=Path, default=None)

    sp = sub.add_parser("import", help="read NDJSON into the store")
    _data_only(sp)
    sp.add_argument("file", type=Path)

    sp = sub.add_parser("workspaces", help="list saved workspaces and what waits in each")
    sp.add_argument("--json", action="store_true", help="one JSON object per line")

    sp = sub.add_parser("workspace", help="save, show or delete a workspace")
    wsub = sp.add_subparsers(dest="ws_command", required=True, metavar="ACTION")
    w = wsub.add_parser("save", help="create a workspace, or change the one of that name",
                        description="Create a workspace from the flags, or change the "
                                    "saved one: flags not given keep their saved values.")
    w.add_argument("name", metavar="NAME")
    server_flags(w, "server and connection")
    w.add_argument("--secret-auth", action="append", default=None, metavar="KEY",
                   help="an --auth field that is a secret (kept like the token)")
    w.add_argument("--replace", action="store_true",
                   help="forget saved settings not given now (keeps the data folder, "
                        "the name-claim key and, unless given, the token)")
    w = wsub.add_parser("show", help="print a workspace (secrets masked)")
    w.add_argument("name", metavar="NAME")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("delete", help="forget a workspace (its data folder stays)")
    w.add_argument("name", metavar="NAME")

    sp = sub.add_parser("join", help="save a workspace from an invite",
                        description="Save the workspace an invite (sockdesk://join?...) "
                                    "describes, with a name-claim key of its own.")
    sp.add_argument("invite", metavar="INVITE",
                    help="the invite line, or - to read it from standard input (keeps "
                         "its token out of the process list)")
    sp.add_argument("--user", "-u", required=True, help="your user name on that server")
    sp.add_argument("--workspace", "-w", metavar="NAME", default=None,
                    help="name the workspace (default: the name the invite gives)")
    return p
