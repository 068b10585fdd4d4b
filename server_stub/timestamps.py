"""Wire timestamps: ISO 8601 in UTC with milliseconds and a ``Z``, which both Python's
``datetime.fromisoformat`` (3.11+) and JavaScript's ``Date`` parse."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current time, e.g. ``2024-05-01T12:34:56.789Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
