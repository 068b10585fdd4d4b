"""python-socketio's AsyncClient with four things the stock client does not offer.

1. Every packet in and out is reported (for the packet log), encoded size included.
2. Received binary (attachments, or msgpack `bin`) is handed over in the
   `{"$binary": base64}` notation (`app.binary`), so the session never sees bytes.
3. An inbound event is handed over together with "does the server want an ack?", so
   the session can show the request and answer with a chosen payload, now or later: the
   hook returns the ACK's arguments, a future of them (awaited in that message's own
   task, so other events go on meanwhile), or None for no ACK at all.
4. Lifecycle events (connect, disconnect, connect_error) go to one callback, instead of
   per-namespace handler registration that would need re-registering on every change.
Reconnection is off here: the session drives it, to report each state change with a
reason and to run its own readiness steps (room re-join) before flushing.

Namespaces connect each on its own (`connect_namespace`), as the JS client's sockets do
over one Manager: a namespace the server refuses is reported and can be retried while the
others stay connected. python-socketio's own `connect(wait=True)` drops everything when
one namespace is refused, and a refused `/` empties its namespace table.

Connection state recovery (socket.io >= 4.6, `connectionStateRecovery` on the server),
as the official client does it: the server's CONNECT answer carries a private session id
(`pid`) and every broadcast carries an offset as its last argument; a reconnecting
namespace sends both back in its CONNECT, and the server, if it still holds the session,
replays what was missed *before* it answers the CONNECT. So events that arrive on a
namespace between our recovering CONNECT and its answer are the recovered ones; the
answer says whether it worked (the same `pid`) or not (a new one: there may be a gap).
python-socketio does none of this, so it lives here.

TLS follows `TlsSettings`: a pinned SHA-256 fingerprint (aiohttp checks it on every
connection, polling and websocket alike), a CA file, or no check at all.

Inbound messages are processed synchronously up to the point of sending our ack, because
engine.io runs each message in its own task: finishing the work before the first await
keeps events in arrival order. The common cases, a text EVENT that wants no ack and the
ACK of an emit, skip that task altogether (see `InlineEngineIO`): a task per packet was
a tenth of the GUI thread at 5,000 events/s.

A packet that cannot be decoded (invalid JSON, nesting too deep to parse, an unknown
packet type, an EVENT without a name) is reported through `hooks.malformed` instead of
vanishing in a background task, and the connection stays up. Websocket frames are
accepted up to MAX_FRAME_BYTES (aiohttp's default of 4 MiB would drop the connection on
a bigger one, and the bundled server's 500-message history pages can exceed that); the
polling transport has no such limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import engineio
import socketio
from engineio import base_client as eio_base_client
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from app import jsonmod
from app.binary import to_notation
from app.config import TlsSettings
from app.errors import EncodeError
from app.handshake import ssl_for

__all__ = ["MAX_FRAME_BYTES", "ClientHooks", "InlineEngineIO", "SioClient", "ssl_for"]

log = logging.getLogger(__name__)

#: Longest the websocket read loop runs without yielding to other callbacks (seconds).
YIELD_EVERY_S = 0.002

#: Largest websocket frame accepted from a server (then the connection is dropped).
MAX_FRAME_BYTES = 64 * 1024 * 1024

_KIND = {sio_packet.CONNECT: "CONNECT", sio_packet.DISCONNECT: "DISCONNECT",
         sio_packet.EVENT: "EVENT", sio_packet.ACK: "ACK",
         sio_packet.CONNECT_ERROR: "CONNECT_ERROR", sio_packet.BINARY_EVENT: "BINARY_EVENT",
         sio_packet.BINARY_ACK: "BINARY_ACK"}


class ClientHooks(Protocol):
    """What the session provides to the client."""

    def packet(self, direction: str, namespace: str, kind: str, data: Any,
               ack_id: int | None, size: int) -> None: ...

    def event(self, namespace: str, event: str, args: list[Any], wants_ack: bool,
              recovered: bool = False, ack_id: int | None = None
              ) -> list[Any] | asyncio.Future[list[Any] | None] | None: ...

    def lifecycle(self, event: str, namespace: str, *args: Any) -> None: ...

    def transport_closed(self, reason: str) -> None: ...

    def malformed(self, namespace: str, raw: Any, why: str) -> None: ...


def _size(encoded: Any) -> int:
    if isinstance(encoded, str):
        return len(encoded.encode("utf-8")) if not encoded.isascii() else len(encoded)
    if isinstance(encoded, bytes | bytearray):
        return len(encoded)
    if isinstance(encoded, list):
        return sum(_size(e) for e in encoded)
    return 0


def namespace_of(raw: Any) -> str:
    """Best guess at the namespace of an encoded packet (``2/chat,[...]`` -> /chat)."""
    if not isinstance(raw, str):
        return "/"
    i = 1
    while i < len(raw) and raw[i].isdigit():
        i += 1
    if i < len(raw) and raw[i] == "-":
        i += 1
    else:
        i = 1
    if raw[i:i + 1] == "/":
        end = raw.find(",", i)
        ns = raw[i:end if end != -1 else len(raw)]
        if 1 < len(ns) <= 256:
            return ns
    return "/"


def _plain_event(data: str) -> tuple[str, list[Any]] | None:
    """(namespace, [event, *args]) of the commonest packet, a text EVENT that wants no
    ack: ``2[...]`` or ``2/ns,[...]`` (a ``?query`` after the namespace dropped), decoded
    exactly as python-socketio's Packet does; None for any other form, or JSON that does
    not decode (the full decoder then takes it, and reports what is wrong)."""
    if data[:1] != "2":
        return None
    if data[1:2] == "/":
        sep = data.find(",", 1)
        if sep == -1:
            return None
        namespace = data[1:sep]
        q = namespace.find("?")
        if q != -1:
            namespace = namespace[:q]
        start = sep + 1
    else:
        namespace, start = "/", 1
    if data[start:start + 1] != "[":  # an ack id, attachments, no data: not this form
        return None
    try:
        args = jsonmod.loads(data[start:])
    except Exception:
        return None
    if not isinstance(args, list) or not args:
        return None
    return namespace or "/", args


#: Message tasks started by InlineEngineIO, referenced until done (asyncio keeps only
#: weak references to tasks).
_message_tasks: set[asyncio.Task[Any]] = set()


class InlineEngineIO(engineio.AsyncClient):
    """engine.io's client, offering each received message to `inline` before a task.

    Stock engine.io runs every message handler in a task of its own. `inline(data)` may
    take a message there and then (returning True); it is only asked while no earlier
    message is still waiting for its task to start, since tasks start in creation order
    and an inline message must never overtake one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline: Callable[[Any], bool] | None = None
        self._waiting = 0  # message tasks created and not yet started

    async def _trigger_event(self, event: str, *args: Any, run_async: bool = False,
                             **kwargs: Any) -> Any:
        handler = self.handlers.get(event)
        if event != "message" or not run_async or handler is None:
            return await super()._trigger_event(event, *args, run_async=run_async, **kwargs)
        if self._waiting == 0 and self.inline is not None and self.inline(*args):
            return None
        return self._message_task(handler, *args)

    def _message_task(self, handler: Callable[..., Any], *args: Any) -> asyncio.Task[Any]:
        """Run the message handler in a task of its own, as stock engine.io does."""
        self._waiting += 1
        started = False

        async def in_arrival_order() -> None:
            nonlocal started
            started = True
            self._waiting -= 1
            await handler(*args)

        def done(task: asyncio.Task[Any]) -> None:
            _message_tasks.discard(task)
            if not started:  # cancelled before it ran (a disconnect): no longer waiting
                self._waiting -= 1

        task = self.start_background_task(in_arrival_order)
        _message_tasks.add(task)
        task.add_done_callback(done)
        return task

    async def _read_loop_websocket(self) -> None:
        """engine.io's websocket read loop without a task and a timer per message.

        The stock loop wraps every `ws.receive()` in `asyncio.wait_for`, which makes a
        task and a timeout handle for each message: three loop turns per message, more
        than decoding and storing it cost. Here a message already in aiohttp's buffer is
        read without leaving the loop; silence is caught by one watchdog timer (the same
        limit, ping interval + ping timeout, counted from the last message). The loop
        still yields at least every YIELD_EVERY_S, so timers (the store's commits) and
        the GUI get their turns during a burst. Everything else is as in the stock loop.
        """
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        limit = self.ping_interval + self.ping_timeout
        last = loop.time()
        timed_out = False
        handle: asyncio.TimerHandle | None = None

        def watchdog() -> None:
            nonlocal handle, timed_out
            idle = loop.time() - last
            if idle >= limit and me is not None:
                timed_out = True
                me.cancel()
                return
            handle = loop.call_later(limit - idle, watchdog)

        handle = loop.call_later(limit, watchdog)
        yielded = last
        try:
            while self.state == "connected" and self.write_loop_task:
                try:
                    msg = await self.ws.receive()
                except asyncio.CancelledError:
                    if not timed_out or me is None:
                        raise
                    me.uncancel()
                    self.logger.warning("Server has stopped communicating, aborting")
                    await self.queue.put(None)
                    break
                except aiohttp.client_exceptions.ServerDisconnectedError:
                    self.logger.info("Read loop: WebSocket connection was closed, aborting")
                    await self.queue.put(None)
                    break
                except Exception as e:
                    self.logger.info('Unexpected error receiving packet: "%s", aborting', e)
                    await self.queue.put(None)
                    break
                last = loop.time()
                data = msg.data
                # a text MESSAGE holding a Socket.IO packet (it starts with the packet
                # type's digit): what engine.io's decoder would hand over is data[1:]
                if isinstance(data, str) and data[:1] == "4" and "0" <= data[1:2] <= "9":
                    handler = self.handlers.get("message")
                    if handler is not None:
                        if not (self._waiting == 0 and self.inline is not None
                                and self.inline(data[1:])):
                            self._message_task(handler, data[1:])
                        if last - yielded >= YIELD_EVERY_S:
                            await asyncio.sleep(0)
                            yielded = loop.time()
                        continue
                if not isinstance(data, str | bytes):
                    self.logger.warning("Server sent %s packet data %s, aborting",
                                        msg.type, msg.data)
                    await self.queue.put(None)
                    break
                try:
                    pkt = eio_packet.Packet(encoded_packet=data)
                except Exception as e:
                    self.logger.info('Unexpected error decoding packet: "%s", aborting', e)
                    await self.queue.put(None)
                    break
                await self._receive_packet(pkt)
                if last - yielded >= YIELD_EVERY_S:
                    await asyncio.sleep(0)
                    yielded = loop.time()
        finally:
            if handle is not None:
                handle.cancel()
        if self.write_loop_task:
            self.logger.info("Waiting for write loop task to end")
            await self.write_loop_task
        if self.state == "connected":
            await self._trigger_event("disconnect", self.reason.TRANSPORT_ERROR,
                                      run_async=False)
            with contextlib.suppress(ValueError):
                eio_base_client.connected_clients.remove(self)
            await self._reset()
        self.logger.info("Exiting read loop task")


