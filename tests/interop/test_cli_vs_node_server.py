"""sockdesk-cli against the official Node `socket.io` server: it tells what happened
(ack replies), keeps a replay's spacing, and hides nothing a foreign server sends."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.app.cli_support import run_cli_async
from tests.interop.helpers import node_server
from tests.support import node_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]


def conn(url: str) -> list[str]:
    return ["--url", url, "-n", "/", "--user", "dev"]


async def test_send_prints_each_outcome_with_the_ack_reply(tmp_path: Path) -> None:
    async with node_server("server_wire.js") as srv:
        code, out, err = await run_cli_async(tmp_path, "send", *conn(srv.url), "--wait", "10",
                                             "hello", '{"zeta": 1, "alpha": 2}', '"two"')
        assert code == 0, err
        assert out.splitlines() == [
            'acked {"ok":true,"event":"hello","args":[{"zeta":1,"alpha":2},"two"]}',
            "1 acked, 0 failed, 0 queued"]
        # -v logs, and still prints the outcome
        code, out, err = await run_cli_async(tmp_path, "-v", "send", *conn(srv.url), "--wait",
                                             "10", "again")
        assert code == 0 and out.splitlines()[0] == \
            'acked {"ok":true,"event":"again","args":[]}'

        # --json: one NDJSON record per message (the export format); binary as Buffer
        code, out, err = await run_cli_async(
            tmp_path, "send", *conn(srv.url), "--wait", "10", "--json", "upload",
            '{"file": {"$binary": "3q2+7w=="}, "n": 1}')
        assert code == 0, err
        (line,) = out.splitlines()
        rec = json.loads(line)
        assert rec["state"] == "acked" and rec["event"] == "upload"
        assert rec["args"] == [{"file": {"$binary": "3q2+7w=="}, "n": 1}]
        assert rec["reply"] == [{"ok": True, "event": "upload",
                                 "args": [{"file": {"$binary": "3q2+7w=="}, "n": 1}]}]
        ev = (await srv.wait("event", lambda x: x["event"] == "upload"))[0]
        assert ev["buffers"] == ["0.file"]

        # no ack within the message's own timeout
        code, out, err = await run_cli_async(tmp_path, "send", *conn(srv.url), "--wait", "10",
                                             "--ack-timeout", "0.5", "no-ack-please")
        assert code == 0, err
        assert out.splitlines()[0].startswith("no ack: no acknowledgement within 0.5 s")

        # invalid binary is refused before anything is accepted
        code, out, err = await run_cli_async(tmp_path, "send", *conn(srv.url), "x",
                                             '{"$binary": "**"}')
        assert code == 2 and "Invalid binary in argument 1" in err


async def test_replay_speed_connects_first_and_keeps_the_spacing(tmp_path: Path) -> None:
    captured = [0.0, 1.0, 2.0, 3.6]          # gaps 1.0, 1.0, 1.6 s
    base = time.time() - 3600
    f = tmp_path / "ticks.ndjson"
    f.write_text("".join(json.dumps({"namespace": "/", "event": "tick", "args": [i],
                                     "ts": base + t, "direction": "out"}) + "\n"
                         for i, t in enumerate(captured)))
    async with node_server("server_wire.js") as srv:
        started = time.monotonic()
        code, out, err = await run_cli_async(tmp_path, "replay", *conn(srv.url), "--speed",
                                             "2", str(f))
        took = time.monotonic() - started
        assert code == 0, err
        assert out.splitlines()[-1] == "4 acked, 0 failed, 0 queued"
        assert all(x.startswith('acked {"ok":true,"event":"tick"')
                   for x in out.splitlines()[:-1])
        ticks = await srv.wait("event", lambda x: x["event"] == "tick", n=4)
        assert [x["args"] for x in ticks] == [[0], [1], [2], [3]]
        arrived = [x["t"] / 1000 for x in ticks]
        for i in range(1, 4):
            want = (captured[i] - captured[i - 1]) / 2
            gap = arrived[i] - arrived[i - 1]
            assert abs(gap - want) <= 0.2 * want, (i, gap, want, arrived)
        # the gaps were waited out on the wire, not before connecting
        assert took >= (captured[-1] - captured[0]) / 2


async def test_listen_prints_a_foreign_welcome_and_answers_ack_requests(
        tmp_path: Path) -> None:
    async with node_server("server_wire.js", "--welcome", "--ask-on-connect",
                           "1500") as srv:
        code, out, err = await run_cli_async(tmp_path, "listen", *conn(srv.url), "--count",
                                             "3", "--ack-reply", '{"fine": true}',
                                             "--ack-reply", "2")
        assert code == 0, err
        recs = [json.loads(x) for x in out.splitlines()]
        assert [r["event"] for r in recs] == ["welcome", "question", "ack-result"]
        assert recs[0]["args"] == [{"hello": "from node", "server": "express-app"}]
        assert recs[2]["args"] == [{"err": None, "answer": [{"fine": True}, 2]}]
        assert (await srv.wait("answer"))[0]["answer"] == [{"fine": True}, 2]

        # --ack-hold: never answered, the server's timeout fires
        code, out, err = await run_cli_async(tmp_path, "listen", *conn(srv.url), "--count",
                                             "3", "--ack-hold")
        assert code == 0, err
        recs = [json.loads(x) for x in out.splitlines()]
        assert recs[2]["event"] == "ack-result"
        assert recs[2]["args"] == [{"err": "operation has timed out", "answer": []}]

        # by default: {"ok": true}
        code, out, err = await run_cli_async(tmp_path, "listen", *conn(srv.url), "--count",
                                             "3")
        recs = [json.loads(x) for x in out.splitlines()]
        assert recs[2]["args"] == [{"err": None, "answer": [{"ok": True}]}]


async def test_a_saved_workspace_auth_reaches_the_server_in_its_order(tmp_path: Path) -> None:
    async with node_server("server_wire.js") as srv:
        code, _, err = await run_cli_async(
            tmp_path, "workspace", "save", "ordered", "--url", srv.url, "--namespaces", "/",
            "--user", "dev", "--auth", '{"zeta": 1, "alpha": 2}')
        assert code == 0, err
        code, _, err = await run_cli_async(tmp_path, "send", "-w", "ordered", "--wait", "10",
                                           "hi")
        assert code == 0, err
        connect = (await srv.wait("connect"))[0]
        assert connect["authKeys"][:3] == ["zeta", "alpha", "user"]


async def test_parsers_and_versions_on_the_command_line(tmp_path: Path) -> None:
    async with node_server("server_wire.js", "--parser", "msgpack") as srv:
        code, out, err = await run_cli_async(tmp_path, "send", *conn(srv.url), "--wait", "10",
                                             "--parser", "msgpack", "hi",
                                             '{"b": {"$binary": "AP8="}}')
        assert code == 0, err
        assert out.splitlines()[0] == \
            'acked {"ok":true,"event":"hi","args":[{"b":{"$binary":"AP8="}}]}'
        # retrying cannot help: one error line at once, nothing left queued (exit 2)
        code, out, err = await run_cli_async(tmp_path / "json", "send", *conn(srv.url),
                                             "--wait", "30", "hi")
        assert code == 2
        assert err.splitlines() == [
            f"sockdesk-cli: Cannot connect to {srv.url}: the server did not understand the "
            "packets: does it use the msgpack parser? (use --parser msgpack)."]
    async with node_server("server_v2.js") as srv:
        code, out, err = await run_cli_async(tmp_path / "v2", "send", *conn(srv.url),
                                             "--wait", "30", "hi")
        assert code == 2
        assert err.splitlines() == [(
            f"sockdesk-cli: Cannot connect to {srv.url}: this server speaks Socket.IO v2 "
            "(Engine.IO 3), which SockDesk does not support; it needs a Socket.IO v3 or v4 "
            "server.")]
