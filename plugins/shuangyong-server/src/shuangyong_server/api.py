"""The ``/v1`` endpoints: each reads the request, asks the :class:`~shuangyong_server.service.Service`
in a worker thread (bounded by the server's timeout) and answers. Every route but ``health``
declares the roles it admits (``require_role``); docs/service.md has the table.

No ``from __future__ import annotations`` here: FastAPI reads the annotations at run time.
"""

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from shuangyong import Text
from shuangyong_server import idempotency
from shuangyong_server.auth import ANY_ROLE, require_role, service_of
from shuangyong_server.errors import JSON, RequestError
from shuangyong_server.idempotency import Answer
from shuangyong_server.service import Run
from shuangyong_server.tokens import Actor, Caller, Role, add_token, list_tokens, revoke_token, unit_refused

router = APIRouter(prefix="/v1")
T = TypeVar("T")

Format = Literal["auto", "json", "jsonl"]
Encoding = Literal["utf-8", "gb18030"]  # shuangyong.limits.ENCODINGS (a test keeps the two alike)
FORMAT = Query(description="auto mirrors the input (JSON Lines in, JSON Lines out; JSON in, JSON out), as "
                           "`shuangyong evaluate --format`.")
ENCODING = Query(description="The body's character encoding, as `--encoding`; a UTF-8 byte-order mark means UTF-8.")
_HEAD = re.compile(r"([0-9]{1,18}):([0-9a-f]{64})")