class SioClient(socketio.AsyncClient):
    """AsyncClient that reports to `hooks` (see module doc)."""

    def __init__(self, hooks: ClientHooks, tls: TlsSettings | None = None,
                 parser: str = "default", **kwargs: Any) -> None:
        kwargs.setdefault("reconnection", False)
        kwargs.setdefault("handle_sigint", False)
        kwargs.setdefault("websocket_extra_options", {"max_msg_size": MAX_FRAME_BYTES})
        checks = ssl_for(tls or TlsSettings())
        if checks is not True:
            # a factory, not a session: engine.io makes (and closes) one per connection
            kwargs["http_session"] = lambda: aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=checks))
        if parser == "msgpack":
            kwargs["serializer"] = "msgpack"
        else:
            kwargs["json"] = jsonmod
        super().__init__(**kwargs)
        self._binary_packet: Any = None  # as in the base class; typed for the checker
        self._binary_size = 0  # bytes so far of the binary packet being put together
        self._msgpack = parser == "msgpack"
        #: connection state recovery, per namespace: the server's private session id,
        #: the offset of the last broadcast, events recovered while reconnecting
        self.recovery_pid: dict[str, str] = {}
        self.recovery_offset: dict[str, str] = {}
        self._recovering: dict[str, int] = {}
        #: for the CONNECT just answered: (recovered?, events replayed), read by the
        #: session in its `connect` lifecycle hook
        self.recovery_result: dict[str, tuple[bool, int]] = {}
        self.hooks = hooks
        self.eio.inline = self._inline_message

    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return InlineEngineIO

    def _inline_message(self, data: Any) -> bool:
        """Take a text EVENT that wants no ack, or an ACK for a plain callback, without
        a task; False for anything else (acks to send, binary packets, connects,
        malformed input, unknown ack ids: the task path)."""
        if self._binary_packet is not None or not isinstance(data, str) \
                or data[:1] not in ("2", "3"):
            return False
        plain = _plain_event(data) if self.packet_class is sio_packet.Packet else None
        if plain is not None:
            namespace, args = plain
            try:
                self.hooks.packet("in", namespace, "EVENT", args, None, _size(data))
                self.hooks.event(namespace, str(args[0]), list(args[1:]), False,
                                 self._seen(namespace, args))
            except Exception:  # as in a task of its own: never let it end the read loop
                log.exception("handling an inbound event failed")
            return True
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception:  # decoded again on the task path, which reports it
            return False
        args = pkt.data
        namespace = pkt.namespace or "/"
        if not isinstance(args, list):
            return False
        if pkt.packet_type == sio_packet.EVENT and pkt.id is None and args:
            try:
                self.hooks.packet("in", namespace, "EVENT", args, None, _size(data))
                self.hooks.event(namespace, str(args[0]), list(args[1:]), False,
                                 self._seen(namespace, args))
            except Exception:  # as in a task of its own: never let it end the read loop
                log.exception("handling an inbound event failed")
            return True
        if pkt.packet_type == sio_packet.ACK:
            waiting = self.callbacks.get(namespace, {})
            callback = waiting.get(pkt.id)
            if callback is None or inspect.iscoroutinefunction(callback):
                return False
            del waiting[pkt.id]
            try:
                self.hooks.packet("in", namespace, "ACK", args, pkt.id, _size(data))
                callback(*args)
            except Exception:
                log.exception("handling an inbound ack failed")
            return True
        return False

    def abort_socket(self) -> bool:
        """Cut the websocket's TCP connection without a closing handshake, as a crash
        would; False when there is no socket of our own to cut (long-polling).

        aiohttp has no public call for this: the websocket response's connection
        transport is the only handle on the socket, so it is reached here, in one place.
        """
        ws = self.eio.ws
        response = getattr(ws, "_response", None) if ws is not None else None
        connection = getattr(response, "connection", None)
        transport = getattr(connection, "transport", None)
        if transport is None:
            return False
        transport.abort()
        return True

    async def _send_packet(self, pkt: Any) -> None:
        try:
            encoded = pkt.encode()
        except (TypeError, ValueError, OverflowError) as exc:
            parser = "msgpack" if self.packet_class is not sio_packet.Packet else "JSON"
            raise EncodeError(f"the {parser} parser cannot write this payload "
                              f"({type(exc).__name__}: {exc})") from None
        self.hooks.packet("out", pkt.namespace or "/", _KIND.get(pkt.packet_type, "?"),
                          pkt.data, pkt.id, _size(encoded))
        if isinstance(encoded, list):
            for ep in encoded:
                await self.eio.send(ep)
        else:
            await self.eio.send(encoded)

    async def _handle_eio_message(self, data: Any) -> None:
        if self._binary_packet:
            pkt = self._binary_packet
            try:
                complete = pkt.add_attachment(data)
            except Exception as exc:  # placeholders that do not match the attachments
                self._binary_packet = None
                self.hooks.malformed(pkt.namespace or "/", pkt.data,
                                     f"bad binary attachment: {type(exc).__name__}: {exc}")
                return
            self._binary_size += _size(data)
            if complete:
                self._binary_packet = None
                pkt.data = to_notation(pkt.data)
                # the size of the whole packet: its text part and every attachment
                self.hooks.packet("in", pkt.namespace or "/", _KIND[pkt.packet_type],
                                  pkt.data, pkt.id, self._binary_size)
                if pkt.packet_type == sio_packet.BINARY_EVENT:
                    await self._handle_event(pkt.namespace, pkt.id, pkt.data)
                else:
                    await self._handle_ack(pkt.namespace, pkt.id, pkt.data)
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
            if pkt.packet_type not in _KIND:
                raise ValueError(f"unknown packet type {pkt.packet_type}")
            if self._msgpack:  # bytes may be anywhere in a msgpack packet
                pkt.data = to_notation(pkt.data)
        except Exception as exc:  # ValueError, RecursionError, ...: keep it, stay up
            why = f"{type(exc).__name__}: {exc}"
            self.hooks.malformed(namespace_of(data), data, why[:500])
            return
        kind = _KIND.get(pkt.packet_type, "?")
        if pkt.packet_type not in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            self.hooks.packet("in", pkt.namespace or "/", kind, pkt.data, pkt.id, _size(data))
        else:  # logged once its attachments are in
            self._binary_size = _size(data)
        await self._dispatch(pkt)

    async def _dispatch(self, pkt: Any) -> None:
        t = pkt.packet_type
        if t == sio_packet.CONNECT:
            await self._handle_connect(pkt.namespace, pkt.data)
        elif t == sio_packet.DISCONNECT:
            await self._handle_disconnect(pkt.namespace)
        elif t == sio_packet.EVENT:
            await self._handle_event(pkt.namespace, pkt.id, pkt.data)
        elif t == sio_packet.ACK:
            await self._handle_ack(pkt.namespace, pkt.id, pkt.data)
        elif t in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            self._binary_packet = pkt
        elif t == sio_packet.CONNECT_ERROR:
            await self._handle_error(pkt.namespace, pkt.data)

    async def _handle_event(self, namespace: str | None, id: int | None, data: Any) -> None:
        namespace = namespace or "/"
        if not isinstance(data, list) or not data:
            self.hooks.malformed(namespace, data, "EVENT packet without an event name")
            if id is not None:  # the server waits for an answer; do not leave it hanging
                await self._send_packet(self.packet_class(
                    sio_packet.ACK, namespace=namespace, id=id, data=[]))
            return
        reply = self.hooks.event(namespace, str(data[0]), list(data[1:]), id is not None,
                                 self._seen(namespace, data), ack_id=id)
        if id is None:
            return
        if inspect.isawaitable(reply):  # held for an answer by hand: wait in this task
            reply = await reply
        if reply is None:  # ignored on purpose, or the connection is gone
            return
        if self.eio.state != "connected" or namespace not in self.namespaces:
            return
        await self._send_packet(self.packet_class(
            sio_packet.ACK, namespace=namespace, id=id, data=list(reply)))

    # ---- connection state recovery (see module doc) ----------------------------------

    def _connect_data(self, namespace: str, auth: Any) -> Any:
        """The CONNECT payload: the auth, plus `pid` and `offset` when this namespace
        had a recoverable session."""
        pid = self.recovery_pid.get(namespace)
        if pid is None:
            return auth
        self._recovering[namespace] = 0
        data = dict(auth) if isinstance(auth, dict) else {}
        data["pid"] = pid
        offset = self.recovery_offset.get(namespace)
        if offset is not None:
            data["offset"] = offset
        return data

    def _seen(self, namespace: str, data: list[Any]) -> bool:
        """Note a broadcast's offset; True if the event is a recovered one."""
        if namespace in self.recovery_pid and len(data) > 1 and isinstance(data[-1], str):
            self.recovery_offset[namespace] = data[-1]
        if namespace in self._recovering and namespace not in self.namespaces:
            self._recovering[namespace] += 1
            return True
        return False

    async def _handle_eio_connect(self) -> None:
        self.sid = self.eio.sid
        auth = await self._get_real_value(self.connection_auth) or {}
        for ns in self.connection_namespaces:
            await self._send_packet(self.packet_class(
                sio_packet.CONNECT, data=self._connect_data(ns, auth), namespace=ns))

    async def _handle_connect(self, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        pid = data.get("pid") if isinstance(data, dict) else None
        asked = namespace in self._recovering
        count = self._recovering.pop(namespace, 0)
        old = self.recovery_pid.get(namespace)
        if isinstance(pid, str):
            self.recovery_pid[namespace] = pid
            if pid != old:
                self.recovery_offset.pop(namespace, None)
        if asked:
            self.recovery_result[namespace] = (pid is not None and pid == old, count)
        await super()._handle_connect(namespace, data)

    async def connect_namespace(self, namespace: str) -> None:
        """Ask for one more namespace (or again for a refused one) on the open
        connection; the answer arrives as lifecycle `connect` or `connect_refused`."""
        if namespace in self.failed_namespaces:
            self.failed_namespaces.remove(namespace)
        if namespace not in self.connection_namespaces:
            self.connection_namespaces.append(namespace)
        auth = await self._get_real_value(self.connection_auth) or {}
        await self._send_packet(self.packet_class(
            sio_packet.CONNECT, data=self._connect_data(namespace, auth),
            namespace=namespace))

    async def _handle_error(self, namespace: str | None, data: Any) -> None:
        """A refused namespace: reported, and only that namespace is gone (the base
        class would also forget every other namespace when `/` is refused)."""
        namespace = namespace or "/"
        self.hooks.lifecycle("connect_refused", namespace, data)
        if namespace not in self.failed_namespaces:
            self.failed_namespaces.append(namespace)
        self.namespaces.pop(namespace, None)
        if self._connect_event is not None:
            self._connect_event.set()

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        self.hooks.lifecycle(event, namespace or "/", *args)
        return None

    async def _handle_eio_disconnect(self, reason: Any) -> None:
        await super()._handle_eio_disconnect(reason)
        self.hooks.transport_closed(str(reason) if reason else "transport closed")
