"""Headless CLI (placeholder until the client core lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("sockdesk-cli: the client core is not built yet")
    return 2
