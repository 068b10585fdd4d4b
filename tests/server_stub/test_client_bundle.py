"""The socket.io browser client: fetched from a (fake, local) npm registry, verified
against the pinned checksum, cached, and served like the Node server does."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server_stub.web import mount
from server_stub.web.client_bundle import (
    CLIENT_INTEGRITY,
    BundleError,
    ClientBundle,
    RegistryUnreachable,
    integrity_of,
)
from tests.support import free_port

VERSION = "9.9.9"
SOURCE = b"/* a test socket.io client */ window.io = function () {};\n"


def tarball(files: dict[str, bytes]) -> bytes:
    """A .tgz laid out like npm's: everything under ``package/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = tarball({"package.json": b'{"name": "socket.io-client"}',
                "dist/socket.io.js": SOURCE, "dist/socket.io.min.js": b"min();",
                "dist/socket.io.js.map": b'{"version": 3}', "dist/other.js": b"no"})


class FakeRegistry:
    """An aiohttp server answering the tarball URL with ``body``; counts requests."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.status = 200
        self.requests = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(status=self.status, body=self.body,
                            content_type="application/octet-stream")


@pytest.fixture
async def registry() -> AsyncIterator[FakeRegistry]:
    fake = FakeRegistry(GOOD)
    app = web.Application()
    app.router.add_get(f"/socket.io-client/-/socket.io-client-{VERSION}.tgz", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


def bundle(registry: str, cache: Path, integrity: str = integrity_of(GOOD)) -> ClientBundle:
    return ClientBundle(version=VERSION, integrity=integrity, registry=registry,
                        cache_dir=cache)


async def test_fetch_verifies_caches_and_extracts_in_memory(registry: FakeRegistry,
                                                            tmp_path: Path) -> None:
    b = bundle(registry.url, tmp_path / "cache")
    files = await b.get()
    assert files["socket.io.js"] == SOURCE
    assert set(files) == {"socket.io.js", "socket.io.min.js", "socket.io.js.map"}
    assert b.cache_path.read_bytes() == GOOD  # the verified tarball, nothing extracted
    assert sorted(p.name for p in b.cache_dir.iterdir()) == [b.cache_path.name]
    assert await b.get() is files and registry.requests == 1


async def test_cache_hit_needs_no_network(registry: FakeRegistry, tmp_path: Path) -> None:
    await bundle(registry.url, tmp_path).get()
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    files = await bundle(nowhere, tmp_path).get()
    assert files["socket.io.js"] == SOURCE and registry.requests == 1


async def test_checksum_mismatch_is_refused_and_nothing_cached(registry: FakeRegistry,
                                                               tmp_path: Path) -> None:
    b = bundle(registry.url, tmp_path / "cache", integrity=CLIENT_INTEGRITY)
    with pytest.raises(BundleError, match="checksum does not match"):
        await b.get()
    assert not (tmp_path / "cache").exists() and b.files is None


async def test_damaged_cache_is_not_served_but_replaced(registry: FakeRegistry,
                                                        tmp_path: Path) -> None:
    b = bundle(registry.url, tmp_path)
    tmp_path.mkdir(exist_ok=True)
    b.cache_path.write_bytes(GOOD[:-10])
    with pytest.raises(BundleError, match="checksum"):
        b.load_cached()
    assert (await b.get())["socket.io.js"] == SOURCE
    assert b.cache_path.read_bytes() == GOOD and registry.requests == 1


async def test_offline_failure_is_remembered_but_a_cached_file_is_picked_up(
        registry: FakeRegistry, tmp_path: Path) -> None:
    offline = bundle(f"http://127.0.0.1:{free_port()}", tmp_path)
    with pytest.raises(RegistryUnreachable, match="cannot download"):
        await offline.get()
    with pytest.raises(RegistryUnreachable, match="cannot download"):
        await offline.get()  # the remembered failure, same kind
    registry.status = 500
    failing = bundle(registry.url, tmp_path)
    for _ in range(3):
        with pytest.raises(BundleError, match="HTTP 500"):
            await failing.get()
    assert registry.requests == 1  # not asked again within RETRY_AFTER
    failing.cache_path.write_bytes(GOOD)  # what the 503 message tells the operator to do
    assert (await failing.get())["socket.io.js"] == SOURCE


async def test_http_error_and_oversized_or_broken_tarballs(registry: FakeRegistry,
                                                           tmp_path: Path) -> None:
    missing = ClientBundle(version="0.0.1", integrity="x", registry=registry.url,
                           cache_dir=tmp_path)
    with pytest.raises(BundleError, match="HTTP 404"):
        await missing.get()
    registry.body = b"not a tarball"
    broken = bundle(registry.url, tmp_path, integrity=integrity_of(b"not a tarball"))
    with pytest.raises(BundleError, match="cannot be read"):
        await broken.get()
    registry.body = tarball({"dist/socket.io.min.js": b"x"})
    empty = bundle(registry.url, tmp_path, integrity=integrity_of(registry.body))
    with pytest.raises(BundleError, match=r"no dist/socket\.io\.js"):
        await empty.get()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
async def client_for() -> AsyncIterator[list[TestClient]]:
    clients: list[TestClient] = []
    yield clients
    for client in clients:
        await client.close()


async def served(b: ClientBundle, clients: list[TestClient]) -> TestClient:
    app = web.Application()
    mount(app, b)
    client = TestClient(TestServer(app))
    await client.start_server()
    clients.append(client)
    return client


async def test_route_serves_like_the_node_server(registry: FakeRegistry, tmp_path: Path,
                                                 client_for: list[TestClient]) -> None:
    http = await served(bundle(registry.url, tmp_path), client_for)
    response = await http.get("/socket.io/socket.io.js")
    assert response.status == 200 and await response.read() == SOURCE
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.headers["ETag"] == f'"{VERSION}"'
    assert response.headers["Cache-Control"] == "public, max-age=0"
    mapped = await http.get("/socket.io/socket.io.js.map")
    assert mapped.headers["Content-Type"] == "application/json; charset=utf-8"
    for etag in (f'"{VERSION}"', f'W/"{VERSION}"'):
        again = await http.get("/socket.io/socket.io.js", headers={"If-None-Match": etag})
        assert again.status == 304
    zipped = await http.get("/socket.io/socket.io.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip" and await zipped.read() == SOURCE
    assert (await http.get("/socket.io/socket.io.esm.min.js")).status == 404  # not in it
    assert (await http.get("/socket.io/anything.js")).status == 404


async def test_route_answers_503_with_how_to_get_it(registry: FakeRegistry, tmp_path: Path,
                                                    client_for: list[TestClient],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    b = bundle(registry.url, tmp_path / "cache", integrity=CLIENT_INTEGRITY)
    http = await served(b, client_for)
    response = await http.get("/socket.io/socket.io.js")
    body = await response.text()
    assert response.status == 503
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert "throw new Error(" in body and "console.error(" in body
    for text in (body, caplog.text):
        assert "checksum does not match" in text
        assert "sockdesk-server fetch-client" in text and str(b.cache_path) in text
    assert not (tmp_path / "cache").exists()


def test_fetch_client_command_says_how_when_offline(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from server_stub import cli

    monkeypatch.setenv("SOCKDESK_NPM_REGISTRY", f"http://127.0.0.1:{free_port()}")
    assert cli.main(["fetch-client", "--cache", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sockdesk-server: error: cannot download") and err.count("\n") == 1
    assert f"at {tmp_path / 'socket.io-client-4.8.4.tgz'}" in err
    assert list(tmp_path.iterdir()) == []
