"""sockdesk-cli with saved workspaces, invites and per-server data folders, against real
servers on 127.0.0.1 (bundled ones, and small python-socketio ones for what the bundled
server cannot show: headers, a custom path, msgpack, TLS).

The first three tests are the regression of issue 13: a message that could not be sent
to one server was delivered to a different server by the next `send` that used the same
data folder. They check what each server actually stored."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from app.invite import Invite
from app.paths import cli_data_dir
from app.workspace import Delivery, WorkspaceStore
from tests.app.cli_support import (
    RecordingServer,
    acked_lines,
    chat_texts,
    one_error,
    run_cli,
    run_cli_async,
    self_signed,
)
from tests.support import ServerProcess, free_port


def room_msg(text: str, room: str = "orders") -> str:
    return json.dumps({"room": room, "text": text})


def saved(tmp_path: Path) -> WorkspaceStore:
    """The workspaces the CLI saved, read the way the GUI reads them."""
    return WorkspaceStore(tmp_path / "config", tmp_path / "data", secrets_backend=None)


@pytest.fixture
def down_then_up(tmp_path: Path):
    """Server A (on a fixed port, not started yet: it is down) and server B (up)."""
    a = ServerProcess(tmp_path / "a.db", port=free_port())
    b = ServerProcess(tmp_path / "b.db").start()
    try:
        yield a, f"http://127.0.0.1:{a.port}", b
    finally:
        a.kill()
        b.kill()


@pytest.mark.timeout(180)
def test_workspaces_keep_each_servers_messages_apart(tmp_path, down_then_up) -> None:
    a, url_a, b = down_then_up
    for name, url in (("A", url_a), ("B", b.url)):
        r = run_cli(tmp_path, "workspace", "save", name, "--url", url, "--namespaces",
                    "/chat", "--user", "alice")
        assert r.returncode == 0, r.stderr
    r = run_cli(tmp_path, "send", "-w", "A", "message", room_msg("STAGING-ONLY for A"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["queued", "0 acked, 0 failed, 1 queued"]
    # the workspace's folder refuses another server while A's message waits
    r = run_cli(tmp_path, "send", "-w", "A", "--url", b.url, "--wait", "10", "message",
                room_msg("via an override"))
    assert one_error(r).endswith(f"holds 1 message waiting for {url_a}; it will not be "
                                 f"sent to {b.url}: use another --data-dir for {b.url}, "
                                 f"or flush it to {url_a} first.")
    r = run_cli(tmp_path, "send", "-w", "B", "--wait", "20", "message", room_msg("for B"))
    assert r.returncode == 0, r.stderr
    assert acked_lines(r.stdout) == 1
    assert chat_texts(b.db) == [("orders", "alice", "for B")]

    r = run_cli(tmp_path, "workspaces")
    assert r.returncode == 0, r.stderr
    assert [line.split() for line in r.stdout.splitlines()] == [
        ["A", url_a, "alice", "1", "waiting"], ["B", b.url, "alice", "0", "waiting"]]
    listed = [json.loads(line) for line in
              run_cli(tmp_path, "workspaces", "--json").stdout.splitlines()]
    assert [(x["name"], x["urls"], x["user"], x["waiting"], x["queued"]) for x in listed] \
        == [("A", [url_a], "alice", 1, 1), ("B", [b.url], "alice", 0, 0)]
    assert listed[0]["data_dir"] == str(saved(tmp_path).data_dir(saved(tmp_path).get("A")))
    # the data-only commands find the workspace's folder too
    q = {x["queue"]: x for x in json.loads(run_cli(tmp_path, "queues", "-w", "A",
                                                   "--json").stdout)}
    assert q["outbox:/chat"]["depth"] == 1
    rec = json.loads(run_cli(tmp_path, "export", "-w", "A", "--queue",
                             "outbox:/chat").stdout)
    assert rec["text"] == "STAGING-ONLY for A" and rec["state"] == "queued"

    a.start()
    r = run_cli(tmp_path, "flush", "-w", "A", "--wait", "20")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0 acked, 0 failed, 0 queued"
    assert chat_texts(a.db) == [("orders", "alice", "STAGING-ONLY for A")]
    assert chat_texts(b.db) == [("orders", "alice", "for B")]
    r = run_cli(tmp_path, "workspaces")
    assert [line.split()[-2] for line in r.stdout.splitlines()] == ["0", "0"]


@pytest.mark.timeout(180)
def test_default_folders_are_per_server_and_user(tmp_path, down_then_up) -> None:
    a, url_a, b = down_then_up

    def send(url: str, text: str, *extra: str):
        return run_cli(tmp_path, "send", "--url", url, "-n", "/chat", "--user", "alice",
                       *extra, "message", room_msg(text))

    r = send(url_a, "STAGING-ONLY for A")
    assert r.returncode == 0 and r.stdout.splitlines() == ["queued", "0 acked, 0 failed, 1 queued"]
    r = send(b.url, "for B", "--wait", "20")
    assert r.returncode == 0, r.stderr
    assert acked_lines(r.stdout) == 1   # A's message stayed put
    assert chat_texts(b.db) == [("orders", "alice", "for B")]
    folder_a = cli_data_dir(url_a, "alice", root=tmp_path / "data")
    folder_b = cli_data_dir(b.url, "alice", root=tmp_path / "data")
    assert folder_a != folder_b
    assert (folder_a / "sockdesk.db").is_file() and (folder_b / "sockdesk.db").is_file()
    assert folder_a.name.startswith(f"127.0.0.1_{a.port}-alice-")
    # another user on the same server has a folder of their own
    assert cli_data_dir(url_a, "bob", root=tmp_path / "data") != folder_a
    # data-only commands reach the same folder with --url and --user
    q = {x["queue"]: x for x in json.loads(run_cli(
        tmp_path, "queues", "--url", url_a, "--user", "alice", "--json").stdout)}
    assert q["outbox:/chat"]["depth"] == 1
    # with no folder named they say which there are, and exit 2
    r = run_cli(tmp_path, "queues")
    assert one_error(r).startswith("queues needs a data folder: --workspace NAME, "
                                   "--data-dir DIR or --url URL [--user NAME]")
    listed = {line.split()[-1]: line.split() for line in r.stdout.splitlines()}
    assert listed[str(folder_a)][:6] == ["--url", url_a, "--user", "alice", "1", "waiting"]
    assert listed[str(folder_b)][:6] == ["--url", b.url, "--user", "alice", "0", "waiting"]

    a.start()
    r = run_cli(tmp_path, "flush", "--url", url_a, "--user", "alice", "--wait", "20")
    assert r.returncode == 0, r.stderr
    assert chat_texts(a.db) == [("orders", "alice", "STAGING-ONLY for A")]
    assert chat_texts(b.db) == [("orders", "alice", "for B")]


@pytest.mark.timeout(180)
def test_an_explicit_data_dir_refuses_another_server_while_messages_wait(
        tmp_path, down_then_up) -> None:
    a, url_a, b = down_then_up
    d = tmp_path / "shared"

    def run(command: str, url: str, *rest: str):
        return run_cli(tmp_path, command, "--data-dir", str(d), "--url", url, "--user",
                       "alice", *rest)

    for text in ("STAGING-ONLY 1", "STAGING-ONLY 2"):
        r = run("send", url_a, "-n", "/chat", "message", room_msg(text))
        assert r.returncode == 0, r.stderr
    refusal = (f"The data folder {d} holds 2 messages waiting for {url_a}; they will not "
               f"be sent to {b.url}: use another --data-dir for {b.url}, or flush them to "
               f"{url_a} first.")
    assert one_error(run("send", b.url, "-n", "/chat", "--wait", "10", "message",
                         room_msg("for B"))) == refusal
    assert one_error(run("flush", b.url, "--wait", "10")) == refusal
    assert one_error(run("listen", b.url, "-n", "/chat", "--count", "1")) == refusal
    replay = tmp_path / "one.ndjson"
    replay.write_text(json.dumps({"namespace": "/chat", "event": "message",
                                  "args": [{"room": "orders", "text": "replayed"}]}) + "\n")
    assert one_error(run("replay", b.url, str(replay))) == refusal
    assert chat_texts(b.db) == []
    # nothing was accepted or changed by the refused runs
    q = {x["queue"]: x for x in json.loads(run_cli(tmp_path, "queues", "--data-dir",
                                                   str(d), "--json").stdout)}
    assert (q["outbox:/chat"]["total"], q["outbox:/chat"]["queued"]) == (2, 2)

    a.start()
    r = run("flush", url_a, "--wait", "20")
    assert r.returncode == 0, r.stderr
    assert chat_texts(a.db) == [("orders", "alice", "STAGING-ONLY 1"),
                                ("orders", "alice", "STAGING-ONLY 2")]
    # nothing waits any more: the folder may now be used for B (and then belongs to B)
    r = run("send", b.url, "-n", "/chat", "--wait", "20", "message", room_msg("for B"))
    assert r.returncode == 0, r.stderr
    assert chat_texts(b.db) == [("orders", "alice", "for B")]
    assert len(chat_texts(a.db)) == 2
    a.kill()
    r = run("send", url_a, "-n", "/chat", "message", room_msg("for A again"))
    assert r.stdout.splitlines() == ["queued", "0 acked, 0 failed, 1 queued"]
    assert one_error(run("flush", b.url)).startswith(
        f"The data folder {d} holds 1 message waiting for {url_a}; it will not be sent")


async def test_a_saved_workspace_gives_every_setting(tmp_path) -> None:
    srv = await RecordingServer(path="ws/socket.io").start()
    try:
        code, out, err = await run_cli_async(
            tmp_path, "workspace", "save", "Orders", "--url", srv.url, "--path",
            "/ws/socket.io", "--namespaces", "/orders,/", "--user", "dev", "--token",
            "tok-1", "--auth", '{"role": "admin", "pin": 1234}', "--secret-auth", "pin",
            "--header", "X-Env:staging", "--query", "v=2", "--transport", "polling",
            "--delivery", "until_acked", "--ack-timeout", "3")
        assert code == 0, err
        assert "tok-1" not in out and "1234" not in out
        assert "Its secrets (token, auth.pin) are kept in the workspace file" in out
        ws = saved(tmp_path).get("orders")
        assert (ws.path, ws.namespaces, ws.transports, ws.delivery, ws.ack_timeout) == \
            ("/ws/socket.io", ["/orders", "/"], ["polling"], Delivery.UNTIL_ACKED, 3.0)

        code, out, err = await run_cli_async(tmp_path, "send", "-w", "Orders", "--wait",
                                             "10", "created", '{"id": 1}')
        assert code == 0, err
        assert acked_lines(out) == 1
        assert srv.events == [("/orders", "created", [{"id": 1}])]
        ns, environ, auth = srv.connects[-1]
        assert ns == "/orders" and environ["HTTP_X_ENV"] == "staging"
        query = parse_qs(environ["QUERY_STRING"])
        assert query["v"] == ["2"] and query["transport"] == ["polling"]
        assert auth == {"role": "admin", "pin": 1234, "user": "dev", "token": "tok-1"}

        # flags override the saved values for one run, maps key by key
        code, out, err = await run_cli_async(
            tmp_path, "send", "-w", "Orders", "--header", "X-Env:prod", "--query", "v=3",
            "--auth", '{"role": "viewer"}', "--transport", "websocket", "-n", "/",
            "--wait", "10", "created", '{"id": 2}')
        assert code == 0, err
        assert srv.events[-1] == ("/", "created", [{"id": 2}])
        ns, environ, auth = srv.connects[-1]
        query = parse_qs(environ["QUERY_STRING"])
        assert environ["HTTP_X_ENV"] == "prod" and query["v"] == ["3"]
        assert query["transport"] == ["websocket"]
        assert auth == {"role": "viewer", "pin": 1234, "user": "dev", "token": "tok-1"}
        assert saved(tmp_path).get("Orders").headers == {"X-Env": "staging"}  # not saved

        code, out, err = await run_cli_async(tmp_path, "workspace", "show", "Orders",
                                             "--json")
        shown = json.loads(out)
        assert shown["token"] == "(hidden)" and shown["auth"] == {"role": "admin",
                                                                  "pin": "(hidden)"}
        assert shown["delivery"] == "until_acked" and shown["ack_timeout"] == 3.0
        assert shown["headers"] == {"X-Env": "staging"} and shown["outbox"] == "0 waiting"
        code, out, err = await run_cli_async(tmp_path, "workspace", "show", "Orders")
        assert code == 0 and "tok-1" not in out and "1234" not in out
        assert "path:         /ws/socket.io" in out.splitlines()

        # the saved path is what reached the server: the default path finds nothing
        code, out, err = await run_cli_async(
            tmp_path, "send", "-w", "Orders", "--path", "/socket.io", "--data-dir",
            str(tmp_path / "elsewhere"), "--wait", "2", "created", '{"id": 3}')
        assert code == 3 and len(srv.events) == 2
    finally:
        await srv.stop()


async def test_parser_and_tls_flags(tmp_path) -> None:
    srv = await RecordingServer(serializer="msgpack").start()
    try:
        code, _out, err = await run_cli_async(tmp_path, "send", "--url", srv.url, "-n",
                                              "/", "--parser", "msgpack", "--wait", "10",
                                              "ping", "1")
        assert code == 0, err
        assert srv.events == [("/", "ping", [1])]
    finally:
        await srv.stop()

    cert, key, fp = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv = await RecordingServer().start_tls(context)
    try:
        async def send(name: str, *flags: str, wait: str = "10") -> int:
            code, _out, _err = await run_cli_async(
                tmp_path, "send", "--url", srv.url, "-n", "/", "--data-dir",
                str(tmp_path / name), *flags, "--wait", wait, "ping", json.dumps(name))
            return code

        assert await send("unchecked", wait="2") == 2      # self-signed: not trusted, final
        assert await send("wrong-pin", "--fingerprint", "ab" * 32, wait="2") == 2
        assert srv.events == []
        colons = ":".join(fp[i:i + 2] for i in range(0, 64, 2)).upper()
        assert await send("pinned", "--fingerprint", colons) == 0
        assert await send("ca", "--ca-file", str(cert)) == 0
        assert await send("insecure", "--insecure") == 0
        assert [e[2] for e in srv.events] == [["pinned"], ["ca"], ["insecure"]]
    finally:
        await srv.stop()


@pytest.mark.timeout(120)
def test_join_an_invite_then_send_with_its_token(tmp_path, server_factory) -> None:
    srv = server_factory("--token", "s3cret-tok")
    invite = Invite(url=srv.url, token="s3cret-tok", name="Team").to_text()
    r = run_cli(tmp_path, "join", invite, "--user", "bob")
    assert r.returncode == 0, r.stderr
    assert "s3cret-tok" not in r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == \
        f"Joined: saved workspace 'Team' for bob at {srv.url} (path /socket.io)."
    assert "Its secrets (token, name-claim key) are kept in the workspace file" in r.stdout
    assert "sockdesk-cli send -w Team -n /chat message" in r.stdout
    ws = saved(tmp_path).get("Team")
    assert ws.token == "s3cret-tok" and ws.user == "bob" and ws.key
    assert ws.namespaces == ["/chat", "/queue", "/"]
    assert stat.S_IMODE((tmp_path / "config" / "workspaces" / f"{ws.id}.json")
                        .stat().st_mode) == 0o600

    r = run_cli(tmp_path, "send", "-w", "Team", "--wait", "20", "message",
                room_msg("hi from bob", room="lobby"))
    assert r.returncode == 0, r.stderr
    assert acked_lines(r.stdout) == 1
    assert chat_texts(srv.db) == [("lobby", "bob", "hi from bob")]

    # the invite's token is what let bob in: the same invite with another token is refused
    wrong = Invite(url=srv.url, token="not-it", name="Team").to_text()
    r = run_cli(tmp_path, "join", "-", "--user", "bob", "--workspace", "Wrong",
                stdin=wrong + "\n")
    assert r.returncode == 0, r.stderr
    r = run_cli(tmp_path, "send", "-w", "Wrong", "message", room_msg("x", room="lobby"))
    assert one_error(r) == \
        f"The server at {srv.url} refused the connection to /chat: wrong token."
    assert chat_texts(srv.db) == [("lobby", "bob", "hi from bob")]

    r = run_cli(tmp_path, "join", invite, "--user", "carol")
    assert one_error(r).startswith("A workspace named 'Team' exists already: name this "
                                   "one with --workspace NAME")
    for bad, why in (("https://example.com/join", "This is not a SockDesk invite: it "
                                                  "should start with sockdesk://join?"),
                     ("sockdesk://join?v=1", "The invite has no server address (url=...).")):
        assert one_error(run_cli(tmp_path, "join", bad, "--user", "bob")) == why
    assert [w.name for w in saved(tmp_path).saved()] == ["Team", "Wrong"]


def test_save_update_replace_and_delete(tmp_path) -> None:
    r = run_cli(tmp_path, "workspace", "save", "W", "--url", "http://127.0.0.1:1",
                "--header", "A:1", "--user", "u")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Saved new workspace 'W': http://127.0.0.1:1, user u")
    assert "It has no secrets to keep." in r.stdout
    first = saved(tmp_path).get("W")
    r = run_cli(tmp_path, "workspace", "save", "w", "--header", "B:2", "--url",
                "http://127.0.0.1:2", "--url", "http://127.0.0.1:3", "--fingerprint",
                "AB" * 32, "--insecure")
    assert r.returncode == 0 and r.stdout.startswith("Updated workspace 'W'")
    ws = saved(tmp_path).get("W")
    assert ws.id == first.id and ws.user == "u" and ws.headers == {"A": "1", "B": "2"}
    assert ws.urls == ["http://127.0.0.1:2", "http://127.0.0.1:3"]
    assert ws.tls.fingerprint == "ab" * 32 and ws.tls.verify is False
    r = run_cli(tmp_path, "workspaces")
    assert r.stdout.split() == ["W", "http://127.0.0.1:2", "(+1)", "u", "0", "waiting"]
    r = run_cli(tmp_path, "workspace", "save", "W", "--replace", "--url",
                "http://127.0.0.1:4")
    ws = saved(tmp_path).get("W")
    assert ws.id == first.id and ws.headers == {} and ws.user is None
    assert ws.tls.verify is True and ws.urls == ["http://127.0.0.1:4"]
    r = run_cli(tmp_path, "workspace", "delete", "W")
    assert r.returncode == 0 and r.stdout.startswith("Deleted workspace 'W'.")
    assert saved(tmp_path).saved() == []
    r = run_cli(tmp_path, "workspaces")
    assert r.returncode == 0 and r.stdout.startswith("No workspaces yet")
    assert run_cli(tmp_path, "workspaces", "--json").stdout == ""


@pytest.mark.parametrize(("args", "expected"), [
    (["send", "-w", "Nope", "e"], "There is no workspace named 'Nope' (saved: none yet)."),
    (["send", "-n", "/", "e"], "Which server? Give --url URL, or --workspace NAME for a "
                               "saved one (sockdesk-cli workspaces lists them)."),
    (["send", "--url", "http://127.0.0.1:9", "e"],
     "send needs the namespace to send to: --namespace/-n NS (a workspace's first "
     "namespace is used when there is one)."),
    (["listen", "--url", "http://127.0.0.1:9"], "listen needs a namespace: --namespace/-n "
     "NS or --namespaces NS,NS (or a workspace, whose namespaces are used)."),
    (["send", "--url", "http://127.0.0.1:9", "-n", "/", "--header", "novalue", "e"],
     "expected KEY:VALUE, got 'novalue'"),
    (["send", "--url", "http://127.0.0.1:9", "-n", "/", "--fingerprint", "12:34", "e"],
     "'12:34' is not a SHA-256 fingerprint (64 hex digits)."),
    (["send", "--url", "http://127.0.0.1:9", "-n", "/", "--ca-file", "/no/such.pem", "e"],
     "The CA file /no/such.pem does not exist."),
    (["send", "--url", "http://127.0.0.1:9", "-n", "/", "--auth", "[1]", "e"],
     "--auth must be a JSON object, e.g. '{\"role\": \"admin\"}'."),
    (["send", "--url", "http://127.0.0.1:9", "-n", "/", "--path", "/", "e"],
     "--path must name the Socket.IO path, e.g. /socket.io."),
    (["send", "--url", "http://127.0.0.1:9", "--ack-timeout", "0", "e"],
     "argument --ack-timeout: expected a number of seconds above 0, got '0' "
     "(see sockdesk-cli send --help)"),
    (["send", "--url", "http://127.0.0.1:9", "--delivery", "twice", "e"],
     "argument --delivery: invalid choice: 'twice' (choose from 'auto', 'once', "
     "'until_acked') (see sockdesk-cli send --help)"),
    (["workspace", "save", "X", "--user", "u"],
     "Workspace 'X' needs the server's address: --url URL."),
    (["workspace", "save", "X", "--url", "http://h:1", "--secret-auth", "pin"],
     "--secret-auth pin: there is no auth field 'pin' (give it with --auth)."),
    (["workspace", "show", "X"], "There is no workspace named 'X' (saved: none yet)."),
    (["queues", "-w", "X"], "There is no workspace named 'X' (saved: none yet)."),
    (["export"], "export needs a data folder: --workspace NAME, --data-dir DIR or --url "
                 "URL [--user NAME]; there is none yet under {data}."),
    (["join", "sockdesk://join?url=http://h:1", "--user", " "],
     "--user must name you on that server."),
])
def test_usage_errors_are_one_line(tmp_path, args, expected) -> None:
    r = run_cli(tmp_path, *args)
    assert one_error(r) == expected.replace("{data}", str(tmp_path / "data"))
    assert not (tmp_path / "data").exists() and not (tmp_path / "config").exists()
