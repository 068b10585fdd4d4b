"""``sockdesk-server`` / ``python -m server_stub``: parse options, run until told to stop.

The first line on stdout is always ``Listening on http://HOST:PORT`` (``https://`` with
TLS; the real port when ``--port 0``), flushed at once: the desktop app and the tests
start the server as a child process and read that line to know where to connect. With a
token, ``Invite: ...`` follows it; with TLS, ``Certificate SHA-256: ...``. Everything
else goes to stderr, and only after those lines, so nothing can get in front of them.

``sockdesk-server release-name NAME`` edits the storage a server uses (also while that
server runs) instead of starting one; ``sockdesk-server fetch-client`` downloads and
caches the socket.io browser client the server serves, for a server that will run
without internet access.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import logging.handlers
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import server_stub
from server_stub.invite import (
    build_invite,
    default_name,
    is_unspecified,
    lan_address,
    reachable_host,
)
from server_stub.paths import default_db_path, ensure_private_dir
from server_stub.ratelimit import DEFAULT_OVERLOAD_LAG
from server_stub.scaleout.redislink import RedisLink, redacted
from server_stub.server import (
    ServerConfig,
    SockDeskServer,
    StartupError,
    display_url,
    is_loopback,
)
from server_stub.storage import StorageError, redisstore, sqlite
from server_stub.tls import TlsError, TlsFiles, self_signed, subject_names
from server_stub.transport.engine import EngineOptions
from server_stub.transport.eventloop import CHOICES as LOOP_CHOICES
from server_stub.transport.eventloop import EventLoopError, loop_factory
from server_stub.transport.sendqueue import DEFAULT_MAX_BYTES, DEFAULT_MAX_PACKETS
from server_stub.validation import USER_RE, USER_RULE
from server_stub.web.client_bundle import BundleError, ClientBundle

PROG = "sockdesk-server"
#: Namespaces with handlers of their own: never a sandbox, so --echo cannot name them.
RESERVED_NAMESPACES = frozenset({"/chat", "/queue", "/admin"})
TOKEN_ENV = "SOCKDESK_SERVER_TOKEN"
log = logging.getLogger("server_stub")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0-65535 (0 picks a free port)")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _redis_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise argparse.ArgumentTypeError(
            "must be a redis://HOST:PORT/DB URL (or rediss:// for TLS, unix:// for a socket)")
    if parts.scheme != "unix" and not parts.hostname:
        raise argparse.ArgumentTypeError("needs a host, e.g. redis://127.0.0.1:6379/0")
    return text


def _user_name(text: str) -> str:
    if not USER_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a user name of {USER_RULE}")
    return text


def _echo_namespace(text: str) -> str:
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError("must be a namespace starting with '/', e.g. /lab")
    if text in RESERVED_NAMESPACES:
        raise argparse.ArgumentTypeError(f"{text} is not a sandbox namespace")
    return text


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return path


def _workspace_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _attempts(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The bundled SockDesk Socket.IO server: /chat rooms, /queue work "
                    "queues, and a relay sandbox on every other namespace.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {server_stub.__version__}")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; anything else exposes the "
                             "server to the network, use --token then)")
    parser.add_argument("--port", type=_port, default=5000,
                        help="port to bind (default 5000; 0 picks a free one)")
    parser.add_argument("--db", type=Path, default=None,
                        help="SQLite database file (default: the per-user data folder, "
                             f"e.g. {default_db_path()})")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None,
                        help="shared secret every client must send as auth.token "
                             f"(default: ${TOKEN_ENV}, which keeps it out of process lists)")
    parser.add_argument("--admin", action="store_true",
                        help="enable the Socket.IO Admin UI (https://admin.socket.io); user "
                             "'admin', password = the token")
    parser.add_argument("--log-level", default="warning",
                        choices=["debug", "info", "warning", "error", "critical"],
                        help="logging detail on stderr (default warning)")
    parser.add_argument("--event-loop", choices=LOOP_CHOICES, default="auto",
                        help="asyncio event loop: uvloop is faster, auto uses it when it is "
                             "installed (default auto)")
    parser.add_argument("--redis", metavar="URL", type=_redis_url, default=None,
                        help="keep all state in Redis (redis://HOST:PORT/DB) instead of "
                             "SQLite, so several server processes on that database can "
                             "serve the same clients; --db is then not used")
    parser.add_argument("--node-timeout", type=_positive, default=10.0, metavar="SECONDS",
                        help="with --redis: a server process silent this long counts as "
                             "dead, and the others clean up after it (default 10)")
    parser.add_argument("--rate-limit", type=_positive, default=None, metavar="N",
                        help="max events per second per socket (default: unlimited)")
    parser.add_argument("--cors-origins", action="append", default=[], metavar="ORIGINS",
                        help="extra browser origins allowed to connect, comma separated or "
                             "repeated; '*' allows any (default: same origin only)")
    parser.add_argument("--visibility-timeout", type=_positive, default=30.0,
                        metavar="SECONDS",
                        help="seconds a delivered queue message may stay unacked before it "
                             "is given to another consumer (default 30)")
    parser.add_argument("--max-attempts", type=_attempts, default=5, metavar="N",
                        help="deliveries of a queue message before it moves to <queue>.dead "
                             "(default 5)")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS/WSS with a self-signed certificate made on first "
                             "use and kept in the tls folder beside the database")
    parser.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                        help="serve HTTPS/WSS with this PEM certificate (chain) instead of "
                             "the self-signed one; needs --tls-key")
    parser.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                        help="the PEM private key of --tls-cert")
    parser.add_argument("--name", type=_workspace_name, default=None,
                        help="workspace name in the invite printed with --token "
                             f"(default: '{default_name()}')")
    parser.add_argument("--allow-guests", action="store_true",
                        help="with --token: admit connections without auth to sandbox "
                             "namespaces anyway, under a guest name (guest-4f2a); /chat "
                             "and /queue still need the token")
    parser.add_argument("--echo", action="append", default=[], type=_echo_namespace,
                        metavar="NS",
                        help="relay events on this sandbox namespace to everyone, the "
                             "sender included, like io.emit in the socket.io tutorial "
                             "(repeatable; default: everyone but the sender)")
    parser.add_argument("--static", type=_folder, default=None, metavar="DIR",
                        help="serve the files of DIR at /static/ (for pages that call io() "
                             "with no URL and so must come from this server)")
    add_engine_options(parser)
    add_load_options(parser)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND",
        description="without a command the server runs; with one it does that and exits")
    release = commands.add_parser(
        "release-name", help="remove the claim on a user name",
        description="Remove the claim on a user name, so the next connection under it "
                    "needs no key (and may claim it anew). Works while a server runs.")
    release.add_argument("user", type=_user_name, metavar="NAME", help="the user name")
    # Own destinations: a subparser's defaults would overwrite the server's --db/--redis.
    release.add_argument("--db", dest="release_db", type=Path, default=None,
                         help="SQLite database of the server (default: the per-user data "
                              "folder's)")
    release.add_argument("--redis", dest="release_redis", metavar="URL", type=_redis_url,
                         default=None, help="the Redis of servers started with --redis")
    fetch = commands.add_parser(
        "fetch-client", help="download and cache the socket.io browser client",
        description="Download the socket.io browser client the server serves at "
                    "/socket.io/socket.io.js from the npm registry, check it against the "
                    "pinned checksum and cache it, so a server without internet access "
                    "can serve it. Exit 1 when it cannot be had.")
    fetch.add_argument("--cache", dest="client_cache", type=Path, default=None,
                       help="cache folder (default: $SOCKDESK_CLIENT_CACHE or the per-user "
                            "cache folder)")
    return parser


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds, 0 or more")
    return value


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Engine.IO timing, named and defaulted as the Node server's options."""
    defaults = EngineOptions()
    parser.add_argument("--ping-interval", type=_positive, default=defaults.ping_interval,
                        metavar="SECONDS", help="time between the server's pings "
                        "(default %(default)s)")
    parser.add_argument("--ping-timeout", type=_positive, default=defaults.ping_timeout,
                        metavar="SECONDS", help="a ping unanswered this long closes the "
                        "connection (default %(default)s)")
    parser.add_argument("--connect-timeout", type=_not_negative,
                        default=defaults.connect_timeout, metavar="SECONDS",
                        help="a connection that joined no namespace this long after its "
                        "handshake is closed; 0: never (default %(default)s)")


