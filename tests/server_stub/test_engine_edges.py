"""Engine.IO edge cases answered as the Node server answers them (issue 17):
server_stub/transport/engine.py, verify.py, heartbeat.py, frames.py, longpoll.py.

One server for the module, with short timings (engine_probes: a silent session expires
after 2.5 s, a session without namespace after 3.5 s), so nothing waits 45 s. The same
probes run against the Node server in tests/interop/test_edges_vs_node_server.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from server_stub.cli import build_parser, engine_options
from server_stub.transport.frames import violation
from server_stub.transport.verify import refusal
from tests.server_stub import engine_probes as probes
from tests.server_stub.peers import connected, unique
from tests.support import ServerProcess


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("edges") / "server.db",
                        *probes.server_args()).start()
    yield srv
    output = srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0, output[-5000:]


@pytest.fixture
def url(edge_server: ServerProcess) -> str:
    return edge_server.url


# -- (3) requests refused with Node's 400 and JSON body -------------------------------

@pytest.mark.parametrize(("method", "query", "code", "message"), [
    ("GET", "EIO=4", 0, "Transport unknown"),
    ("GET", "EIO=4&transport=carrier-pigeon", 0, "Transport unknown"),
    ("PUT", "EIO=4", 0, "Transport unknown"),
    ("PUT", "EIO=4&transport=polling", 2, "Bad handshake method"),
    ("DELETE", "EIO=4&transport=polling", 2, "Bad handshake method"),
    ("POST", "EIO=4&transport=polling", 2, "Bad handshake method"),
    ("GET", "EIO=4&transport=polling&sid=nobody", 1, "Session ID unknown"),
    ("GET", "EIO=4&transport=websocket", 3, "Bad request"),  # no Upgrade header
    ("GET", "transport=polling", 5, "Unsupported protocol version"),
    ("GET", "EIO=3&transport=polling", 5, "Unsupported protocol version"),
])
async def test_bad_requests_get_nodes_400(url: str, method: str, query: str, code: int,
                                          message: str) -> None:
    async with (aiohttp.ClientSession() as http,
                http.request(method, probes.polling(url, query=query)) as r):
        assert r.status == 400
        assert r.headers["Content-Type"].startswith("application/json")
        assert await r.json() == {"code": code, "message": message}


async def test_requests_on_a_session_in_the_wrong_way(url: str) -> None:
    """Another transport without upgrade, or a method polling has no use for: code 3
    (Node answers the second with an empty 500; see docs/PROTOCOL.md). The session
    itself is not harmed."""
    async with aiohttp.ClientSession() as http:
        sid = await probes.handshake(http, url)
        for method, query in (("GET", "EIO=4&transport=websocket"),
                              ("PUT", "EIO=4&transport=polling")):
            got = await probes.request(http, method, probes.polling(url, sid, query))
            assert (got.status, got.json()) == (400, {"code": 3, "message": "Bad request"})
        assert (await probes.request(http, "POST", probes.polling(url, sid), "40")).status \
            == 200


async def test_preflight_and_handshake_still_work(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.options(probes.polling(url),
                                headers={"Origin": url,
                                         "Access-Control-Request-Method": "GET"}) as r:
            assert r.status == 200
        assert await probes.handshake(http, url)


def test_refusal_rules_in_order() -> None:
    """The pure rule, for what HTTP cannot easily show: a closed session is unknown."""
    class Sock:
        def __init__(self, closed: bool = False, upgraded: bool = False) -> None:
            self.closed, self.upgraded = closed, upgraded

    env = {"REQUEST_METHOD": "GET", "QUERY_STRING": "EIO=4&transport=polling&sid=s"}
    transports = ["polling", "websocket"]
    assert refusal(env, {"s": Sock()}, transports) is None
    assert refusal(env, {"s": Sock(closed=True)}, transports) == 1
    assert refusal(env, {"s": Sock(upgraded=True)}, transports) == 3
    assert refusal({**env, "REQUEST_METHOD": "OPTIONS", "QUERY_STRING": ""}, {},
                   transports) is None
    assert refusal({**env, "QUERY_STRING": "EIO=4&transport=websocket"}, {},
                   ["polling"]) == 0


# -- (4) a polling client's close ------------------------------------------------------

async def test_client_close_answers_the_pending_get_with_a_noop(url: str) -> None:
    post, get = await probes.client_close(url)
    assert (post.status, post.body) == (200, "ok")
    assert (get.status, get.body) == (200, "6")


# -- (5) undecodable packets close the session ---------------------------------------

@pytest.mark.parametrize("body", ["abc", "9", "2", "40\x1eabc"])
async def test_undecodable_post_closes_the_session(url: str, body: str) -> None:
    post, get, later = await probes.undecodable_post(url, body)
    assert (post.status, post.body) == (200, "ok")  # Node answers the POST itself
    # the pending GET ends with CLOSE (after the CONNECT answer, for "40" before it)
    assert (get.status, get.body.split(probes.SEPARATOR)[-1]) == (200, "1")
    assert (later.status, later.json()) == (400, {"code": 1,
                                                  "message": "Session ID unknown"})


async def test_more_than_16_packets_in_one_post_all_arrive(url: str) -> None:
    """python-engineio dropped a whole payload over 16 packets; Node has no such cap."""
    async with aiohttp.ClientSession() as http:
        sid = await probes.handshake(http, url)
        assert (await probes.request(http, "POST", probes.polling(url, sid), "40")).status \
            == 200
        events = probes.SEPARATOR.join(f'42{n}["rooms"]' for n in range(20))
        post = await probes.request(http, "POST", probes.polling(url, sid), events)
        assert post.status == 200
        acks: set[str] = set()
        while len(acks) < 20:
            got = await probes.request(http, "GET", probes.polling(url, sid))
            assert got.status == 200, got
            acks |= {p[2:p.index("[")] for p in got.body.split(probes.SEPARATOR)
                     if p.startswith("43")}
        assert acks == {str(n) for n in range(20)}


@pytest.mark.parametrize(("frame", "expected"), [
    ("99", "closed"), ("7", "closed"), ("", "closed"), ("hello", "closed"),
    ("2", "closed"), ("bnot base64!", "closed"),
    ("3", "open"), ("6", "open"), ('42["rooms"]', "open"),
])
async def test_websocket_frames_node_closes_for(url: str, frame: str, expected: str) -> None:
    assert await probes.websocket_outcome(url, frame) == expected


def test_violation_rule() -> None:
    assert violation("abc") == "parse error"
    assert violation("2") == "invalid heartbeat direction"
    assert violation("2probe") is None  # the upgrade probe
    assert violation(b"\x00\xff") is None  # binary frames are messages
    assert violation('42["x"]') is None


async def test_a_garbage_sender_does_not_disturb_a_room(url: str) -> None:
    """The bystander rule: the others' room traffic goes on around the closed session."""
    room = unique("edges")
    a, b = await connected(url, unique("a")), await connected(url, unique("b"))
    try:
        for peer in (a, b):
            assert (await peer.call("join", {"room": room}))["ok"]
        assert await probes.websocket_outcome(url, "hello") == "closed"
        _, get, _ = await probes.undecodable_post(url, "abc")
        assert get.body == "1"
        sent = await a.call("message", {"room": room, "text": "still here"})
        assert sent["ok"]
        assert (await b.next("message"))["id"] == sent["id"]
    finally:
        await a.close()
        await b.close()


