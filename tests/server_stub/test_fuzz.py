"""Hypothesis throws junk at every /chat and /queue event.

For every payload: exactly one ack object comes back (``ok: false`` with a known code, or
``ok: true`` when the junk happens to be valid), the server stays up, and a watcher in the
same room / on the same queue receives nothing except what valid requests caused. The
watcher check uses a marker sent at the end: everything before it has arrived by then.
"""

from __future__ import annotations

import json
import queue as queue_module
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server_stub.peers import unique
from tests.support import ServerProcess

CODES = {"invalid", "too_large", "not_found", "forbidden", "unauthorized", "rate_limited",
         "busy"}
TIMEOUT = 10

FIELDS = {
    "join": ("room", "since"), "history": ("room", "since", "limit"), "leave": ("room",),
    "message": ("room", "text", "id", "user", "reply_to"), "typing": ("room", "to"),
    "rooms": (), "edit": ("room", "id", "text"), "delete": ("room", "id"), "users": (),
    "forget": ("room",),
    "dm": ("to", "text", "id", "user"),
    "publish": ("queue", "payload", "id"), "subscribe": ("queue", "prefetch"),
    "unsubscribe": ("queue",), "ack": ("queue", "seq"), "nack": ("queue", "seq", "requeue"),
    "peek": ("queue", "limit"), "stats": (), "requeue": ("queue", "seq"),
    "purge": ("queue",),
}
CHAT_EVENTS = ["join", "history", "leave", "message", "edit", "delete", "typing", "rooms",
               "dm", "users", "forget"]
QUEUE_EVENTS = ["publish", "subscribe", "unsubscribe", "ack", "nack", "peek", "stats",
                "requeue", "purge"]


def nested(depth: int) -> Any:
    value: Any = "core"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=40) | st.integers(min_value=2**63, max_value=2**80))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
# "é" is 6 bytes once JSON-escaped: two of these stay under the 1 MiB transport cap.
huge_text = st.integers(min_value=4001, max_value=70_000).map(lambda n: "é" * n)
deep = st.integers(min_value=20, max_value=200).map(nested)


def field_values(target: str, watcher: str) -> st.SearchStrategy[Any]:
    """Junk for one field, mixed with values that are (almost) valid."""
    return st.one_of(
        json_values, huge_text, deep,
        st.sampled_from([target, f"{target}.dead", watcher, "", " ", "r" * 64, "r" * 65,
                         "ünï", "a/b", 0, 1, 2, -1, 500, 501, 1000, 1001, True, False,
                         "x" * 128, "x" * 129, "x" * 4000]),
        st.text(min_size=1, max_size=70))


#: Engine.IO drops a connection whose packet exceeds 1 MiB (by contract, no ack then); the
#: junk must stay below it, or the test would only be measuring that (and flake).
PACKET_BUDGET = 1_000_000


def fits_in_a_packet(args: tuple[Any, ...]) -> bool:
    """Whether the client's encoding (stdlib JSON, ASCII escapes) stays under the cap."""
    try:
        return len(json.dumps(list(args))) < PACKET_BUDGET
    except (TypeError, ValueError, RecursionError):
        return True  # not encodable as one text: the client sends it some other way


def payloads(event: str, target: str, watcher: str) -> st.SearchStrategy[tuple[Any, ...]]:
    """Whole argument lists: nothing, one junk value, one junk object, or two values
    (several fields can be huge, so the whole list is kept under the packet cap)."""
    fields = field_values(target, watcher)
    objects = st.fixed_dictionaries({}, optional={key: fields for key in FIELDS[event]})
    one = st.one_of(json_values, huge_text, deep, objects, objects, objects)
    return st.one_of(st.just(()), one.map(lambda p: (p,)),
                     st.tuples(one, one)).filter(fits_in_a_packet)


