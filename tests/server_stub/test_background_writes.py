"""Storage writes nobody waits for (``Namespace.watch``): their failures are logged,
and a future is watched without a task of its own (one a broadcast message cost)."""

from __future__ import annotations

import asyncio
import logging
from unittest import mock

import pytest

from server_stub.namespaces.base import Namespace
from tests.app.helpers import until


async def test_a_watched_write_logs_its_failure_without_a_task(
        caplog: pytest.LogCaptureFixture) -> None:
    ns = Namespace(mock.Mock())
    loop = asyncio.get_running_loop()
    done_ok, done_failed, pending = (loop.create_future() for _ in range(3))
    done_ok.set_result(None)
    done_failed.set_exception(OSError("disk full"))
    given_up = loop.create_future()
    given_up.cancel()
    tasks = len(asyncio.all_tasks())
    with caplog.at_level(logging.ERROR, logger="server_stub.namespaces.base"):
        for fut, what in ((done_ok, "ok"), (done_failed, "first"), (pending, "second"),
                          (given_up, "cancelled")):
            ns.watch(fut, what)
        assert len(asyncio.all_tasks()) == tasks and not ns._tasks
        pending.set_exception(OSError("disk full again"))
        await until(lambda: len(caplog.records) == 2, what="the second failure logged")
    failures = [r.getMessage() for r in caplog.records]
    assert failures == ["background write failed: first", "background write failed: second"]


async def test_a_watched_coroutine_still_runs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    ns = Namespace(mock.Mock())

    async def write() -> None:
        raise OSError("no space")

    with caplog.at_level(logging.ERROR, logger="server_stub.namespaces.base"):
        ns.watch(write(), "coroutine")
        await asyncio.wait(ns._tasks)
    assert [r.getMessage() for r in caplog.records] == ["background write failed: coroutine"]
