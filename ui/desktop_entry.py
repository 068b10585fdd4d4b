"""Making ``sockdesk://`` links open SockDesk (Linux desktops).

An invite is a ``sockdesk://join?...`` link: sent in a mail or a chat, clicking it
should open SockDesk on the Join page. Desktops learn which program opens a URL scheme
from a freedesktop ``.desktop`` file that lists ``x-scheme-handler/<scheme>`` among its
MIME types, made the default for that type (``xdg-mime default``, which writes
``mimeapps.list``). ``install_desktop_entry`` writes that file and SockDesk's icon into
the user's own folders (no root needed) and registers the scheme.

Without ``xdg-mime`` (xdg-utils is not installed everywhere) the default is written into
``mimeapps.list`` directly, which is all ``xdg-mime default`` does on a generic desktop.
macOS and Windows register URL schemes through the application bundle or the registry,
at install time; this module says so rather than pretending.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

DESKTOP_FILE = "sockdesk.desktop"
ICON_NAME = "sockdesk"
SCHEME_MIME = "x-scheme-handler/sockdesk"
DEFAULTS_SECTION = "[Default Applications]"
#: Tools get this long; they only write a small file.
TOOL_TIMEOUT = 20.0
#: The app icon's colour where the SVG says "currentColor" (a desktop's icon renderer
#: has no current colour to give it; the app tints it with the palette instead).
ICON_COLOR = "#5b5bd6"
#: Characters that make an Exec argument need quotes (Desktop Entry spec, "Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class DesktopEntryError(RuntimeError):
    """The link handler cannot be installed; str() is a sentence for the user."""


def install_desktop_entry(home: Path | None = None) -> list[Path]:
    """Install the ``sockdesk://`` handler for the user whose home is ``home`` (default:
    this user, honouring $XDG_DATA_HOME and $XDG_CONFIG_HOME); returns the files
    written. DesktopEntryError when not on Linux or when a file cannot be written."""
    if not sys.platform.startswith("linux"):
        raise DesktopEntryError(
            "Opening sockdesk:// links with SockDesk can be set up here only on Linux "
            f"(this is {sys.platform}); on macOS and Windows the installer registers it.")
    data, config = _data_home(home), _config_home(home)
    env = _tool_env(home)
    applications = data / "applications"
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
    entry = applications / DESKTOP_FILE
    try:
        icon.parent.mkdir(parents=True, exist_ok=True)
        icon.write_text(app_icon_svg(), encoding="utf-8")
        applications.mkdir(parents=True, exist_ok=True)
        entry.write_text(desktop_entry_text(icon), encoding="utf-8")
    except OSError as exc:
        raise DesktopEntryError(f"Cannot write {exc.filename}: {exc.strerror}.") from None
    written = [entry, icon]
    xdg_mime = shutil.which("xdg-mime", path=env.get("PATH"))
    if xdg_mime:
        _run([xdg_mime, "default", DESKTOP_FILE, SCHEME_MIME], env)
    else:
        written.append(set_default_handler(config / "mimeapps.list"))
    update = shutil.which("update-desktop-database", path=env.get("PATH"))
    if update:
        # only refreshes a cache of MIME types; the files above already work without it
        _run([update, str(applications)], env, check=False)
    return written


def desktop_entry_text(icon: Path) -> str:
    """The ``.desktop`` file: SockDesk, started with the clicked link (``%u``)."""
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.5",
        "Name=SockDesk",
        "GenericName=Socket.IO chat and inspector",
        "Comment=Chat, inspect and replay Socket.IO traffic; host a workspace for a class",
        f"Exec={exec_command()} --join %u",
        f"Icon={icon}",
        "Terminal=false",
        "StartupNotify=true",
        f"MimeType={SCHEME_MIME};",
        "Categories=Network;Chat;Development;",
        "Keywords=socket.io;websocket;chat;invite;",
        "",
    ])


def exec_command() -> str:
    """How the desktop starts SockDesk: ``sockdesk``, by its full path when it is found
    (beside this interpreter, as in a virtual environment, or on PATH), because a
    desktop launcher does not see a shell's PATH; quoted as the Exec key wants."""
    beside = Path(sys.executable).parent / "sockdesk"
    found = str(beside) if beside.is_file() else shutil.which("sockdesk")
    return _exec_arg(found) if found else "sockdesk"


def _exec_arg(arg: str) -> str:
    """One Exec argument: quoted when it has reserved characters, with the escapes of
    a quoted argument and then of a desktop-file string (backslashes doubled); a
    literal % is %% (a single one starts a field code like %u)."""
    arg = arg.replace("%", "%%")
    if not any(c in _RESERVED for c in arg):
        return arg
    quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return ('"' + quoted + '"').replace("\\", "\\\\")


def app_icon_svg() -> str:
    """The app icon, with "currentColor" made a real colour."""
    svg = resources.files("resources").joinpath("icons", "app.svg").read_text("utf-8")
    return svg.replace("currentColor", ICON_COLOR)


def set_default_handler(mimeapps: Path) -> Path:
    """Make ``sockdesk.desktop`` the default for ``sockdesk://`` in ``mimeapps.list``,
    leaving every other line as it was (what ``xdg-mime default`` does)."""
    line = f"{SCHEME_MIME}={DESKTOP_FILE}"
    try:
        lines = mimeapps.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    except OSError as exc:
        raise DesktopEntryError(f"Cannot read {mimeapps}: {exc.strerror}.") from None
    section = next((i for i, text in enumerate(lines)
                    if text.strip() == DEFAULTS_SECTION), None)
    if section is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [DEFAULTS_SECTION, line]
    else:
        end = next((i for i in range(section + 1, len(lines))
                    if lines[i].strip().startswith("[")), len(lines))
        existing = next((i for i in range(section + 1, end)
                         if lines[i].split("=", 1)[0].strip() == SCHEME_MIME), None)
        if existing is None:
            lines.insert(section + 1, line)
        else:
            lines[existing] = line
    try:
        mimeapps.parent.mkdir(parents=True, exist_ok=True)
        mimeapps.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DesktopEntryError(f"Cannot write {mimeapps}: {exc.strerror}.") from None
    return mimeapps


def _data_home(home: Path | None) -> Path:
    if home is not None:
        return Path(home) / ".local" / "share"
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"


def _config_home(home: Path | None) -> Path:
    if home is not None:
        return Path(home) / ".config"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".config"


def _tool_env(home: Path | None) -> dict[str, str]:
    """The environment of xdg-mime and friends: for another home, that home's folders,
    so they never write into the real user's configuration."""
    env = dict(os.environ)
    if home is not None:
        env.update(HOME=str(home), XDG_DATA_HOME=str(_data_home(home)),
                   XDG_CONFIG_HOME=str(_config_home(home)))
    return env


def _run(argv: list[str], env: dict[str, str], check: bool = True) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if check:
            raise DesktopEntryError(f"{Path(argv[0]).name} did not run: {exc}.") from None
        return
    if check and done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise DesktopEntryError(f"{Path(argv[0]).name} failed (exit status "
                                f"{done.returncode}): {why[0]}")
