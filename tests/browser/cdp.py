"""Headless Chromium driven over the Chrome DevTools Protocol, with aiohttp only.

No browser download and no driver package: the system's ``/usr/bin/chromium`` is started
with a fresh profile and ``--remote-debugging-port=0``; the port it picked is read from
the ``DevTools listening on ws://...`` line it prints. Tabs are CDP targets attached in
flat mode, so one websocket carries every command, told apart by session id. Typing
goes through ``Input.insertText`` and a real Enter key, as a student would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import subprocess
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class CdpError(Exception):
    """A CDP command answered with an error, or the page threw."""


class Browser:
    """One Chromium process and its browser-level CDP websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(CdpError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CdpError("the browser closed its DevTools socket"))

    async def send(self, method: str, session: str | None = None, **params: Any) -> Any:
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self.ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, 30)

    async def new_tab(self, url: str) -> Tab:
        target = await self.send("Target.createTarget", url=url)
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)
        return Tab(self, attached["sessionId"])

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        await self.ws.close()
        self._reader.cancel()


class Tab:
    """One page, addressed by its CDP session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def evaluate(self, expression: str) -> Any:
        result = await self.browser.send("Runtime.evaluate", self.session,
                                         expression=expression, returnByValue=True,
                                         awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Evaluate until the value is truthy (a polling wait, not a fixed sleep)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        value = None
        while loop.time() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression!r} (last value {value!r})")

    async def type_and_enter(self, selector: str, text: str) -> None:
        """Focus a field, type into it and press Enter (submits its form)."""
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.browser.send("Input.insertText", self.session, text=text)
        for kind in ("keyDown", "keyUp"):
            await self.browser.send("Input.dispatchKeyEvent", self.session, type=kind,
                                    key="Enter", code="Enter", windowsVirtualKeyCode=13,
                                    text="\r" if kind == "keyDown" else "")


def _resolve(future: asyncio.Future[str], value: str) -> None:
    if not future.done():
        future.set_result(value)


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Browser]:
    """Start Chromium with a fresh profile folder; stop it when the block ends."""
    proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                             "about:blank"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    log: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            match = _LISTENING.search(line)
            if match:
                loop.call_soon_threadsafe(_resolve, found, match.group(1))

    threading.Thread(target=read, daemon=True).start()
    try:
        try:
            url = await asyncio.wait_for(found, 30)
        except TimeoutError:
            raise AssertionError("chromium did not start:\n" + "".join(log)) from None
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, max_msg_size=0)
            browser = Browser(ws)
            try:
                yield browser
            finally:
                await browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