#: what the visit endpoints take: a visit, an array of visits, or JSON Lines (docs/json-contract.md)
VISITS_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
    "application/x-ndjson": {"schema": {"type": "string", "description": "one visit object a line"}}}}}
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["error"], "properties": {
    "visit_id": {"type": ["string", "null"], "description": "the refused visit's id, when a record was refused"},
    "error": {"type": "object", "required": ["type", "record", "field", "message"], "properties": {
        "type": {"type": "string"}, "record": {"type": ["string", "null"]}, "field": {"type": ["string", "null"]},
        "message": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}}}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents, each with the error object's schema."""
    meaning = {400: "the body cannot be read as input at all", 401: "no token, or not a valid one",
               403: "the token's role may not do this", 404: "no such thing", 408: "the body arrived too slowly",
               409: "a conflict: the ledger refuses the posting, or the key was used for another request",
               413: "the body is too long", 422: "the visit or a parameter is refused, named in the error",
               503: "not ready, or the work took longer than the server's timeout"}
    return {status: {"description": meaning[status], "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            for status in (401, 403, 413, 408, *statuses)}


async def in_worker(request: Request, work: Callable[..., T], *args: Any, **keywords: Any) -> T:
    """WORK(ARGS, KEYWORDS) in a worker thread, within the server's timeout (503 after it; the thread is
    left to finish, so that a posting is either kept whole or not made)."""
    timeout = service_of(request).settings.timeout
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(functools.partial(work, *args, **keywords),
                                                  abandon_on_cancel=True)
    except TimeoutError:
        raise RequestError(Text(f"处理超过 {timeout:g} 秒；记账请求可用同一 Idempotency-Key 重试",
                                f"the work took longer than {timeout:g} seconds; retry a posting with the same "
                                "Idempotency-Key"), status=503, headers={"Retry-After": "5"}) from None


def answered(answer: Answer, **headers: str) -> Response:
    """An answer as a response, with HEADERS."""
    extra = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type,
                    headers={**headers, **extra})


def json_answer(data: Any, status: int = 200) -> Response:
    """Data as indented JSON, Chinese as it is, as the command line prints its JSON."""
    return Response((json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode(), status_code=status,
                    media_type=JSON)


def chunks(pieces: Iterator[str], size: int = 1 << 16) -> Iterator[bytes]:
    """The pieces of a streamed answer in chunks of about SIZE bytes (one thread hop each, not one per visit)."""
    buffer: list[str] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buffer).encode("utf-8")
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


async def run_answer(request: Request, run: Run) -> Response:
    """Several visits as JSON Lines: streamed, 200, each bad record's error object in its place.
    Else written whole: 200, or the refusal's status when the one visit sent was refused."""
    service = service_of(request)
    policy = service.engine.policy.fingerprint
    written: list[str] = []
    if run.layout == "lines":
        written = await in_worker(request, service.first_pieces, run)
        if len(written) > 1:
            return StreamingResponse(chunks(chain(written, run.pieces)), media_type=run.media_type,
                                     headers={"Shuangyong-Policy": policy})
    answer = await in_worker(request, service.answer, run, written)
    return answered(answer, **{"Shuangyong-Policy": policy, "Shuangyong-Refused": str(run.tally.refused)})


# -- visits ----------------------------------------------------------------------------------

@router.post("/evaluate", tags=["visits"], openapi_extra=VISITS_BODY, responses={
    200: {"description": "each visit's decision, or its error object in its place", "content": {
        "application/json": {}, "application/x-ndjson": {}}}, **_errors(400, 422)})
async def evaluate(request: Request, who: Annotated[Caller, require_role("his")],
                   format: Annotated[Format, FORMAT] = "auto",
                   encoding: Annotated[Encoding, ENCODING] = "utf-8") -> Response:
    """Decide each visit: the bytes `shuangyong evaluate --format FORMAT` writes for the same input."""
    body = await request.body()
    run = await in_worker(request, service_of(request).evaluate, body, format, encoding)
    return await run_answer(request, run)


@router.post("/explain", tags=["visits"], openapi_extra=VISITS_BODY, responses={
    200: {"description": "each visit's explanation, or its error object, one a line",
          "content": {"application/x-ndjson": {}}}, **_errors(400, 422)})
async def explain(request: Request, who: Annotated[Caller, require_role("his")],
                  encoding: Annotated[Encoding, ENCODING] = "utf-8") -> Response:
    """Explain each visit: the bytes `shuangyong explain --format json` writes for the same input."""
    body = await request.body()
    run = await in_worker(request, service_of(request).explain, body, encoding)
    return await run_answer(request, run)


@router.post("/evaluate-and-post", tags=["visits"], openapi_extra=VISITS_BODY, responses={
    200: {"description": "each visit's decision as granted (yearly caps applied), or its error object",
          "content": {"application/json": {}, "application/x-ndjson": {}}}, **_errors(400, 404, 409, 422, 503)})
async def evaluate_and_post(
        request: Request, who: Annotated[Caller, require_role("his")],
        format: Annotated[Format, FORMAT] = "auto", encoding: Annotated[Encoding, ENCODING] = "utf-8",
        idempotency_key: Annotated[str | None, Header(
            alias=idempotency.HEADER, description="Any unique string (a UUID): a retry with the same key and "
            "the same body is answered with the first answer, and never posts twice.")] = None) -> Response:
    """Decide each visit and post its grants to the ledger: the bytes `shuangyong evaluate --post`
    writes for the same input. Written whole, never streamed: the answer is kept for retries."""
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    body = await request.body()
    service = service_of(request)
    answer = await in_worker(request, service.post, body, format, encoding, who, request.state.request_id,
                             request.client.host if request.client else None, key)
    return answered(answer, **{"Shuangyong-Policy": service.engine.policy.fingerprint})


# -- the ledger ------------------------------------------------------------------------------

@router.get("/ledger/verify", tags=["ledger"], responses=_errors(404, 422))
async def ledger_verify(request: Request, who: Annotated[Caller, require_role("auditor")],
                        expect_head: Annotated[str | None, Query(
                            description="SEQ:HASH as `ledger head` gave it earlier: not ok unless row SEQ "
                                        "still has HASH")] = None) -> Response:
    """Recompute the hash chain, totals, caps and reversals: `shuangyong ledger verify --format json`'s
    object (200 whether or not `ok`: the verification itself succeeded)."""
    expected = None
    if expect_head is not None:
        match = _HEAD.fullmatch(expect_head.strip())
        if match is None:
            raise RequestError(Text(f"expect_head 应为 序号:64位十六进制哈希，收到 {expect_head!r}",
                                    f"expect_head is SEQ:HASH with a 64-digit hex hash, got {expect_head!r}"),
                               status=422, field="expect_head", value=expect_head)
        expected = (int(match[1]), match[2])
    return json_answer(await in_worker(request, service_of(request).verify, expected))


@router.get("/ledger/head", tags=["ledger"], responses=_errors(404))
async def ledger_head(request: Request, who: Annotated[Caller, require_role("auditor")]) -> Response:
    """The last posting's seq and hash, to keep outside the ledger: `ledger head --format json`."""
    return json_answer(await in_worker(request, service_of(request).head))


@router.get("/ledger/export", tags=["ledger"], responses={
    200: {"description": "every posting in order, amounts in yuan", "content": {
        "application/x-ndjson": {}, "text/csv": {}}}, **_errors(404, 422)})
async def ledger_export(request: Request, who: Annotated[Caller, require_role("auditor")],
                        format: Annotated[str, Query(description="jsonl, csv, or an exporter a plugin adds "
                                                                 "(xlsx, html, pdf)")] = "jsonl") -> Response:
    """Every posting: the bytes `shuangyong ledger export --format FORMAT` writes."""
    media, out = await in_worker(request, service_of(request).export, format)

    def content() -> Iterator[bytes]:
        with out:
            yield from iter(lambda: out.read(1 << 16), b"")

    return StreamingResponse(content(), media_type=media)


# -- policy ----------------------------------------------------------------------------------

@router.get("/policies", tags=["policy"], responses=_errors())
async def policies(request: Request, who: Annotated[Caller, require_role(*ANY_ROLE)]) -> Response:
    """Every policy pack, built in or from a plugin: `shuangyong policy list`."""
    return json_answer({"policies": await in_worker(request, service_of(request).policies)})


@router.get("/policies/{name}", tags=["policy"], responses=_errors(404))
async def policy_pack(request: Request, who: Annotated[Caller, require_role(*ANY_ROLE)],
                      name: Annotated[str, Path(description="a pack's name (never a path)")]) -> Response:
    """The merged rule set of the named pack: `shuangyong policy show --format json -p NAME`."""
    return json_answer(await in_worker(request, service_of(request).policy, name))


@router.get("/policy", tags=["policy"], responses=_errors())
async def policy(request: Request, who: Annotated[Caller, require_role(*ANY_ROLE)]) -> Response:
    """The rule set this server decides with: `shuangyong policy show --format json` with its packs."""
    return json_answer(await in_worker(request, service_of(request).policy))


@router.get("/policy/fingerprint", tags=["policy"], responses=_errors())
async def fingerprint(request: Request, who: Annotated[Caller, require_role(*ANY_ROLE)]) -> Response:
    """The packs this server decides with and their fingerprint, which every decision carries."""
    return json_answer(service_of(request).fingerprint())


# -- compliance ------------------------------------------------------------------------------

#: what both report routes take and answer
Standards = Annotated[list[str] | None, Query(description="standards packs by name; repeat to layer. "
                                                          "Default: seed-standards")]
AsOf = Annotated[dt.date | None, Query(description="report as of this day; default today, or the year's last "
                                                   "day for a past year")]
ReportFormat = Annotated[str, Query(description="json, md, html, or a report exporter a plugin adds")]
ReportLang = Annotated[Literal["zh", "en"], Query(description="the language of md and html")]
REPORT = {"description": "the report", "content": {"application/json": {}, "text/markdown": {}, "text/html": {}}}


@router.post("/compliance/report", tags=["compliance"], openapi_extra={"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the dossier, YAML or JSON, UTF-8"}},
    "application/json": {"schema": {"type": "object"}}}}}, responses={
    200: REPORT,
    **_errors(422)})
