"""The Engine.IO edge cases of issue 17, side by side: the official Node socket.io server
(server_edges.js) and the bundled server, with the same short timings, answer the same
raw probes (tests/server_stub/engine_probes.py) the same way.

The one deliberate difference (a PUT on an open polling session: Node's transport
answers an empty 500, ours a 400 with code 3) is checked in test_engine_edges.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.interop.helpers import NODE, NodeServer
from tests.server_stub import engine_probes as probes
from tests.support import ServerProcess, free_port, node_available, wait_for

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    srv = NodeServer(free_port(), *probes.node_args())
    gen = srv.run_script(NODE / "server_edges.js")
    next(gen)
    try:
        assert wait_for(lambda: srv.of("listening"), timeout=90), "the Node server_edges.js"
        yield srv.url
    finally:
        for _ in gen:
            pass


@pytest.fixture(scope="module")
def our_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = ServerProcess(Path(tmp_path_factory.mktemp("edges-vs-node")) / "server.db",
                        *probes.server_args()).start()
    yield srv.url
    srv.stop()


@pytest.fixture
def both(node_url: str, our_url: str) -> tuple[str, str]:
    return node_url, our_url


@pytest.mark.parametrize(("method", "query"), [
    ("GET", "EIO=4"),
    ("PUT", "EIO=4&transport=polling"),
    ("DELETE", "EIO=4&transport=polling"),
    ("GET", "EIO=4&transport=polling&sid=nobody"),
    ("GET", "EIO=4&transport=websocket"),
    ("GET", "EIO=3&transport=polling"),
])
async def test_refused_requests_answer_alike(both: tuple[str, str], method: str,
                                             query: str) -> None:
    answers = []
    async with aiohttp.ClientSession() as http:
        for url in both:
            got = await probes.request(http, method, probes.polling(url, query=query))
            answers.append((got.status, got.json()))
    assert answers[0] == answers[1]


async def test_client_close_answers_alike(both: tuple[str, str]) -> None:
    node, ours = [await probes.client_close(url) for url in both]
    assert node == ours
    assert node[1].body == "6"


@pytest.mark.parametrize("body", ["abc", "9", "2"])
async def test_undecodable_posts_close_alike(both: tuple[str, str], body: str) -> None:
    node, ours = [await probes.undecodable_post(url, body) for url in both]
    assert (node[0].status, node[0].body) == (ours[0].status, ours[0].body) == (200, "ok")
    assert node[1] == ours[1] == probes.Answer(200, "1")
    assert (node[2].status, node[2].json()) == (ours[2].status, ours[2].json())


@pytest.mark.parametrize("frame", ["99", "7", "", "hello", "2", "3", "6", '42["x"]'])
async def test_websocket_frames_alike(both: tuple[str, str], frame: str) -> None:
    node, ours = [await probes.websocket_outcome(url, frame) for url in both]
    assert node == ours


async def test_silent_session_expires_alike(both: tuple[str, str]) -> None:
    expiry = probes.PING_INTERVAL + probes.PING_TIMEOUT
    lives = await asyncio.gather(*(probes.lifetime(url, answer_pings=False) for url in both))
    for life in lives:
        assert life is not None and expiry - 0.05 <= life <= expiry + probes.LATE, lives


async def test_connect_timeout_alike(both: tuple[str, str]) -> None:
    lives = await asyncio.gather(*(probes.lifetime(url, answer_pings=True) for url in both))
    for life in lives:
        assert life is not None, lives
        assert probes.CONNECT_TIMEOUT - 0.05 <= life <= probes.CONNECT_TIMEOUT + probes.LATE
