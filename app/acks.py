"""The server's ack requests: answer now, hold and answer by hand, or never answer.

A server that emits with a callback (`socket.emit("q", data, (answer) => ...)`, often
with `socket.timeout(ms)`) waits for our ACK. For each such event the session makes an
`AckRequest`, applies the per-event `AckRules`, and lets observers of
`Session.ack_requested` change the outcome before it returns:

- answered at once (the default: `{"ok": true}`, or a rule's saved payload, or whatever
  an observer put in `reply` / passed to `answer()`): the ACK goes out right away;
- `hold()`: nothing is sent yet; the request waits in `Session.pending_acks` until
  `answer(*args)` is called, from any task, any time later (python-socketio's event
  handler awaits the answer without holding up other events);
- `ignore()`: no ACK is ever sent, so the server's own timeout fires.

Answers may have any number of arguments, binary included (bytes or the
`{"$binary": base64}` notation, `app.binary`). Once the connection the request came on
is gone the server no longer waits: the request is `DROPPED` and `answer()` raises
`AckError` saying so.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app import binary, jsonmod
from app.config import namespace_path
from app.errors import AckError
from app.signals import Signal

__all__ = ["DEFAULT_ANSWER", "AckError", "AckMode", "AckRequest", "AckRule", "AckRules",
           "AckState"]

#: what a server's ack request gets when nobody says otherwise
DEFAULT_ANSWER: list[Any] = [{"ok": True}]


class AckState(enum.StrEnum):
    """Where a server's ack request is."""

    PENDING = "pending"    #: just received; observers are being asked
    HELD = "held"          #: waits for `answer()` (in `Session.pending_acks`)
    ANSWERED = "answered"  #: our ACK is on its way (or sent)
    IGNORED = "ignored"    #: never answered, on purpose: the server's timeout fires
    DROPPED = "dropped"    #: the connection went away before an answer


