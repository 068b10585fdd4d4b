"""Inbound messages taken without a task of their own stay in arrival order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.sioclient import InlineEngineIO, SioClient, _message_tasks


async def settle() -> None:
    """Until every message task started so far has finished."""
    await asyncio.gather(*_message_tasks)


def recording() -> tuple[InlineEngineIO, list[Any]]:
    """An engine.io client whose message handler (the task path) records what it got."""
    eio = InlineEngineIO()
    seen: list[Any] = []

    async def handler(data: str) -> None:
        seen.append(("task", data))

    eio.on("message", handler)
    return eio, seen


async def test_an_inline_message_never_overtakes_one_waiting_for_its_task() -> None:
    eio, seen = recording()

    def inline(data: str) -> bool:
        if not data.startswith("fast"):
            return False
        seen.append(("inline", data))
        return True

    eio.inline = inline
    await eio._trigger_event("message", "slow 1", run_async=True)
    await eio._trigger_event("message", "fast 1", run_async=True)  # "slow 1" not started
    await settle()
    await eio._trigger_event("message", "fast 2", run_async=True)  # nothing waits now
    await eio._trigger_event("message", "slow 2", run_async=True)
    await settle()
    assert seen == [("task", "slow 1"), ("task", "fast 1"), ("inline", "fast 2"),
                    ("task", "slow 2")]


async def test_other_engineio_events_are_untouched() -> None:
    eio = InlineEngineIO()
    got: list[Any] = []

    async def on_disconnect(reason: Any) -> None:
        got.append(reason)

    eio.on("disconnect", on_disconnect)
    eio.inline = lambda _data: pytest.fail("only messages are offered inline")
    await eio._trigger_event("disconnect", "bye", run_async=False)
    assert got == ["bye"]


class Hooks:
    def __init__(self, fail: bool = False) -> None:
        self.packets: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.fail = fail

    def packet(self, *args: Any) -> None:
        self.packets.append(args)

    def event(self, *args: Any) -> None:
        if self.fail:
            raise RuntimeError("a broken listener")
        self.events.append(args)

    def lifecycle(self, *args: Any) -> None: ...

    def transport_closed(self, reason: str) -> None: ...

    def malformed(self, *args: Any) -> None: ...


@pytest.mark.parametrize(("raw", "inline"), [
    ('2/chat,["message",{"text":"hi"}]', True),
    ('2["tick",1,2]', True),
    ('2/chat,7["message",{"text":"hi"}]', False),       # wants an ack: sent from a task
    ('3/chat,7[{"ok":true}]', False),                   # an ACK nobody waits for
    ('0/chat,{"sid":"x"}', False),                      # a CONNECT
    ('51-["file",{"_placeholder":true,"num":0}]', False),  # binary: attachments follow
    ('2/chat,["message"', False),                       # broken: reported on the task path
    ("2[]", False),                                     # no event name: reported there too
    (b"\x00\x01", False),                               # an attachment
])
def test_which_messages_are_taken_inline(raw: Any, inline: bool) -> None:
    hooks = Hooks()
    client = SioClient(hooks)
    assert client._inline_message(raw) is inline
    if inline:
        assert len(hooks.packets) == 1 and hooks.packets[0][:3] == (
            "in", "/chat" if "/chat" in raw else "/", "EVENT")
        assert hooks.packets[0][5] == len(raw)
        assert len(hooks.events) == 1 and hooks.events[0][3] is False
    else:
        assert hooks.packets == [] and hooks.events == []


def test_a_failing_listener_does_not_escape_into_the_read_loop(
        caplog: pytest.LogCaptureFixture) -> None:
    client = SioClient(Hooks(fail=True))
    assert client._inline_message('2["tick",1]') is True
    assert "handling an inbound event failed" in caplog.text


def test_an_ack_for_a_plain_callback_is_taken_inline_once() -> None:
    hooks = Hooks()
    client = SioClient(hooks)
    got: list[Any] = []
    client.callbacks["/chat"] = {7: lambda *args: got.append(args)}
    assert client._inline_message('3/chat,7[{"ok":true},2]') is True
    assert got == [({"ok": True}, 2)]
    assert hooks.packets == [("in", "/chat", "ACK", [{"ok": True}, 2], 7, 23)]
    assert client.callbacks["/chat"] == {}
    assert client._inline_message('3/chat,7[{"ok":true},2]') is False  # a repeat: task path


def test_an_ack_for_a_coroutine_callback_takes_the_task_path() -> None:
    client = SioClient(Hooks())

    async def callback(*_args: Any) -> None: ...

    client.callbacks["/"] = {3: callback}
    assert client._inline_message("33[1]") is False
    assert 3 in client.callbacks["/"]


async def test_a_message_task_cancelled_before_it_ran_is_no_longer_waited_for() -> None:
    eio, seen = recording()
    eio.inline = lambda data: data == "fast" and not seen.append(("inline", data))
    task = await eio._trigger_event("message", "slow", run_async=True)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert eio._waiting == 0
    await eio._trigger_event("message", "fast", run_async=True)
    assert seen == [("inline", "fast")]