def engine_options(args: argparse.Namespace) -> EngineOptions:
    return EngineOptions(ping_interval=args.ping_interval, ping_timeout=args.ping_timeout,
                         connect_timeout=args.connect_timeout)


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _lag(text: str) -> float | None:
    if text.lower() in ("off", "none", "0"):
        return None
    return _positive(text)


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """Slow consumers and overload (docs/PROTOCOL.md, "Slow consumers and overload")."""
    parser.add_argument("--send-queue-bytes", type=_count, default=DEFAULT_MAX_BYTES,
                        metavar="N",
                        help="bytes that may wait to be written to one connection; a "
                             "connection over it is closed as a slow consumer (default "
                             f"{DEFAULT_MAX_BYTES}, 8 MiB)")
    parser.add_argument("--send-queue-packets", type=_count, default=DEFAULT_MAX_PACKETS,
                        metavar="N",
                        help="packets that may wait to be written to one connection "
                             f"(default {DEFAULT_MAX_PACKETS})")
    parser.add_argument("--overload-lag", type=_lag, default=DEFAULT_OVERLOAD_LAG,
                        metavar="SECONDS",
                        help="refuse new messages with rate_limited while the server runs "
                             "this late (event-loop delay); 'off' never refuses (default "
                             f"{DEFAULT_OVERLOAD_LAG})")


