"""Posting through the server: a retried request never posts twice (with or without an
Idempotency-Key), a key re-used for another request is refused before anything is posted, and
eight clients posting at once leave exactly the expected rows in a ledger that verifies."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import EXAMPLES, Server, cli, unique

from shuangyong_sql.testing import scratch_url

BASE = json.loads((EXAMPLES / "visit.json").read_text(encoding="utf-8"))


def visit(visit_id: str, patient: str | None = None) -> bytes:
    """The example visit under another id (and patient: then no yearly cap is shared), as one line."""
    return json.dumps({**BASE, "visit_id": visit_id, "patient": {**BASE["patient"], "id": patient or visit_id}},
                      ensure_ascii=False).encode()


def post(server: Server, body: bytes, key: str | None = None, role: str = "his") -> httpx.Response:
    return server.request("POST", "/v1/evaluate-and-post", role, content=body,
                          headers={"Idempotency-Key": key} if key else {})


def rows_of(server: Server) -> list[dict[str, Any]]:
    export = server.request("GET", "/v1/ledger/export", "auditor")
    return [json.loads(line) for line in export.text.splitlines()]


def test_the_same_key_twice_posts_once_and_answers_the_same_bytes(api_server: Server) -> None:
    key, body = unique("K"), visit(unique("V"))
    before, entries = api_server.rows(), len(api_server.audit())
    first = post(api_server, body, key)
    assert 200 == first.status_code, first.text
    posted = api_server.rows() - before
    assert posted > 0
    again = post(api_server, body, key)
    assert (200, first.content, "true") == (again.status_code, again.content, again.headers["idempotent-replayed"])
    assert posted == api_server.rows() - before
    audit = api_server.audit()[entries:]
    assert ["ledger.post"] == [entry["action"] for entry in audit]  # the replay wrote nothing, audit included
    assert ("tests-his", "his", json.loads(body)["visit_id"]) == (audit[0]["actor"], audit[0]["role"],
                                                                  audit[0]["target"])
    assert audit[0]["request_id"] == first.headers["x-request-id"]
    assert audit[0]["at"].endswith("Z") and audit[0]["detail"]["idempotency_key"] == key
    assert "ok" == verified(api_server)


def test_a_retry_without_a_key_posts_nothing_either(api_server: Server) -> None:
    body = visit(unique("V"))
    first = post(api_server, body)
    before = api_server.rows()
    again = post(api_server, body)
    assert (200, first.content) == (again.status_code, again.content)
    assert "idempotent-replayed" not in again.headers
    assert before == api_server.rows()


def test_a_key_reused_for_another_visit_is_409_and_posts_nothing(api_server: Server) -> None:
    key = unique("K")
    assert 200 == post(api_server, visit(unique("V")), key).status_code
    before, entries = api_server.rows(), len(api_server.audit())
    other = post(api_server, visit(unique("V")), key)
    assert 409 == other.status_code
    error = other.json()["error"]
    assert ("RequestError", "Idempotency-Key") == (error["type"], error["field"])
    assert error["message"] == {"zh": f"Idempotency-Key {key!r} 已用于另一个请求（内容不同）；新请求请用新的键",
                                "en": f"Idempotency-Key {key!r} was used for another request (other content); "
                                      "use a new key for a new request"}
    assert (before, entries) == (api_server.rows(), len(api_server.audit()))


def test_keys_belong_to_one_token(api_server: Server) -> None:
    """Another token's request with the same key is its own request (keys are not shared)."""
    key = unique("K")
    assert 200 == post(api_server, visit(unique("V")), key).status_code
    other = api_server.request("POST", "/v1/tokens", "admin", json={"name": unique("his-"), "role": "his"})
    secret = other.json()["secret"]
    answer = api_server.client.post("/v1/evaluate-and-post", content=visit(unique("V")),
                                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})
    assert 200 == answer.status_code and "idempotent-replayed" not in answer.headers


def test_a_bad_key_is_400(api_server: Server) -> None:
    before = api_server.rows()
    for key in ("", "x" * 201, "a b"):
        answer = api_server.client.post("/v1/evaluate-and-post", content=visit(unique("V")),
                                        headers={**api_server.headers("his"), "Idempotency-Key": key})
        assert (400, "Idempotency-Key") == (answer.status_code, answer.json()["error"]["field"]), key
    assert before == api_server.rows()


def test_a_visit_id_reused_with_other_content_is_409_naming_it(api_server: Server) -> None:
    visit_id = unique("V")
    assert 200 == post(api_server, visit(visit_id)).status_code
    before, entries = api_server.rows(), len(api_server.audit())
    changed = json.loads(visit(visit_id))
    changed["lines"][0]["amount"] = "13.00"
    answer = post(api_server, json.dumps(changed).encode())
    assert 409 == answer.status_code, answer.text
    body = answer.json()
    assert (visit_id, "LedgerError") == (body["visit_id"], body["error"]["type"])
    assert "a visit id re-used with other content is refused" in body["error"]["message"]["en"]
    rows = re.compile(rb"(row |\xe7\xac\xac )[0-9]+")  # the shared ledger's row numbers are not a fresh one's
    assert rows.sub(b"N", expected_cli_bytes(json.dumps(changed).encode(), visit(visit_id))) \
        == rows.sub(b"N", answer.content)
    assert (before, entries) == (api_server.rows(), len(api_server.audit()))


