"""Who may call what: every route × every role is either let through or 403, no token is 401, and
the table below is every route the server documents (a new route without a row fails)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from serving import Server, cli, unique

from shuangyong_server.tokens import ROLES

ANY = tuple(ROLES)
#: (method, path, what to send, roles let through). What is sent is harmless when let through: an
#: empty body posts nothing, an unknown name revokes nothing, a bad token request makes none.
ROUTES: list[tuple[str, str, dict[str, object], tuple[str, ...]]] = [
    ("GET", "/v1/ready", {}, ANY),
    ("GET", "/v1/openapi.json", {}, ANY),
    ("POST", "/v1/evaluate", {"content": b""}, ("his",)),
    ("POST", "/v1/explain", {"content": b""}, ("his",)),
    ("POST", "/v1/evaluate-and-post", {"content": b""}, ("his",)),
    ("GET", "/v1/ledger/verify", {}, ("auditor",)),
    ("GET", "/v1/ledger/head", {}, ("auditor",)),
    ("GET", "/v1/ledger/export", {}, ("auditor",)),
    ("GET", "/v1/policies", {}, ANY),
    ("GET", "/v1/policies/{name}", {}, ANY),
    ("GET", "/v1/policy", {}, ANY),
    ("GET", "/v1/policy/fingerprint", {}, ANY),
    ("POST", "/v1/compliance/report", {"content": b""}, ("office", "auditor")),
    ("GET", "/v1/compliance/dossiers/{unit_id}/{year}/report", {}, ("office", "auditor")),
    ("GET", "/v1/tokens", {}, ("admin",)),
    ("POST", "/v1/tokens", {"json": {"name": "x", "role": "nobody"}}, ("admin",)),
    ("DELETE", "/v1/tokens/{name}", {}, ("admin",)),
    ("GET", "/v1/audit", {}, ("admin", "auditor")),
]
FILLED = {"{name}": "seed-example", "{unit_id}": "no-such-unit", "{year}": "2026"}


def concrete(path: str) -> str:
    for hole, value in FILLED.items():
        path = path.replace(hole, value)
    return path.replace("/v1/tokens/seed-example", "/v1/tokens/no-such-token")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "sent", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_each_route_lets_its_roles_through_and_refuses_the_others(api_server: Server, method: str, path: str,
                                                                  sent: dict[str, object], allowed: tuple[str, ...],
                                                                  role: str) -> None:
    rows, entries = api_server.rows(), len(api_server.audit())
    answer = api_server.request(method, concrete(path), role, **sent)  # type: ignore[arg-type]
    if role in allowed:
        assert answer.status_code not in (401, 403), answer.text
        assert answer.status_code < 500, answer.text
    else:
        assert 403 == answer.status_code, answer.text
        error = answer.json()["error"]
        assert ("RequestError", "Authorization") == (error["type"], error["field"])
        assert error["message"] == {"zh": f"角色 {role} 无权访问此处（需要：{', '.join(allowed)}）",
                                    "en": f"the role {role} may not do this (needs: {', '.join(allowed)})"}
    assert (rows, entries) == (api_server.rows(), len(api_server.audit()))  # nothing written either way


@pytest.mark.parametrize(("method", "path", "sent", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("authorization", [None, "Bearer sy_0123456789abcdef_" + "A" * 43, "Basic dXNlcjpwYXNz",
                                           "Bearer", "Bearer not-a-token"])
def test_without_a_valid_token_every_route_but_health_is_401(api_server: Server, method: str, path: str,
                                                             sent: dict[str, object], allowed: tuple[str, ...],
                                                             authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = api_server.client.request(method, concrete(path), headers=headers, **sent)  # type: ignore[arg-type]
    assert 401 == answer.status_code, answer.text
    assert "Bearer" == answer.headers["www-authenticate"]
    error = answer.json()["error"]
    assert "Authorization" == error["field"]
    assert error["message"] in ({"zh": "需要令牌：Authorization: Bearer <令牌>",
                                 "en": "a token is needed: Authorization: Bearer <token>"},
                                {"zh": "令牌无效", "en": "the token is not valid"})


def test_health_is_open_and_says_nothing_else(api_server: Server) -> None:
    answer = api_server.client.get("/v1/health")
    assert (200, {"status": "ok"}) == (answer.status_code, answer.json())


def test_the_table_is_every_route_the_server_documents(api_server: Server) -> None:
    spec = api_server.request("GET", "/v1/openapi.json", "auditor").json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented | {("GET", "/v1/openapi.json")} == {(m, p) for m, p, _, _ in ROUTES} | {("GET", "/v1/health")}
    open_routes = {(method.upper(), path) for path, item in spec["paths"].items() for method, operation in item.items()
                   if not operation.get("security")}
    assert {("GET", "/v1/health")} == open_routes


def test_a_revoked_token_is_refused_at_once(api_server: Server) -> None:
    made = api_server.request("POST", "/v1/tokens", "admin", json={"name": "to-revoke", "role": "his"})
    assert 201 == made.status_code, made.text
    secret = made.json()["secret"]
    auth = {"Authorization": f"Bearer {secret}"}
    assert 200 == api_server.client.get("/v1/policy/fingerprint", headers=auth).status_code
    revoked = api_server.request("DELETE", "/v1/tokens/to-revoke", "admin")
    assert (200, "to-revoke") == (revoked.status_code, revoked.json()["name"])
    refused = api_server.client.get("/v1/policy/fingerprint", headers=auth)
    assert 401 == refused.status_code
    assert refused.json()["error"]["message"]["en"].startswith("the token was revoked at ")
    actions = [(e["action"], e["target"], e["actor"]) for e in api_server.audit()[-2:]]
    assert [("token.add", "to-revoke", "tests-admin"), ("token.revoke", "to-revoke", "tests-admin")] == actions


def test_a_token_is_stored_only_as_its_hash(api_server: Server) -> None:
    path = api_server.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        stored = {row[0] for row in connection.execute("SELECT secret_sha256 FROM tokens")}
        dumped = "\n".join(connection.iterdump())
    for secret in api_server.tokens.values():
        assert secret not in dumped
        assert secret.split("_")[-1] not in dumped
    assert len(stored) >= len(ROLES)


def test_token_commands_add_list_and_revoke(api_server: Server) -> None:
    store = ["--store", api_server.store_url]
    added = cli("server", "token", "add", "--role", "office", "--name", "王芳", *store)
    assert 0 == added.returncode, added.stderr
    secret = added.stdout.decode().strip()
    assert "shown this once" in added.stderr.decode()
    answer = api_server.client.post("/v1/compliance/report", headers={"Authorization": f"Bearer {secret}"},
                                    content=b"")
    assert answer.status_code not in (401, 403)
    listed = cli("server", "token", "list", "--format", "json", *store)
    assert {"王芳": "office"}.items() <= {t["name"]: t["role"] for t in json.loads(listed.stdout)["tokens"]}.items()
    assert secret not in listed.stdout.decode()
    twice = cli("server", "token", "add", "--role", "his", "--name", "王芳", *store)
    assert 2 == twice.returncode
    assert "a live token is already named '王芳'" in twice.stderr.decode()
    revoked = cli("server", "token", "revoke", "王芳", *store)
    assert 0 == revoked.returncode, revoked.stderr
    assert 401 == api_server.client.get("/v1/ready", headers={"Authorization": f"Bearer {secret}"}).status_code
    again = cli("server", "token", "revoke", "王芳", *store)
    assert (2, True) == (again.returncode, "no live token is named '王芳'" in again.stderr.decode())
    entries = [(e["action"], e["target"]) for e in api_server.audit() if e["actor"].startswith("cli:")]
    assert [("token.add", "王芳"), ("token.revoke", "王芳")] == entries[-2:]


def test_token_requests_are_checked(api_server: Server) -> None:
    before = api_server.request("GET", "/v1/tokens", "admin").json()["tokens"]
    entries = len(api_server.audit())
    for body, field, words in [({"name": "x", "role": "nobody"}, "role", "Input should be"),
                               ({"name": " x", "role": "his"}, "name", "printable characters"),
                               ({"name": "x", "role": "his", "extra": 1}, "extra", "Extra inputs"),
                               ({"role": "his"}, "name", "Field required")]:
        answer = api_server.request("POST", "/v1/tokens", "admin", json=body)
        assert 422 == answer.status_code, answer.text
        error = answer.json()["error"]
        assert field == error["field"] and words in error["message"]["en"], error
    assert before == api_server.request("GET", "/v1/tokens", "admin").json()["tokens"]
    assert entries == len(api_server.audit())


def test_an_office_token_kept_to_a_unit_is_made_and_listed(api_server: Server) -> None:
    store = ["--store", api_server.store_url]
    name = unique("陈干事-")
    added = cli("server", "token", "add", "--role", "office", "--name", name, "--unit", "H-450300-001", *store)
    assert 0 == added.returncode, added.stderr
    assert f"made for {name} (office, unit H-450300-001)" in added.stderr.decode()
    rows = {line.split("\t")[1]: line.split("\t") for line in cli("server", "token", "list", *store).stdout.decode()
            .splitlines()}
    assert (["office", "H-450300-001"], ["admin", "*"]) == (rows[name][2:4], rows["tests-admin"][2:4])
    listed = json.loads(cli("server", "token", "list", "--format", "json", *store).stdout)["tokens"]
    assert {name: "H-450300-001", "tests-office": None}.items() <= {t["name"]: t["unit"] for t in listed}.items()
    made = api_server.request("POST", "/v1/tokens", "admin",
                              json={"name": f"{name}-api", "role": "office", "unit": "H-450300-002"})
    assert (201, "H-450300-002") == (made.status_code, made.json()["unit"]), made.text
    assert "H-450300-002" == next(t["unit"] for t in api_server.request("GET", "/v1/tokens", "admin").json()["tokens"]
                                  if t["name"] == f"{name}-api")
    entry = api_server.audit()[-1]
    assert ("token.add", {"id": made.json()["id"], "role": "office", "unit": "H-450300-002"}) == \
        (entry["action"], entry["detail"])


def test_only_an_office_token_is_kept_to_a_unit(api_server: Server) -> None:
    before = api_server.request("GET", "/v1/tokens", "admin").json()["tokens"]
    entries = len(api_server.audit())
    refused = cli("server", "token", "add", "--role", "auditor", "--name", unique("x"), "--unit", "H-450300-001",
                  "--store", api_server.store_url)
    assert 2 == refused.returncode
    said = refused.stderr.decode()
    assert "field unit: only an office token can be kept to a unit (this one's role is auditor)" in said
    for body, words in [({"name": unique("x"), "role": "his", "unit": "H-450300-001"}, "(this one's role is his)"),
                        ({"name": unique("x"), "role": "office", "unit": "H-1\n"}, "printable characters")]:
        answer = api_server.request("POST", "/v1/tokens", "admin", json=body)
        assert 422 == answer.status_code, answer.text
        error = answer.json()["error"]
        assert ("InputError", "unit") == (error["type"], error["field"]) and words in error["message"]["en"], error
    assert before == api_server.request("GET", "/v1/tokens", "admin").json()["tokens"]
    assert entries == len(api_server.audit())