def load_config(args: argparse.Namespace) -> dict[str, int | float | None]:
    """The ServerConfig fields of :func:`add_load_options`."""
    return {"send_queue_bytes": args.send_queue_bytes,
            "send_queue_packets": args.send_queue_packets,
            "overload_lag": args.overload_lag}


def _origins(values: list[str]) -> list[str]:
    return [o.strip() for value in values for o in value.split(",") if o.strip()]


#: The value of a "token" or "password" field in a logged packet (JSON) or dict (repr).
_SECRET_FIELD = re.compile(
    r"""(["']?(?:token|password)["']?\s*:\s*)"""
    r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^\s,}\]]+)""", re.IGNORECASE)


class RedactSecret(logging.Filter):
    """Masks the token wherever it would appear in a log line. Our own code never logs
    it, but at debug level python-socketio/engineio log raw packets, auth included.

    Every auth `token` / `password` value is masked too, not just the right one: a
    mistyped token (one character off, wrong case) would otherwise reveal the real one.
    """

    def __init__(self, secret: str | None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET_FIELD.sub(r"\1'***'", message)
        if self.secret:
            masked = masked.replace(self.secret, "***")
        if masked != message:
            record.msg = masked
            record.args = None
        return True


class LogSetup:
    """Logging to stderr that holds every record back until the "Listening on" line is
    out, so even at debug level nothing gets in front of that line when a parent process
    reads stdout and stderr as one stream."""

    def __init__(self, level: str, token: str | None) -> None:
        self.stream = logging.StreamHandler(sys.stderr)
        self.stream.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.stream.addFilter(RedactSecret(token))
        self.held: logging.handlers.MemoryHandler | None = logging.handlers.MemoryHandler(
            capacity=100_000, flushLevel=logging.CRITICAL + 1, target=self.stream)
        root = logging.getLogger()
        root.setLevel(getattr(logging, level.upper()))
        root.addHandler(self.held)
        quiet = max(logging.WARNING, getattr(logging, level.upper()))
        if level != "debug":
            # aiohttp and the socket.io libraries are chatty; their errors still show.
            for name in ("aiohttp", "socketio", "engineio"):
                logging.getLogger(name).setLevel(quiet)

    def release(self) -> None:
        """Write what was held and log directly from now on."""
        if self.held is None:
            return
        root = logging.getLogger()
        self.held.flush()
        root.removeHandler(self.held)
        root.addHandler(self.stream)
        self.held.close()
        self.held = None


#: How long a busy thread may keep the GIL (Python's default is 5 ms): the SQLite writer
#: thread finishing a commit waits for it, with every message of that batch (B2's p99).
GIL_SWITCH_INTERVAL = 0.0005


def main(argv: Sequence[str] | None = None) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "release-name":
        if args.release_db and args.release_redis:
            parser.error("release-name takes --db or --redis, not both")
        return release_name(args.user, args.release_db, args.release_redis)
    if args.command == "fetch-client":
        return fetch_client(args.client_cache)
    if args.admin and not args.token:
        parser.error("--admin needs --token: the token is the Admin UI password")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    logs = LogSetup(args.log_level, args.token)
    self_signed_tls = args.tls and args.tls_cert is None
    try:
        db = args.db
        if db is None:
            db = default_db_path()
            if not args.redis or self_signed_tls:
                ensure_private_dir(db.parent)
    except OSError as exc:
        print(f"{PROG}: error: cannot create the data folder {exc.filename}: {exc.strerror}",
              file=sys.stderr)
        return 1
    tls = None
    if args.tls_cert is not None:
        tls = TlsFiles(args.tls_cert, args.tls_key)
    elif self_signed_tls:
        lan = lan_address() if is_unspecified(args.host) else None
        try:
            tls = self_signed(db.parent / "tls",
                              subject_names(args.host, extra=(lan,) if lan else ()))
        except TlsError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 1
    config = ServerConfig(
        host=args.host, port=args.port, db=db, token=args.token, admin=args.admin,
        cors_origins=_origins(args.cors_origins), rate_limit=args.rate_limit,
        visibility_timeout=args.visibility_timeout, max_attempts=args.max_attempts,
        redis_url=args.redis, node_timeout=args.node_timeout, tls=tls,
        allow_guests=args.allow_guests, echo=args.echo, static_dir=args.static,
        engine=engine_options(args), **load_config(args))  # type: ignore[arg-type]
    try:
        loop_name, new_loop = loop_factory(args.event_loop)
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(serve(config, on_listening=logs.release, loop_name=loop_name,
                             name=args.name))
    except (StartupError, EventLoopError) as exc:
        logs.release()
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # platforms without loop signal handlers
        pass
    finally:
        logs.release()
    return 0


def release_name(user: str, db: Path | None, redis_url: str | None) -> int:
    """``release-name``: remove a claim, say so; exit 1 when there was none."""
    where = redacted(redis_url) if redis_url else str(db or default_db_path())
    try:
        if redis_url:
            released = asyncio.run(_release_in_redis(redis_url, user))
        else:
            released = sqlite.release_name(db or default_db_path(), user)
    except StorageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    if not released:
        print(f"{PROG}: error: the name {user} has no claim in {where}", file=sys.stderr)
        return 1
    print(f"Released the name {user} in {where}: the next connection under it needs no "
          "key and may claim it again.", flush=True)
    return 0


def fetch_client(cache: Path | None) -> int:
    """``fetch-client``: the verified tarball in the cache, or one error line."""
    bundle = ClientBundle(cache_dir=cache)
    try:
        asyncio.run(bundle.get())
    except BundleError as exc:
        print(f"{PROG}: error: {exc}; download it elsewhere and put it at "
              f"{bundle.cache_path}", file=sys.stderr)
        return 1
    print(f"socket.io-client {bundle.version} (checksum verified) is in {bundle.cache_path}",
          flush=True)
    return 0


async def _release_in_redis(url: str, user: str) -> bool:
    link = RedisLink(url)
    await link.open()
    try:
        return await redisstore.release_name(link, user)
    finally:
        await link.close()


def invite_for(config: ServerConfig, port: int, name: str | None,
               fingerprint: str | None) -> str | None:
    """The invite line's value, when there is a token to put in it."""
    if not config.token:
        return None
    scheme = "https" if config.tls is not None else "http"
    url = display_url(reachable_host(config.host), port, scheme)
    return build_invite(url, config.token, name or default_name(), fingerprint=fingerprint)


