"""The Admin UI on our server alone (tests/interop/test_admin_ui.py compares it with Node's).

What the Namespaces card lists follows the sandbox namespaces in use, never ``*``; the
UI's commands with arguments of the wrong shape are refused with a reason and change
nothing; and turning the Admin UI on keeps the long-poll release of
server_stub/transport/longpoll.py (the stock instrumentation replaced it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.app.helpers import until
from tests.server_stub.admin_peers import AdminView, BareClient
from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import connected, unique

TOKEN = "admin-token"
#: Well under ping_interval + ping_timeout, which a pending poll waited for before.
ANSWERED_WITHIN = 10.0


def counts(stats: dict[str, Any]) -> dict[str, int]:
    return {n["name"]: n["socketsCount"] for n in stats["namespaces"]}


async def test_the_namespaces_card_follows_the_sandbox_namespaces(
        server_factory: ServerFactory) -> None:
    srv = server_factory("--admin", "--token", TOKEN)
    admin = await AdminView(srv.url, TOKEN).open()
    first, second = f"/{unique('lab')}", f"/{unique('demo')}"
    one = await BareClient(srv.url, "websocket").open(["/", first, second],
                                                      {"user": "ann", "token": TOKEN})
    two = await BareClient(srv.url, "polling").open([first], {"user": "ben", "token": TOKEN})
    try:
        shown = counts(await admin.next_stats())
        assert shown == {"/": 1, "/admin": 1, "/chat": 0, "/queue": 0, first: 2, second: 1}
        await one.eio.send(f"1{second},")          # ann leaves the second one: it is gone
        await until(lambda: second not in counts(admin.stats[-1]), timeout=10,
                    what=f"{second} off the card")
        assert counts(admin.stats[-1])[first] == 2
    finally:
        for peer in (one, two, admin):
            await peer.close()


async def test_malformed_commands_are_refused_and_change_nothing(
        server_factory: ServerFactory) -> None:
    srv = server_factory("--admin", "--token", TOKEN)
    admin = await AdminView(srv.url, TOKEN).open()
    lab = f"/{unique('lab')}"
    client = await BareClient(srv.url, "websocket").open(["/", lab],
                                                         {"user": "cat", "token": TOKEN})
    sid = client.sids[lab]
    try:
        refused = [
            ("_disconnect",),
            ("_disconnect", lab),
            ("_disconnect", lab, "yes", sid),
            ("_disconnect", 5, True, sid),
            ("_disconnect", "lab", True, sid),
            ("_disconnect", lab, True, []),
            ("_disconnect", lab, True, {"id": sid}),
            ("_disconnect", lab, True, sid, "extra"),
            ("join", lab, "", sid),
            ("join", lab, ["room"], sid),
            ("leave", lab),
            ("emit", lab, sid),
            ("emit", lab, sid, 42, "payload"),
        ]
        for event, *args in refused:
            ack = await admin.command(event, *args)
            assert ack["ok"] is False and ack["code"] == "invalid", (event, args, ack)
            assert ack["error"].endswith("."), ack
        assert client.disconnects() == [] and client.closed is None
        # the same commands, well formed, are carried out and acked
        assert await admin.command("join", lab, "extra-room", sid) == {"ok": True}
        assert await admin.command("emit", lab, "extra-room", "hello", 1) == {"ok": True}
        await until(lambda: any(p.startswith(f"2{lab},") and '"hello"' in p
                                for p in client.packets), timeout=5, what="the emit")
        assert await admin.command("_disconnect", lab, True, sid) == {"ok": True}
        await until(lambda: client.closed is not None, timeout=10, what="the client closed")
        assert sorted(client.disconnects()) == ["/", lab]
    finally:
        for peer in (client, admin):
            await peer.close()


async def test_a_polling_close_is_answered_at_once_with_the_admin_ui_on(
        server_factory: ServerFactory) -> None:
    srv = server_factory("--admin", "--token", TOKEN)
    base = f"{srv.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as r:
            opening = await r.text()
        sid = json.loads(opening[1:])["sid"]
        pending = asyncio.ensure_future(http.get(f"{base}&sid={sid}"))
        await asyncio.sleep(0)
        async with http.post(f"{base}&sid={sid}", data="1") as r:  # Engine.IO CLOSE
            assert r.status == 200
        response = await asyncio.wait_for(pending, ANSWERED_WITHIN)
        async with response:
            assert "42" not in await response.text()


async def test_refused_connections_are_never_listed(server_factory: ServerFactory) -> None:
    """A wrong token on /chat, or a wrong Admin UI password, is no socket of the UI's
    list (the stock instrumentation reported them before the connect handler ran)."""
    srv = server_factory("--admin", "--token", TOKEN)
    admin = await AdminView(srv.url, TOKEN).open()
    client = await BareClient(srv.url, "polling").open([], {})
    try:
        await client.join("/chat", {"user": "eve", "token": "wrong"})
        await client.join("/admin", {"username": "admin", "password": "wrong"})
        await until(lambda: len(client.refused()) == 2, timeout=10, what="two refusals")
        await client.join("/chat", {"user": "eve", "token": TOKEN})
        await until(lambda: "/chat" in client.sids, timeout=10, what="eve on /chat")
        eve = ("/chat", client.sids["/chat"])

        def reported() -> set[tuple[str, str]]:
            return {(s["nsp"], s["id"]) for s in admin.connected}

        await until(lambda: eve in reported(), timeout=10, what="eve's socket reported")
        # the UI's own socket is reported too, as Node's admin-ui does
        assert reported() <= {eve, ("/admin", admin.sio.get_sid("/admin"))}
    finally:
        for peer in (client, admin):
            await peer.close()


async def test_the_traffic_charts_count_what_goes_out_over_websockets(
        server_factory: ServerFactory) -> None:
    """The UI's packets and bytes charts count what engine.io writes into a websocket.
    Broadcasts and acks may skip that write for speed (fanout.write_direct); with the
    Admin UI on they do not, or the charts showed next to nothing."""
    srv = server_factory("--admin", "--token", TOKEN)
    admin = await AdminView(srv.url, TOKEN).open()
    room = unique("traffic")
    sender = await connected(srv.url, "sam", "/chat", token=TOKEN)
    receiver = await connected(srv.url, "rae", "/chat", token=TOKEN)
    try:
        for peer in (sender, receiver):
            assert (await peer.call("join", {"room": room}))["ok"] is True
        await admin.next_stats()  # what came before is counted in it
        seen = len(admin.stats)
        for n in range(10):
            assert (await sender.call("message", {"room": room, "text": f"m{n}"}))["ok"]
        for _ in range(10):
            await receiver.next("message")
        await admin.next_stats()  # the traffic is in this one and the ones before it
        out = {"packetsOut": 0, "bytesOut": 0}
        for stats in admin.stats[seen:]:
            for entry in stats["aggregatedEvents"]:
                if entry["type"] in out:
                    out[entry["type"]] += entry["count"]
        # 10 acks to the sender, 10 broadcasts to the receiver, and the stats themselves
        assert out["packetsOut"] >= 20, out
        assert out["bytesOut"] >= 20 * len('42/chat,{"text":"m0"}'), out
    finally:
        for peer in (sender, receiver, admin):
            await peer.close()
