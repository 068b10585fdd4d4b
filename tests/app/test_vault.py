"""The keyring lookup started early (app.vault.detect_in_background): the store gets
the same answer a direct lookup gives, and the lookup runs once."""

from __future__ import annotations

import threading

import pytest

from app import vault


def test_the_early_lookup_answers_the_store_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    release = threading.Event()
    answer = object()

    def slow_detect() -> object:
        calls.append(threading.current_thread().name)
        release.wait(10)
        return answer

    monkeypatch.setattr(vault, "_early", None)
    monkeypatch.setattr(vault, "_detect", slow_detect)
    vault.detect_in_background()
    vault.detect_in_background()  # a second start is the same lookup
    release.set()
    assert vault.system_keyring() is answer  # waits for the thread's answer
    assert vault.system_keyring() is answer
    assert calls == ["sockdesk-keyring"]


def test_without_an_early_lookup_the_store_looks_itself(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vault, "_early", None)
    monkeypatch.setattr(vault, "_detect", lambda: "direct")
    assert vault.system_keyring() == "direct"