async def serve(config: ServerConfig, on_listening: Callable[[], None] | None = None,
                loop_name: str = "asyncio", name: str | None = None) -> None:
    """Run until SIGTERM or Ctrl+C, then shut down cleanly (storage flushed)."""
    # Signal handlers first: a SIGTERM right after the "Listening" line must be clean.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    server = SockDeskServer(config)
    url = await server.start()
    try:
        lines = [f"Listening on {url}"]
        invite = invite_for(config, server.port, name, server.fingerprint)
        if invite is not None:
            lines.append(f"Invite: {invite}")
        if server.fingerprint is not None:
            lines.append(f"Certificate SHA-256: {server.fingerprint}")
        print("\n".join(lines), flush=True)
        if on_listening is not None:
            on_listening()
        if not is_loopback(config.host) and not config.token:
            print(f"WARNING: {PROG} is reachable from the network on {url} and has no "
                  "--token: anyone who can reach it can connect as any user.",
                  file=sys.stderr, flush=True)
        if config.redis_url:
            log.info("state in Redis %s", redacted(config.redis_url))
        else:
            log.info("database %s", config.db)
        log.info("event loop: %s", loop_name)
        await stop.wait()
    finally:
        await server.stop()


if __name__ == "__main__":  # `python -m server_stub.cli` as well as `python -m server_stub`
    raise SystemExit(main())
