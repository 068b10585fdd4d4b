"""Lesson 8, what Socket.IO adds: a real Engine.IO session against the bundled server,
drawn packet by packet; the packets must be the real traffic, in the protocol's order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.scenarios import EngineIOScenario, RunState, ScenarioRun
from app.scenarios.eio_client import describe
from app.scenarios.engineio import PING_INTERVAL, PING_TIMEOUT
from app.scenarios.hops import Hop

pytestmark = pytest.mark.timeout(120)


async def test_engineio_lesson_runs_to_its_end(server: Any, tmp_path: Path) -> None:
    run = ScenarioRun(EngineIOScenario(), server.url, tmp_path / "learn")
    steps: list[int] = []
    run.step_changed.connect(steps.append)
    try:
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        assert run.state == RunState.PASSED
        n = len(EngineIOScenario.steps)
        assert steps == [*range(n), n]
        hops = [p for lane, p in run.packets if lane == "client" and isinstance(p, Hop)]
        assert hops and all(p.caption for p in hops)
        wire = [(p.direction, p.args[0]) for p in hops if p.kind != "HTTP"]
        kinds = [(d, p[:1]) for d, p in wire]
        # open / upgrade / ping / pong / reconnection (a second open), in this order
        first_open = kinds.index(("in", "0"))
        upgrade = kinds.index(("out", "5"))
        ping = kinds.index(("in", "2"), upgrade)
        assert wire[ping][1] == "2"            # the heartbeat, not the probe
        pong = kinds.index(("out", "3"), ping)
        second_open = kinds.index(("in", "0"), pong)
        assert first_open < upgrade < ping < pong < second_open
        # the probe and the noop come before the upgrade
        assert wire.index(("out", "2probe")) < wire.index(("in", "3probe")) < upgrade
        assert wire.index(("in", "6")) < upgrade
        one = json.loads(wire[first_open][1][1:])
        two = json.loads(wire[second_open][1][1:])
        assert one["sid"] != two["sid"]
        # the lesson's own server, pinging every 2 s; the teacher's is left alone
        assert run.memo["server_url"] != server.url
        assert (one["pingInterval"], one["pingTimeout"]) == (PING_INTERVAL * 1000,
                                                             PING_TIMEOUT * 1000)
        # every ping the client saw was answered: the client's next packets are a pong
        # (after the upgrade packet, for a ping that came in the poll the upgrade ended)
        for i, (d, p) in enumerate(wire):
            if d == "in" and p == "2":
                sent = [q for e, q in wire[i + 1:] if e == "out"][:2]
                assert sent[:1] == ["3"] or sent == ["5", "3"], wire[i:i + 4]
        assert "websocket" in one["upgrades"]
        # Socket.IO's CONNECT inside an Engine.IO message, answered in both sessions
        ns = run.memo["ns"]
        answers = [p for d, p in wire if d == "in" and p.startswith(f"40{ns},")]
        assert len(answers) == 2 and all("sid" in json.loads(a.split(",", 1)[1])
                                         for a in answers)
        # the packets that went over each transport say so in their caption
        assert any(p.caption.startswith("poll: open") for p in hops)
        assert any(p.caption == "ws: ping" for p in hops)
        assert any(p.caption == "ws: pong" for p in hops)
    finally:
        await run.close()


def test_packet_captions() -> None:
    assert describe("2probe") == ("PING", "ping probe")
    assert describe("5") == ("UPGRADE", "upgrade")
    assert describe("6") == ("NOOP", "noop")
    assert describe('0{"sid":"abcdef123","pingInterval":25000}')[1] == \
        "open · sid abcdef… · ping every 25 s"
    assert describe('42/x,1["echo",{"a":1}]') == (
        "MESSAGE", 'message: Socket.IO EVENT #1 ["echo",{"a":1}]')
    assert describe('40/x,{"sid":"s"}')[1] == "message: Socket.IO CONNECT"


async def test_a_paced_lesson_answers_the_pings_that_come_while_long_polling(
        server: Any, tmp_path: Path) -> None:
    """At a classroom pace the first ping (2 s after the handshake) arrives while the
    client is still long-polling; it must be answered there, or the server would send
    no further ping and the heartbeat step would wait in vain."""
    run = ScenarioRun(EngineIOScenario(), server.url, tmp_path / "learn", pace=1.0)
    try:
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        wire = [(p.direction, p.args[0]) for lane, p in run.packets
                if lane == "client" and isinstance(p, Hop) and p.kind != "HTTP"]
        upgrade = wire.index(("out", "5"))
        early = [i for i, w in enumerate(wire[:upgrade]) if w == ("in", "2")]
        assert early, wire[:upgrade]
        assert all(("out", "3") in wire[i + 1:upgrade + 2] for i in early)
    finally:
        await run.close()
