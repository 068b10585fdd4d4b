"""The Hosting menu's "Relay to the sender too (tutorial rule)": the hosted server is
restarted with ``--echo /`` (same port, certificate and token), the choice is kept in
the workspace, and the server then relays an event on ``/`` to its sender too."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import socketio

from tests.support import free_port
from tests.ui.conftest import Runner
from tests.ui.test_start_host_join import host_window as host_window
from tests.ui.test_start_host_join import hosted_workspace

pytestmark = pytest.mark.timeout(180)
TOKEN = "class-token-123"


async def own_copy(url: str) -> tuple[list[Any], Any]:
    """Emit 'chat message' on / as a plain client; what came back to the sender within
    a moment, and the ack."""
    got: list[Any] = []
    client = socketio.AsyncClient(ssl_verify=False)
    arrived = asyncio.Event()

    def on_message(*a: Any) -> None:
        got.append(list(a))
        arrived.set()

    client.on("chat message", on_message, namespace="/")
    await client.connect(url, namespaces=["/"], transports=["websocket"],
                         auth={"user": "pupil", "token": TOKEN}, wait_timeout=10)
    try:
        ack = await client.call("chat message", "hi from the tutorial", namespace="/",
                                timeout=10)
        with contextlib.suppress(TimeoutError):   # the copy may come after the ack
            await asyncio.wait_for(arrived.wait(), 1.0)
        return got, ack
    finally:
        await client.disconnect()


def test_echo_switch_restarts_hosting_with_the_tutorial_rule(run: Runner,
                                                              host_window: Any) -> None:
    port = free_port()
    w = host_window(hosted_workspace(port))
    controls = w.hosting
    info = w.workspaces.host_info(w.workspace)
    assert info is not None
    assert not controls.echo_action.isChecked() and controls.echo_action.isEnabled()
    got, ack = run(own_copy(info.url))
    # everyone *else*: the host's own app is on / too
    assert got == [] and ack == {"ok": True, "delivered": 1}

    first = w.workspaces.hosted(w.workspace).server
    controls.echo_action.trigger()
    run.until(lambda: w.workspaces.host_info(w.workspace) is not None
              and w.workspaces.hosted(w.workspace).server is not first
              and w.is_connected and w.session.is_ready("/")
              and controls.echo_action.isEnabled(), 60)
    assert controls.echo_action.isChecked()
    again = w.workspaces.host_info(w.workspace)
    assert again.url == info.url and again.fingerprint == info.fingerprint
    assert again.invite == info.invite
    assert w.workspace.host.echo == ["/"]
    stored = w.workspaces.store.get(w.workspace.id)   # read back: kept for the next start
    assert stored is not w.workspace and stored.host.echo == ["/"]
    got, ack = run(own_copy(info.url))
    assert got == [["hi from the tutorial"]] and ack == {"ok": True, "delivered": 2}

    controls.echo_action.trigger()                         # off again: the lessons' rule
    run.until(lambda: w.workspace.host.echo == [] and w.is_connected
              and w.session.is_ready("/")
              and w.workspaces.host_info(w.workspace) is not None
              and controls.echo_action.isEnabled() and not controls.echo_action.isChecked(),
              60)
    got, ack = run(own_copy(info.url))
    assert got == [] and ack == {"ok": True, "delivered": 1}
