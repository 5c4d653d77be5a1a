"""The server's store: migrated once per version, the audit log append-only even from SQL, tokens
only ever revoked, a foreign file refused, and the idempotency records' reserve → complete."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shuangyong.errors import InputError
from shuangyong_server import idempotency, store
from shuangyong_server.errors import RequestError, StoreError
from shuangyong_server.idempotency import Answer
from shuangyong_server.store import ServerStore
from shuangyong_server.tokens import Actor, Caller, add_token, authenticate, digest, list_tokens, revoke_token

OPERATOR = Actor(name="cli:root", role=None, request_id="r1")


@pytest.fixture
def server_store(tmp_path: Path) -> ServerStore:
    return ServerStore(f"sqlite:///{tmp_path / 'server.sqlite3'}")


def test_a_new_store_is_at_the_latest_version_in_wal_mode(server_store: ServerStore) -> None:
    assert store.LATEST == server_store.version()
    with server_store.reading() as connection:
        assert "wal" == connection.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_migration_appended_later_is_applied_once_to_an_existing_file(server_store: ServerStore,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    later = (store.LATEST + 1, ("CREATE TABLE office_dossiers (id TEXT PRIMARY KEY)",))
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, later))
    monkeypatch.setattr(store, "LATEST", later[0])
    again = ServerStore(server_store.url)
    assert later[0] == again.version()
    ServerStore(server_store.url)  # a second open applies nothing twice (CREATE TABLE would fail)
    with again.reading() as connection:
        versions = [row[0] for row in connection.execute("SELECT version FROM server_schema ORDER BY version")]
    assert [*range(1, later[0] + 1)] == versions


def test_a_secret_is_made_once_and_shared_by_every_store_on_the_file(server_store: ServerStore) -> None:
    first = server_store.secret("office-session")
    again = ServerStore(server_store.url)  # a restart, or a second worker
    assert (32, first, first) == (len(first), again.secret("office-session"), server_store.secret("office-session"))
    assert first != again.secret("other")


def test_a_version_1_file_gains_the_secrets_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
    monkeypatch.setattr(store, "LATEST", 1)
    assert 1 == ServerStore(url).version()
    monkeypatch.undo()
    upgraded = ServerStore(url)
    assert (store.LATEST, 32) == (upgraded.version(), len(upgraded.secret("office-session")))


def test_a_version_2_file_keeps_its_tokens_each_for_every_unit(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 3 adds the unit: the tokens of a file made before it keep working, each seeing
    every unit (NULL), and the recreated trigger keeps them revoke-only, unit included."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    monkeypatch.setattr(store, "MIGRATIONS", tuple(m for m in store.MIGRATIONS if m[0] <= 2))
    monkeypatch.setattr(store, "LATEST", 2)
    old = ServerStore(url)
    secret = "sy_0123456789abcdef_" + "A" * 43
    with old.transaction() as connection:  # as version 2 wrote a token: no unit column
        connection.execute("INSERT INTO tokens (id, name, role, secret_sha256, created_at, created_by) "
                           "VALUES ('0123456789abcdef', '王芳', 'office', ?, '2026-01-05T00:00:00Z', 'cli:root')",
                           (digest(secret),))
    monkeypatch.undo()
    upgraded = ServerStore(url)
    assert store.LATEST == upgraded.version() >= 3
    assert Caller("0123456789abcdef", "王芳", "office", None) == authenticate(upgraded, secret)
    [token] = list_tokens(upgraded)
    assert ("王芳", "office", None) == (token.name, token.role, token.unit)
    with pytest.raises(StoreError, match="only ever revoked"), upgraded.transaction() as connection:
        connection.execute("UPDATE tokens SET unit = 'H-450300-001'")
    revoke_token(upgraded, "王芳", OPERATOR)  # revoking is still the one change allowed
    assert [] == list_tokens(upgraded)


def test_a_tokens_unit_never_changes_and_only_an_office_token_has_one(server_store: ServerStore) -> None:
    token, secret = add_token(server_store, "陈干事", "office", OPERATOR, unit="H-450300-001")
    assert ("H-450300-001", "H-450300-001") == (token.unit, authenticate(server_store, secret).unit)
    for statement in ("UPDATE tokens SET unit = 'H-450300-002'", "UPDATE tokens SET unit = NULL"):
        with pytest.raises(StoreError, match="only ever revoked"), server_store.transaction() as connection:
            connection.execute(statement)
    with pytest.raises(StoreError, match="CHECK constraint failed"), server_store.transaction() as connection:
        connection.execute("INSERT INTO tokens (id, name, role, unit, secret_sha256, created_at, created_by) "
                           "VALUES ('x', 'x', 'auditor', 'H-450300-001', 'x', 'x', 'x')")
    for role, unit, words in [("auditor", "H-450300-001", "only an office token can be kept to a unit"),
                              ("office", " H-1", "a unit id is 1 to 200 printable characters"),
                              ("office", "", "a unit id is 1 to 200 printable characters")]:
        with pytest.raises(InputError, match=words) as refused:
            add_token(server_store, f"{role}-{unit}", role, OPERATOR, unit=unit)
        assert "unit" == refused.value.field
    assert [token] == list_tokens(server_store)
    assert [{"id": token.id, "role": "office", "unit": "H-450300-001"}] == [e.detail for e in server_store.audit_log()]
    revoked = revoke_token(server_store, "陈干事", OPERATOR)
    assert "H-450300-001" == revoked.unit == list_tokens(server_store, revoked=True)[0].unit


def test_the_audit_log_refuses_update_and_delete(server_store: ServerStore) -> None:
    with server_store.transaction() as connection:
        server_store.audit(connection, actor="a", role="admin", action="token.add", target="t", request_id="r",
                           detail={"id": "x"})
    for statement in ("UPDATE audit_log SET actor = 'b'", "DELETE FROM audit_log"):
        with pytest.raises(StoreError, match="the shuangyong server audit log is append-only"), \
                server_store.transaction() as connection:
            connection.execute(statement)
    [entry] = server_store.audit_log()
    assert ("a", "admin", "token.add", "t", {"id": "x"}) == (entry.actor, entry.role, entry.action, entry.target,
                                                             entry.detail)
    assert entry.at.endswith("Z")


def test_a_token_is_only_ever_revoked(server_store: ServerStore) -> None:
    token, secret = add_token(server_store, "his-prod", "his", OPERATOR)
    assert "his-prod" == authenticate(server_store, secret).name
    for statement in ("UPDATE tokens SET role = 'admin'", "DELETE FROM tokens",
                      "UPDATE tokens SET secret_sha256 = 'x'"):
        with pytest.raises(StoreError, match="shuangyong server token"), server_store.transaction() as connection:
            connection.execute(statement)
    revoke_token(server_store, "his-prod", OPERATOR)
    with pytest.raises(StoreError, match="only ever revoked"), server_store.transaction() as connection:
        connection.execute("UPDATE tokens SET revoked_at = NULL")
    with pytest.raises(RequestError, match="revoked"):
        authenticate(server_store, secret)
    assert [] == list_tokens(server_store)
    assert [token.id] == [t.id for t in list_tokens(server_store, revoked=True)]
    remade, _ = add_token(server_store, "his-prod", "his", OPERATOR)  # the name is free again
    assert remade.id != token.id
    assert ["token.add", "token.revoke", "token.add"] == [e.action for e in server_store.audit_log()]


def test_a_refused_token_change_writes_nothing(server_store: ServerStore) -> None:
    add_token(server_store, "his-prod", "his", OPERATOR)
    with pytest.raises(RequestError, match="a live token is already named 'his-prod'"):
        add_token(server_store, "his-prod", "admin", OPERATOR)
    with pytest.raises(RequestError, match="no live token is named 'nobody'"):
        revoke_token(server_store, "nobody", OPERATOR)
    assert 1 == len(list_tokens(server_store)) == len(server_store.audit_log())


@pytest.mark.parametrize("presented", ["", "sy_", "sy_0123456789abcdef_short", "Bearer x", "sy_" + "0" * 80])
def test_a_malformed_token_is_401(server_store: ServerStore, presented: str) -> None:
    with pytest.raises(RequestError) as refused:
        authenticate(server_store, presented)
    assert (401, "Bearer") == (refused.value.status, refused.value.headers["WWW-Authenticate"])


def test_a_foreign_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE postings (seq INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"tables postings\), not a shuangyong server database"):
        ServerStore(f"sqlite:///{path}")
    assert before == path.read_bytes()


def test_a_missing_file_is_not_created_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="there is no server database"):
        ServerStore(f"sqlite:///{tmp_path / 'missing.sqlite3'}", create=False)
    assert not (tmp_path / "missing.sqlite3").exists()
    with pytest.raises(StoreError, match="sqlite:///PATH"):
        ServerStore("postgresql://server/db")


def test_an_in_memory_store_is_refused_it_would_forget_between_transactions() -> None:
    with pytest.raises(StoreError, match=r"not :memory:\), got 'sqlite:///:memory:'"):
        ServerStore("sqlite:///:memory:")


def test_a_key_is_reserved_then_answered_once(server_store: ServerStore) -> None:
    token, _ = add_token(server_store, "his", "his", OPERATOR)
    assert idempotency.reserve(server_store, token.id, "k1", "h1") is None
    assert idempotency.reserve(server_store, token.id, "k1", "h1") is None  # not answered yet: run again
    with pytest.raises(RequestError, match="was used for another request"):
        idempotency.reserve(server_store, token.id, "k1", "h2")
    first, twin = Answer(200, "application/json", b"first"), Answer(200, "application/json", b"twin")
    with server_store.transaction() as connection:
        assert first == idempotency.complete(connection, token.id, "k1", first)
    with server_store.transaction() as connection:  # a twin that finishes later is given the first answer
        assert first == idempotency.complete(connection, token.id, "k1", twin)
    assert first == idempotency.reserve(server_store, token.id, "k1", "h1")