async def compliance_report(
        request: Request, who: Annotated[Caller, require_role("office", "auditor")],
        standards: Standards = None, as_of: AsOf = None, format: ReportFormat = "json",
        lang: ReportLang = "zh") -> Response:
    """Check the dossier in the body (YAML or JSON) against the standards: `shuangyong compliance
    report DOSSIER --format FORMAT`. For a dossier the office pages keep, GET
    `/v1/compliance/dossiers/{unit_id}/{year}/report`."""
    body = await request.body()
    answer = await in_worker(request, service_of(request).compliance, body, tuple(standards or ()), as_of, format,
                             lang)
    return answered(answer)


@router.get("/compliance/dossiers/{unit_id}/{year}/report", tags=["compliance"], responses={
    200: REPORT,
    **_errors(404, 422),
    403: {**_errors()[403], "description": "the token's role may not do this, or it is kept to another unit"}})
async def stored_compliance_report(
        request: Request, who: Annotated[Caller, require_role("office", "auditor")],
        unit_id: Annotated[str, Path(description="the unit's id in its dossier")],
        year: Annotated[int, Path(ge=1949, le=9999, description="the dossier's year")],
        standards: Standards = None, as_of: AsOf = None, format: ReportFormat = "json",
        lang: ReportLang = "zh") -> Response:
    """The same report for the dossier the office pages keep for the unit and year (its current
    records), as the page shows it: 404 if the office has none; 403 for an office token kept to
    another unit (whether or not that unit has a dossier)."""
    refused = unit_refused(who.unit, unit_id)
    if refused is not None:
        raise RequestError(refused, status=403, field="unit_id", value=unit_id)
    answer = await in_worker(request, service_of(request).stored_compliance, unit_id, year,
                             tuple(standards or ()), as_of, format, lang)
    return answered(answer)


