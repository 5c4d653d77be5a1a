"""The server answers the JSON contract byte for byte as the command line writes it, for the same
input: decisions (one visit, an array, JSON Lines streamed, an insured visit, bad records, another
encoding), explanations, postings, and the ledger's, policy's and compliance's JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from serving import EXAMPLES, Server, cli, unique

from shuangyong.limits import ENCODINGS
from shuangyong_server.api import Encoding
from shuangyong_server.office import DossierStore
from shuangyong_server.store import ServerStore

VISIT = EXAMPLES / "visit.json"
VISITS = EXAMPLES / "visits.jsonl"
INSURED = EXAMPLES / "insured-visit.json"
BAD = EXAMPLES / "bad_visits.jsonl"


def array_of(path: Path, folder: Path) -> Path:
    """The visits of a JSON Lines file as one JSON array, in a file of their own."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line that is not JSON cannot be an element
    target = folder / f"{path.stem}.array.json"
    target.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def one_bad_visit(folder: Path) -> Path:
    """The first bad record of bad_visits.jsonl (a float amount) alone, as a JSON document."""
    target = folder / "bad.json"
    target.write_text(BAD.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    return target


CASES = {  # name → (input file maker, CLI options and query parameters, HTTP status, CLI exit status)
    "one visit": (lambda folder: VISIT, {}, 200, 0),
    "JSON Lines": (lambda folder: VISITS, {}, 200, 0),
    "JSON Lines as a JSON array": (lambda folder: VISITS, {"format": "json"}, 200, 0),
    "one visit as JSON Lines": (lambda folder: VISIT, {"format": "jsonl"}, 200, 0),
    "an array": (lambda folder: array_of(VISITS, folder), {}, 200, 0),
    "an insured visit": (lambda folder: INSURED, {}, 200, 0),
    "bad records among good ones": (lambda folder: BAD, {}, 200, 2),
    "bad records in an array": (lambda folder: array_of(BAD, folder), {}, 200, 2),
    "one bad visit": (one_bad_visit, {}, 422, 2),
}


@pytest.mark.parametrize("case", CASES)
def test_evaluate_is_the_command_lines_bytes(api_server: Server, tmp_path: Path, case: str) -> None:
    make, options, status, code = CASES[case]
    source = make(tmp_path)
    flags = [f"--{name}={value}" for name, value in options.items()]
    expected = cli("evaluate", str(source), *flags)
    assert code == expected.returncode, expected.stderr
    answer = api_server.request("POST", "/v1/evaluate", content=source.read_bytes(), params=options)
    assert status == answer.status_code, answer.text
    assert expected.stdout == answer.content
    lines = not expected.stdout.startswith((b"{\n", b"[\n"))  # compact: JSON Lines (a one-line visit is one)
    assert answer.headers["content-type"] == ("application/x-ndjson; charset=utf-8" if lines
                                              else "application/json; charset=utf-8")


def test_a_bad_visit_is_answered_with_the_error_object_the_command_line_writes(api_server: Server,
                                                                               tmp_path: Path) -> None:
    answer = api_server.request("POST", "/v1/evaluate", content=one_bad_visit(tmp_path).read_bytes())
    assert 422 == answer.status_code
    assert {"visit_id": "B01", "error": {
        "type": "MoneyError", "record": "B01", "field": "lines[0].amount",
        "message": {"zh": "金额不能是浮点数（收到 12.5），请以字符串传入，如 \"12.35\"",
                    "en": "amount must not be a float (got 12.5); send it as a string such as \"12.35\""}}} \
        == answer.json()
    assert "1" == answer.headers["shuangyong-refused"]


@pytest.mark.parametrize("case", ["one visit", "JSON Lines", "bad records among good ones", "an insured visit"])
def test_explain_is_the_command_lines_bytes(api_server: Server, tmp_path: Path, case: str) -> None:
    source = CASES[case][0](tmp_path)
    expected = cli("explain", "--format", "json", str(source))
    answer = api_server.request("POST", "/v1/explain", content=source.read_bytes())
    assert (200, expected.stdout) == (answer.status_code, answer.content)


def test_another_encoding_is_read_as_the_command_line_reads_it(api_server: Server, tmp_path: Path) -> None:
    source = tmp_path / "visit.gb18030.json"
    source.write_bytes(VISIT.read_text(encoding="utf-8").encode("gb18030"))
    expected = cli("evaluate", "--encoding", "gb18030", str(source))
    answer = api_server.request("POST", "/v1/evaluate", content=source.read_bytes(), params={"encoding": "gb18030"})
    assert (0, 200) == (expected.returncode, answer.status_code)
    assert expected.stdout == answer.content
    as_utf8 = api_server.request("POST", "/v1/evaluate", content=source.read_bytes())
    refused = cli("evaluate", str(source))
    assert (400, 2) == (as_utf8.status_code, refused.returncode)  # a JSON document not in UTF-8: refused whole
    message = as_utf8.json()["error"]["message"]["en"]
    assert "is not valid utf-8" in message and message in refused.stderr.decode()


def test_the_encodings_offered_are_the_librarys() -> None:
    assert ENCODINGS == get_args(Encoding)


def test_evaluate_and_post_is_evaluate_post_byte_for_byte(start_api_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = start_api_server()
    ledger = f"sqlite:///{tmp_path / 'cli-ledger.db'}"
    for source in (VISITS, BAD, VISIT):
        expected = cli("evaluate", str(source), "--post", "--ledger", ledger)
        answer = server.request("POST", "/v1/evaluate-and-post", content=source.read_bytes())
        assert 200 == answer.status_code, answer.text
        assert expected.stdout == answer.content
    exported = [cli("ledger", "export", "--ledger", url).stdout for url in (ledger, server.ledger_url or "")]
    same = [[{k: v for k, v in json.loads(line).items() if k not in ("posted_at", "hash", "prev_hash")}
             for line in rows.splitlines()] for rows in exported]
    assert same[0] == same[1] and len(same[0]) > 10
    answer = server.request("GET", "/v1/ledger/export", "auditor")
    assert exported[1] == answer.content  # what the command line exports of the server's own ledger
    csv = server.request("GET", "/v1/ledger/export", "auditor", params={"format": "csv"})
    assert cli("ledger", "export", "--format", "csv", "--ledger", server.ledger_url or "").stdout == csv.content
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    verify = cli("ledger", "verify", "--format", "json", "--ledger", server.ledger_url or "")
    answer = server.request("GET", "/v1/ledger/verify", "auditor")
    assert (0, 200, verify.stdout) == (verify.returncode, answer.status_code, answer.content)
    head = cli("ledger", "head", "--format", "json", "--ledger", server.ledger_url or "")
    assert json.loads(head.stdout) == server.request("GET", "/v1/ledger/head", "auditor").json()


@pytest.mark.parametrize(("path", "role", "command"), [
    ("/v1/ledger/export", "auditor", ("ledger", "export", "--ledger", "sqlite:///{folder}/ledger.db")),
    ("/v1/compliance/dossiers/H-450300-001/2026/report", "office",
     ("compliance", "report", str(EXAMPLES / "dossier.yaml"))),
])
def test_an_unknown_format_is_refused_in_the_command_lines_words(api_server: Server, path: str, role: str,
                                                                  command: tuple[str, ...]) -> None:
    answer = api_server.request("GET", path, role, params={"format": "docx"})
    assert 422 == answer.status_code, answer.text
    error = answer.json()["error"]
    refused = cli("--lang", "en", *(part.format(folder=api_server.folder) for part in command), "--format", "docx")
    assert ("format", 2) == (error["field"], refused.returncode)
    assert error["message"]["en"] in refused.stderr.decode()


def test_verify_of_an_empty_ledger_says_so_as_the_command_line_does(start_api_server) -> None:  # type: ignore[no-untyped-def]
    server = start_api_server()
    verify = cli("ledger", "verify", "--format", "json", "--ledger", server.ledger_url or "")
    answer = server.request("GET", "/v1/ledger/verify", "auditor")
    assert (2, verify.stdout) == (verify.returncode, answer.content)
    assert not answer.json()["ok"]
    genesis = "0:" + "0" * 64
    assert cli("ledger", "verify", "--format", "json", "--expect-head", genesis, "--ledger",
               server.ledger_url or "").stdout \
        == server.request("GET", "/v1/ledger/verify", "auditor", params={"expect_head": genesis}).content
    bad = server.request("GET", "/v1/ledger/verify", "auditor", params={"expect_head": "12"})
    assert (422, "expect_head") == (bad.status_code, bad.json()["error"]["field"])


@pytest.mark.parametrize("packs", [(), ("seed-example",), ("cn-national",)])
def test_policy_show_is_the_command_lines_json(api_server: Server, packs: tuple[str, ...]) -> None:
    expected = cli("policy", "show", "--format", "json", *[f"--policy={pack}" for pack in packs])
    path = f"/v1/policies/{packs[0]}" if packs else "/v1/policy"
    assert expected.stdout == api_server.request("GET", path, "office").content


def test_policy_list_and_fingerprint(api_server: Server) -> None:
    listed = api_server.request("GET", "/v1/policies", "auditor").json()["policies"]
    names = [entry["pack"] for entry in listed]
    assert {"cn-national", "seed-example"} <= set(names) and names == sorted(names)
    seed = next(entry for entry in listed if entry["pack"] == "seed-example")
    assert ["cn-national"] == seed["extends"] and seed["rules"] > 0 and seed["title"]["zh"]
    fingerprint = api_server.request("GET", "/v1/policy/fingerprint", "his").json()
    decided = api_server.request("POST", "/v1/evaluate", content=VISIT.read_bytes())
    assert fingerprint["fingerprint"] == decided.json()["policy"] == decided.headers["shuangyong-policy"]
    assert ["cn-national", "seed-example"] == fingerprint["packs"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "examples/reform-bed-waiver.yaml", "no-such-pack"])
def test_a_pack_is_named_never_read_from_a_path(api_server: Server, name: str) -> None:
    answer = api_server.request("GET", f"/v1/policies/{name}", "his")
    assert 404 == answer.status_code
    if "/" not in name:
        assert {"zh": f"没有名为 {name!r} 的政策包", "en": f"no policy pack is named {name!r}"} \
            == answer.json()["error"]["message"]


@pytest.mark.parametrize(("fmt", "lang"), [("json", "zh"), ("md", "zh"), ("md", "en"), ("html", "en")])
def test_compliance_report_is_the_command_lines(api_server: Server, fmt: str, lang: str) -> None:
    dossier = EXAMPLES / "dossier.yaml"
    expected = cli("--lang", lang, "compliance", "report", str(dossier), "--as-of", "2026-11-30", "--format", fmt)
    assert 0 == expected.returncode, expected.stderr
    answer = api_server.request("POST", "/v1/compliance/report", "office", content=dossier.read_bytes(),
                                params={"as_of": "2026-11-30", "format": fmt, "lang": lang})
    assert (200, expected.stdout) == (answer.status_code, answer.content)


@pytest.mark.parametrize(("fmt", "lang"), [("json", "zh"), ("md", "en")])
def test_a_stored_dossiers_report_is_the_command_lines_on_its_export(api_server: Server, tmp_path: Path,
                                                                     fmt: str, lang: str) -> None:
    """The office pages' dossier, reported over the API, is the report of the file it exports."""
    dossiers = DossierStore.beside(ServerStore(api_server.store_url))
    head = next((h for h in dossiers.dossiers() if (h.unit_id, h.year) == ("H-450300-001", 2026)), None)
    if head is None:
        dossiers.import_text((EXAMPLES / "dossier.yaml").read_text(encoding="utf-8"), "dossier.yaml", "tests")
    exported = tmp_path / "exported.json"
    exported.write_text(json.dumps(dossiers.export("H-450300-001", 2026), ensure_ascii=False), encoding="utf-8")
    expected = cli("--lang", lang, "compliance", "report", str(exported), "--as-of", "2026-11-30", "--format", fmt)
    assert 0 == expected.returncode, expected.stderr
    answer = api_server.request("GET", "/v1/compliance/dossiers/H-450300-001/2026/report", "auditor",
                                params={"as_of": "2026-11-30", "format": fmt, "lang": lang})
    assert (200, expected.stdout) == (answer.status_code, answer.content)


def test_a_dossier_the_office_does_not_keep_is_404(api_server: Server) -> None:
    answer = api_server.request("GET", "/v1/compliance/dossiers/no-such-unit/2026/report", "office")
    assert 404 == answer.status_code, answer.text
    assert "no-such-unit" in answer.json()["error"]["message"]["en"]
    too_early = api_server.request("GET", "/v1/compliance/dossiers/H-450300-001/1066/report", "office")
    assert 422 == too_early.status_code


def test_a_bad_dossier_is_422_naming_the_record(api_server: Server) -> None:
    text = (EXAMPLES / "dossier.yaml").read_text(encoding="utf-8").replace("year: 2026", "year: twenty")
    answer = api_server.request("POST", "/v1/compliance/report", "auditor", content=text.encode())
    assert 422 == answer.status_code, answer.text
    error = answer.json()["error"]
    assert ("DossierError", "year") == (error["type"], error["field"])
    unknown = api_server.request("POST", "/v1/compliance/report", "auditor", content=text.encode(),
                                 params={"standards": "no-such-standards"})
    assert (422, "standards") == (unknown.status_code, unknown.json()["error"]["field"])
    no_format = api_server.request("POST", "/v1/compliance/report", "auditor", content=b"{}",
                                   params={"format": "docx"})
    assert (422, "format") == (no_format.status_code, no_format.json()["error"]["field"])


def test_json_lines_stream_in_order(api_server: Server) -> None:
    """Many visits in, each answer in input order, streamed (no Content-Length: chunked)."""
    base = json.loads(VISIT.read_text(encoding="utf-8"))
    ids = [unique("S") for _ in range(200)]
    body = "".join(json.dumps({**base, "visit_id": visit_id}, ensure_ascii=False) + "\n" for visit_id in ids)
    with api_server.client.stream("POST", "/v1/evaluate", content=body.encode(), headers=api_server.headers("his")) \
            as answer:
        assert "content-length" not in answer.headers
        lines = [json.loads(line) for line in answer.iter_lines() if line]
    assert ids == [line["visit_id"] for line in lines]
