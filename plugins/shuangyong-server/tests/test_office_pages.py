"""The office pages over HTTP, without a browser: who gets in (sessions, bearer tokens, revoked
tokens, CSRF, where a login may send one), which errors land at which input, escaping, and the
pages' refusals. The browser's own scenario is test_office_browser.py."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from shuangyong import plugins
from shuangyong.compliance.standards import StandardsSet
from shuangyong.policy import PolicySet
from shuangyong_server.office import DossierStore, NotFound, office_router
from shuangyong_server.office.auth import SESSION_COOKIE, SESSION_SECONDS, Sessions
from shuangyong_server.office.pages import ROLES_KEY
from shuangyong_server.office.server import office_for
from shuangyong_server.office.testing import UNIT, YEAR, Sample, running, sample_server
from shuangyong_server.tokens import Actor, revoke_token

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[3]
DOSSIER = {"unit": UNIT, "year": str(YEAR)}
MEETING = {**DOSSIER, "kind": "meeting", "id": "lg-q3", "type": "leading_group", "date": "2026-09-18"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Sample, httpx.Client]]:
    """A fresh sample server, serving, and a client that does not follow redirects."""
    sample = sample_server(tmp_path, ROOT / "examples")
    with running(sample.app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield sample, client


def bearer(sample: Sample, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sample.tokens[role]}"}


def field_error(page: str, name: str) -> str:
    """The error shown under one input, or "" when it has none."""
    pattern = rf'<div class="field invalid" id="field-{re.escape(name)}">.*?<div class="error"[^>]*>(.*?)</div>'
    found = re.search(pattern, page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_every_office_route_says_which_roles_it_admits(server: tuple[Sample, httpx.Client]) -> None:
    sample, _ = server
    routes = [route for route in office_for(sample.app.state.service).routes if isinstance(route, APIRoute)]
    roles = {(method, route.path): tuple((route.openapi_extra or {}).get(ROLES_KEY, ()))
             for route in routes for method in route.methods}
    assert 17 == len(routes) == len(roles)
    assert [] == [key for key, admitted in roles.items() if not admitted]
    assert ("admin", "auditor") == roles[("GET", "/office/ledger")]
    assert ("admin", "office") == roles[("POST", "/office/record/new")]
    assert ("admin", "auditor", "office") == roles[("GET", "/office/report")]
    assert {("GET", "/office/login"), ("POST", "/office/login"), ("POST", "/office/logout")} == \
        {key for key, admitted in roles.items() if admitted == ("public",)}


def test_a_session_cookie_logs_in_until_the_token_is_revoked(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    answer = client.get("/office/report", params=DOSSIER)
    assert 303 == answer.status_code
    assert answer.headers["location"].startswith("/office/login?next=%2Foffice%2Freport%3Funit%3D")
    login = client.post("/office/login", data={"token": sample.tokens["office"], "next": "/office/"})
    assert (303, "/office/") == (login.status_code, login.headers["location"])
    cookie = login.headers["set-cookie"]
    assert all(flag in cookie.lower() for flag in ("httponly", "samesite=strict", "path=/office",
                                                   f"max-age={SESSION_SECONDS}"))
    assert sample.tokens["office"] not in cookie.split(";")[0]  # signed and encoded, not the token as typed
    assert 200 == client.get("/office/report", params=DOSSIER).status_code
    revoke_token(sample.app.state.service.store, "王芳", Actor("tests", "admin", "revoke"))
    assert 303 == client.get("/office/report", params=DOSSIER).status_code  # revoked: logged out at once
    assert 303 == client.get("/office/report", params=DOSSIER, headers=bearer(sample, "office")).status_code


@pytest.mark.parametrize("path", ["/office/", "/office/report", "/office/notice"])
def test_a_his_token_opens_no_page_even_as_a_bearer_token(server: tuple[Sample, httpx.Client], path: str) -> None:
    sample, client = server
    answer = client.get(path, params=DOSSIER, headers=bearer(sample, "his"))
    assert 403 == answer.status_code
    assert "“HIS 接口”角色不能查看此页面" in answer.text
    assert "示例市人民医院" not in answer.text  # nothing of the dossier shown


def test_a_session_cookie_that_was_altered_or_is_old_is_refused() -> None:
    now = [1_000_000.0]
    sessions = Sessions(b"k" * 32, clock=lambda: now[0])
    cookie = sessions.issue("sy_token")
    assert "sy_token" == sessions.token(cookie)
    payload, mac = cookie.split(".")
    assert sessions.token(f"{payload}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") is None
    assert sessions.token(f"{payload[:-2]}.{mac}") is None
    assert Sessions(b"x" * 32, clock=lambda: now[0]).token(cookie) is None  # another server's secret
    assert sessions.token("not a cookie") is None and sessions.token(None) is None
    assert sessions.csrf_ok(cookie, sessions.csrf(cookie))
    assert not sessions.csrf_ok(cookie, sessions.csrf(sessions.issue("other"))) and not sessions.csrf_ok(cookie, None)
    now[0] += SESSION_SECONDS - 1
    assert "sy_token" == sessions.token(cookie)
    now[0] += 1
    assert sessions.token(cookie) is None


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/office", "/v1/audit",
                                    "/office\\..\\evil"])
def test_a_login_never_sends_one_elsewhere(server: tuple[Sample, httpx.Client], target: str) -> None:
    sample, client = server
    login = client.post("/office/login", data={"token": sample.tokens["office"], "next": target})
    assert "/office/" == login.headers["location"]


def test_a_script_with_a_bearer_token_needs_no_csrf_value(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    answer = client.post("/office/record/new", data=MEETING, headers=bearer(sample, "office"))
    assert 303 == answer.status_code, answer.text
    assert answer.headers["location"] == f"/office/dossier?unit={UNIT}&year={YEAR}&saved=lg-q3#meeting"
    assert "王芳" == sample.store.history(UNIT, YEAR, "lg-q3")[0].author  # the token's name


def test_what_the_dossier_holds_is_escaped(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    sample.store.add(UNIT, YEAR, {**{k: v for k, v in MEETING.items() if k not in DOSSIER},
                                  "title": '<script>alert("x")</script>'}, "王芳")
    for path in ("/office/dossier", "/office/record"):
        page = client.get(path, params={**DOSSIER, "id": "lg-q3"}, headers=bearer(sample, "office")).text
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_a_new_dossier_form_shows_each_error_at_its_input(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    form = {"id": "U1", "name.zh": "甲医院", "name.en": "Hospital A", "kind": "hospital", "year": "20x6"}
    answer = client.post("/office/dossiers", data=form, headers=bearer(sample, "office"))
    assert 422 == answer.status_code
    assert "应为整数，收到 '20x6'" in field_error(answer.text, "year")
    assert 'value="甲医院"' in answer.text  # what was typed stays
    answer = client.post("/office/dossiers", data={**form, "year": "2027", "name.en": ""},
                         headers=bearer(sample, "office"))
    assert field_error(answer.text, "name.en")
    assert [UNIT] == [d.unit_id for d in sample.store.dossiers()]
    answer = client.post("/office/dossiers", data={**form, "id": UNIT, "year": "2026"},
                         headers=bearer(sample, "office"))
    assert 422 == answer.status_code and f"单位 {UNIT!r} 已有 2026 年的档案" in field_error(answer.text, "id")
    answer = client.post("/office/dossiers", data={**form, "year": "2027"}, headers=bearer(sample, "office"))
    assert (303, "/office/dossier?unit=U1&year=2027") == (answer.status_code, answer.headers["location"])
    assert "王芳" == sample.store.head("U1", 2027).author


def test_a_stale_edit_form_is_refused_and_writes_nothing(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    record = {k: v for k, v in MEETING.items() if k not in DOSSIER}
    sample.store.add(UNIT, YEAR, record, "王芳")
    sample.store.edit(UNIT, YEAR, {**record, "attendees": 7}, "李红")
    answer = client.post("/office/record", data={**MEETING, "attendees": "9", "version": "1"},
                         headers=bearer(sample, "office"))
    assert 422 == answer.status_code
    assert "已被 李红 于" in answer.text and "改为第 2 版" in answer.text
    assert '<input type="hidden" name="version" value="1">' in answer.text  # sent again, refused again
    assert [None, 7] == [v.record.get("attendees") for v in sample.store.history(UNIT, YEAR, "lg-q3")]


@pytest.mark.parametrize(("path", "params", "status", "said"), [
    ("/office/record/new", {**DOSSIER, "kind": "picnic"}, 404, "没有 'picnic' 这类记录"),
    ("/office/report/download", {**DOSSIER, "format": "doc"}, 404, "没有名为 'doc' 的报告格式（可用：html, json, md"),
    ("/office/dossier", {"unit": "NOPE", "year": "2026"}, 404, "没有单位 'NOPE' 2026 年的档案"),
    ("/office/dossier", {"unit": UNIT}, 400, "缺少单位或年度"),
    ("/office/record", {**DOSSIER, "id": "nope"}, 404, "档案中没有编号为 'nope' 的记录"),
    ("/office/report", {**DOSSIER, "as_of": "2026-11-31"}, 422, "日期 2026-11-31 不存在"),
    ("/office/notice", {**DOSSIER, "region": "990000"}, 422, "99 不是任何省级行政区的代码"),
    ("/office/ledger", {"month": "2026-3"}, 422, "月份应为 YYYY-MM"),
])
def test_a_page_that_cannot_be_shown_says_why(server: tuple[Sample, httpx.Client], path: str,
                                              params: dict[str, str], status: int, said: str) -> None:
    sample, client = server
    answer = client.get(path, params=params, headers=bearer(sample, "admin"))
    assert status == answer.status_code
    assert said in answer.text.replace("&#39;", "'")


def test_english_is_chosen_once_and_remembered(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    answer = client.get("/office/report", params={**DOSSIER, "lang": "en"}, headers=bearer(sample, "office"))
    assert "shuangyong_lang=en" in answer.headers["set-cookie"]
    assert "overall score" in answer.text and "总得分" not in answer.text
    again = client.get("/office/dossier", params=DOSSIER, headers=bearer(sample, "office"))
    assert "Recent changes" in again.text
    assert "最近的修改" in client.get("/office/dossier", params={**DOSSIER, "lang": "zh"},
                                       headers=bearer(sample, "office")).text


def test_the_router_stands_alone_and_says_when_no_ledger_is_configured(tmp_path: Path) -> None:
    """office_router over a store of its own and a plain ``authenticate``: what a host other than
    ``shuangyong serve`` would include."""
    store = DossierStore.sqlite(tmp_path / "office.db")
    standards = StandardsSet.load(["seed-standards"], named=plugins.collect("register_standards"),
                                  kinds=plugins.check_kinds())
    people: dict[str, tuple[str, str]] = {"t-auditor": ("审计", "auditor")}
    app = FastAPI()
    app.include_router(office_router(lambda: store, people.get, standards,
                                     PolicySet.load(["seed-example"], plugins.registry()), secret=b"s" * 32))
    with running(app) as base, httpx.Client(base_url=base) as client:
        login = client.post("/office/login", data={"token": "t-auditor"})
        assert SESSION_COOKIE in login.headers["set-cookie"]
        answer = client.get("/office/ledger")
        assert 503 == answer.status_code and "服务器未配置台帐" in answer.text
        assert "还没有档案" in client.get("/office/").text
        with pytest.raises(NotFound):
            store.head(UNIT, YEAR)


def test_a_dossier_record_links_its_history(server: tuple[Sample, httpx.Client]) -> None:
    sample, client = server
    page = client.get("/office/dossier", params=DOSSIER, headers=bearer(sample, "office")).text
    links = set(re.findall(r'href="/office/record\?unit=[^&]+&amp;year=2026&amp;id=([^"]+)"', page))
    assert {v.record_id for v in sample.store.records(UNIT, YEAR)} == links
