"""What every part of `sockdesk-cli` shares: exit codes, the one-line error, and the
small parsers for command-line values."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app import binary, jsonmod

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2, 3
#: how long a run without --wait tries to connect and flush before it leaves the rest
#: queued for the next run
SHORT_ATTEMPT = 5.0
PROG = "sockdesk-cli"


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def err(msg: str) -> None:
    """One line on stderr, prefixed so it is clear which program said it."""
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def ns(value: str) -> str:
    """A namespace with its leading slash (people type `chat` as often as `/chat`)."""
    value = value.strip()
    return value if value.startswith("/") else "/" + value


def ns_list(value: str) -> list[str]:
    """`--namespaces /chat,/queue`: the namespaces in the order given, without repeats."""
    out = list(dict.fromkeys(ns(p) for p in value.split(",") if p.strip()))
    if not out:
        raise argparse.ArgumentTypeError(f"expected a comma list of namespaces, got {value!r}")
    return out


def kv(value: str, sep: str) -> tuple[str, str]:
    """KEY<sep>VALUE, both stripped; the key may not be empty."""
    if sep not in value:
        raise argparse.ArgumentTypeError(f"expected KEY{sep}VALUE, got {value!r}")
    k, v = value.split(sep, 1)
    if not k.strip():
        raise argparse.ArgumentTypeError(f"expected KEY{sep}VALUE with a key, got {value!r}")
    return k.strip(), v.strip()


def positive_float(text: str) -> float:
    """A number of seconds above zero (zero would time out every ack at once)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}"
                                         ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def positive_factor(text: str) -> float:
    """A factor above zero (`replay --speed`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def parse_json_arg(text: str, index: int) -> Any:
    """One JSON command-line argument; CliError names the argument and the position."""
    try:
        value = jsonmod.loads(text)
    except ValueError as exc:
        raise CliError(f"Invalid JSON in argument {index} ({text!r}): {exc}") from None
    try:
        binary.to_wire(value)
    except binary.BinaryError as exc:
        raise CliError(f"Invalid binary in argument {index}: {exc}.") from None
    return value