def expected_cli_bytes(body: bytes, earlier: bytes) -> bytes:
    """What ``evaluate --post`` writes for BODY on a ledger that already holds EARLIER."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        ledger = f"sqlite:///{Path(folder) / 'l.db'}"
        cli("evaluate", "--post", "--ledger", ledger, stdin=earlier, check=True)
        return cli("evaluate", "--post", "--ledger", ledger, stdin=body).stdout


def test_bad_input_posts_nothing(api_server: Server) -> None:
    before, entries = api_server.rows(), len(api_server.audit())
    for body, status in [(b"not json", 400), (b"", 400), (b'{"visit_id": 1}', 422), (b"[1, 2]", 200)]:
        answer = post(api_server, body, unique("K"))
        assert status == answer.status_code, (body, answer.text)
    assert (before, entries) == (api_server.rows(), len(api_server.audit()))


def verified(server: Server) -> str:
    """``ok`` when the server's ledger verifies, through the API and the command line alike."""
    answer = server.request("GET", "/v1/ledger/verify", "auditor").json()
    command = cli("ledger", "verify", "--ledger", server.ledger_url or "")
    assert (answer["ok"], 0) == (True, command.returncode), (answer, command.stderr)
    return "ok"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_eight_clients_posting_at_once_leave_exactly_the_expected_rows(start_api_server: Callable[..., Server],
                                                                       tmp_path: Path, kind: str) -> None:
    """On the built-in SQLite ledger, and on PostgreSQL and MariaDB through shuangyong-sql (each
    worker thread of the server holds its own connection)."""
    with scratch_url(kind, tmp_path) if kind != "sqlite" else nullcontext(True) as ledger:
        posted_at_once(start_api_server(ledger=ledger), tmp_path)


def posted_at_once(server: Server, tmp_path: Path) -> None:
    shared = [visit(f"SHARED{n}") for n in range(6)]  # every client posts these
    keyed = [(f"KEY{n}", visit(f"KEYED{n}")) for n in range(4)]  # every client retries these with one key
    own = {client: [visit(f"C{client}V{n}") for n in range(5)] for client in range(8)}
    barrier = threading.Barrier(8)

    def client(number: int) -> list[tuple[int, bytes]]:
        barrier.wait()
        answers = []
        with httpx.Client(base_url=server.url, timeout=120, headers=server.headers("his")) as http:
            work = [(None, body) for body in shared + own[number]] + keyed
            work = work[number % len(work):] + work[:number % len(work)]  # each client in another order
            for key, body in work:
                answer = http.post("/v1/evaluate-and-post", content=body,
                                   headers={"Idempotency-Key": key} if key else {})
                answers.append((answer.status_code, answer.content))
        return answers

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert all(status == 200 for answers in results for status, _ in answers)
    distinct = shared + [body for _, body in keyed] + [body for bodies in own.values() for body in bodies]
    ledger = f"sqlite:///{tmp_path / 'one-by-one.db'}"
    expected = cli("evaluate", "--post", "--ledger", ledger, stdin=b"\n".join(distinct) + b"\n", check=True)
    by_visit = {json.loads(line)["visit_id"]: line + b"\n" for line in expected.stdout.splitlines()}
    for answers in results:  # every answer, first or repeated, is the one-by-one answer
        for _, content in answers:
            assert by_visit[json.loads(content)["visit_id"]] == content
    wanted = Counter((row["visit_id"], row["line_id"], row["rule_id"], row["granted"])
                     for row in (json.loads(line) for line in cli("ledger", "export", "--ledger", ledger).stdout
                                 .splitlines()))
    got = Counter((row["visit_id"], row["line_id"], row["rule_id"], row["granted"]) for row in rows_of(server))
    assert wanted == got and max(got.values()) == 1
    assert "ok" == verified(server)
    posts = [entry for entry in server.audit() if entry["action"] == "ledger.post"]
    assert 8 * (len(shared) + 5) + 8 * len(keyed) >= len(posts) >= len(distinct)


def test_a_key_whose_request_wrote_nothing_is_free_for_the_corrected_one(api_server: Server) -> None:
    key, visit_id = unique("K"), unique("V")
    refused = json.loads(visit(visit_id))
    refused["lines"][0]["amount"] = 12.5
    assert 422 == post(api_server, json.dumps(refused).encode(), key).status_code
    assert 400 == post(api_server, b"not json", key).status_code
    before = api_server.rows()
    corrected = post(api_server, visit(visit_id), key)
    assert 200 == corrected.status_code and "idempotent-replayed" not in corrected.headers
    assert api_server.rows() > before
    assert corrected.content == post(api_server, visit(visit_id), key).content
