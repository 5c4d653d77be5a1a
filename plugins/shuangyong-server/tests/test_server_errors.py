"""Every kind of bad request is the caller's 4xx, with the error object's zh and en message and
nothing written: not JSON, wrong types, a body too long (announced or chunked) or too slow, an
unknown route or method, a bad parameter."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from serving import EXAMPLES, Server, unique

VISIT = json.loads((EXAMPLES / "visit.json").read_text(encoding="utf-8"))


def one_line(**changes: object) -> bytes:
    return json.dumps({**VISIT, "visit_id": unique("E"), **changes}, ensure_ascii=False).encode()


@pytest.fixture
def unchanged(api_server: Server) -> Iterator[None]:
    """The test writes nothing: no ledger row, no audit entry."""
    before = (api_server.rows(), len(api_server.audit()))
    yield
    assert before == (api_server.rows(), len(api_server.audit()))


BODIES = {  # name → (body, HTTP status, error type, field, words of the English message)
    "not JSON": (b"hello", 400, "InputError", None, "invalid JSON: Expecting value"),
    "empty": (b"", 400, "InputError", None, "empty input: no visit records"),
    "an empty array": (b"[]", 400, "InputError", None, "empty array: no visit records"),
    "a string": (b'"visit"', 422, "InputError", None, ""),
    "a number as visit_id": (one_line(visit_id=1), 422, "InputError", "visit_id", ""),
    "a float amount": (one_line(lines=[{"line_id": "1", "item": "registration", "amount": 12.5}]), 422,
                       "MoneyError", "lines[0].amount", "must not be a float"),
    "an unknown category": (one_line(patient={"id": "P", "categories": ["general"]}), 422, "UnknownCategoryError",
                            "patient.categories", "general"),
    "an unknown key": (one_line(visitor=1), 422, "InputError", None, "visitor"),
    "a bad date": (one_line(date="2025-02-30"), 422, "DateError", "date", ""),
    "nested too deep": (b"[" * 200 + b"]" * 200, 422, "InputError", None, "nested deeper than 64 levels"),
    "a line not in UTF-8": ('{"visit_id": "门诊"}'.encode("gb18030"), 422, "InputError", None, "is not valid utf-8"),
    "a document not in UTF-8": ('{\n"visit_id": "门诊"}'.encode("gb18030"), 400, "InputError", None,
                                "is not valid utf-8"),
}


@pytest.mark.parametrize("path", ["/v1/evaluate", "/v1/explain", "/v1/evaluate-and-post"])
@pytest.mark.parametrize("case", BODIES)
def test_a_bad_body_is_4xx_with_its_message(api_server: Server, unchanged: None, path: str, case: str) -> None:
    body, status, kind, field, words = BODIES[case]
    answer = api_server.request("POST", path, content=body, headers={"Idempotency-Key": unique("K")})
    assert status == answer.status_code, answer.text
    refusal = answer.json()
    error = (refusal[0] if isinstance(refusal, list) else refusal)["error"]  # one visit in an array: an array
    assert kind == error["type"]
    if field is not None:
        assert field == error["field"]
    assert words in error["message"]["en"] and error["message"]["zh"]


def test_a_body_announced_too_long_is_413_before_the_app_runs(api_server: Server, unchanged: None) -> None:
    body = b"[" + b" " * (256 * 1024) + b"]"
    answer = api_server.request("POST", "/v1/evaluate-and-post", content=body)
    assert 413 == answer.status_code
    assert {"zh": "请求体超过 262144 字节；大量就诊请分批发送",
            "en": "the request body is longer than 262144 bytes; send many visits in batches"} \
        == answer.json()["error"]["message"]
    assert answer.headers["x-request-id"]


def test_a_chunked_body_is_413_as_soon_as_it_passes_the_bound(api_server: Server, unchanged: None) -> None:
    piece = one_line() + b"\n"

    def pieces() -> Iterator[bytes]:
        for _ in range(256 * 1024 // len(piece) + 2):
            yield piece

    answer = api_server.request("POST", "/v1/evaluate-and-post", content=pieces())
    assert (413, "body") == (answer.status_code, answer.json()["error"]["field"])


def test_a_body_just_within_the_bound_is_read(api_server: Server) -> None:
    piece = one_line() + b"\n"
    body = piece * (256 * 1024 // len(piece))
    answer = api_server.request("POST", "/v1/evaluate", content=body)
    assert 200 == answer.status_code
    assert len(body) // len(piece) == len(answer.content.splitlines())


def test_a_body_that_arrives_too_slowly_is_408(start_api_server: Callable[..., Server]) -> None:
    server = start_api_server("--timeout", "1", ledger=False)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"POST /v1/evaluate HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n"
                           f"Authorization: Bearer {server.tokens['his']}\r\n\r\n{{".encode())
        started = time.monotonic()
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert 1 <= time.monotonic() - started < 8
    assert reply.startswith(b"HTTP/1.1 408 ")
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert {"zh": "请求体未在 1 秒内送达", "en": "the request body did not arrive within 1 seconds"} \
        == body["error"]["message"]


def test_a_server_without_a_ledger_says_so(start_api_server: Callable[..., Server]) -> None:
    server = start_api_server(ledger=False)
    for method, path, role in [("POST", "/v1/evaluate-and-post", "his"), ("GET", "/v1/ledger/verify", "auditor"),
                               ("GET", "/v1/ledger/export", "auditor"), ("GET", "/v1/ledger/head", "auditor")]:
        answer = server.request(method, path, role, content=one_line() if method == "POST" else None)
        assert 404 == answer.status_code
        assert {"zh": "本服务未配置账本（启动时用 --ledger URL）",
                "en": "this server has no ledger (start it with --ledger URL)"} == answer.json()["error"]["message"]
    assert {"ready": True, "ledger": None}.items() <= server.request("GET", "/v1/ready", "his").json().items()
    assert 200 == server.request("POST", "/v1/evaluate", content=one_line()).status_code


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/", 404), ("GET", "/v2/evaluate", 404), ("GET", "/v1/evaluat", 404), ("GET", "/docs", 404),
    ("GET", "/v1/evaluate", 405), ("PUT", "/v1/tokens", 405)])
def test_an_unknown_route_or_method_is_refused_in_words(api_server: Server, unchanged: None, method: str,
                                                        path: str, status: int) -> None:
    answer = api_server.request(method, path)
    assert status == answer.status_code
    error = answer.json()["error"]
    assert ("RequestError", "path") == (error["type"], error["field"])
    assert error["message"]["zh"] and error["message"]["en"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/evaluate", {"format": "xml"}, "format"), ("/v1/evaluate", {"encoding": "latin-1"}, "encoding"),
    ("/v1/explain", {"encoding": "utf-16"}, "encoding")])
def test_a_bad_parameter_is_422_naming_it(api_server: Server, unchanged: None, path: str, params: dict[str, str],
                                          field: str) -> None:
    answer = api_server.request("POST", path, content=one_line(), params=params)
    assert 422 == answer.status_code
    error = answer.json()["error"]
    assert field == error["field"]
    assert error["message"]["en"].startswith(f"{field} is not valid: ")
    assert error["message"]["zh"].startswith(f"{field} 的值无效：")


def test_a_request_id_is_kept_when_tame_and_made_otherwise(api_server: Server) -> None:
    kept = api_server.request("GET", "/v1/policy/fingerprint", headers={"X-Request-ID": "his-4711"})
    assert "his-4711" == kept.headers["x-request-id"]
    made = api_server.request("GET", "/v1/policy/fingerprint", headers={"X-Request-ID": "a b<script>"})
    assert 32 == len(made.headers["x-request-id"])