# -- tokens and the audit log ----------------------------------------------------------------

class TokenRequest(BaseModel):
    """A token to make."""

    model_config = ConfigDict(extra="forbid")
    name: str
    role: Role
    unit: str | None = Field(default=None, description="an office token only: the unit id whose dossiers it "
                                                       "alone may see and edit; none, every unit's")


def _actor(request: Request, who: Caller) -> Actor:
    return Actor.of_request(request, who.name, who.role)


@router.get("/tokens", tags=["tokens"], responses=_errors())
async def tokens(request: Request, who: Annotated[Caller, require_role("admin")],
                 revoked: Annotated[bool, Query(description="list revoked tokens too")] = False) -> Response:
    """The tokens, never their secrets: `shuangyong server token list --format json`."""
    listed = await in_worker(request, list_tokens, service_of(request).store, revoked=revoked)
    return json_answer({"tokens": [token.as_dict() for token in listed]})


@router.post("/tokens", tags=["tokens"], status_code=201, responses=_errors(409, 422))
async def token_add(request: Request, who: Annotated[Caller, require_role("admin")], made: TokenRequest) -> Response:
    """Make a token; the answer holds its secret, which is shown this once and stored nowhere."""
    token, secret = await in_worker(request, add_token, service_of(request).store, made.name, made.role,
                                    _actor(request, who), unit=made.unit)
    return json_answer({**token.as_dict(), "secret": secret}, status=201)


@router.delete("/tokens/{name}", tags=["tokens"], responses=_errors(404))
async def token_revoke(request: Request, who: Annotated[Caller, require_role("admin")],
                       name: Annotated[str, Path(description="the token's name or id")]) -> Response:
    """Revoke a token: from now on it is refused (401). The row stays, for the audit log."""
    token = await in_worker(request, revoke_token, service_of(request).store, name, _actor(request, who))
    return json_answer(token.as_dict())


@router.get("/audit", tags=["tokens"], responses=_errors())
async def audit(request: Request, who: Annotated[Caller, require_role("admin", "auditor")],
                after: Annotated[int, Query(ge=0, description="entries after this seq")] = 0,
                limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> Response:
    """The audit log, oldest first: every posting and token change, who (token name and role),
    when (UTC), from where and in which request."""
    entries = await in_worker(request, service_of(request).store.audit_log, after=after, limit=limit)
    return json_answer({"entries": [entry.as_dict() for entry in entries]})


# -- health ----------------------------------------------------------------------------------

@router.get("/health", tags=["health"])
async def health() -> Response:
    """Whether the process answers: open to all, says nothing else (for a load balancer)."""
    return json_answer({"status": "ok"})


@router.get("/ready", tags=["health"], responses=_errors(503))
async def ready(request: Request, who: Annotated[Caller, require_role(*ANY_ROLE)]) -> Response:
    """Whether the server can work: its store answers and its ledger opens; the policy it decides with."""
    return json_answer(await in_worker(request, service_of(request).ready))
