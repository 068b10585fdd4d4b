"""Project-wide rules that keep the layers honest and the code clean."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

# Which top-level packages each layer must never import.
FORBIDDEN = {
    "app": {"PySide6", "shiboken6", "qasync", "ui", "server_stub"},
    "server_stub": {"PySide6", "shiboken6", "qasync", "ui", "app"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_stay_one_way(package: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    result = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)
def test_types_check() -> None:
    """The seams between app/ and ui/ are typed; mypy keeps them honest."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed (it comes with the test extra)")
    result = subprocess.run([mypy], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _app_imports(path: Path) -> set[str]:
    """The app modules a file imports, TYPE_CHECKING imports and local ones included:
    a cycle that only the type checker sees still makes the code hard to follow."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("app"):
            if node.module == "app":
                found.update(f"app.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return found


def test_no_import_cycle_in_the_core() -> None:
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts): p
               for p in (REPO / "app").rglob("*.py") if p.name != "__init__.py"}
    graph = {m: {d for d in _app_imports(p) if d in modules and d != m}
             for m, p in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append([*path[path.index(d):], d])
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_window_is_built_without_the_network_stack() -> None:
    """B7: the first window paints before the Socket.IO client and aiohttp are imported
    (half a second here; `ui.main` loads them on a worker thread after the first paint).
    A module-level import of `app.session` anywhere under `ui.window` undid that once.
    The QR code library (and the urllib it imports) waits for the first invite shown."""
    code = ("import sys\nimport ui.main, ui.window, ui.workspaces\n"
            "print(sorted(m for m in ('socketio', 'engineio', 'aiohttp', 'redis', "
            "'app.session', 'app.handshake', 'segno') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
