"""The official Node socket.io-client v4 against our server, with a Python peer in the room.

Proves the contract needs nothing SockDesk-specific on the client side: connect with
auth, welcome, join, ack shapes, a live message from another (Python) client, and
``ok: false`` acks for malformed payloads.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.server_stub.peers import connected, unique
from tests.support import ServerProcess, node_available, run_node

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(), reason="node and npm are not installed"),
]

NODE = Path(__file__).parent / "node"


def ndjson(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


async def test_node_client_chats_with_a_python_peer(server: ServerProcess) -> None:
    room = unique("interop")
    node_user = unique("node")
    py = await connected(server.url, unique("py"))
    try:
        await py.call("join", {"room": room})
        node = asyncio.create_task(asyncio.to_thread(
            run_node, NODE / "client_chat.js", server.url, room, node_user, timeout=120))
        presence = await py.next("presence", timeout=90)  # npm install may run first
        assert presence["user"] == node_user and presence["event"] == "joined"
        sent = await py.call("message", {"room": room, "text": "hello from python"})
        from_node = await py.next("message", timeout=30)
        result = await asyncio.wait_for(node, 60)
    finally:
        await py.close()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = ndjson(result.stdout)
    steps = {line["step"]: line for line in lines if line["step"] != "malformed"}

    welcome = steps["welcome"]["data"]
    assert welcome["server"] == "sockdesk" and welcome["user"] == node_user
    assert welcome["namespace"] == "/chat" and steps["welcome"]["connected"] is True

    join = steps["join"]["ack"]
    assert join["ok"] is True and join["room"] == room
    assert join["members"] == sorted([py.user, node_user])
    assert join["history"] == [] and join["offset"] == 0 and join["more"] is False

    received = steps["received"]["data"]
    assert received == {"room": room, "user": py.user, "text": "hello from python",
                        "id": sent["id"], "offset": sent["offset"], "ts": sent["ts"]}

    ack = steps["sent"]["ack"]
    assert ack["ok"] is True and ack["offset"] == 2 and ack["id"].startswith("node-")
    assert from_node["user"] == node_user and from_node["text"] == "hello from node"
    assert from_node["id"] == ack["id"]

    malformed = {line["kind"]: line["ack"] for line in lines if line["step"] == "malformed"}
    assert malformed["string"]["ok"] is False and malformed["string"]["code"] == "invalid"
    assert malformed["room-number"]["code"] == "invalid"
    assert malformed["too-large"]["code"] == "too_large"
    assert all(isinstance(a["error"], str) and a["error"] for a in malformed.values())
    assert "done" in steps


@pytest.mark.parametrize("auth", [{"user": "bad name!"}, {}])
async def test_node_client_gets_connect_error_message(server: ServerProcess,
                                                     auth: dict[str, Any]) -> None:
    result = await asyncio.to_thread(run_node, NODE / "client_refused.js", server.url,
                                     "/chat", json.dumps(auth), timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = ndjson(result.stdout)
    assert line["step"] == "connect_error"
    assert isinstance(line["message"], str) and "user" in line["message"]
