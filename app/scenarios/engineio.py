"""Lesson 8: what Socket.IO adds over a plain WebSocket. A real Engine.IO session with
the server, drawn packet by packet: the long-polling handshake, Socket.IO riding inside
Engine.IO messages, the upgrade to a websocket, the heartbeat, a drop and the
reconnection as a new session. The client is ours (app.scenarios.eio_client), so each
packet is seen exactly as it crosses the wire.

The server is one the lesson starts for itself (app.scenarios.servers), with a ping every
PING_INTERVAL seconds instead of the default 25: the heartbeat shows without a long wait,
and the teacher's server keeps its own settings (its other users are not pinged more
often because of a lesson)."""

from __future__ import annotations

import json
from typing import Any

from app.scenarios.eio_client import EngineSession
from app.scenarios.engine import Checks, EndState, Scenario, ScenarioError, ScenarioRun, Step
from app.scenarios.hops import Hop
from app.scenarios.servers import ServerProcess

LANE = "client"
#: the lesson server's heartbeat (sockdesk-server --ping-interval / --ping-timeout): a
#: ping every 2 s; a generous timeout, so a teacher's pause of up to a minute (nobody
#: answers pings while the lesson holds) does not end the session
PING_INTERVAL = 2
PING_TIMEOUT = 60


