"""Short captions for packets on a sequence diagram: the event name plus the one detail
a student needs (the text of a chat line, the `since` of a join, a job's attempt)."""

from __future__ import annotations

from typing import Any

from app.keys import first_object
from app.packets import Packet

MAX_TEXT = 28


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hint(event: str, first: dict[str, Any]) -> str:
    if event == "join":
        room = first.get("room", "")
        since = first.get("since")
        return f"#{room}" + (f" since {since}" if since is not None else "")
    if event == "deliver":
        return f"job {first.get('seq')} · attempt {first.get('attempt')}"
    if event in ("ack", "nack") and "seq" in first:
        return f"job {first.get('seq')}"
    if event == "publish":
        payload = first.get("payload")
        if isinstance(payload, dict) and "job" in payload:
            return f"job “{_clip(payload['job'], 18)}”"
        return ""
    if event == "subscribe":
        return f"{first.get('queue', '')}"
    if event in ("announce", "ask") and isinstance(first.get("event"), str):
        return f"→ {_clip(first['event'], 18)}"
    if isinstance(first.get("text"), str):
        return f"“{_clip(first['text'])}”"
    if event == "welcome" and isinstance(first.get("user"), str):
        return f"hi {first['user']}"
    return ""


def ack_hint(args: list[Any]) -> str:
    """What an ACK said, in a few characters: ok, ok · offset 4, no: not_found."""
    first = first_object(args)
    if first is None:
        return ""
    if first.get("ok") is False:
        return f"no: {first.get('code') or _clip(first.get('error', ''), 20)}"
    if "delivered" in first:
        return f"ok · delivered {first['delivered']}"
    if "seq" in first:
        return f"ok · job {first['seq']}"
    if "args" in first:
        return "ok · echoed"
    if "answer" in first:
        return f"ok · answer {_clip(_answer(first['answer']), 20)}"
    if "history" in first:
        n = len(first.get("history") or [])
        return f"ok · {n} message{'s' if n != 1 else ''}"
    if "offset" in first:
        return f"ok · offset {first['offset']}"
    return "ok" if first.get("ok") is True else ""


def _answer(answer: Any) -> str:
    """A client's answer to a server's question, in a few characters."""
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, dict) and len(answer) == 1:
        answer = next(iter(answer.values()))
    return str(answer)


def packet_caption(pkt: Packet) -> str:
    """`EVENT message “hi”` → 'message “hi”'; ACKs say what they answered. A packet that
    brings its own words (an `app.scenarios.hops.Hop`) is shown with them."""
    own = getattr(pkt, "caption", "")
    if own:
        return str(own)
    kind = pkt.kind
    if kind in ("EVENT", "BINARY_EVENT"):
        event = pkt.event or "?"
        first = pkt.args[0] if pkt.args and isinstance(pkt.args[0], dict) else {}
        hint = _hint(event, first)
        return f"{event} {hint}".strip()
    if kind in ("ACK", "BINARY_ACK"):
        hint = ack_hint(pkt.args)
        return f"ack {hint}".strip()
    if kind == "RECOVERY" and pkt.event:
        # one message of a recovered history, drawn as its own arrow
        first = pkt.args[0] if pkt.args and isinstance(pkt.args[0], dict) else {}
        offset = first.get("offset")
        where = f" · offset {offset}" if offset is not None else ""
        return f"recovered {_hint(pkt.event, first)}{where}".replace("  ", " ").strip()
    if kind == "RECOVERY":
        first = pkt.args[0] if pkt.args and isinstance(pkt.args[0], dict) else {}
        if first.get("recovered") is False:
            return "recovery gap"
        return f"recovered {first.get('events', 0)} events"
    if kind == "CONNECT":
        return "connect"
    if kind == "DISCONNECT":
        return "disconnect"
    if kind == "CONNECT_ERROR":
        first = pkt.args[0] if pkt.args and isinstance(pkt.args[0], dict) else {}
        msg = first.get("message")
        return f"refused: {_clip(msg, 30)}" if msg else "refused"
    return kind.lower()
