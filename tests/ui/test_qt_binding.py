"""Guards against Qt binding releases that break SockDesk at run time.

PySide6 6.12.0 drops a reference to `True` on every `SignalInstance.emit`, and the
interpreter aborts after a few hundred emits; the GUI emits once per packet, so it died
within a second of busy traffic. pyproject excludes that release; this test catches a
future one with the same fault. It runs in a child process because the fault is an abort.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    app = QCoreApplication([])
    emitter = Emitter()
    seen = []
    emitter.fired.connect(seen.append)
    for i in range(5000):
        emitter.fired.emit(i)
    print(len(seen))
    """
)


def test_many_signal_emits_do_not_abort() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "5000"


ICON_SCRIPT = textwrap.dedent(
    """
    import gc
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon, QPixmap
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from ui import theme

    icon = theme.icon("learn")
    sizes = [icon.pixmap(QSize(s, s), 2.0).size().width() for s in (16, 24)]
    copy = QIcon(icon)
    copy.addPixmap(QPixmap(8, 8))  # Qt clones our Python icon engine here
    gc.collect()
    print(sizes, copy.pixmap(QSize(16, 16)).isNull())
    """
)


def test_themed_icons_render_on_demand_and_survive_being_copied() -> None:
    """ui.theme draws icons with a Python QIconEngine; a clone Qt takes over must stay
    alive (PySide6 would free it: a segfault, hence the child process)."""
    result = subprocess.run([sys.executable, "-c", ICON_SCRIPT], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[32, 48] False"
