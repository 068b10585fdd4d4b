"""B8 profiling helper: the bundled server under tracemalloc.

`python -m tests.perf.traced_server OUT.txt FRAMES [server args...]` runs `server_stub`
exactly as `python -m server_stub [server args...]` would, with tracemalloc on. From
the first SIGUSR1 on (the soak sends it once the load runs) a snapshot is the baseline;
each later SIGUSR1 rewrites OUT.txt with the lines whose live allocations grew most
since then. Only for finding what grows: tracing slows the server down.
"""

from __future__ import annotations

import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from typing import Any

baseline: list[tracemalloc.Snapshot] = []
#: OUT.txt, kept before sys.argv becomes the server's
out_path: list[Path] = []


def on_usr1(*_: Any) -> None:
    snap = tracemalloc.take_snapshot()
    if not baseline:
        baseline.append(snap)
        return
    stats = snap.compare_to(baseline[0], "lineno")
    out_path[0].write_text("\n".join(str(s) for s in stats[:25]) + "\n")


if __name__ == "__main__":
    out_path.append(Path(sys.argv[1]))
    frames = int(sys.argv[2])
    tracemalloc.start(frames)
    signal.signal(signal.SIGUSR1, on_usr1)
    sys.argv = ["server_stub", *sys.argv[3:]]
    runpy.run_module("server_stub", run_name="__main__", alter_sys=True)
