"""The official socket.io browser client, fetched from npm, verified, cached.

A browser page loads ``/socket.io/socket.io.js`` from the server it talks to, as with the
Node server. That file is socket.io's code, not ours, so it is not in the repository: the
server downloads the pinned ``socket.io-client`` release from the npm registry the first
time it is asked for it (or ahead of time, ``sockdesk-server fetch-client``), checks the
tarball against the ``dist.integrity`` npm publishes for that release, and keeps the
tarball in the user's cache folder. The tarball, not the extracted files, is what is
cached, so the check runs again on every load: a cached file that was changed or cut
short is refused like a bad download. Nothing unverified is ever served.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import os
import tarfile
import time
from pathlib import Path

import aiohttp

from server_stub.paths import user_cache_dir

log = logging.getLogger(__name__)

#: The release served; the same major/minor as the socket.io the interop tests install.
CLIENT_VERSION = "4.8.4"
#: ``npm view socket.io-client@4.8.4 dist.integrity``
CLIENT_INTEGRITY = ("sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjx"
                    "EqrWgFoSRZu1ihjLWfkAA==")
DEFAULT_REGISTRY = "https://registry.npmjs.org"
#: Environment overrides: another registry (a mirror, or a test's fake), another cache.
REGISTRY_ENV = "SOCKDESK_NPM_REGISTRY"
CACHE_ENV = "SOCKDESK_CLIENT_CACHE"
#: The files the Node server serves under its path (``CLIENT_FILES`` in socket.io).
CLIENT_FILES = frozenset({
    "socket.io.js", "socket.io.js.map", "socket.io.min.js", "socket.io.min.js.map",
    "socket.io.esm.min.js", "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
})
#: The real tarball is ~330 KB; a registry sending much more is not sending it.
MAX_TARBALL_BYTES = 16 << 20
FETCH_TIMEOUT = 30.0
#: After a failed fetch, requests are answered with the failure for this long instead of
#: each one going to the registry again.
RETRY_AFTER = 10.0


class BundleError(Exception):
    """The client cannot be had; the message is one sentence for the operator."""


class RegistryUnreachable(BundleError):
    """The registry could not be asked at all (offline, DNS, refused, timed out), as
    opposed to a registry that answered with something wrong."""


def integrity_of(data: bytes) -> str:
    """The npm ``dist.integrity`` string (SRI, sha512) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def unpack(data: bytes) -> dict[str, bytes]:
    """The client files from a verified tarball (``package/dist/<name>``), in memory."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                folder, _, name = member.name.rpartition("/")
                if folder == "package/dist" and name in CLIENT_FILES and member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[name] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"the socket.io-client tarball cannot be read: {exc}") from exc
    if "socket.io.js" not in files:
        raise BundleError("the socket.io-client tarball has no dist/socket.io.js")
    return files


def default_cache_dir() -> Path:
    """``$SOCKDESK_CLIENT_CACHE``, else ``<user cache dir>/socket.io-client``."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else user_cache_dir() / "socket.io-client"


class ClientBundle:
    """One pinned release: where it comes from, where it is cached, and its files once
    loaded. ``get()`` is safe to call from many requests at once: one fetch runs."""

    def __init__(self, version: str = CLIENT_VERSION, integrity: str = CLIENT_INTEGRITY,
                 registry: str | None = None, cache_dir: Path | None = None) -> None:
        self.version = version
        self.integrity = integrity
        self.registry = (registry or os.environ.get(REGISTRY_ENV)
                         or DEFAULT_REGISTRY).rstrip("/")
        self.cache_dir = cache_dir or default_cache_dir()
        self.files: dict[str, bytes] | None = None
        self._lock = asyncio.Lock()
        self._failure: tuple[float, BundleError] | None = None

    @property
    def tarball_url(self) -> str:
        return f"{self.registry}/socket.io-client/-/socket.io-client-{self.version}.tgz"

    @property
    def cache_path(self) -> Path:
        return self.cache_dir / f"socket.io-client-{self.version}.tgz"

    @property
    def etag(self) -> str:
        """Quoted, as the Node server sends it (its version; here the client's)."""
        return f'"{self.version}"'

    def how_to_get(self) -> str:
        """The sentence telling the operator how to provide the file by hand."""
        return (f"run 'sockdesk-server fetch-client' while this machine reaches "
                f"{self.registry}, or download {self.tarball_url} elsewhere and put it at "
                f"{self.cache_path}")

    def verified(self, data: bytes, where: str) -> dict[str, bytes]:
        """The files of ``data`` if it is the pinned release, else BundleError."""
        if integrity_of(data) != self.integrity:
            raise BundleError(f"{where} is not socket.io-client {self.version}: its "
                              "checksum does not match the pinned one, so it is not served")
        return unpack(data)

    # -- the cache -----------------------------------------------------------------------
    def load_cached(self) -> dict[str, bytes] | None:
        """The files from the cached tarball, None when there is none; BundleError when
        it is there but not the pinned release (it is left as it is, and not served)."""
        try:
            data = self.cache_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BundleError(f"cannot read {self.cache_path}: {exc.strerror}") from exc
        return self.verified(data, str(self.cache_path))

    def store(self, data: bytes) -> None:
        """Write a verified tarball to the cache atomically (a reader never sees half)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = self.cache_path.with_name(f"{self.cache_path.name}.{os.getpid()}.part")
        try:
            partial.write_bytes(data)
            partial.replace(self.cache_path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            # Still servable from memory; only the next start will fetch again.
            log.warning("cannot cache the socket.io client in %s: %s", self.cache_dir,
                        exc.strerror)

    # -- the registry --------------------------------------------------------------------
    async def download(self) -> bytes:
        """The tarball from the registry, size-capped; BundleError on any failure."""
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, \
                    http.get(self.tarball_url) as response:
                if response.status != 200:
                    raise BundleError(f"{self.tarball_url} answered HTTP {response.status}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > MAX_TARBALL_BYTES:
                        break
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise RegistryUnreachable(
                f"cannot download {self.tarball_url}: {reason}") from exc
        if len(data) > MAX_TARBALL_BYTES:
            raise BundleError(f"{self.tarball_url} is larger than {MAX_TARBALL_BYTES} bytes")
        return bytes(data)

    async def fetch(self) -> dict[str, bytes]:
        """Download, verify, cache; the files. Never touches the cache on a bad file."""
        data = await self.download()
        files = self.verified(data, self.tarball_url)
        await asyncio.to_thread(self.store, data)
        log.info("cached socket.io-client %s in %s", self.version, self.cache_path)
        return files

    async def get(self) -> dict[str, bytes]:
        """The files: from memory, else the cache, else the registry. BundleError (with
        how to get the file) when none works; a failure is remembered for RETRY_AFTER
        seconds, but a file put into the cache meanwhile is picked up at once."""
        if self.files is not None:
            return self.files
        async with self._lock:
            if self.files is not None:
                return self.files
            try:
                files = await asyncio.to_thread(self.load_cached)
            except BundleError as bad_cache:
                # A damaged cache is replaced by a verified download, if there is one.
                log.warning("%s; fetching it again", bad_cache)
                files = None
            if files is None:
                if self._failure is not None and \
                        time.monotonic() - self._failure[0] < RETRY_AFTER:
                    earlier = self._failure[1]
                    raise type(earlier)(str(earlier))
                try:
                    files = await self.fetch()
                except BundleError as exc:
                    self._failure = (time.monotonic(), exc)
                    raise
            self.files = files
            self._failure = None
            return files
