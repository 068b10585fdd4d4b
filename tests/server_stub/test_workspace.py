"""What a workspace client relies on, on both backends: the ``welcome`` says which history
the server keeps (stable across restarts, new with new storage) and that it drops
duplicate ids; user names can be claimed with a key (trust on first use), and
``sockdesk-server release-name`` frees one again."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import TIMEOUT, Peer, connected, refused, unique
from tests.support import REPO, RedisServer, ServerProcess

HEX32 = re.compile(r"[0-9a-f]{32}")
KEY = "k" * 15 + "-first-key"
OTHER_KEY = "k" * 15 + "-other-key"


async def welcome(url: str, user: str, ns: str = "/chat", **auth: Any) -> dict[str, Any]:
    peer = await connected(url, user, ns, auth={"user": user, **auth})
    try:
        return dict(peer.received("welcome", ns)[0])
    finally:
        await peer.close()


@pytest.fixture
def fresh_storage_args(backend: str, request: pytest.FixtureRequest,
                       tmp_path: Path) -> Iterator[list[str]]:
    """Options for a server on storage no server used yet (a new file, a new Redis db)."""
    if backend == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        yield ["--redis", redis.fresh_url()]
    else:
        yield []


def release(user: str, *where: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server_stub", "release-name", user, *where],
                          cwd=REPO, capture_output=True, text=True, timeout=30)


def storage_option(srv: ServerProcess) -> list[str]:
    """``--redis URL`` or ``--db PATH``: where ``srv`` keeps its state."""
    if "--redis" in srv.extra:
        return ["--redis", srv.extra[srv.extra.index("--redis") + 1]]
    return ["--db", str(srv.db)]


# -- welcome ---------------------------------------------------------------------------

async def test_welcome_names_the_history_and_promises_dedupe(
        server_factory: ServerFactory, tmp_path: Path,
        fresh_storage_args: list[str]) -> None:
    srv = server_factory()
    first = await welcome(srv.url, unique("w"))
    assert HEX32.fullmatch(first["history"]), first
    assert first["dedupe"] is True and first["claimed"] is False
    assert set(first) == {"server", "version", "sid", "user", "namespace", "history",
                          "dedupe", "claimed"}
    # the same on every namespace
    for ns in ("/queue", "/", "/somewhere"):
        assert (await welcome(srv.url, unique("w"), ns))["history"] == first["history"]

    srv.stop()
    srv.restart()
    assert (await welcome(srv.url, unique("w")))["history"] == first["history"]

    other = ServerProcess(tmp_path / "other.db", *fresh_storage_args).start()
    try:
        replaced = await welcome(other.url, unique("w"))
    finally:
        other.kill()
    assert HEX32.fullmatch(replaced["history"])
    assert replaced["history"] != first["history"]


# -- claimed names ---------------------------------------------------------------------

async def test_first_key_claims_the_name_everywhere(server_factory: ServerFactory) -> None:
    srv = server_factory()
    user = unique("alice")
    assert (await welcome(srv.url, user, key=KEY))["claimed"] is True
    for ns in ("/chat", "/queue", "/", "/sandbox"):
        assert (await welcome(srv.url, user, ns, key=KEY))["claimed"] is True
        for auth in ({"user": user, "key": OTHER_KEY}, {"user": user},
                     {"user": user, "key": None}):
            assert await refused(srv.url, ns, auth) == {
                "message": f"the name {user} is taken"}, (ns, auth)
    # a claim is kept by the storage, so it survives a restart
    srv.stop()
    srv.restart()
    assert await refused(srv.url, "/chat", {"user": user}) == {
        "message": f"the name {user} is taken"}
    assert (await welcome(srv.url, user, key=KEY))["claimed"] is True


async def test_a_claim_holds_for_every_spelling_of_the_name(
        server_factory: ServerFactory) -> None:
    """"Alice" is not a second alice (a reviewer joined as "Alice" beside the host's
    "alice"); release-name frees every spelling."""
    srv = server_factory()
    user = unique("alice")
    assert (await welcome(srv.url, user, key=KEY))["claimed"] is True
    shouted = user.upper()
    for other in (user.capitalize(), shouted):
        for auth in ({"user": other}, {"user": other, "key": OTHER_KEY}):
            assert await refused(srv.url, "/chat", auth) == {
                "message": f"the name {other} is taken"}, auth
    # the key's owner may write it as they like
    assert (await welcome(srv.url, user.capitalize(), key=KEY))["claimed"] is True
    done = await asyncio.to_thread(release, shouted, *storage_option(srv))
    assert done.returncode == 0, done.stderr
    assert (await welcome(srv.url, user.capitalize(), key=OTHER_KEY))["claimed"] is True


async def test_a_claim_made_before_names_were_folded_still_holds(tmp_path: Path) -> None:
    """A claim stored under its exact spelling ("Zoe", by an older server) keeps
    working for its key and keeps refusing others."""
    import sqlite3

    from server_stub.claims import seal

    srv = ServerProcess(tmp_path / "old.db").start()
    try:
        assert (await welcome(srv.url, unique("warm-up")))["claimed"] is False
    finally:
        srv.stop()
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.execute("INSERT INTO name_claims (name, secret) VALUES (?, ?)",
                   ("Zoe", seal(KEY)))
    srv.restart()
    try:
        assert await refused(srv.url, "/chat", {"user": "Zoe", "key": OTHER_KEY}) == {
            "message": "the name Zoe is taken"}
        assert (await welcome(srv.url, "Zoe", key=KEY))["claimed"] is True
    finally:
        srv.kill()


async def test_unclaimed_names_need_no_key(server_factory: ServerFactory) -> None:
    srv = server_factory()
    user = unique("bob")
    peer = await connected(srv.url, user, "/chat", "/queue", "/")
    assert [w["claimed"] for w in peer.received("welcome", "/chat")] == [False]
    await peer.close()
    # still unclaimed: a plain client again, then the first key takes it
    assert (await welcome(srv.url, user))["claimed"] is False
    assert (await welcome(srv.url, user, key=OTHER_KEY))["claimed"] is True
    assert await refused(srv.url, "/chat", {"user": user}) == {
        "message": f"the name {user} is taken"}


async def test_bad_keys_are_refused_with_a_reason(server_factory: ServerFactory) -> None:
    srv = server_factory()
    user = unique("carol")
    for key, why in (("x" * 15, "too short"), ("", "too short"), ("x" * 257, "too long"),
                     (12345, "must be a string"), (["k" * 20], "must be a string")):
        data = await refused(srv.url, "/chat", {"user": user, "key": key})
        assert set(data) == {"message"} and why in data["message"], (key, data)
        assert "16-256 characters" in data["message"]
    # none of them claimed the name; the shortest and the longest valid keys work
    assert (await welcome(srv.url, user))["claimed"] is False
    assert (await welcome(srv.url, user, key="y" * 16))["claimed"] is True
    other = unique("dave")
    assert (await welcome(srv.url, other, key="é" * 256))["claimed"] is True
    assert (await welcome(srv.url, other, key="é" * 256))["claimed"] is True


async def test_racing_first_keys_one_wins(server_factory: ServerFactory) -> None:
    """Two first connections with different keys at once: the claim is atomic in the
    storage, so exactly one is accepted and the other is told the name is taken."""
    srv = server_factory()
    user = unique("erin")
    peers = [Peer(srv.url, user, "/chat", auth={"user": user, "key": f"{i}" * 16})
             for i in range(2)]

    async def attempt(peer: Peer) -> bool:
        try:
            await peer.client.connect(srv.url, namespaces=["/chat"], auth=peer.auth,
                                      transports=["websocket"], wait_timeout=TIMEOUT)
        except socketio.exceptions.ConnectionError:
            return False
        return True

    results = await asyncio.gather(*(attempt(p) for p in peers))
    assert sorted(results) == [False, True]
    loser = peers[results.index(False)]
    assert loser.connect_errors["/chat"] == {"message": f"the name {user} is taken"}
    winner = peers[results.index(True)]
    assert (await winner.next("welcome"))["claimed"] is True
    for peer in peers:
        if peer.client.eio.state == "connected":
            await peer.client.disconnect()


async def test_release_name_frees_a_claim(server_factory: ServerFactory) -> None:
    srv = server_factory()
    user = unique("frank")
    assert (await welcome(srv.url, user, key=KEY))["claimed"] is True
    where = storage_option(srv)

    done = await asyncio.to_thread(release, user, *where)   # while the server runs
    assert done.returncode == 0, done.stderr
    assert f"Released the name {user}" in done.stdout and done.stderr == ""
    # at once: the name takes no key now, and another key may claim it
    assert (await welcome(srv.url, user))["claimed"] is False
    assert (await welcome(srv.url, user, key=OTHER_KEY))["claimed"] is True
    assert await refused(srv.url, "/chat", {"user": user, "key": KEY}) == {
        "message": f"the name {user} is taken"}

    never = unique("ghost")
    missing = await asyncio.to_thread(release, never, *where)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("sockdesk-server: error: ")
    assert f"the name {never} has no claim" in missing.stderr
    assert missing.stderr.count("\n") == 1
