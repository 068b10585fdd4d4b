"""app/ is the Qt-free core: no PySide6 import in its source, none pulled in at run time."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support import REPO

APP = REPO / "app"


def test_no_pyside_in_app_sources():
    pattern = re.compile(r"^\s*(import|from)\s+(PySide6|PyQt\d|qasync|ui)\b", re.M)
    offenders = [p.name for p in APP.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_every_app_module_loads_no_qt():
    modules = sorted(f"app.{p.stem}" for p in APP.glob("*.py") if p.stem != "__main__")
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'ui')]\n"
            "print(bad)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert "PySide6" not in r.stdout
