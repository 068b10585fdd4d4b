"""Fixtures for client-core tests: sessions that are always closed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig, ReconnectPolicy
from app.session import Session


@pytest.fixture
async def make_session(tmp_path: Path) -> AsyncIterator[Any]:
    """make_session(url, user, namespaces=..., data_dir=..., **config) -> Session."""
    made: list[Session] = []

    def make(url: str, user: str = "alice", namespaces: list[str] | None = None,
             data_dir: Path | None = None, **kw: Any) -> Session:
        kw.setdefault("reconnect", ReconnectPolicy(delay=0.1, delay_max=0.5))
        kw.setdefault("ack_timeout", 10.0)
        cfg = ConnectionConfig(url=url, user=user, namespaces=namespaces or ["/chat"], **kw)
        s = Session(cfg, data_dir or tmp_path / f"client-{user}-{len(made)}")
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()