# -- (1) and (2): timing --------------------------------------------------------------

async def test_silent_polling_sessions_expire_on_time(url: str) -> None:
    """pingInterval + pingTimeout after the handshake, not up to pingTimeout later."""
    expiry = probes.PING_INTERVAL + probes.PING_TIMEOUT
    lives = await asyncio.gather(*(probes.lifetime(url, answer_pings=False)
                                   for _ in range(3)))
    for life in lives:
        assert life is not None and expiry - 0.05 <= life <= expiry + probes.LATE, lives


async def test_a_session_without_namespace_is_closed_after_the_connect_timeout(
        url: str) -> None:
    """It answers every ping; the connect timeout closes it. One that connected a
    namespace is left alone."""
    lonely, member = await asyncio.gather(
        probes.lifetime(url, answer_pings=True),
        probes.lifetime(url, answer_pings=True, namespace=True,
                        longest=probes.CONNECT_TIMEOUT + 1.5))
    assert lonely is not None
    assert probes.CONNECT_TIMEOUT - 0.05 <= lonely <= probes.CONNECT_TIMEOUT + probes.LATE
    assert member is None


def test_engine_options_from_the_command_line() -> None:
    """Seconds, Node's defaults; ``--connect-timeout 0`` turns the timeout off."""
    args = build_parser().parse_args(["--connect-timeout", "0", "--ping-interval", "2"])
    options = engine_options(args)
    assert (options.connect_timeout, options.ping_interval, options.ping_timeout) == \
        (0.0, 2.0, 20.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--connect-timeout", "-1"])
