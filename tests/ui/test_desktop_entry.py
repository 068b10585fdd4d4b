"""The sockdesk:// link handler: the desktop file, the icon and the default handler
land in the given home (never the real one), with or without xdg-utils."""

from __future__ import annotations

import configparser
import os
import stat
import sys
from pathlib import Path

import pytest

from ui import desktop_entry
from ui.desktop_entry import DesktopEntryError, install_desktop_entry

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="freedesktop entries are a Linux matter")


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys keep their case
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def fake_tool(folder: Path, name: str) -> Path:
    """A stand-in for an xdg-utils tool that writes down how it was called."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f'#!/bin/sh\necho "$HOME $XDG_CONFIG_HOME $*" >> "{folder}/{name}.calls"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return folder / f"{name}.calls"


def test_without_xdg_utils_it_writes_the_entry_icon_and_default(tmp_path, monkeypatch):
    home = tmp_path / "home"
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))               # no xdg-mime anywhere
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "real-data"))  # must be ignored
    mimeapps = home / ".config" / "mimeapps.list"
    mimeapps.parent.mkdir(parents=True)
    mimeapps.write_text("[Added Associations]\ntext/plain=editor.desktop;\n\n"
                        "[Default Applications]\ntext/html=browser.desktop\n"
                        "x-scheme-handler/sockdesk=old.desktop\n")

    written = install_desktop_entry(home)

    entry = home / ".local/share/applications/sockdesk.desktop"
    icon = home / ".local/share/icons/hicolor/scalable/apps/sockdesk.svg"
    assert written == [entry, icon, mimeapps]
    keys = read_entry(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "SockDesk"
    assert keys["Exec"].endswith("sockdesk --join %u")
    assert keys["Icon"] == str(icon)
    assert keys["MimeType"] == "x-scheme-handler/sockdesk;"
    assert keys["Categories"] == "Network;Chat;Development;"
    assert icon.read_text().startswith("<svg") and "currentColor" not in icon.read_text()
    assert mimeapps.read_text() == (
        "[Added Associations]\ntext/plain=editor.desktop;\n\n"
        "[Default Applications]\ntext/html=browser.desktop\n"
        "x-scheme-handler/sockdesk=sockdesk.desktop\n")
    assert not (tmp_path / "real-data").exists()

    # a fresh home without any mimeapps.list gets one
    other = tmp_path / "other"
    install_desktop_entry(other)
    assert (other / ".config/mimeapps.list").read_text() == (
        "[Default Applications]\nx-scheme-handler/sockdesk=sockdesk.desktop\n")


def test_with_xdg_utils_it_registers_through_them_in_that_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    tools = tmp_path / "bin"
    mime_calls = fake_tool(tools, "xdg-mime")
    db_calls = fake_tool(tools, "update-desktop-database")
    monkeypatch.setenv("PATH", str(tools) + os.pathsep + os.environ.get("PATH", ""))

    written = install_desktop_entry(home)

    assert [p.name for p in written] == ["sockdesk.desktop", "sockdesk.svg"]
    assert mime_calls.read_text().split() == [
        str(home), str(home / ".config"), "default", "sockdesk.desktop",
        "x-scheme-handler/sockdesk"]
    assert db_calls.read_text().split()[-1] == str(home / ".local/share/applications")
    assert not (home / ".config/mimeapps.list").exists()  # xdg-mime's job here


def test_a_failing_xdg_mime_is_reported(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "xdg-mime").write_text("#!/bin/sh\necho 'no desktop found' >&2\nexit 3\n")
    (tools / "xdg-mime").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(DesktopEntryError, match=r"xdg-mime failed \(exit status 3\): no "
                                                "desktop found"):
        install_desktop_entry(tmp_path / "home")


def test_exec_paths_with_spaces_are_quoted_for_the_desktop_file():
    assert desktop_entry._exec_arg("/opt/sockdesk/bin/sockdesk") == "/opt/sockdesk/bin/sockdesk"
    assert desktop_entry._exec_arg("/home/a b/.venv/bin/sockdesk") == \
        '"/home/a b/.venv/bin/sockdesk"'
    assert desktop_entry._exec_arg('/x/"$5 100%"/sockdesk') == \
        '"/x/\\\\"\\\\$5 100%%\\\\"/sockdesk"'


def test_other_systems_are_told_plainly(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    home = tmp_path / "home"
    with pytest.raises(DesktopEntryError, match="only on Linux"):
        install_desktop_entry(home)
    assert not home.exists()
