"""Office tokens kept to one unit, and what the office's changes write to the audit log.

A hospital's 双拥 office holds a token kept to its unit: the office pages list and open that
unit's dossiers only, every page and form about another unit (existing or not) is 403 in zh and
en with nothing written, and so is the API's report of a stored dossier. An office token without
a unit (a health bureau's) sees every unit. Every change made on the pages is audited with the
caller's role, request id and address, as an API change is."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from serving import Server, unique

from shuangyong_server.office import DossierStore
from shuangyong_server.office.testing import UNIT, YEAR, Sample, running, sample_server
from shuangyong_server.store import ServerStore
from shuangyong_server.tokens import Actor, add_token

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dossier.yaml"
OTHER = "H-450300-002"
OTHER_UNIT = {"id": OTHER, "name": {"zh": "示例市第二医院", "en": "Example City Second Hospital"}, "kind": "hospital",
              "region": "450300"}
MEETING = {"kind": "meeting", "id": "lg-q3", "type": "leading_group", "date": "2026-09-18"}
REFUSED = {"zh": f"此令牌仅限单位 {UNIT} 的档案，不能查看或修改单位 {OTHER} 的档案",
           "en": f"this token is kept to the dossiers of unit {UNIT}: it cannot see or change those of unit {OTHER}"}
#: every page about a unit's dossier, with what else it needs to be shown
PAGES = [("/office/dossier", {}), ("/office/export", {}), ("/office/record/new", {"kind": "meeting"}),
         ("/office/record", {"id": "lg-q1"}), ("/office/report", {}), ("/office/report/download", {"format": "json"}),
         ("/office/notice", {})]
#: every form that writes a record, filled in as it would be for a record of the other unit
FORMS = [("/office/record/new", {**MEETING, "id": "lg-q3b"}),
         ("/office/record", {**MEETING, "attendees": "9", "version": "1"}),
         ("/office/record/retire", {"id": "lg-q3", "version": "1"})]
Office = tuple[Sample, httpx.Client, str]


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    """The sample server with a second unit's dossier beside the first, and the token of 陈干事,
    kept to the first unit; 王芳's office token (the sample's) sees every unit."""
    sample = sample_server(tmp_path, ROOT / "examples")
    sample.store.create(OTHER_UNIT, YEAR, "示例导入")
    sample.store.add(OTHER, YEAR, MEETING, "示例导入")
    _, kept = add_token(sample.app.state.service.store, "陈干事", "office", Actor("tests", None, "setup"), unit=UNIT)
    with running(sample.app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield sample, client, kept


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def written(sample: Sample) -> tuple[int, ...]:
    """How many audit entries, dossier versions and record versions the server's file holds."""
    with sample.app.state.service.store.reading() as connection:
        return tuple(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                     for table in ("audit_log", "office_dossier_versions", "office_record_versions"))


def test_the_list_shows_the_tokens_unit_alone(office: Office) -> None:
    sample, client, kept = office
    page = client.get("/office/", headers=bearer(kept)).text
    assert "示例市人民医院" in page and "示例市第二医院" not in page and OTHER not in page
    assert f"单位 {UNIT}" in page  # the top bar says which unit the token is kept to
    assert f'<input id="in-id" type="text" name="id" value="{UNIT}">' in page  # a new dossier is of that unit
    bureau = client.get("/office/", headers=bearer(sample.tokens["office"])).text
    assert "示例市人民医院" in bureau and "示例市第二医院" in bureau


@pytest.mark.parametrize(("path", "params"), PAGES, ids=[path for path, _ in PAGES])
def test_every_page_of_another_unit_is_403_and_the_tokens_own_unit_opens(office: Office, path: str,
                                                                         params: dict[str, str]) -> None:
    sample, client, kept = office
    for lang in ("zh", "en"):
        answer = client.get(path, params={"unit": OTHER, "year": str(YEAR), "lang": lang, **params},
                            headers=bearer(kept))
        assert 403 == answer.status_code, answer.text
        assert REFUSED[lang] in html.unescape(answer.text)
        assert "示例市第二医院" not in answer.text and "Second Hospital" not in answer.text
    missing = client.get(path, params={"unit": "NO-SUCH-UNIT", "year": str(YEAR), "lang": "zh", **params},
                         headers=bearer(kept))
    assert 403 == missing.status_code  # refused before the dossier is looked up: 404 would say it does not exist
    assert "不能查看或修改单位 NO-SUCH-UNIT 的档案" in missing.text
    own = client.get(path, params={"unit": UNIT, "year": str(YEAR), **params}, headers=bearer(kept))
    assert 200 == own.status_code, own.text
    bureau = client.get(path, params={"unit": OTHER, "year": str(YEAR), **params},
                        headers=bearer(sample.tokens["office"]))
    assert 403 != bureau.status_code  # an office token without a unit (王芳's) opens any unit's


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[path for path, _ in FORMS])
def test_every_form_of_another_unit_is_403_and_writes_nothing(office: Office, path: str, form: dict[str, str]) -> None:
    sample, client, kept = office
    before = written(sample)
    answer = client.post(path, data={**form, "unit": OTHER, "year": str(YEAR)}, headers=bearer(kept))
    assert 403 == answer.status_code, answer.text
    assert REFUSED["zh"] in html.unescape(answer.text)
    assert before == written(sample)
    assert [1] == [v.version for v in sample.store.history(OTHER, YEAR, "lg-q3")]
    bureau = client.post(path, data={**form, "unit": OTHER, "year": str(YEAR)}, headers=bearer(sample.tokens["office"]))
    assert 303 == bureau.status_code, bureau.text  # the same form from a token without a unit is saved


