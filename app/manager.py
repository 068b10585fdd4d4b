"""The connection manager: one Engine.IO connection, its attempts, and its namespaces.

Like socket.io-client's Manager under its Sockets, it owns the transport (`SioClient`)
and everything about getting and keeping it: attempts with back-off and jitter, fail-over
between the server's addresses (starting with the one that worked last), the wait for
every namespace's answer, and the retries of a namespace the server refused while the
others stay connected. The session (`app.base_session`) owns what flows over it:
readiness, the outbox, inbound events.

States and reasons are reported through the session, which the UI watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine
from typing import Any, Protocol

from socketio import exceptions as sio_exc

from app import errors
from app.config import ConnectionConfig, ReconnectPolicy
from app.session_state import ConnectionState
from app.signals import Signal, cancel_and_wait
from app.sioclient import ClientHooks, SioClient

log = logging.getLogger("app.session")


#: a refused namespace is asked again less and less often, up to once a minute: a refusal
#: (auth, a missing namespace) rarely goes away by itself, and each try is two packets
NAMESPACE_RETRY_MAX = 60.0


def namespace_delay(policy: ReconnectPolicy, attempt: int) -> float:
    """The wait before asking again for a refused namespace (attempt is 1-based)."""
    return min(NAMESPACE_RETRY_MAX, max(policy.delay_max, policy.delay) * 2 ** (attempt - 1))


class ManagedSession(ClientHooks, Protocol):
    """What the manager needs of the session it connects (`BaseSession` is one): the
    settings, where to report, and the hooks the transport calls."""

    config: ConnectionConfig
    namespaces: list[str]
    state: ConnectionState
    last_error: str | None
    namespace_refused: Signal[Any]

    def set_state(self, state: ConnectionState, reason: str,
                  unreachable: bool = False) -> None: ...

    def report_error(self, sentence: str) -> None: ...

    def mark_all_not_ready(self) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class ConnectionManager:
    """Connects a session and keeps it connected (see module doc)."""

    def __init__(self, session: ManagedSession) -> None:
        self.session = session
        self.client: SioClient | None = None
        #: the address of the current (or last) connection
        self.current_url = session.config.url
        #: namespaces the server refuses on this connection, with the sentence why
        self.namespace_errors: dict[str, str] = {}
        #: bumped on every attempt: work started for an older connection stops
        self.generation = 0
        self._refusals: dict[str, str | None] = {}
        self._ns_retries: dict[str, asyncio.Task[None]] = {}
        self._ns_wake = asyncio.Event()
        self._answer = asyncio.Event()  # a namespace was accepted or refused
        self._url_index = 0
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[bool] | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._wake = asyncio.Event()
        self._stopping = False

    async def start(self) -> bool:
        """Connect (or wake the reconnect wait); True once connected, False on failure."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._first = asyncio.get_running_loop().create_future()
            self._task = asyncio.get_running_loop().create_task(
                self._manage(), name="session connection manager")
        elif self.session.state == ConnectionState.CONNECTED:
            return True
        else:
            self._wake.set()
        assert self._first is not None
        if self._first.done():
            return self._first.result() and self.session.state == ConnectionState.CONNECTED
        return await asyncio.shield(self._first)

    async def stop(self, reason: str) -> None:
        """Stop trying and close the connection."""
        self._stopping = True
        self._wake.set()
        self._lost_reason = reason
        self._lost.set()
        if self._task is not None:
            await cancel_and_wait(self._task)
        self._task = None
        if self.client is not None:
            await self.close_client(self.client)

    def lost(self, reason: str) -> None:
        """The transport closed: the manager reconnects."""
        self._lost_reason = reason
        self._lost.set()

    def accepted(self, namespace: str) -> None:
        """The server accepted a namespace."""
        self.namespace_errors.pop(namespace, None)
        self._answer.set()

    def refused(self, namespace: str, why: str | None) -> None:
        """The server refused a namespace (during an attempt, a retry, or later)."""
        self._refusals[namespace] = why
        self._answer.set()
        retrying = self._ns_retries.get(namespace)
        if self.session.state == ConnectionState.CONNECTED and (retrying is None
                                                               or retrying.done()):
            self._namespace_refused(namespace)  # refused later, on its own

    async def connect_namespace(self, namespace: str) -> None:
        """Ask for a namespace on the open connection (if there is one)."""
        client = self.client
        if client is not None and client.eio.state == "connected" \
                and namespace not in client.namespaces:
            await client.connect_namespace(namespace)

    def reconnect_now(self) -> None:
        """Skip the current back-off wait and try again at once."""
        self._wake.set()

    def _resolve_first(self, ok: bool) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_result(ok)

    async def _manage(self) -> None:
        policy = self.session.config.reconnect
        attempt = 0
        reason = f"connecting to {self.session.config.url}"
        state = ConnectionState.CONNECTING
        unreachable = False  # the last attempt failed (a dropped connection is not that)
        try:
            while not self._stopping:
                self.session.set_state(state, reason, unreachable)
                ok, sentence, fatal = await self._attempt()
                if self._stopping:
                    break
                unreachable = not ok
                if ok:
                    attempt = 0
                    # connected; a namespace refused on its own stays the last error
                    self.session.last_error = next(iter(self.namespace_errors.values()), None)
                    transport = self.client.transport() if self.client else "?"
                    self.session.set_state(ConnectionState.CONNECTED,
                                    f"connected to {self.session.config.url} over {transport}")
                    self._resolve_first(True)
                    await self._lost.wait()
                    if self._stopping:
                        break
                    reason = f"connection lost ({self._lost_reason})"
                    sentence = reason
                else:
                    self.session.report_error(sentence)
                    self._resolve_first(False)
                    if fatal or not policy.enabled:
                        self.session.set_state(ConnectionState.OFFLINE, sentence, unreachable)
                        return
                attempt += 1
                if policy.attempts and attempt > policy.attempts:
                    self.session.set_state(ConnectionState.OFFLINE,
                                           f"gave up after {policy.attempts} attempts: {sentence}",
                                           unreachable)
                    return
                delay = policy.delay_for(attempt)
                delay *= 1 + policy.jitter * (2 * random.random() - 1)
                state = ConnectionState.RECONNECTING
                reason = f"{sentence} Retrying in {delay:.1f} s."
                self.session.set_state(state, reason, unreachable)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                reason = f"reconnecting to {self.session.config.url} (attempt {attempt})"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let the manager die silently
            log.exception("connection manager failed")
            self.session.report_error(f"Internal error in the connection manager: {exc}.")
            self.session.set_state(ConnectionState.OFFLINE, f"internal error: {exc}")
        finally:
            self._resolve_first(False)

    async def _attempt(self) -> tuple[bool, str, bool]:
        """One connection attempt: (connected, sentence if not, fatal?).

        Tries each of the server's addresses in turn, starting with the one that worked
        last. Namespaces connect each on its own: the attempt succeeds when at least one
        is accepted; a refused one is reported (`namespace_refused`) and retried on its
        own while the others work. Only when every namespace is refused is the attempt
        refused (fatal: the same auth would be refused again).
        """
        self.generation += 1
        self._lost.clear()
        self._refusals.clear()
        addresses = self.session.config.addresses()
        sentence = ""
        for i in range(len(addresses)):
            url = addresses[(self._url_index + i) % len(addresses)]
            ok, sentence, fatal = await self._attempt_url(url)
            if ok or fatal:
                if ok:
                    self._url_index = (self._url_index + i) % len(addresses)
                return ok, sentence, fatal
        return False, sentence, False

    async def _attempt_url(self, url: str) -> tuple[bool, str, bool]:
        cfg = self.session.config
        if self.client is None:
            self.client = SioClient(self.session, tls=cfg.tls, parser=cfg.parser,
                                     request_timeout=cfg.connect_timeout)
        self.current_url = url
        try:
            await self.client.connect(
                cfg.full_url(url), headers=dict(cfg.headers), auth=cfg.auth_payload(),
                transports=cfg.engine_transports(), namespaces=list(self.session.namespaces),
                socketio_path=cfg.socketio_path, wait=False)
        except Exception as exc:
            # Not only ConnectionError/OSError: a server that closes the connection in
            # the middle of the handshake makes aiohttp raise RuntimeError("Connection
            # closed."), and any failure here must be a failed attempt (retried), never
            # the end of the connection manager.
            if not isinstance(exc, sio_exc.ConnectionError | ValueError | OSError):
                log.debug("connection attempt failed", exc_info=True)
            self.session.mark_all_not_ready()
            detail = str(exc) or type(exc).__name__
            why = await errors.explain_transport_failure(
                url, detail, tls=cfg.tls, path=cfg.socketio_path, parser=cfg.parser,
                headers=dict(cfg.headers), probe_url=cfg.full_url(url),
                transports=cfg.engine_transports())
            # a v2 server or another parser stays what it is: no use retrying
            return False, why.sentence, why.permanent
        outcome = await self._namespaces_answered(cfg.connect_timeout)
        client = self.client
        if outcome and client.namespaces:
            for ns in self._refusals:
                self._namespace_refused(ns)
            return True, "", False
        closed = client.eio.state != "connected"
        await self.close_client(client)
        self.session.mark_all_not_ready()
        if self._refusals and not client.namespaces:
            ns, msg = next(iter(self._refusals.items()))
            return False, errors.refused_sentence(url, ns, msg), True
        why = await errors.explain_silent_server(
            url, closed, cfg.connect_timeout, tls=cfg.tls, path=cfg.socketio_path,
            parser=cfg.parser, headers=dict(cfg.headers), probe_url=cfg.full_url(url),
            transports=cfg.engine_transports())
        return False, why.sentence, why.permanent

    async def _namespaces_answered(self, timeout: float) -> bool:
        """Wait until every namespace was accepted or refused (True), or the transport
        closed or the time ran out (False, unless one namespace got in)."""
        client = self.client
        assert client is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if client.eio.state != "connected":
                return False
            answered = set(client.namespaces) | set(self._refusals)
            if all(ns in answered for ns in self.session.namespaces):
                return True
            left = deadline - loop.time()
            if left <= 0:
                return bool(client.namespaces)
            self._answer.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answer.wait(), min(left, 0.5))

    def _namespace_refused(self, ns: str) -> None:
        """Report a refused namespace and retry it on its own, with back-off."""
        sentence = errors.refused_sentence(self.current_url, ns, self._refusals.get(ns))
        self.namespace_errors[ns] = sentence
        self.session.namespace_refused.emit(ns, sentence)
        self.session.report_error(sentence)
        old = self._ns_retries.pop(ns, None)
        if old is not None:
            old.cancel()
        self._ns_retries[ns] = self.session.spawn(self._retry_namespace(ns, self.generation))

    async def _retry_namespace(self, ns: str, gen: int) -> None:
        policy = self.session.config.reconnect
        attempt = 0
        while gen == self.generation and policy.enabled:
            attempt += 1
            if policy.attempts and attempt > policy.attempts:
                return
            self._ns_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ns_wake.wait(), namespace_delay(policy, attempt))
            client = self.client
            if gen != self.generation or client is None or client.eio.state != "connected":
                return
            self._refusals.pop(ns, None)
            await client.connect_namespace(ns)
            while gen == self.generation and ns not in client.namespaces \
                    and ns not in self._refusals and client.eio.state == "connected":
                self._answer.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answer.wait(), 1.0)
            if ns in client.namespaces:
                self.namespace_errors.pop(ns, None)
                return
            if ns in self._refusals:
                sentence = errors.refused_sentence(self.current_url, ns,
                                                   self._refusals.get(ns))
                self.namespace_errors[ns] = sentence
                self.session.namespace_refused.emit(ns, sentence)

    def retry_namespace(self, namespace: str | None = None) -> None:
        """Try refused namespaces again now (all of them, or one) instead of after the
        back-off wait."""
        self._ns_wake.set()


    @staticmethod
    async def close_client(client: SioClient) -> None:
        """Disconnect politely, but never hang: with long-polling, engine.io waits for the
        pending GET to come back, which can take a whole ping interval (25 s).

        Whatever the disconnect did, engine.io's HTTP session is closed at the end: a
        disconnect that failed half-way, or a polling loop that made a new session
        after the first was closed under it, left one open ("Unclosed client session"
        at exit, about one SIGTERM in ten right after start-up in the tests)."""
        task = asyncio.ensure_future(client.disconnect())
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            await _close_http(client)
            done, _ = await asyncio.wait({task}, timeout=2.0)
            if not done:
                task.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("disconnect: %r", task.exception())
        await _close_http(client)


async def _close_http(client: SioClient) -> None:
    """Close the HTTP session engine.io made for ``client`` (not one given to it)."""
    eio = client.eio
    http = eio.http
    if http is not None and not http.closed and not eio.external_http:
        await http.close()
