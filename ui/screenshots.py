"""``sockdesk --screenshot FILE``: stage a little activity in a window and save a PNG.

``--screenshot-tab learn`` stages the Learn tab instead: a lesson played live by its
simulated users, taken a few steps in (the README's presenter-mode pictures, made with
``--present --theme light|dark --screenshot-size 1280x720``).

The README's screenshots are made this way, and the tests run it end to end. Staging
is not start-up, so it lives here rather than in ``ui.main``: two simulated users (core
sessions without a window) join #general, a short conversation is played with the
window's own user (a link, an edited message, a reply, a mention), a message lands in
#random (an unread mark), a typing notice shows, and an echo request fills the Events
tab.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ui.main import NAMES

if TYPE_CHECKING:
    from app.session import Session
    from ui.window import MainWindow


async def stage_and_save(window: MainWindow, path: Path, data_dir: Path,
                         taken: Sequence[str] = ()) -> int:
    """Connect, stage a little conversation with two simulated users, save a PNG.

    ``taken``: user names other windows use (the simulated users take other names: the
    server keeps a name for whoever claimed it first). Returns the process exit code: 0
    when the PNG is written, 1 otherwise (said on stderr).
    """
    path = path.expanduser().resolve()
    peers: list[Session] = []
    try:
        await wait_until(lambda: window.is_connected, 30)
        session = window.session
        assert session is not None  # connected
        names = [n for n in NAMES if n != window.user and n not in taken][:2]
        peers = [await _peer(window, name, data_dir) for name in names]
        bob, carol = peers
        chat = window.conversations
        await chat.join_room("general")
        await chat.join_room("random")
        await bob.chat.join("random")
        await wait_until(lambda: session.is_ready("/chat"), 10)
        chat.show_conversation("room", "general")
        model = chat.conversation("room", "general")
        ids: list[str] = []

        def shown(msg_id: str) -> bool:
            model.flush()
            return model.has(msg_id)

        def all_delivered() -> bool:
            model.flush()
            return all(model.has(i) for i in ids[:-1]) and all(
                i.state in (None, "acked") for i in model.messages())

        async def say(who: Session | None, text: str, reply_to: str | None = None) -> str:
            """One message of the conversation (None: the window's own user); its id."""
            if who is None:
                chat.send_chat("room", "general", text, reply_to or "")
                model.flush()
                return [i for i in model.messages() if i.own and i.text == text][-1].key
            msg_id = who.chat.send("general", text, reply_to).id
            ids.append(msg_id)
            await wait_until(functools.partial(shown, msg_id), 10)
            return msg_id

        me = window.user
        await say(bob, f"Hey {me}, the bundled server is up: https://socket.io/docs/v4/")
        mine = await say(None, "Hi! I went offline for a minute: the outbox kept my messages")
        await wait_until(lambda: getattr(model.item(mine), "state", None) == "acked", 10)
        chat.actions.edit("room", "general", mine,
                          "Hi! I went offline for a minute: the outbox kept every message.")
        await say(carol, "Nice. Did the recovery pick up what you missed?", mine)
        await say(None, "Yes, every message after my last offset came back in order.")
        await say(bob, f"@{me} try <b>markup</b>: it shows as plain text.")
        ids.append(bob.chat.send("random", "Stand-up in 5 minutes?").id)
        window.spawn(session.call("/", "echo", {"hello": "world"}, timeout=5))
        await wait_until(all_delivered, 20)
        await wait_until(lambda: getattr(model.item(mine), "edited", False), 10)
        await wait_until(lambda: window.sidebar_model.unread("room", "random") > 0, 10)
        bob.chat.typing("general")
        await wait_until(lambda: "typing" in window.chat.typing_label.text()
                         and len(window.chat.members.online()) >= 3, 10)
        return save_window(window, path)
    except TimeoutError:
        print("sockdesk: the screenshot timed out (could not connect or deliver)",
              file=sys.stderr)
        return 1
    finally:
        for peer in peers:
            await peer.close()


def save_window(window: MainWindow, path: Path) -> int:
    """Write a PNG of ``window``: 0, or 1 with the reason on stderr."""
    window.repaint()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        print(f"sockdesk: could not write {path}", file=sys.stderr)
        return 1
    print(f"Screenshot saved to {path}")
    return 0


async def stage_learn(window: MainWindow, path: Path, lesson: str = "broadcast",
                      step: int = 3) -> int:
    """Play ``lesson`` in the Learn tab at normal speed and save a PNG once it reaches
    step ``step`` (0-based): lanes, arrows and the step list all have something to show.
    0 when written, 1 otherwise (said on stderr)."""
    path = path.expanduser().resolve()
    try:
        await wait_until(lambda: window.is_connected, 30)
        learn = window.learn
        window.tabs.setCurrentWidget(learn)
        learn.select(lesson)
        run = await learn.start(learn.selected)
        if run is None:
            print(f"sockdesk: the lesson could not start: {learn.result.text()}",
                  file=sys.stderr)
            return 1
        await wait_until(lambda: run.current >= step or run.end is not None, 60)
        if run.end is not None and not run.end.ok:
            print(f"sockdesk: the lesson failed: {run.end.headline}", file=sys.stderr)
            return 1
        return save_window(window, path)
    except TimeoutError:
        print("sockdesk: the screenshot timed out (could not connect, or the lesson "
              "did not get that far)", file=sys.stderr)
        return 1


async def _peer(window: MainWindow, name: str, data_dir: Path) -> Session:
    """A simulated second user (a core session without a window) in #general."""
    from app.session import Session
    from ui.workspaces import build_config

    cfg = build_config({**window.options, "user": name, "namespaces": ["/chat"]})
    peer = Session(cfg, data_dir / "screenshot-peers" / name)
    await peer.connect()
    await peer.chat.join("general")
    return peer


async def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.03) -> None:
    """Poll ``check`` on the loop (never blocking it); TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(interval)