def test_a_dossier_of_another_unit_is_neither_started_nor_imported(office: Office) -> None:
    sample, client, kept = office
    before = written(sample)
    start = {"id": OTHER, "name.zh": "甲医院", "name.en": "Hospital A", "kind": "hospital", "year": "2027"}
    answer = client.post("/office/dossiers", data=start, headers=bearer(kept))
    assert 403 == answer.status_code
    assert '<div class="field invalid" id="field-id">' in answer.text and REFUSED["zh"] in html.unescape(answer.text)
    other_file = EXAMPLE.read_text(encoding="utf-8").replace(f"id: {UNIT}", f"id: {OTHER}")
    answer = client.post("/office/import", files={"file": ("other.yaml", other_file.encode())}, headers=bearer(kept))
    assert 403 == answer.status_code
    assert 'id="import-error"' in answer.text and REFUSED["zh"] in html.unescape(answer.text)
    assert before == written(sample)
    assert ["lg-q3"] == [v.record_id for v in sample.store.records(OTHER, YEAR)]
    started = client.post("/office/dossiers", data={**start, "id": UNIT}, headers=bearer(kept))
    assert (303, f"/office/dossier?unit={UNIT}&year=2027") == (started.status_code, started.headers["location"])
    imported = client.post("/office/import", files={"file": ("own.yaml", EXAMPLE.read_bytes())}, headers=bearer(kept))
    assert 303 == imported.status_code, imported.text


def test_a_change_on_the_pages_is_audited_with_its_role_and_request_id(office: Office) -> None:
    sample, client, kept = office
    added = client.post("/office/record/new", data={**MEETING, "unit": UNIT, "year": str(YEAR)},
                        headers={**bearer(kept), "X-Request-ID": "desk-0001"})
    assert (303, "desk-0001") == (added.status_code, added.headers["x-request-id"])
    # a person, logged in with a session cookie; the server makes the request's id
    client.post("/office/login", data={"token": sample.tokens["office"]})
    form = client.get("/office/record", params={"unit": OTHER, "year": str(YEAR), "id": "lg-q3"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    retired = client.post("/office/record/retire", data={"unit": OTHER, "year": str(YEAR), "id": "lg-q3",
                                                         "version": "1", "csrf": csrf[1]})
    assert 303 == retired.status_code, retired.text
    entries = [(e.actor, e.role, e.action, e.request_id, e.client)
               for e in sample.app.state.service.store.audit_log()[-2:]]
    assert [("陈干事", "office", "office.record.add", "desk-0001", "127.0.0.1"),
            ("王芳", "office", "office.record.retire", retired.headers["x-request-id"], "127.0.0.1")] == entries


def test_a_store_audits_its_authors_role_and_request_id_and_makes_one_for_a_name(tmp_path: Path) -> None:
    server = ServerStore(f"sqlite:///{tmp_path / 'server.db'}")
    store = DossierStore.beside(server)
    store.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "seed")
    store.add(UNIT, YEAR, MEETING, Actor("王芳", "office", "req-1", "10.0.0.7"))
    seed, added = server.audit_log()
    assert ("seed", None, None, True) == (seed.actor, seed.role, seed.client, seed.request_id.startswith("office-"))
    assert ("王芳", "office", "req-1", "10.0.0.7") == (added.actor, added.role, added.request_id, added.client)
    assert "王芳" == store.history(UNIT, YEAR, "lg-q3")[0].author


def test_the_apis_report_of_a_stored_dossier_is_kept_to_the_tokens_unit(api_server: Server) -> None:
    """Through the real ``shuangyong serve``: the token of a unit gets its own report, and 403 for
    any other unit's (existing or not), with nothing written."""
    dossiers = DossierStore.beside(ServerStore(api_server.store_url))
    if not any(head.year == YEAR for head in dossiers.dossiers(UNIT)):
        dossiers.import_text(EXAMPLE.read_text(encoding="utf-8"), "dossier.yaml", "tests")
    made = api_server.request("POST", "/v1/tokens", "admin", json={"name": unique("陈干事-"), "role": "office",
                                                                   "unit": UNIT})
    assert 201 == made.status_code, made.text
    kept = bearer(made.json()["secret"])
    entries = len(api_server.audit())
    own = api_server.client.get(f"/v1/compliance/dossiers/{UNIT}/{YEAR}/report", headers=kept)
    assert (200, UNIT) == (own.status_code, own.json()["unit"]["id"]), own.text
    other = api_server.client.get(f"/v1/compliance/dossiers/{OTHER}/{YEAR}/report", headers=kept)
    assert 403 == other.status_code
    assert {"type": "RequestError", "record": None, "field": "unit_id", "message": REFUSED} == other.json()["error"]
    missing = api_server.client.get(f"/v1/compliance/dossiers/no-such-unit/{YEAR}/report", headers=kept)
    assert (403, "unit_id") == (missing.status_code, missing.json()["error"]["field"])
    bureau = api_server.request("GET", f"/v1/compliance/dossiers/{UNIT}/{YEAR}/report", "office")
    assert 200 == bureau.status_code  # an office token without a unit reads every unit's
    assert entries == len(api_server.audit())
