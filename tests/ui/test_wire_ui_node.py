"""The GUI against the official Node socket.io server (tests/interop/node/server_wire.js),
which reports exactly what reached it: key order, raw packets, which values are Buffers,
and what we answered to its `socket.timeout(ms).emit("question", ..., cb)`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.helpers import NodeServer, node_server
from tests.support import node_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]

BLOB = bytes(range(256)) + "endé".encode()


@pytest.fixture
def node(run) -> Iterator[NodeServer]:
    cm = node_server("server_wire.js")
    srv = run(cm.__aenter__(), 180)
    yield srv
    run(cm.__aexit__(None, None, None))


def compose_send(run, w: Any, event: str, texts: list[str]) -> None:
    c = w.compose
    c.event_name.setText(event)
    c.set_arguments(texts)
    c.send()
    run.until(lambda: "acked" in c.response_state.text())


def test_gui_against_the_node_server(run, node, make_window):
    from app.acks import AckMode, AckRule

    w = make_window(node.url, "alice", namespaces=["/"])
    run(w.open_session(), 30)
    run.until(lambda: w.session is not None and w.session.is_ready("/"), 30)
    # somebody else's server: its traffic in local queues, and no word of opening /queue
    w.tabs.setCurrentWidget(w.queues)
    run.until(lambda: w.queues.header.live_label.text() == "Live · local queues")

    # Compose: key order, 2^70 and Unicode as typed; a hex card arrives as a Buffer
    c = w.compose
    c.event_name.setText("probe")
    c.set_arguments(['{"zeta": 1, "alpha": 2, "big": 1180591620717411303424, "u": "é☃"}'])
    c.add_argument("{}").set_hex("de ad be ef")
    c.send()
    run.until(lambda: "acked" in c.response_state.text())
    got = run(node.wait("event", lambda x: x["event"] == "probe"))[0]
    assert got["keys"] == ["zeta", "alpha", "big", "u"]
    assert got["buffers"] == ["1"] and got["args"][1] == {"$binary": "3q2+7w=="}
    assert got["args"][0]["u"] == "é☃"
    raw = next(x["data"] for x in node.of("raw") if '"probe"' in x["data"])
    assert '"big":1180591620717411303424' in raw
    assert json.loads(c.response.toPlainText())["args"][1] == {"$binary": "3q2+7w=="}

    # a Buffer from the server: its true size and a hex dump in the Events tab
    compose_send(run, w, "send-me-binary", [])
    events = w.events
    events.search.setText("")
    events.event_filter.setEditText("blob")
    run.until(lambda: w.packets.flush() or events.shown_model().rowCount() == 1)
    events.table.selectRow(0)
    assert events.binary.size_label.text() == f"args[0].file: binary, {len(BLOB)} bytes"
    first = events.binary.dump.toPlainText().splitlines()[0]
    assert first.startswith("00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f")
    assert events.binary.current() == BLOB
    events.event_filter.setEditText("CONNECT")  # the packet filtered out: no packet shown,
    run.until(lambda: not events.detail.toPlainText())  # and no hex dump of it either
    assert not events.binary.isVisibleTo(events) and events.binary.current() is None
    events.event_filter.setEditText("")

    # a held ack request, answered from the panel with two arguments (one binary)
    # somebody else's server: a request with no rule waits for the user's answer
    acks = w.acks
    run.until(lambda: "hold for a manual answer" in acks.default_label.text())
    compose_send(run, w, "ask-me", ['{"ms": 15000}'])
    run.until(lambda: acks.pending.rowCount() == 1)
    assert acks.pending.item(0, 0).text() == "question"
    acks.pending.selectRow(0)
    dlg = acks.open_answer()
    dlg.args.set_values([{"b": 1, "a": 2}, {"$binary": "AAEC"}])
    dlg.answer_button.click()
    answer = run(node.wait("answer"))[0]
    assert answer["err"] is None
    assert answer["answer"] == [{"b": 1, "a": 2}, {"$binary": "AAEC"}]
    assert answer["buffers"] == ["1"]

    # Don't answer: the server's own timeout fires
    compose_send(run, w, "ask-me", ['{"ms": 1000}'])
    run.until(lambda: acks.pending.rowCount() == 1)
    acks.pending.selectRow(0)
    acks.ignore_button.click()
    late = run(node.wait("answer", n=2))[1]
    assert late["err"] and late["answer"] == []
    assert acks.pending.rowCount() == 0

    # a rule of the user's answers at once, here too
    acks.edit_rule("question", "*", AckRule(AckMode.ANSWER, [{"fine": 1}]))
    assert acks.save_rule()
    compose_send(run, w, "ask-me", ['{"ms": 5000}'])
    third = run(node.wait("answer", n=3))[2]
    assert third["err"] is None and third["answer"] == [{"fine": 1}]
    assert acks.pending.rowCount() == 0
