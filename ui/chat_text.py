"""What a chat message's plain text contains: links, @mentions, search hits.

Qt-free on purpose: the model decides what a message mentions, the delegate decides how
to draw links, mentions and hits, and both must agree on the same character ranges. A
message is never rendered as markup; these are only ranges in the plain text.
"""

from __future__ import annotations

import re

#: http(s) URLs; trailing punctuation that usually ends a sentence is left out
_LINK_RE = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
#: @name with the user-name alphabet of the server (A-Z a-z 0-9 . _ -)
_MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9._-]{1,32})")


def links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of every http(s) link in ``text``, in order."""
    found: list[tuple[int, int, str]] = []
    for m in _LINK_RE.finditer(text):
        url = m.group(0)
        # a closing bracket belongs to the link only when the link opened one
        while url and url[-1] in _TRAILING and not (
                url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        if len(url) > len("https://"):
            found.append((m.start(), m.start() + len(url), url))
    return found


def mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every ``@name`` in ``text`` (the range includes the @)."""
    found: list[tuple[int, int, str]] = []
    for m in _MENTION_RE.finditer(text):
        name = m.group(1).rstrip(".-_")
        if name:
            found.append((m.start(), m.start() + 1 + len(name), name))
    return found


def mentions_user(text: str, user: str) -> bool:
    """Whether ``text`` mentions ``user`` (case-insensitive, as people type names)."""
    if not user:
        return False
    low = user.lower()
    return any(name.lower() == low for _s, _e, name in mentions(text))


def hits(text: str, term: str) -> list[tuple[int, int]]:
    """(start, end) of every case-insensitive occurrence of ``term`` in ``text``."""
    if not term:
        return []
    low, needle = text.casefold(), term.casefold()
    if len(low) != len(text):  # casefold changed lengths (ß...): fall back to lower()
        low, needle = text.lower(), term.lower()
    found: list[tuple[int, int]] = []
    start = low.find(needle)
    while start >= 0 and needle:
        found.append((start, start + len(needle)))
        start = low.find(needle, start + len(needle))
    return found


def first_line(text: str, limit: int = 80) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters with an ellipsis."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"
