"""Entry point of the `sockdesk` GUI (placeholder until the desktop app lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("sockdesk: the desktop UI is not built yet; start the server with sockdesk-server")
    return 2
