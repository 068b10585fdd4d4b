"""What a namespace may add to the plain Socket.IO client: the extension protocol.

`BaseSession` speaks Socket.IO and nothing more: it connects namespaces, stores every
event under `event:<ns>:<name>`, and sends the outbox in order. What a particular
server's namespace adds plugs in here, one extension per namespace. The bundled
server's `/chat` (`app.chat.ChatRooms`) and `/queue` (`app.consumer.QueueConsumer`)
are the two we ship.

An extension is *on* only for a server that says it is SockDesk in its `welcome`, or
when the user forces it (`ConnectionConfig.extensions`). While it is off, its
namespace behaves as any foreign namespace: no ids are added to payloads, nothing is
joined before sending, events go to event queues. That is what keeps SockDesk from
writing its own fields into the payloads of someone else's server.

The hooks, in the order a message meets them:

- `on_emit`      a message is accepted into the outbox (e.g. remember the room it is
                 for, so it is re-joined after a restart even before it is sent);
- `dedupe_id` / `with_dedupe_id`   where a message's stable id comes from and goes to
                 on the wire, so a server that drops duplicates can drop our resends;
- `before_send`  prerequisites just before the message is written (join the room);
- `prepare`      steps after the namespace's CONNECT, before it counts as ready and
                 the outbox may flush into it (re-join rooms and fetch what was missed);
- `after_ready`  background work once ready (re-subscribe work queues);
- `classify`     which queue an inbound event belongs to;
- `on_inbound`   react to an inbound event (watermarks, presence, deliveries);
- `on_disconnected`   the namespace is gone (nothing is joined any more).

Every hook has a harmless default, so an extension overrides only what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.keys import event_key

if TYPE_CHECKING:
    from app.outbox_rows import OutboxMessage
    from app.store import StoredMessage


class NamespaceExtension:
    """Base of the per-namespace behaviour a session can switch on (see module doc)."""

    #: the namespace this extension serves
    namespace: str = "/"

    def on_emit(self, event: str, args: Sequence[Any]) -> None:
        """A message for this namespace was accepted into the outbox."""

    def dedupe_id(self, event: str, args: Sequence[Any]) -> str | None:
        """The id the user gave the message in its payload, to keep as its stable id."""
        return None

    def with_dedupe_id(self, event: str, args: list[Any], msg_id: str) -> list[Any]:
        """The arguments as written on the wire, carrying the stable id where the
        server looks for it (default: unchanged)."""
        return args

    async def before_send(self, msg: OutboxMessage) -> None:
        """Prerequisites before `msg` is written (runs in the namespace's flusher)."""

    async def prepare(self) -> None:
        """Readiness steps after CONNECT; the namespace is ready once this returns."""

    def after_ready(self) -> None:
        """The namespace became ready (start background work here, do not block)."""

    def classify(self, event: str, args: Sequence[Any], direction: str,
                 me: str | None) -> str:
        """The queue key of an event of this namespace (default: its event queue)."""
        return event_key(self.namespace, event)

    def on_inbound(self, event: str, args: list[Any], stored: StoredMessage) -> None:
        """An inbound event, before it is stored (it may adjust `stored`)."""

    def on_disconnected(self) -> None:
        """The namespace (or the whole connection) went away."""
