"""A plain Socket.IO client session: one connection, several namespaces, nothing lost.

The session owns the durable pieces (store, outbox) and one python-socketio client. It
drives reconnection itself, because the UI needs every state change with a reason and
a time, and because a namespace only becomes *ready* after its extension's steps (see
`app.extension`); only then may the outbox flush into it.

It knows Socket.IO, not any particular server: no namespace name appears here. What the
bundled server's /chat and /queue add is registered by `app.session.Session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import reprlib
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Self

from app import binary, errors, jsonmod
from app import db as dbmod
from app.acks import AckMode, AckRequest, AckRule, AckRules, AckState
from app.config import ConnectionConfig, namespace_path
from app.errors import CallTimeout, EncodeError, NotConnected
from app.extension import NamespaceExtension
from app.flusher import NamespaceFlusher
from app.keys import MALFORMED_EVENT, event_key
from app.manager import ConnectionManager
from app.outbox import Outbox, OutboxMessage, OutboxState, stored_args
from app.packets import PacketLog
from app.session_state import ConnectionState, StateChange
from app.signals import Signal, cancel_and_wait, wait_until
from app.sioclient import SioClient
from app.store import MessageStore, StoredMessage, describe, reply_value

#: one logger for the session, whichever layer speaks (users filter `-v` output by it)
log = logging.getLogger("app.session")

Handler = Callable[..., Any]

#: Facts about the server this data folder talks to, kept in the store's meta table. Per
#: folder, not per URL: a folder belongs to one workspace (or, for the CLI, one server),
#: and a private server's URL changes with its port on every launch.
SERVER_META = "sockdesk-server"
DEDUPE_META = "server-dedupes"

#: The bundled server's last words to a connection it closes for reading too slowly
#: (docs/PROTOCOL.md, "Slow consumers and overload").
SLOW_CONSUMER_EVENT = "slow_consumer"
#: How long a namespace with an extension waits after CONNECT for the server to
#: introduce itself (the bundled server's `welcome` comes right after CONNECT) before
#: it takes the server as foreign and counts as ready without the extension.
INTRODUCTION_WAIT = 1.0
#: How much of an undecodable packet is kept (as text) for inspection.
MALFORMED_KEEP = 64 * 1024
#: packet kinds whose data may hold bytes with the JSON parser (msgpack: any packet)
BINARY_KINDS = frozenset({"BINARY_EVENT", "BINARY_ACK"})


#: store meta key of the workspace's ack rules (`app.acks.AckRules`)
ACK_RULES_META = "ack_rules"


class BaseSession:
    """A client session: connect, listen, emit through the durable outbox, recover.

    See docs/DESIGN.md ("The core API") for how the UI uses it, and `app.extension` for
    what a namespace can add.
    """

    def __init__(self, config: ConnectionConfig, data_dir: Path | str) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.namespaces = config.normalized_namespaces()
        #: no namespaces were configured: connect `/`, and more as the server allows
        self._auto_namespaces = not config.namespaces
        conn = dbmod.connect(self.data_dir, cache_kib=dbmod.SESSION_CACHE_KIB)
        try:
            self.store = MessageStore(conn)
            #: the server said it drops repeated message ids (remembered per data folder)
            self.server_dedupes = self.store.meta(self._dedupe_meta_key()) == "1"
            self.outbox = Outbox(self.store, limit=config.outbox_limit,
                                 ttl=config.outbox_ttl, user=config.user,
                                 resend_sent=self.resends())
        except sqlite3.Error as exc:  # locked, full, damaged: one sentence, file untouched
            store = getattr(self, "store", None)
            if store is not None:
                store.abandon()  # its checkpoint thread too
            else:
                conn.close()
            raise dbmod.StorageError(
                dbmod.explain(dbmod.db_path(self.data_dir), exc)) from None
        self.packet_log = PacketLog()
        self.state = ConnectionState.OFFLINE
        self.state_changed: Signal[StateChange] = Signal("state_changed")
        self.state_history: deque[StateChange] = deque(maxlen=200)
        self.namespace_ready: Signal[Any] = Signal("namespace_ready")
        self.event_received: Signal[StoredMessage] = Signal("event_received")
        #: the same messages a committed batch at a time (one call per commit, not per
        #: message): what a GUI wants under a flood, where a call per message costs
        self.events_stored: Signal[list[StoredMessage]] = Signal("events_stored")
        self.errors: Signal[str] = Signal("errors")
        self.ack_requested: Signal[AckRequest] = Signal("ack_requested")
        #: every change of a server's ack request: held, answered, ignored, dropped
        self.ack_changed: Signal[AckRequest] = Signal("ack_changed")
        self._pending_acks: dict[int, AckRequest] = {}
        #: what the server's ack requests get, per event (saved in the store)
        self.ack_rules = AckRules.loads(self.store.meta(ACK_RULES_META))
        self.ack_rules.changed.connect(self._save_ack_rules)
        #: what an ack request without a rule gets from a server not known to be a
        #: SockDesk server, when the user chose no default (None: the rules' fallback,
        #: an answer at once). The GUI holds them for the user: a made-up "ok" to
        #: somebody else's server may set off real work there. The CLI, where nobody
        #: can answer by hand, keeps the fallback.
        self.foreign_ack_default: AckRule | None = None
        self.last_error: str | None = None
        self._handlers: dict[tuple[str, str], list[Handler]] = {}
        self._any: list[Handler] = []
        self._ready: dict[str, bool] = {}
        self._flushers: dict[str, NamespaceFlusher] = {}
        self._calls: dict[str, set[asyncio.Future[Any]]] = {}
        self.namespace_refused: Signal[Any] = Signal("namespace_refused")  # (ns, why)
        #: (namespace, recovered?, events replayed) after a reconnect that asked the
        #: server for its connection state (socket.io connectionStateRecovery)
        self.recovery: Signal[Any] = Signal("recovery")
        self._write_lock = asyncio.Lock()
        #: awaited before every event or ack answer this session writes; a lesson sets
        #: it (app.scenarios.pacing) so a paused lesson's users send nothing
        self.send_gate: Callable[[], Awaitable[None]] | None = None
        self.manager = ConnectionManager(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._introduced: dict[str, asyncio.Event] = {}
        #: why the server is about to close the connection, when it said so
        self._closing_because: str | None = None
        self._extensions: dict[str, NamespaceExtension] = {}
        #: True: the server said it is one our extensions are for; False: it did not
        #: (or the user switched extensions off); None: not known yet
        self.extensions_on: bool | None = self._initial_extensions_on()
        self.store.stored.connect(self._on_stored)

    # ---- extensions ----------------------------------------------------------------

    def register(self, extension: NamespaceExtension) -> None:
        """Add the extension of one namespace (see `app.extension`)."""
        self._extensions[extension.namespace] = extension

    def extension(self, namespace: str) -> NamespaceExtension | None:
        """The namespace's extension when it is on; None for a plain namespace."""
        if not self.extensions_on:
            return None
        return self._extensions.get(namespace_path(namespace))

    def _hopeful_extension(self, namespace: str) -> NamespaceExtension | None:
        """The extension, unless the server is known not to want it: what outbound
        bookkeeping uses while offline, before the server has introduced itself."""
        if self.extensions_on is False:
            return None
        return self._extensions.get(namespace_path(namespace))

    def _initial_extensions_on(self) -> bool | None:
        mode = self.config.extensions
        if mode == "on":
            return True
        if mode == "off":
            return False
        known = self.store.meta(SERVER_META)
        if known is None:  # data folders from before: remembered per URL
            known = self.store.meta(f"{SERVER_META}:{self.config.url}")
        return True if known == "1" else None

    def _dedupe_meta_key(self) -> str:
        return DEDUPE_META

    def resends(self) -> bool:
        """Whether a message whose ack did not come is sent again (see
        `ConnectionConfig.delivery` and `NamespaceFlusher`)."""
        mode = self.config.delivery
        if mode == "until_acked":
            return True
        if mode == "once":
            return False
        return self.server_dedupes

    def server_said_dedupe(self, dedupes: bool) -> None:
        """The server told whether it drops repeated message ids (remembered in the data
        folder, so a restart before the next welcome already knows)."""
        if dedupes != self.server_dedupes:
            self.server_dedupes = dedupes
            self.store.set_meta(self._dedupe_meta_key(), "1" if dedupes else "0")

    def introduction(self, namespace: str, event: str, args: list[Any]) -> bool | None:
        """Is this event the server introducing itself? True: as a server our
        extensions are for; False: as some other server; None: not an introduction.
        A plain session recognises nobody; `app.session.Session` knows the bundled
        server's `welcome`."""
        return None

    def _introduced_as(self, namespace: str, ours: bool) -> None:
        if ours and not self.extensions_on and self.config.extensions == "auto":
            self.extensions_on = True
            self.store.set_meta(SERVER_META, "1")
        if ours and self._auto_namespaces:
            # no namespaces were asked for: `/` first, and the extensions' own
            # namespaces once the server says they are there
            for ns in self._extensions:
                if ns not in self.namespaces:
                    self.spawn(self.add_namespace(ns))
        ev = self._introduced.get(namespace)
        if ev is not None:
            ev.set()

    # ---- observers -----------------------------------------------------------------

    def on(self, namespace: str, event: str, handler: Handler) -> Handler:
        """Call `handler(*args)` for each `event` on `namespace` (sync or async)."""
        self._handlers.setdefault((namespace_path(namespace), event), []).append(handler)
        return handler

    def off(self, namespace: str, event: str, handler: Handler) -> None:
        """Remove a handler added with `on`."""
        with contextlib.suppress(KeyError, ValueError):
            self._handlers[(namespace_path(namespace), event)].remove(handler)

    def on_any(self, handler: Handler) -> Handler:
        """Call `handler(namespace, event, args)` for every inbound event (catch-all)."""
        self._any.append(handler)
        return handler

    def off_any(self, handler: Handler) -> None:
        """Remove a catch-all handler."""
        with contextlib.suppress(ValueError):
            self._any.remove(handler)

    # ---- state ---------------------------------------------------------------------

    # ---- the connection (app.manager does the connecting) --------------------------

    @property
    def _client(self) -> SioClient | None:
        return self.manager.client

    @property
    def current_url(self) -> str:
        """The server address of the current (or last) connection."""
        return self.manager.current_url

    @property
    def namespace_errors(self) -> dict[str, str]:
        """Namespaces the server refuses on this connection, with the sentence why."""
        return self.manager.namespace_errors

    def reconnect_now(self) -> None:
        """Skip the current back-off wait and try again at once."""
        self.manager.reconnect_now()

    def retry_namespace(self, namespace: str | None = None) -> None:
        """Try refused namespaces again now instead of after their back-off wait."""
        self.manager.retry_namespace(namespace)

    def set_state(self, state: ConnectionState, reason: str,
                  unreachable: bool = False) -> None:
        """Record and announce a state change (the manager reports through this;
        ``unreachable``: its last attempt to reach the server failed)."""
        if state == self.state and self.state_history and \
                self.state_history[-1].reason == reason:
            return
        self.state = state
        change = StateChange(state, reason, time.time(), unreachable)
        self.state_history.append(change)
        log.info("session %s: %s", state.value, reason)
        self.state_changed.emit(change)

    def report_error(self, sentence: str) -> None:
        """Tell the user something went wrong (one sentence; repeats are not re-sent)."""
        if sentence != self.last_error:
            self.errors.emit(sentence)
        self.last_error = sentence

    def is_ready(self, namespace: str) -> bool:
        """True when the namespace is connected and its readiness steps are done."""
        return self._ready.get(namespace_path(namespace), False)

    def is_connected(self, namespace: str | None = None) -> bool:
        """Transport up (and, with a namespace, that namespace's CONNECT accepted)."""
        c = self._client
        if c is None or c.eio.state != "connected":
            return False
        return namespace is None or namespace_path(namespace) in c.namespaces

    def _set_ready(self, ns: str, ready: bool) -> None:
        if self._ready.get(ns, False) == ready:
            return
        self._ready[ns] = ready
        fl = self._flushers.get(ns)
        if fl is not None:
            fl.set_ready(ready)
        self.namespace_ready.emit(ns, ready)

    # ---- connecting ----------------------------------------------------------------

    async def connect(self) -> bool:
        """Connect all namespaces; returns True once connected, False on failure.

        After a failure (other than a refusal or a bad URL, which retrying cannot fix)
        the session keeps trying in the background according to the ReconnectPolicy.
        """
        if self._closed:
            raise errors.SessionError("This session is closed.")
        bad = errors.check_url(self.config.url)
        if bad:
            self.report_error(bad)
            self.set_state(ConnectionState.OFFLINE, bad)
            return False
        for ns in self.namespaces:
            self._start_flusher(ns)
        self.outbox.expire_due()
        return await self.manager.start()

    def _start_flusher(self, ns: str) -> None:
        if ns in self._flushers:
            return
        fl = NamespaceFlusher(self.outbox, ns, self, window=self.config.window,
                              ack_timeout=self.config.ack_timeout, no_ack=self.config.no_ack,
                              max_attempts=self.config.max_attempts, resends=self.resends)
        self._flushers[ns] = fl
        fl.start()
        if self._ready.get(ns):
            fl.set_ready(True)

    async def add_namespace(self, namespace: str) -> None:
        """Open one more namespace on this session (now if connected, else with the next
        connection), with its own outbox flusher."""
        ns = namespace_path(namespace)
        if ns not in self.namespaces:
            self.namespaces.append(ns)
        self._start_flusher(ns)
        await self.manager.connect_namespace(ns)

    def mark_all_not_ready(self) -> None:
        """Nothing is ready on a lost connection; direct calls waiting fail now."""
        for ns in list(self._ready):
            self._set_ready(ns, False)
        for ns in list(self._calls):
            self._fail_calls(ns)

    async def disconnect(self, reason: str = "user") -> None:
        """Go offline and stay offline (the outbox keeps everything for later)."""
        await self.manager.stop(reason)
        self.mark_all_not_ready()
        self._extensions_disconnected()
        self.set_state(ConnectionState.OFFLINE, f"disconnected ({reason})")

    def _extensions_disconnected(self) -> None:
        for ext in self._extensions.values():
            ext.on_disconnected()

    async def abort_transport(self) -> None:
        """Cut the connection as a crash or a pulled cable would: no Socket.IO or
        Engine.IO goodbye is sent (the lesson where a consumer dies uses this). The
        session then reconnects as after any drop."""
        client = self._client
        if client is None:
            return
        if not client.abort_socket():  # long-polling: no socket of our own to cut
            await client.eio.disconnect(abort=True)

    async def close(self) -> None:
        """Disconnect and close storage; the session cannot be used afterwards."""
        if self._closed:
            return
        await self.disconnect("closing")
        for fl in self._flushers.values():
            await fl.stop()
        self._flushers.clear()
        await cancel_and_wait(*self._tasks)
        self._closed = True
        self.outbox.close()
        self.store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # ---- hooks called by SioClient -------------------------------------------------

    def packet(self, direction: str, namespace: str, kind: str, data: Any,
               ack_id: int | None, size: int) -> None:
        """Every packet in or out goes to the packet log (binary in the notation: the
        client converts what it receives; what we send may hold bytes)."""
        if direction == "out" and (kind in BINARY_KINDS or self.config.parser == "msgpack"):
            data = binary.to_notation(data)
        self.packet_log.log(direction, namespace, kind, data, ack_id, size)

    def event(self, namespace: str, event: str, args: list[Any], wants_ack: bool,
              recovered: bool = False, ack_id: int | None = None
              ) -> list[Any] | asyncio.Future[list[Any] | None] | None:
        """An inbound event: store it, run handlers, answer an ack request.

        Returns the ACK's arguments to send now, a future of them (a held request), or
        None (no ACK: none was asked for, or the request is ignored on purpose)."""
        me = self.config.user
        if event == SLOW_CONSUMER_EVENT and self.extensions_on:
            # SockDesk's server closes the connection right after this event (we read
            # too slowly); say so when it does. Reconnecting re-joins rooms with `since`.
            self._closing_because = "disconnected by the server: slow consumer"
        intro = self.introduction(namespace, event, args)
        if intro is not None:
            self._introduced_as(namespace, intro)
        ext = self.extension(namespace)
        queue = ext.classify(event, args, "in", me) if ext else event_key(namespace, event)
        sm = describe(namespace, event, args, "in", queue, me=me)
        sm.recovered = recovered
        try:
            if ext is not None:
                ext.on_inbound(event, args, sm)
        except Exception:  # an odd payload must not cost us the event itself
            log.exception("handling %r on %s failed; the event is stored anyway",
                          event, namespace)
        self.store.add(sm)
        for h in list(self._handlers.get((namespace, event), ())):
            self._call_handler(h, *args)
        for h in list(self._any):
            self._call_handler(h, namespace, event, args)
        if not wants_ack:
            return None
        reply = self._ack_request(namespace, event, list(args), ack_id)
        if self.send_gate is None or reply is None:
            return reply
        return asyncio.ensure_future(self._gated_reply(reply))

    async def _gated_reply(self, reply: list[Any] | asyncio.Future[list[Any] | None]
                           ) -> list[Any] | None:
        """An ack answer that waits for the send gate (a paused lesson answers later)."""
        value = await reply if isinstance(reply, asyncio.Future) else reply
        if value is not None and self.send_gate is not None:
            await self.send_gate()
        return value

    # ---- the server's ack requests (app.acks) --------------------------------------

    def _ack_request(self, namespace: str, event: str, args: list[Any],
                     ack_id: int | None) -> list[Any] | asyncio.Future[list[Any] | None] | None:
        """Apply the event's rule, let observers decide, and say what to send."""
        rule = self.ack_rules.rule_for(namespace, event)
        if rule is self.ack_rules.fallback:
            rule = self.ack_default
        req = AckRequest(namespace, event, args, ack_id, reply_args=rule.args,
                         on_change=self._ack_state)
        if rule.mode == AckMode.HOLD:
            req.hold()
        elif rule.mode == AckMode.IGNORE:
            req.ignore()
        self.ack_requested.emit(req)
        try:
            return req.resolve()
        except ValueError as exc:  # an observer's reply with invalid base64
            log.warning("the answer to %r on %s is not valid (%s); answered with no "
                        "arguments", event, namespace, exc)
            req.answer()
            return []

    @property
    def ack_default(self) -> AckRule:
        """What an ack request with no rule of its own gets now (see
        `foreign_ack_default`)."""
        rules = self.ack_rules
        if rules.chosen_default is None and self.foreign_ack_default is not None \
                and self.extensions_on is not True:
            return self.foreign_ack_default
        return rules.default

    def _ack_state(self, req: AckRequest) -> None:
        key = id(req)
        if req.state == AckState.HELD:
            self._pending_acks[key] = req
        else:
            self._pending_acks.pop(key, None)
        self.ack_changed.emit(req)

    @property
    def pending_acks(self) -> list[AckRequest]:
        """The server's ack requests held for a manual answer, oldest first."""
        return list(self._pending_acks.values())

    def _drop_acks(self, namespace: str | None, why: str) -> None:
        """The server stops waiting for answers on a connection that is gone."""
        for req in list(self._pending_acks.values()):
            if namespace is None or req.namespace == namespace:
                req.drop(why)

    def _save_ack_rules(self, rules: AckRules) -> None:
        self.store.set_meta(ACK_RULES_META, rules.dumps())

    def malformed(self, namespace: str, raw: Any, why: str) -> None:
        """A packet the client could not decode: log and store it (the first 64 KiB, as
        text) under event `(malformed)`, so a broken server is visible, not silent."""
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, bytes | bytearray | memoryview):
            text = bytes(raw[:MALFORMED_KEEP]).decode("utf-8", "backslashreplace")
        else:
            try:
                text = jsonmod.dumps(raw)
            except (TypeError, ValueError, RecursionError):
                text = reprlib.repr(raw)
        size = len(raw) if isinstance(raw, str | bytes | bytearray | memoryview) \
            else len(text)
        record = {"error": why, "size": size, "raw": text[:MALFORMED_KEEP],
                  "truncated": max(size, len(text)) > MALFORMED_KEEP}
        log.warning("undecodable packet on %s (%d bytes): %s", namespace, size, why)
        self.packet_log.log("in", namespace, "MALFORMED", [record], None, size)
        queue = event_key(namespace, MALFORMED_EVENT)
        self.store.add(StoredMessage(queue=queue, direction="in", namespace=namespace,
                                     event=MALFORMED_EVENT, args=[record], text=why))

    def _call_handler(self, handler: Handler, *args: Any) -> None:
        try:
            result = handler(*args)
        except Exception:
            log.exception("event handler %r failed", handler)
            return
        if inspect.isawaitable(result):
            self.spawn(result)

    def lifecycle(self, event: str, namespace: str, *args: Any) -> None:
        """Namespace connect / disconnect / refusal from the client."""
        if event == "connect":
            gen = self.manager.generation
            self.manager.accepted(namespace)
            self._note_recovery(namespace)
            self._introduced[namespace] = asyncio.Event()
            if self._hopeful_extension(namespace) is not None:
                self.spawn(self._make_ready(namespace, gen))
            else:
                self._set_ready(namespace, True)
        elif event == "disconnect":
            self._set_ready(namespace, False)
            self._fail_calls(namespace)
            self._drop_acks(namespace, f"the namespace {namespace} disconnected")
            ext = self._extensions.get(namespace)
            if ext is not None:
                ext.on_disconnected()
        elif event == "connect_refused":
            self.manager.refused(namespace, refusal_text(args[0] if args else None))

    async def _make_ready(self, ns: str, gen: int) -> None:
        """Readiness of a namespace with an extension: wait (briefly) for the server to
        introduce itself, run the extension's steps if it is on, then let the outbox
        flush."""
        # Wait even when the server is known: its welcome may say its history was
        # replaced, which must be known before rooms are re-joined with `since`.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._introduced[ns].wait(), INTRODUCTION_WAIT)
        if self.extensions_on is None:  # silence: a foreign server
            self.extensions_on = False
            self.store.set_meta(SERVER_META, "0")
            self.server_said_dedupe(False)
        ext = self.extension(ns)
        if ext is not None:
            try:
                await ext.prepare()
            except Exception as exc:  # a failed step must not keep the outbox stuck
                log.warning("readiness steps of %s failed: %s", ns, exc)
        if gen == self.manager.generation and self.is_connected(ns):
            self._set_ready(ns, True)
            if ext is not None:
                ext.after_ready()

    def wire_args(self, msg: OutboxMessage) -> list[Any]:
        """The arguments as sent: with our stable id only where an extension that is on
        says where it goes."""
        ext = self.extension(msg.namespace)
        if ext is not None:
            return ext.with_dedupe_id(msg.event, msg.args, msg.id)
        return msg.args

    def _note_recovery(self, namespace: str) -> None:
        """After a reconnect that asked the server to recover the namespace's state,
        say in the packet log whether it did, and how many events it replayed."""
        client = self._client
        result = client.recovery_result.pop(namespace, None) if client else None
        if result is None:
            return
        ok, count = result
        note = (f"recovered {count} events" if ok
                else "gap: the server could not recover the session; events sent while "
                     "disconnected may be missing")
        self.packet_log.log("in", namespace, "RECOVERY", [{"recovered": ok, "events": count,
                                                           "note": note}], None, 0)
        self.recovery.emit(namespace, ok, count)

    def transport_closed(self, reason: str) -> None:
        """The engine.io connection ended: nothing is ready, reconnect (manager)."""
        if self._closing_because is not None:
            reason, self._closing_because = self._closing_because, None
        self.packet_log.log("in", "/", "DISCONNECT", [{"reason": reason}], None, 0)
        self._drop_acks(None, f"the connection closed ({reason})")
        self.mark_all_not_ready()
        self._extensions_disconnected()
        self.packet_log.forget_acks()
        self.manager.lost(reason)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("background task failed: %r", t.exception())
        task.add_done_callback(done)
        return task

    def _on_stored(self, batch: list[StoredMessage]) -> None:
        inbound = [m for m in batch if m.direction == "in"]
        if not inbound:
            return
        if len(self.event_received):
            for m in inbound:
                self.event_received.emit(m)
        self.events_stored.emit(inbound)

    # ---- sending -------------------------------------------------------------------

    async def write(self, namespace: str, event: str, args: list[Any],
                    callback: Callable[..., None] | None) -> None:
        """The only place that writes to the socket (AsyncClient.emit is not safe for
        concurrent use, so writes are serialized here)."""
        try:
            wire = binary.to_wire(list(args))
        except ValueError as exc:
            raise EncodeError(f"Cannot send {event!r}: {exc}.") from None
        async with self._write_lock:
            c = self._client
            if self.send_gate is not None:
                await self.send_gate()
                c = self._client
            if c is None or namespace not in c.namespaces or c.eio.state != "connected":
                raise NotConnected(f"Not connected to {namespace}.")
            await c.emit(event, tuple(wire), namespace=namespace, callback=callback)

    async def before_send(self, msg: OutboxMessage) -> None:
        """The extension's prerequisites for a message (e.g. join its room first)."""
        ext = self.extension(msg.namespace)
        if ext is not None:
            await ext.before_send(msg)

    def emit(self, namespace: str, event: str, *args: Any, ack: bool = True,
             volatile: bool = False, ttl: float | None = None,
             ack_timeout: float | None = None) -> OutboxMessage:
        """Send an event through the durable outbox (committed before this returns).

        Arguments may hold binary as bytes or as the `{"$binary": base64}` notation, at
        any depth; it is stored in the notation and written as real Socket.IO binary.
        `ack_timeout` (seconds) is this message's own, kept with it (default: the
        session's). `volatile=True` skips the outbox: written now if connected,
        otherwise dropped (state FAILED, "not connected"), like socket.io's volatile
        emits. BinaryError (a ValueError) for invalid base64.
        """
        ns = namespace_path(namespace)
        if volatile:
            msg = OutboxMessage(id="", namespace=ns, event=event, args=stored_args(args),
                                ack=False, volatile=True)
            if self.is_connected(ns):
                msg.state = OutboxState.SENT
                self.spawn(self._write_volatile(msg))
            else:
                msg.state = OutboxState.FAILED
                msg.error = "not connected (volatile events are not queued)"
            return msg
        return self.emit_many([(ns, event, list(args))], ack=ack, ttl=ttl,
                              ack_timeout=ack_timeout)[0]

    def emit_many(self, items: Iterable[tuple[str, str, list[Any]]], *, ack: bool = True,
                  ttl: float | None = None, ack_timeout: float | None = None
                  ) -> list[OutboxMessage]:
        """Send many events through the outbox in ONE transaction (a replay of 10,000 is
        one commit). Each goes through its namespace's extension exactly as `emit`."""
        prepared: list[tuple[str, str, list[Any]]] = []
        ids: list[str | None] = []
        for namespace, event, args in items:
            ns = namespace_path(namespace)
            ext = self._hopeful_extension(ns)
            ids.append(ext.dedupe_id(event, args) if ext else None)
            prepared.append((ns, event, list(args)))
        msgs = self.outbox.enqueue_many(prepared, ack=ack and not self.config.no_ack,
                                        ttl=ttl, ids=ids, ack_timeout=ack_timeout)
        for m in msgs:
            ext = self._hopeful_extension(m.namespace)
            if ext is not None:
                ext.on_emit(m.event, m.args)
        return msgs

    async def _write_volatile(self, msg: OutboxMessage) -> None:
        try:
            await self.write(msg.namespace, msg.event, msg.args, None)
            msg.state = OutboxState.ACKED
        except NotConnected as exc:
            msg.state, msg.error = OutboxState.FAILED, str(exc)

    async def call(self, namespace: str, event: str, *args: Any,
                   timeout: float | None = None) -> Any:
        """Emit and wait for the ack, outside the outbox (requests, not messages).

        Returns the ack's single argument (or a list for several, None for none;
        binary in the notation).
        Raises NotConnected if the namespace is not connected or drops meanwhile, and
        CallTimeout if no ack comes within `timeout` (default: config.ack_timeout).
        """
        ns = namespace_path(namespace)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def on_ack(*reply: Any) -> None:
            if not fut.done():
                fut.set_result(reply_value(binary.to_notation(list(reply))))

        pending = self._calls.setdefault(ns, set())
        pending.add(fut)
        try:
            await self.write(ns, event, list(args), on_ack)
            t = self.config.ack_timeout if timeout is None else timeout
            try:
                return await asyncio.wait_for(asyncio.shield(fut), t)
            except TimeoutError:
                raise CallTimeout(
                    f"No answer to {event!r} on {ns} within {t:g} s.") from None
        finally:
            pending.discard(fut)

    def _fail_calls(self, ns: str) -> None:
        for fut in list(self._calls.get(ns, ())):
            if not fut.done():
                fut.set_exception(NotConnected(f"Disconnected from {ns} before the answer."))

    async def wait_flushed(self, timeout: float | None = None,
                           namespaces: list[str] | None = None) -> bool:
        """Wait until nothing is queued or in flight (in these namespaces); True if so."""
        nss = [namespace_path(n) for n in namespaces] if namespaces else None

        def done() -> bool:
            # Depth counts what is written: a pending ack batch fires `changed` once it
            # is, so this is checked again then.
            if nss is None:
                return self.outbox.depth() == 0
            return all(self.outbox.depth(n) == 0 for n in nss)

        return await wait_until(done, self.outbox.changed, timeout)

    async def wait_ready(self, namespace: str, timeout: float | None = None) -> bool:
        """Wait until a namespace is ready (True) or the timeout passes (False)."""
        ns = namespace_path(namespace)
        return await wait_until(lambda: self.is_ready(ns), self.namespace_ready, timeout)


def refusal_text(data: Any) -> str | None:
    """What a CONNECT_ERROR says: its `message`, and its `data` (Node servers put
    details there: `err.data`) as JSON after it."""
    if not isinstance(data, dict):
        return None if data is None else str(data)
    msg = data.get("message")
    text = str(msg) if msg is not None else None
    if data.get("data") is not None:
        try:
            extra = jsonmod.dumps(data["data"])
        except (TypeError, ValueError):
            extra = repr(data["data"])
        text = f"{text or 'refused'} ({extra})"
    return text


