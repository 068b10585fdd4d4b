"""Where a workspace's secrets live: the OS keyring when there is one, else its own file.

Secrets are the server token, the name-claim key (`auth.key`, see docs/PROTOCOL.md) and
the auth fields the user marks secret. A desktop with a Secret Service, the macOS
Keychain or Windows Credential Locker keeps them there (`keyring`); a headless machine
or a minimal window manager has none, and then they are written into the workspace's
file, which is created with mode 0600. The app says which one is in use, so nobody
believes a secret is in a keyring when it is in a file.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from concurrent.futures import Future
from typing import Any, Protocol

log = logging.getLogger(__name__)

SERVICE = "sockdesk"


class SecretBackend(Protocol):
    """The three calls the workspace store needs."""

    def get(self, account: str) -> str | None: ...

    def set(self, account: str, secret: str) -> None: ...

    def delete(self, account: str) -> None: ...


class KeyringBackend:
    """The OS keyring through the `keyring` package."""

    def __init__(self) -> None:
        import keyring

        self._keyring = keyring

    def get(self, account: str) -> str | None:
        return self._keyring.get_password(SERVICE, account)

    def set(self, account: str, secret: str) -> None:
        self._keyring.set_password(SERVICE, account, secret)

    def delete(self, account: str) -> None:
        try:
            self._keyring.delete_password(SERVICE, account)
        except Exception:  # keyring.errors.PasswordDeleteError: nothing was there
            log.debug("no keyring entry %s to delete", account)


#: The answer of a lookup started early (see detect_in_background), if one was.
_early: Future[KeyringBackend | None] | None = None


def detect_in_background() -> None:
    """Start looking for the OS keyring on a thread of its own. `keyring` scans every
    installed package for backends, 0.1-0.3 s that the app's start-up otherwise spends
    before its first window (B7); the window is built meanwhile, and
    `system_keyring()` takes the answer when the workspace store needs it."""
    global _early
    if _early is not None:
        return
    future: Future[KeyringBackend | None] = Future()
    _early = future

    def run() -> None:
        try:
            future.set_result(_detect())
        except BaseException as exc:  # handed to whoever asks
            future.set_exception(exc)

    threading.Thread(target=run, name="sockdesk-keyring", daemon=True).start()


def system_keyring() -> KeyringBackend | None:
    """The OS keyring if a usable one is configured, else None (the early lookup's
    answer once one was started).

    `keyring` falls back to a backend that fails every call (or to a plain-text file
    backend some distributions configure); neither is a keyring worth the name, so both
    count as "none" and the secrets go to the 0600 workspace file, where the user can see
    them being kept.
    """
    if _early is not None:
        return _early.result()
    return _detect()


#: The OS keyrings of each platform, as `keyring` names them (module, class); any other
#: platform (Linux, the BSDs) has the two that speak D-Bus.
PLATFORM_KEYRINGS: dict[str, list[tuple[str, str]]] = {
    "darwin": [("keyring.backends.macOS", "Keyring")],
    "win32": [("keyring.backends.Windows", "WinVaultKeyring")],
}
DBUS_KEYRINGS = [("keyring.backends.SecretService", "Keyring"),
                 ("keyring.backends.kwallet", "DBusKeyring")]


def _detect() -> KeyringBackend | None:
    try:
        import keyring
        from keyring import core
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        # the user's own choice first, as keyring itself does
        backend = core.load_env() or core.load_config() or _platform_keyring()
    except Exception:  # a broken configuration must not stop the app
        log.debug("no usable keyring", exc_info=True)
        return None
    if backend is None:
        return None
    name = type(backend).__module__ + "." + type(backend).__name__
    if isinstance(backend, fail.Keyring) or "null" in name.lower() \
            or "plaintext" in name.lower():
        return None
    priority = getattr(backend, "priority", 0)
    if not isinstance(priority, int | float) or priority <= 0:
        return None
    keyring.set_keyring(backend)  # KeyringBackend's calls: no detection of keyring's own
    return KeyringBackend()


def _platform_keyring() -> Any:
    """The viable OS keyring of this platform with the highest priority, else None.

    `keyring.get_keyring()` would import every backend it ships to ask each one, and on
    Linux its macOS backend looks for the Security framework with
    `ctypes.util.find_library`, which runs gcc and ldconfig: 40 of the lookup's 110 ms,
    which the first window waited for (B7). A backend installed as a plugin is used when
    keyring's configuration (`PYTHON_KEYRING_BACKEND` or `keyringrc.cfg`) names it.
    """
    viable = []
    for module, cls_name in PLATFORM_KEYRINGS.get(sys.platform, DBUS_KEYRINGS):
        try:
            cls = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError):  # its own dependencies are missing
            continue
        if cls.viable:
            viable.append(cls)
    if not viable:
        return None
    return max(viable, key=lambda c: c.priority)()
