"""The official Admin UI's view of our server is the one it has of Node's.

The same scenario runs against our server (``--admin --token``) and against the Node
reference (socket.io 4 instrumented with ``@socket.io/admin-ui``, laid out like ours:
``/``, ``/chat`` and ``/queue`` fixed, any other namespace made on demand and dropped once
empty). Two clients join ``/``, ``/chat`` and the sandbox namespace ``/lab``; the test
then does what the UI's pages do over its ``/admin`` socket: reads the Namespaces card
(``server_stats.namespaces``) and the socket list, disconnects one socket of bob's
("disconnect this socket", ``close: false``) and the whole of alice ("disconnect this
client", ``close: true``). What each server reports, and what the two clients see on
the wire, must be the same, and Node's must be what the Admin UI promises.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.app.helpers import until
from tests.interop.admin_ui import node_admin_server
from tests.server_stub.admin_peers import AdminView, BareClient
from tests.support import node_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]

TOKEN = "admin-ui-secret"
NAMESPACES = ["/", "/chat", "/lab"]
#: How a bare client sees the server end its transport: an Engine.IO CLOSE packet first
#: (python-engineio always; Node over long-polling), or the websocket just closing (Node
#: over websocket, which python-engineio's client calls a transport error).
SERVER_CLOSED = {"server disconnect", "transport error"}
SOCKET_KEYS = ["clientId", "data", "handshake", "id", "nsp", "rooms", "transport"]
HANDSHAKE_KEYS = ["address", "headers", "issued", "query", "secure", "time", "url", "xdomain"]


def counts(stats: dict[str, Any]) -> dict[str, int]:
    return {n["name"]: n["socketsCount"] for n in stats["namespaces"]}


def socket_shapes(sockets: list[dict[str, Any]], owners: dict[str, str]) -> list[tuple]:
    """What the UI's socket list shows, with ids replaced by whose socket it is."""
    return sorted((owners[s["id"]], s["nsp"], s["transport"], sorted(s),
                   sorted(s["handshake"]), len(s["clientId"])) for s in sockets)


async def scenario(url: str, transport: str) -> dict[str, Any]:
    """Run the Admin UI scenario against one server; the report has no ids in it."""
    alice = await BareClient(url, transport).open(NAMESPACES, {"user": "alice", "token": TOKEN})
    bob = await BareClient(url, transport).open(NAMESPACES, {"user": "bob", "token": TOKEN})
    admin = await AdminView(url, TOKEN).open()
    try:
        owners = {sid: who for who, client in (("alice", alice), ("bob", bob))
                  for sid in client.sids.values()}
        owners[admin.sio.get_sid("/admin")] = "admin"
        report: dict[str, Any] = {}
        stats = await admin.next_stats()
        report["namespaces"] = counts(stats)
        report["clients"] = (stats["clientsCount"], stats["pollingClientsCount"])
        assert admin.all_sockets is not None
        report["sockets"] = socket_shapes(admin.all_sockets, owners)
        report["one clientId per client"] = {
            who: len({s["clientId"] for s in admin.all_sockets if owners[s["id"]] == who})
            for who in ("alice", "bob")}

        # "disconnect this socket": bob leaves /lab, and nothing else of his goes
        await admin.disconnect_socket("/lab", bob.sids["/lab"], close=False)
        await until(lambda: bob.disconnects(), timeout=10, what="bob's DISCONNECT")
        # "disconnect this client": every namespace of alice's, then her transport
        await admin.disconnect_socket("/chat", alice.sids["/chat"], close=True)
        await until(lambda: alice.closed is not None and len(alice.disconnects()) == 3,
                    timeout=10, what="alice's namespaces and transport closed")
        await until(lambda: len(admin.disconnected) == 4, timeout=10,
                    what="four socket_disconnected reports")
        report["alice got DISCONNECT for"] = sorted(alice.disconnects())
        report["alice's transport closed by the server"] = alice.closed in SERVER_CLOSED
        report["admin saw"] = sorted((owners[sid], nsp, reason)
                                     for nsp, sid, reason in admin.disconnected)
        stats = await admin.next_stats()
        report["namespaces after"] = counts(stats)
        report["clients after"] = (stats["clientsCount"], stats["pollingClientsCount"])
        report["bob"] = (bob.closed, bob.disconnects())
        # a connection refused by /chat (wrong token) is never listed as a socket; the
        # socket accepted after it is (it marks that the refusal's report would be in)
        mallory = await BareClient(url, transport).open([], {})
        try:
            await mallory.join("/chat", {"user": "mallory", "token": "wrong"})
            await until(lambda: mallory.refused(), timeout=10, what="the refusal")
            await mallory.join("/late", {"user": "mallory", "token": TOKEN})
            await until(lambda: "/late" in mallory.sids, timeout=10, what="/late joined")
            owners[mallory.sids["/late"]] = "mallory"
            await until(lambda: any(s["nsp"] == "/late" for s in admin.connected),
                        timeout=10, what="mallory's /late socket reported")
        finally:
            await mallory.close()
        report["refused"] = mallory.refused()
        report["unknown sockets reported"] = [s["nsp"] for s in admin.connected
                                              if s["id"] not in owners]
        return report
    finally:
        for peer in (admin, alice, bob):
            await peer.close()


def expected(transport: str) -> dict[str, Any]:
    """What the Admin UI shows of the scenario (Node's view, written out)."""
    polling = 2 if transport == "polling" else 0

    def shape(who: str, nsp: str) -> tuple:
        kind = "websocket" if who == "admin" else transport
        return (who, nsp, kind, SOCKET_KEYS, HANDSHAKE_KEYS, 12)

    return {
        "namespaces": {"/": 2, "/admin": 1, "/chat": 2, "/lab": 2, "/queue": 0},
        "clients": (3, polling),
        "sockets": sorted([shape("admin", "/admin")] + [shape(who, nsp) for who in
                                                        ("alice", "bob") for nsp in NAMESPACES]),
        "one clientId per client": {"alice": 1, "bob": 1},
        "refused": ["/chat"],
        "unknown sockets reported": [],
        "alice got DISCONNECT for": ["/", "/chat", "/lab"],
        "alice's transport closed by the server": True,
        "admin saw": [("alice", nsp, "server namespace disconnect") for nsp in NAMESPACES]
                     + [("bob", "/lab", "server namespace disconnect")],
        # /lab was made on demand and is empty now: it is gone from the card
        "namespaces after": {"/": 1, "/admin": 1, "/chat": 1, "/queue": 0},
        "clients after": (2, polling // 2),
        "bob": (None, ["/lab"]),
    }


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_the_admin_ui_sees_our_server_as_it_sees_node(server_factory: Any,
                                                            transport: str) -> None:
    ours = server_factory("--admin", "--token", TOKEN)
    async with node_admin_server(TOKEN) as node:
        theirs, mine = await asyncio.gather(scenario(node.url, transport),
                                            scenario(ours.url, transport))
    assert theirs == expected(transport)
    assert mine == theirs