class AckRequest:
    """The server emitted an event with a callback and waits for our answer.

    `namespace`, `event`, `args` (binary in the notation), `ack_id` (the packet's id, as
    in the packet log), `at` (epoch seconds received). See the module doc for
    `hold()`, `answer(*args)` and `ignore()`. `reply_args` is what is answered if the
    observers of `ack_requested` neither answer, hold nor ignore it (the rule's saved
    arguments; by default `[{"ok": true}]`); `reply` is the same as one value, and
    setting it answers with that one argument (None: no arguments).
    """

    def __init__(self, namespace: str, event: str, args: list[Any],
                 ack_id: int | None = None, reply_args: list[Any] | None = None,
                 on_change: Callable[[AckRequest], None] | None = None) -> None:
        self.namespace = namespace
        self.event = event
        self.args = args
        self.ack_id = ack_id
        self.at = time.time()
        #: the answer if nobody gives another (see the class doc)
        self.reply_args: list[Any] = (copy.deepcopy(DEFAULT_ANSWER) if reply_args is None
                                      else list(reply_args))
        self.state = AckState.PENDING
        #: what was answered (notation), once ANSWERED
        self.answer_args: list[Any] | None = None
        #: why it was dropped, once DROPPED
        self.dropped_because: str | None = None
        self._wire: list[Any] | None = None
        self._future: asyncio.Future[list[Any] | None] | None = None
        self._on_change = on_change

    @property
    def reply(self) -> Any:
        """The default answer as one value (its only argument; a list of several)."""
        if not self.reply_args:
            return None
        return self.reply_args[0] if len(self.reply_args) == 1 else list(self.reply_args)

    @reply.setter
    def reply(self, value: Any) -> None:
        self.reply_args = [] if value is None else [value]

    def __repr__(self) -> str:
        return (f"AckRequest({self.namespace!r}, {self.event!r}, id={self.ack_id}, "
                f"{self.state.value})")

    # ---- what a user (or the UI) does ---------------------------------------------

    @property
    def done(self) -> bool:
        """Answered, ignored or dropped: nothing more can happen to it."""
        return self.state in (AckState.ANSWERED, AckState.IGNORED, AckState.DROPPED)

    def hold(self) -> None:
        """Do not answer now: keep the request for a later `answer()` (or `ignore()`)."""
        self._check_open("hold")
        if self.state == AckState.HELD:
            return
        self.state = AckState.HELD
        self._changed()

    def answer(self, *args: Any) -> None:
        """Send the ACK with exactly these arguments (none, one or several; binary as
        bytes or the notation). AckError if it was answered or ignored already, or the
        connection it came on is gone; BinaryError for invalid base64."""
        self._check_open("answer")
        wire = binary.to_wire(list(args))  # validates before anything changes
        self.answer_args = binary.to_notation(list(args))
        self._wire = wire
        self.state = AckState.ANSWERED
        if self._future is not None and not self._future.done():
            self._future.set_result(wire)
        self._changed()

    def ignore(self) -> None:
        """Never answer: the server's timeout fires (its callback gets an error)."""
        self._check_open("ignore")
        self.state = AckState.IGNORED
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        self._changed()

    async def wait(self) -> list[Any] | None:
        """Until it is done: the answer's arguments (notation), or None when it was
        ignored or dropped."""
        if not self.done:
            await self._outcome()
        return self.answer_args

    def _check_open(self, verb: str) -> None:
        if self.state == AckState.DROPPED:
            raise AckError(f"Cannot {verb} the server's {self.event!r} request on "
                           f"{self.namespace}: {self.dropped_because or 'the connection'}"
                           " ended before it was answered, and the server no longer "
                           "waits for this answer.")
        if self.state == AckState.ANSWERED:
            raise AckError(f"The server's {self.event!r} request on {self.namespace} was "
                           "answered already.")
        if self.state == AckState.IGNORED:
            raise AckError(f"The server's {self.event!r} request on {self.namespace} is "
                           "being left unanswered on purpose; it cannot be answered now.")

    # ---- the session's side --------------------------------------------------------

    def _outcome(self) -> asyncio.Future[list[Any] | None]:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
            if self.done:
                self._future.set_result(self._wire)
        return self._future

    def resolve(self) -> list[Any] | asyncio.Future[list[Any] | None] | None:
        """After the observers had their say: the ACK's arguments (as bytes where
        binary) to send now, a future of them (held), or None (no ACK at all)."""
        if self.state == AckState.PENDING:
            self.answer(*self.reply_args)
        if self.state == AckState.ANSWERED:
            return self._wire
        if self.state == AckState.HELD:
            return self._outcome()
        return None

    def drop(self, why: str) -> bool:
        """The connection it came on is gone (True if it was still open)."""
        if self.done:
            return False
        self.state = AckState.DROPPED
        self.dropped_because = why
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        self._changed()
        return True

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

    def ack_args(self) -> list[Any]:
        """The arguments of the ACK as it stands (notation): what was answered, else
        what would be answered now."""
        if self.answer_args is not None:
            return self.answer_args
        return list(self.reply_args)


class AckMode(enum.StrEnum):
    """What a rule does with a server's ack request."""

    ANSWER = "answer"  #: answer at once with the rule's saved arguments
    HOLD = "hold"      #: keep it for a manual answer (Session.pending_acks)
    IGNORE = "ignore"  #: never answer: test the server's timeout


