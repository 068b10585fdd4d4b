"""Saved workspaces: files, secrets, the last one used, invites, and the session config."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.invite import Invite, InviteError, normalize_fingerprint, parse_invite
from app.workspace import (
    Delivery,
    ServerKind,
    Workspace,
    WorkspaceError,
    WorkspaceStore,
    from_invite,
)

FP = "ab" * 32


class FakeVault:
    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        return self.items.get(account)

    def set(self, account: str, secret: str) -> None:
        self.items[account] = secret

    def delete(self, account: str) -> None:
        self.items.pop(account, None)


def store(tmp_path: Path, vault: object | None = None) -> WorkspaceStore:
    return WorkspaceStore(tmp_path / "config", tmp_path / "data", secrets_backend=vault)


def test_saved_workspace_comes_back_whole(tmp_path: Path) -> None:
    ws = Workspace(name="Orders API", urls=["https://a.example:8443", "https://b.example"],
                   path="/ws/socket.io", namespaces=["/", "/orders"], user="dev",
                   auth={"role": "admin", "password": "p4ss"}, secret_auth=["password"],
                   headers={"X-Env": "staging"}, query={"v": "2"}, transports=["websocket"],
                   ack_timeout=3.5, delivery=Delivery.UNTIL_ACKED, token="tok-123",
                   claims_name=True)
    ws.ensure_key()
    ws.tls.fingerprint = FP.upper()
    s = store(tmp_path)
    path = s.save(ws)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = store(tmp_path).get("orders api")
    assert again == ws                    # every field, secrets included
    assert again.tls.fingerprint == FP    # normalised on save
    cfg = again.connection_config()
    assert cfg.url == "https://a.example:8443" and cfg.addresses() == ws.urls
    assert cfg.socketio_path == "ws/socket.io" and cfg.delivery == "until_acked"
    assert cfg.auth_payload() == {"role": "admin", "password": "p4ss", "key": ws.key,
                                  "user": "dev", "token": "tok-123"}
    assert store(tmp_path).secrets_where.startswith("in the workspace file")


def test_secrets_go_to_the_keyring_when_there_is_one(tmp_path: Path) -> None:
    vault = FakeVault()
    ws = Workspace(name="Team", urls=["http://127.0.0.1:5000"], user="alice",
                   auth={"pin": 1234}, secret_auth=["pin"], token="t0k3n")
    ws.ensure_key()
    s = store(tmp_path, vault)
    text = s.save(ws).read_text()
    assert "t0k3n" not in text and ws.key not in text and "1234" not in text
    assert vault.items[f"{ws.id}:token"] == "t0k3n"
    back = store(tmp_path, vault).get("Team")
    assert back.token == "t0k3n" and back.key == ws.key and back.auth == {"pin": 1234}
    s.delete(back)
    assert vault.items == {} and store(tmp_path, vault).find("Team") is None
    assert s.secrets_where == "in the system keyring"


def test_names_are_unique_and_errors_are_sentences(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.save(Workspace(name="A", urls=["http://127.0.0.1:1"]))
    with pytest.raises(WorkspaceError, match="exists already"):
        s.save(Workspace(name="a", urls=["http://127.0.0.1:2"]))
    with pytest.raises(WorkspaceError, match=r"no workspace named 'B' \(saved: A\)"):
        s.get("B")
    with pytest.raises(WorkspaceError, match="no server URL"):
        s.save(Workspace(name="empty"))
    with pytest.raises(WorkspaceError, match="not valid"):
        s.save(Workspace(name="bad", urls=["ftp://x"]))
    with pytest.raises(WorkspaceError, match="not a SHA-256 fingerprint"):
        ws = Workspace(name="pinned", urls=["https://x"])
        ws.tls.fingerprint = "12:34"
        s.save(ws)
    private = Workspace(name="Mine", server=ServerKind.PRIVATE)   # no URL needed
    s.save(private)
    (s.folder / "broken.json").write_text("{not json")
    with pytest.raises(WorkspaceError, match="cannot be read"):
        s.saved()


def test_last_used_and_data_dirs(tmp_path: Path) -> None:
    s = store(tmp_path)
    a = Workspace(name="A", urls=["http://127.0.0.1:1"])
    b = Workspace(name="B", urls=["http://127.0.0.1:2"])
    s.save(a)
    s.save(b)
    assert s.last() is None
    s.set_last(b)
    assert store(tmp_path).last() == b
    assert s.data_dir(a) != s.data_dir(b) and s.data_dir(a).parent == s.data_dir(b).parent
    s.delete(b)
    assert s.last() is None


def test_unknown_fields_from_a_newer_version_are_ignored(tmp_path: Path) -> None:
    s = store(tmp_path)
    ws = Workspace(name="A", urls=["http://127.0.0.1:1"])
    path = s.save(ws)
    data = json.loads(path.read_text())
    data["future"] = 1
    data["tls"]["future"] = 2
    path.write_text(json.dumps(data))
    assert s.get("A") == ws


def test_invites_round_trip_and_say_what_is_wrong() -> None:
    inv = Invite(url="https://192.168.1.5:5000", token="t/k&n=", name="Class 3B",
                 fingerprint=FP, path="/ws/socket.io")
    text = inv.to_text()
    assert text.startswith("sockdesk://join?v=1&url=https%3A%2F%2F192.168.1.5%3A5000")
    assert parse_invite(f"  Invite: {text}\n") == inv
    plain = Invite(url="http://127.0.0.1:5000", token="x")
    assert "path=" not in plain.to_text() and "fp=" not in plain.to_text()
    for bad, why in (("https://example.com", "not a SockDesk invite"),
                     ("sockdesk://join?v=1", "no server address"),
                     ("sockdesk://join?v=9&url=http://x", "version 9"),
                     ("sockdesk://join?url=nope", "not usable"),
                     ("sockdesk://join?url=http://x&fp=123", "not a SHA-256")):
        with pytest.raises(InviteError, match=why):
            parse_invite(bad)
    assert normalize_fingerprint("SHA256:" + ":".join(["AB"] * 32)) == FP


def test_a_workspace_from_an_invite() -> None:
    inv = Invite(url="https://10.0.0.2:5000", token="tok", name="Team", fingerprint=FP)
    ws = from_invite(inv, user="bob")
    assert ws.name == "Team" and ws.user == "bob" and ws.token == "tok"
    assert ws.tls.fingerprint == FP and ws.namespaces == ["/chat", "/queue", "/"]
    assert ws.key and len(ws.key) >= 16 and ws.claims_name
    assert ws.connection_config().auth_payload()["key"] == ws.key
    # a hand-made workspace for somebody else's server never hands it the key
    other = Workspace(name="Node", urls=["http://localhost:3000"], user="dev")
    other.ensure_key()
    assert "key" not in other.connection_config().auth_payload()
    assert from_invite(Invite(url="http://h:1"), user="x").name == "h:1"


@pytest.mark.parametrize("vault", [None, FakeVault()], ids=["file", "keyring"])
def test_auth_headers_and_query_keep_the_order_they_were_written_in(
        tmp_path: Path, vault: FakeVault | None) -> None:
    """The CONNECT auth reaches the server as written ({"zeta":1,"alpha":2} stays in that
    order), secret fields in their place, wherever secrets are kept."""
    ws = Workspace(name="Ordered", urls=["http://127.0.0.1:5000"], user="u",
                   auth={"zeta": 1, "pin": 2**70, "alpha": 2}, secret_auth=["pin"],
                   headers={"X-Zeta": "1", "X-Alpha": "2"}, query={"z": "1", "a": "2"})
    s = store(tmp_path, vault)
    s.save(ws)
    back = store(tmp_path, vault).get("Ordered")
    assert list(back.auth.items()) == [("zeta", 1), ("pin", 2**70), ("alpha", 2)]
    assert list(back.headers) == ["X-Zeta", "X-Alpha"] and list(back.query) == ["z", "a"]
    assert list(back.connection_config().auth_payload()) == ["zeta", "pin", "alpha", "user"]
    if vault is not None:   # a secret missing from the keyring leaves no null behind
        vault.items.clear()
        assert list(store(tmp_path, vault).get("Ordered").auth) == ["zeta", "alpha"]