class EngineIOScenario(Scenario):
    key = "engineio"
    number = 8
    title = "What Socket.IO adds: the Engine.IO session"
    short = "Engine.IO underneath"
    summary = "Handshake, long-polling, the upgrade, heartbeats, a drop and a new session."
    explanation = (
        "A plain WebSocket is one TCP connection: if a proxy blocks it nothing works, and "
        "if it silently dies nobody notices. Socket.IO runs on Engine.IO, which adds what a "
        "classroom network needs. It opens with ordinary HTTP requests (long-polling: a GET "
        "that waits until the server has something), then tries a websocket and moves the "
        "session over only once a probe went through. The server pings every pingInterval; "
        "a client that does not answer within pingTimeout is gone. When the connection "
        "drops, the client opens a new session and connects again. The client here is a "
        "small one of our own, so every Engine.IO packet is drawn: 0 open, 1 close, "
        "2 ping, 3 pong, 4 message (a Socket.IO packet inside), 5 upgrade, 6 noop. "
        f"The server in this lesson is a small one the lesson starts for itself, with "
        f"pingInterval {PING_INTERVAL} s instead of the usual 25 s, so the heartbeat shows "
        "at once (and a ping may already come during the long-polling steps: the client "
        "answers every ping with a pong, whenever it comes).")
    users = (LANE,)
    steps = (
        Step("Handshake over HTTP",
             "A GET with no session id: the server answers with the open packet: the "
             "session id (sid), pingInterval, pingTimeout and the upgrades it offers."),
        Step("Socket.IO rides inside",
             "The client POSTs message 40: Socket.IO's CONNECT to a namespace, with its "
             "auth. The answer comes back on the next GET, also inside a message packet."),
        Step("Long-polling: a GET that waits",
             "The client emits 'echo' with an ack (POST). Its next GET hangs until the "
             "server has the ack to send: that is how a server 'pushes' over plain HTTP."),
        Step("Upgrade to a websocket",
             "The client opens a websocket with the same sid and sends ping 'probe'; the "
             "server answers pong 'probe' and ends the waiting GET with a noop. Then "
             "upgrade: from now on everything goes over the websocket."),
        Step("The same session on a websocket",
             "The same emit with an ack, now one websocket frame each way, no HTTP request."),
        Step("Heartbeat: ping and pong",
             "The server pings every pingInterval (it told us how often in the open "
             f"packet: {PING_INTERVAL} s on this lesson's server, 25 s by default); the "
             "client answers pong. Waiting for the server's ping…"),
        Step("The connection drops",
             "The TCP connection is cut: no close packet, no goodbye. (Had the server "
             "cut it silently, the missing pings would tell the client within "
             "pingInterval + pingTimeout.)"),
        Step("Reconnection: a new session",
             "The client starts over: a new handshake gives a new sid, and Socket.IO "
             "connects the namespace again. Socket.IO's reconnection does this by itself, "
             "with back-off."),
    )

    async def play(self, run: ScenarioRun) -> None:
        ns = run.namespace("eio")
        run.memo.update(ns=ns, sids=[], sio_sids=[], echoes=[])
        run.add_lane(LANE)
        server = await self._start_server(run)
        client = EngineSession(server.url, lambda h: run.hop(LANE, h))
        run.memo["client"] = client
        auth: dict[str, Any] = {"user": "eve"}   # the lesson's own server: no token
        try:
            await self._play(run, client, ns, auth)
        finally:
            await client.close()
            await server.stop()

    @staticmethod
    async def _start_server(run: ScenarioRun) -> ServerProcess:
        """This lesson's own server (loopback, a free port, its database in the run's
        folder), pinging every PING_INTERVAL seconds."""
        folder = run.data_dir / "server"
        folder.mkdir(parents=True, exist_ok=True)
        server = ServerProcess("lesson server", "--db", str(folder / "lesson.db"),
                               "--ping-interval", str(PING_INTERVAL),
                               "--ping-timeout", str(PING_TIMEOUT))
        await server.start()
        run.memo["server_url"] = server.url
        run.say(f"This lesson runs its own server at {server.url} (pingInterval "
                f"{PING_INTERVAL} s); the workspace's server is not used.")
        return server

    async def _play(self, run: ScenarioRun, client: EngineSession, ns: str,
                    auth: dict[str, Any]) -> None:
        await run.step(0)
        info = await client.handshake()
        run.memo["open"] = info
        run.memo["sids"].append(client.sid)

        await run.step(1)
        await self._connect(run, client, ns, auth)

        await run.step(2)
        await client.post(f'42{ns},1["echo",{{"text":"over long-polling"}}]')
        await self._poll_until(run, client, f"43{ns},1", "the echo's ack")

        await run.step(3)
        await client.upgrade(timeout=run.wait)

        await run.step(4)
        await client.send(f'42{ns},2["echo",{{"text":"over websocket"}}]')
        while not (await client.receive(run.wait)).startswith(f"43{ns},2"):
            pass
        run.memo["echoes"].append("websocket")

        await run.step(5)
        every = float(info.get("pingInterval", 25000)) / 1000
        await client.heartbeat(timeout=every + run.wait)

        await run.step(6)
        run.remark(LANE, "connection cut (no close packet)", "crash")
        await client.cut()

        await run.step(7)
        await run.beat()
        run.remark(LANE, "reconnecting", "online")
        await client.handshake()
        run.memo["sids"].append(client.sid)
        await self._connect(run, client, ns, auth)
        await client.post("1")           # goodbye: the lesson is over
        await run.beat()

    async def _connect(self, run: ScenarioRun, client: EngineSession, ns: str,
                       auth: dict[str, Any]) -> None:
        await client.post(f"40{ns},{json.dumps(auth)}")
        answer = await self._poll_until(run, client, f"40{ns},", "Socket.IO's CONNECT answer",
                                        refused=f"44{ns},")
        run.memo["sio_sids"].append(json.loads(answer.split(",", 1)[1]).get("sid"))

    @staticmethod
    async def _poll_until(run: ScenarioRun, client: EngineSession, prefix: str, what: str,
                          refused: str = "") -> str:
        for _ in range(20):
            for packet in await client.poll(timeout=run.wait):
                if packet.startswith(prefix):
                    if prefix.startswith("43"):
                        run.memo["echoes"].append("polling")
                    return packet
                if refused and packet.startswith(refused):
                    raise ScenarioError(f"the server refused the namespace: {packet[4:]}")
        raise ScenarioError(f"no {what} in 20 long-polling requests")

    async def check(self, run: ScenarioRun) -> EndState:
        c = Checks()
        hops = [p for lane, p in run.packets if lane == LANE and isinstance(p, Hop)]
        wire = [(p.direction, p.args[0]) for p in hops if p.kind != "HTTP" and p.args]
        c.facts["wire"] = wire
        info = run.memo.get("open", {})
        c.expect({"sid", "pingInterval", "pingTimeout"} <= set(info)
                 and "websocket" in info.get("upgrades", []),
                 f"open: sid, pingInterval {info.get('pingInterval')} ms, pingTimeout "
                 f"{info.get('pingTimeout')} ms, upgrades {info.get('upgrades')}")

        def at(direction: str, packet: str, start: int = 0) -> int:
            return next((i for i, (d, p) in enumerate(wire) if i >= start and d == direction
                         and p == packet), -1)

        opens = [i for i, (d, p) in enumerate(wire) if d == "in" and p.startswith("0")]
        probe, probed = at("out", "2probe"), at("in", "3probe")
        noop, upgrade = at("in", "6"), at("out", "5")
        ping = at("in", "2", max(upgrade, 0))
        pong = at("out", "3", max(ping, 0))
        order = [opens[0] if opens else -1, probe, probed, upgrade, ping, pong,
                 opens[1] if len(opens) > 1 else -1]
        c.facts["order"] = order
        c.expect(-1 not in order and order == sorted(order) and noop != -1,
                 "in order: open, ping probe, pong probe, (noop), upgrade, ping, pong, "
                 "open again")
        sids = run.memo["sids"]
        c.expect(len(sids) == 2 and sids[0] != sids[1],
                 "the reconnection is a new Engine.IO session (a new sid)")
        c.expect(len(run.memo["sio_sids"]) == 2 and all(run.memo["sio_sids"]),
                 "Socket.IO connected the namespace in both sessions")
        c.expect(run.memo["echoes"] == ["polling", "websocket"],
                 "the echo was acked over long-polling, then over the websocket")
        return c.end("handshake, upgrade, heartbeat and a new session after the drop")