class Recorder:
    """A sync socketio.Client whose received events land in a thread-safe queue."""

    def __init__(self, url: str, user: str, ns: str) -> None:
        self.ns = ns
        self.events: queue_module.Queue[tuple[str, Any]] = queue_module.Queue()
        self.welcomed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record, namespace=ns)
        self.client.connect(url, namespaces=[ns], auth={"user": user},
                            transports=["websocket"], wait_timeout=TIMEOUT)
        assert self.welcomed.wait(TIMEOUT)

    def _record(self, event: str, *args: Any) -> None:
        if event == "welcome":
            self.welcomed.set()
            return
        self.events.put((event, args[0] if len(args) == 1 else list(args)))

    def call(self, event: str, *args: Any) -> Any:
        return self.client.call(event, tuple(args), namespace=self.ns, timeout=TIMEOUT)

    def until(self, done: Any) -> list[tuple[str, Any]]:
        """Everything received up to and including the first event ``done`` accepts."""
        seen = []
        while True:
            item = self.events.get(timeout=TIMEOUT)
            seen.append(item)
            if done(*item):
                return seen

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory,
                module_backend_args: list[str]) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "server.db",
                        *module_backend_args).start()
    yield srv
    output = srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0, output
    assert "Traceback" not in output, output


def check_ack(ack: Any) -> None:
    assert isinstance(ack, dict), ack
    assert isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["code"] in CODES, ack
        assert isinstance(ack["error"], str) and ack["error"].strip(), ack


FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])


@pytest.mark.parametrize("event", CHAT_EVENTS)
def test_chat_event_survives_junk(fuzz_server: ServerProcess, event: str) -> None:
    room = unique("fuzz")
    watcher_name = unique("watcher")
    sender = Recorder(fuzz_server.url, unique("sender"), "/chat")
    watcher = Recorder(fuzz_server.url, watcher_name, "/chat")
    assert sender.call("join", {"room": room})["ok"]
    assert watcher.call("join", {"room": room})["ok"]  # the sender gets presence, not us
    allowed_ids: set[str] = set()
    valid: list[str] = []

    @FUZZ
    @given(args=payloads(event, room, watcher_name))
    def run(args: tuple[Any, ...]) -> None:
        ack = sender.call(event, *args)
        check_ack(ack)
        if ack["ok"]:
            valid.append(event)
            if "id" in ack:
                allowed_ids.add(ack["id"])

    try:
        run()
        # the server is still up and the sender is (again) in the room for the marker
        assert sender.call("join", {"room": room})["ok"]
        marker = sender.call("message", {"room": room, "text": "marker"})
        received = watcher.until(lambda e, d: e == "message" and d.get("id") == marker["id"])
        for kind, data in received[:-1]:
            if kind in ("message", "dm"):
                assert data["id"] in allowed_ids, (kind, data)
            elif kind == "typing":
                assert "typing" in valid, data
            elif kind == "presence":
                assert valid and set(valid) <= set(CHAT_EVENTS), data
                assert data["user"] != watcher_name
            else:
                raise AssertionError(f"unexpected {kind}: {data!r}")
    finally:
        sender.close()
        watcher.close()


@pytest.mark.parametrize("event", QUEUE_EVENTS)
def test_queue_event_survives_junk(fuzz_server: ServerProcess, event: str) -> None:
    target = unique("fuzzq")
    sender = Recorder(fuzz_server.url, unique("sender"), "/queue")
    watcher = Recorder(fuzz_server.url, unique("watcher"), "/queue")
    assert watcher.call("subscribe", {"queue": target, "prefetch": 1000})["ok"]
    allowed_ids: set[str] = set()

    @FUZZ
    @given(args=payloads(event, target, "nobody"))
    def run(args: tuple[Any, ...]) -> None:
        ack = sender.call(event, *args)
        check_ack(ack)
        if ack["ok"] and "id" in ack:
            allowed_ids.add(ack["id"])

    try:
        run()
        # leave the watcher as the only consumer, so the marker must reach it
        assert sender.call("unsubscribe", {"queue": target}) == {"ok": True}
        marker = sender.call("publish", {"queue": target, "payload": "marker"})
        assert marker["ok"], marker
        received = watcher.until(lambda e, d: e == "deliver" and d["id"] == marker["id"])
        for kind, data in received[:-1]:
            assert kind == "deliver" and data["queue"] == target, (kind, data)
            assert data["id"] in allowed_ids, data
        assert sender.call("stats")["ok"] is True
    finally:
        sender.close()
        watcher.close()