@dataclass
class AckRule:
    """One rule: a mode, and for ANSWER the ack's arguments (binary in the notation)."""

    mode: AckMode = AckMode.ANSWER
    args: list[Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_ANSWER))

    def to_json(self) -> dict[str, Any]:
        """The rule as stored (store meta, JSON)."""
        out: dict[str, Any] = {"mode": self.mode.value}
        if self.mode == AckMode.ANSWER:
            out["args"] = self.args
        return out

    @classmethod
    def from_json(cls, data: Any) -> AckRule:
        """A rule from its stored form; ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("an ack rule is an object with a mode")
        mode = AckMode(data.get("mode", "answer"))
        args = data.get("args", DEFAULT_ANSWER)
        if not isinstance(args, list):
            raise ValueError("an ack rule's args are a list")
        binary.to_wire(args)  # BinaryError (ValueError) for invalid base64
        return cls(mode, binary.to_notation(copy.deepcopy(args)))


#: a rule for every namespace
ANY_NAMESPACE = "*"


class AckRules:
    """Per-event rules for the server's ack requests, with a default.

    Looked up by (namespace, event), then ("*", event), then the default: the one the
    user chose (`set_default`), else `fallback` (ANSWER with `{"ok": true}`, as before
    rules existed, unless the session says otherwise). `changed` fires after every
    change; the session saves the rules in its store (one set per workspace data
    folder), the fallback not among them.
    """

    def __init__(self, default: AckRule | None = None,
                 rules: Iterable[tuple[str, str, AckRule]] = ()) -> None:
        #: the default the user chose; None: `fallback` applies
        self.chosen_default = default
        self.fallback = AckRule()
        self._rules: dict[tuple[str, str], AckRule] = {}
        self.changed: Signal[AckRules] = Signal("ack_rules.changed")
        for ns, event, rule in rules:
            self._rules[(_ns(ns), event)] = rule

    @property
    def default(self) -> AckRule:
        """What applies to events without a rule of their own."""
        return self.chosen_default or self.fallback

    def rule_for(self, namespace: str, event: str) -> AckRule:
        """The rule that applies to `event` on `namespace`."""
        return (self._rules.get((_ns(namespace), event))
                or self._rules.get((ANY_NAMESPACE, event)) or self.default)

    def set(self, event: str, rule: AckRule, namespace: str = ANY_NAMESPACE) -> None:
        """Add or replace the rule of `event` (on one namespace, or "*": all)."""
        self._rules[(_ns(namespace), event)] = rule
        self.changed.emit(self)

    def remove(self, event: str, namespace: str = ANY_NAMESPACE) -> bool:
        """Drop a rule (the default applies again); True if there was one."""
        gone = self._rules.pop((_ns(namespace), event), None) is not None
        if gone:
            self.changed.emit(self)
        return gone

    def set_default(self, rule: AckRule) -> None:
        """Choose what applies to events without a rule of their own."""
        self.chosen_default = rule
        self.changed.emit(self)

    def items(self) -> list[tuple[str, str, AckRule]]:
        """(namespace, event, rule) for every rule, in the order they were added."""
        return [(ns, ev, rule) for (ns, ev), rule in self._rules.items()]

    def dumps(self) -> str:
        """All rules as JSON text (what the store keeps)."""
        out: dict[str, Any] = {"rules": [{"namespace": ns, "event": ev, **rule.to_json()}
                                         for ns, ev, rule in self.items()]}
        if self.chosen_default is not None:
            out["default"] = self.chosen_default.to_json()
        return jsonmod.dumps(out)

    @classmethod
    def loads(cls, text: str | None) -> AckRules:
        """Rules from `dumps` text; None or unreadable text gives the defaults (a rule
        that cannot be read is skipped, not fatal)."""
        if not text:
            return cls()
        try:
            data = jsonmod.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        default: AckRule | None = None
        if "default" in data:
            try:
                default = AckRule.from_json(data["default"])
            except ValueError:
                default = None
            if default == AckRule():  # saved by a version that always wrote the fallback
                default = None
        rules: list[tuple[str, str, AckRule]] = []
        for item in data.get("rules") or []:
            try:
                ns, ev = item["namespace"], item["event"]
                if isinstance(ns, str) and isinstance(ev, str):
                    rules.append((ns, ev, AckRule.from_json(item)))
            except (KeyError, TypeError, ValueError):
                continue
        return cls(default, rules)


def _ns(namespace: str) -> str:
    return namespace if namespace == ANY_NAMESPACE else namespace_path(namespace)
