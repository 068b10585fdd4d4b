"""The keyring lookup: started early (app.vault.detect_in_background), the store gets
the same answer a direct lookup gives, and the lookup runs once; it asks the keyrings
of this platform only, after the one keyring's configuration names."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import keyring
import keyring.core
import pytest
from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend as KeyringBackendBase

from app import vault
from tests.support import REPO


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


class MemoryKeyring(KeyringBackendBase):
    """A keyring in memory, viable everywhere (what a configured plugin would be)."""

    priority = 5
    kept: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.kept.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    """Not viable here: its priority says why, as keyring's backends do."""

    @classproperty
    def priority(cls) -> float:
        raise RuntimeError("no D-Bus session here")


class LowKeyring(MemoryKeyring):
    priority = 1


@pytest.fixture
def no_keyring_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no keyringrc.cfg
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def test_the_platform_keyring_with_the_highest_priority_is_used(
        monkeypatch: pytest.MonkeyPatch, no_keyring_config: None) -> None:
    here = [(__name__, "BrokenKeyring"), (__name__, "LowKeyring"),
            (__name__, "MemoryKeyring"), ("no.such.module", "Keyring")]
    monkeypatch.setitem(vault.PLATFORM_KEYRINGS, sys.platform, here)
    found = vault._detect()
    assert isinstance(found, vault.KeyringBackend)
    found.set("team/token", "s3cret")  # through keyring's API, to the detected backend
    assert MemoryKeyring.kept[(vault.SERVICE, "team/token")] == "s3cret"
    assert type(keyring.get_keyring()) is MemoryKeyring
    monkeypatch.setitem(vault.PLATFORM_KEYRINGS, sys.platform, here[:1])
    assert vault._detect() is None  # nothing viable: secrets go to the workspace file


def test_a_configured_keyring_comes_first_and_a_failing_one_means_none(
        monkeypatch: pytest.MonkeyPatch, no_keyring_config: None) -> None:
    monkeypatch.setitem(vault.PLATFORM_KEYRINGS, sys.platform, [(__name__, "MemoryKeyring")])
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.LowKeyring")
    assert vault._detect() is not None and type(keyring.get_keyring()) is LowKeyring
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert vault._detect() is None


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="checks the D-Bus platforms")
def test_the_lookup_leaves_other_platforms_keyrings_alone(tmp_path: Path) -> None:
    """keyring's own detection imported its macOS backend on Linux too, whose
    find_library runs gcc and ldconfig (40 ms of the app's start, B7)."""
    probe = ("import sys; from app import vault; vault._detect(); "
             "print(sorted(m for m in sys.modules if m.startswith('keyring.backends.')))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    loaded = done.stdout.strip()
    assert "keyring.backends.SecretService" in loaded
    assert "macOS" not in loaded and "Windows" not in loaded, loaded
