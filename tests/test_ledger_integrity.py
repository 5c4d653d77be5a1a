"""The ledger never misgrants, never grants twice and never answers with a raw database error
(issue 14, defects 6, 9–13 and 17): every case on the memory, SQLite, PostgreSQL and MariaDB
ledgers, through the library and through the ``shuangyong`` command."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.errors import LedgerError
from shuangyong.ledger import Ledger, MemoryLedger, PostingRequest, SQLiteLedger, verify
from shuangyong.ledger.posting import GENESIS, MAX_FEN, PLAIN, Posting, pseudonym_identity, seal
from shuangyong.plugins import open_ledger
from shuangyong.testing.prerequisites import missing

from .test_cli import good_visit, jsonl

FP = "sha256:0123456789abcdef"
FP2 = "sha256:fedcba9876543210"
DAY = dt.date(2026, 3, 2)
BACKENDS = ["memory", "sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"]
URL_BACKENDS = ["sqlite", "sql:postgresql", "sql:mariadb"]


def _sql_testing() -> Any:
    """The SQL plugin's throwaway databases (it fails or skips an unreachable server itself)."""
    try:
        import shuangyong_sql.testing as sql_testing
    except ImportError:
        missing("shuangyong-sql is not installed")
    return sql_testing


@pytest.fixture
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger URL of the backend named by the test's ``backend`` parameter."""
    backend = request.node.callspec.params["backend"]
    if backend == "memory":
        yield "memory:"
    elif backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        with _sql_testing().scratch_url(backend.removeprefix("sql:"), tmp_path) as url:
            yield url


@pytest.fixture
def ledger(scratch: str) -> Iterator[Ledger]:
    with open_ledger(scratch) as opened:
        yield opened


def request(line: str = "1", *, visit_id: str = "V1", requested: int = 500, amount: int = 1000,
            **changes: Any) -> PostingRequest:
    fields = dict(visit_id=visit_id, line_id=line, rule_id="r1", fingerprint=FP, patient_key="P1",
                  item="bed", business_date=DAY, amount_fen=amount, requested_fen=requested, year_cap_fen=None)
    fields.update(changes)
    return PostingRequest(**fields)


def rows(ledger: Ledger) -> list[tuple[int, str, str, int]]:
    return [(p.seq, p.kind, p.visit_id, p.granted_fen) for p in ledger.postings()]


def run(*args: str, stdin: str | None = None, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, *args], input=stdin)


def post(url: str, *visits: object, extra: tuple[str, ...] = ()) -> Any:
    return run("evaluate", "--post", "--ledger", url, *extra, "-", stdin=jsonl(*visits))


def exported(url: str) -> list[dict[str, Any]]:
    result = run("ledger", "export", "--ledger", url)
    assert 0 == result.exit_code, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def answers(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def visit(visit_id: str = "A", *, patient: str = "P1", amount: str = "12.00",
          item: str = "registration") -> dict[str, Any]:
    record = good_visit(visit_id)
    record["patient"]["id"] = patient
    record["lines"] = [{"line_id": "1", "item": item, "amount": amount}]
    return record


# --- 9: a grant key re-used with other content ------------------------------------------------

CONFLICTS = [
    ("patient_key", {"patient_key": "P2"}),
    ("payer", {"payer": "youfu_medical_subsidy"}),
    ("item", {"item": "drug"}),
    ("amount_fen", {"amount": 800}),
    ("requested_fen", {"requested": 400}),
    ("business_date", {"business_date": dt.date(2026, 3, 3)}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("field", "change"), CONFLICTS, ids=[field for field, _ in CONFLICTS])
def test_grant_key_with_other_content_is_a_conflict(backend: str, ledger: Ledger, field: str,
                                                    change: dict[str, Any]) -> None:
    """The same (visit, line, rule, policy) with another patient, payer, item, amount, reduction
    or date is refused, naming the visit, line and field; nothing of its batch is written."""
    first = ledger.post([request("1")])
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("2"), request("1", **change)])
    assert ("V1/1", field, f"visit V1 was posted as row 1 with {field} {getattr(first[0], field)}, now") == (
        caught.value.record, caught.value.field, caught.value.message.en.split(", now")[0] + ", now")
    assert [(1, "grant", "V1", 500)] == rows(ledger)
    assert first == ledger.post([request("1")])  # the identical re-post stays idempotent


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_cli_reused_visit_id_is_refused_not_answered_with_the_old_grant(backend: str, scratch: str) -> None:
    """Today: payable −7.00, exit 0 and a clean verify. Now: exit 2, an error object for the
    visit naming the field, the earlier grant untouched, and a re-post of the first visit still
    answered as before."""
    first = post(scratch, visit("A"))
    again = post(scratch, visit("B"), visit("A", patient="P2", amount="5.00"))
    assert (0, 2) == (first.exit_code, again.exit_code)
    assert ["B", "A"] == [a["visit_id"] for a in answers(again)]
    refused = answers(again)[1]["error"]
    assert ("LedgerError", "A/1", "patient_key") == (refused["type"], refused["record"], refused["field"])
    assert "12.00" == answers(again)[0]["totals"]["reduction"]
    assert all(not a["totals"]["payable"].startswith("-") for a in answers(again) if "totals" in a)
    assert [("A", "P1", "12.00"), ("B", "P1", "12.00")] == [
        (r["visit_id"], r["patient_key"], r["granted"]) for r in exported(scratch)]
    assert first.stdout == post(scratch, visit("A")).stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_reversed_grant_is_not_answered_as_if_it_stood(backend: str, ledger: Ledger) -> None:
    """Re-posting a grant that was reversed is refused, not answered with the reversed row."""
    ledger.post([request("1")])
    ledger.reverse(1, "wrong patient")
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("1")])
    assert ("V1/1", "visit_id", True) == (caught.value.record, caught.value.field,
                                          "was reversed by row 2" in caught.value.message.en)
    assert [(1, "grant", "V1", 500), (2, "reversal", "V1", 500)] == rows(ledger)


# --- 10: one line, several policies ----------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_line_granted_under_another_policy_is_refused_until_reversed(backend: str, ledger: Ledger) -> None:
    """A second pack set may not grant a line again; once the first grant is reversed it may."""
    ledger.post([request("1")])
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("1", fingerprint=FP2)])
    assert ("V1/1", "fingerprint") == (caught.value.record, caught.value.field)
    assert "reverse row 1 first" in caught.value.message.en
    assert [(1, "grant", "V1", 500)] == rows(ledger)
    ledger.reverse(1, "pack set changed")
    assert 700 == ledger.post([request("1", fingerprint=FP2, requested=700)])[0].granted_fen
    assert (True, 700) == (verify(ledger.postings()).ok, verify(ledger.postings()).net_fen)


@pytest.mark.parametrize("backend", BACKENDS)
def test_line_amount_is_fixed_while_a_grant_on_it_stands(backend: str, ledger: Ledger) -> None:
    """Another rule on the same line must see the same amount; after the grant is reversed the
    line may be posted again, corrected, under the new policy."""
    ledger.post([request("1")])
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("1", rule_id="r2", amount=2000)])
    assert ("V1/1", "amount_fen") == (caught.value.record, caught.value.field)
    ledger.reverse(1, "amount was wrong")
    assert 2000 == ledger.post([request("1", fingerprint=FP2, amount=2000, requested=2000)])[0].granted_fen


@pytest.mark.parametrize("backend", BACKENDS)
def test_grants_on_a_line_never_exceed_its_amount(backend: str, ledger: Ledger) -> None:
    """Under one policy, two rules posted apart still cannot grant more than the line's amount."""
    ledger.post([request("1", requested=600)])
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("1", requested=600, rule_id="r2")])
    assert ("V1/1", "requested_fen") == (caught.value.record, caught.value.field)
    assert 400 == ledger.post([request("1", requested=400, rule_id="r2")])[0].granted_fen
    assert [600, 400] == [p.granted_fen for p in ledger.postings()]


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_cli_three_pack_sets_grant_a_line_once(backend: str, scratch: str, tmp_path: Path) -> None:
    """Today the same 12.00 line under three pack sets gets 36.00. Now the first grant stands
    and the other two exit 2 naming the posting to reverse."""
    layered, other = (_pack(tmp_path, name, "bed") for name in ("layered", "other"))
    results = [post(scratch, visit("A"), extra=extra)
               for extra in ((), ("-p", str(layered)), ("-p", str(other)))]
    assert [0, 2, 2] == [r.exit_code for r in results]
    assert all("reverse row 1 first" in answers(r)[0]["error"]["message"]["en"] for r in results[1:])
    assert ["12.00"] == [r["granted"] for r in exported(scratch)]


def _pack(directory: Path, name: str, item: str, *, cap: str | None = None) -> Path:
    """A pack over seed-example with one more rule waiving ``item`` (another fingerprint each)."""
    path = directory / f"{name}.yaml"
    path.write_text(f"schema_version: 1\npack: {name}\ntitle: {{zh: {name}, en: {name}}}\nextends: seed-example\n"
                    f"rules:\n  - id: {name}.{item}\n    title: {{zh: 测试, en: test}}\n    clause: 测试\n"
                    f"    source: test\n    when: {{credential: key_care_medical_card}}\n    items: [{item}]\n"
                    "    benefit: {waive: true}\n" + (f'    caps: {{per_year: "{cap}"}}\n' if cap else ""),
                    encoding="utf-8")
    return path


def test_verify_finds_a_line_granted_more_than_its_amount() -> None:
    """Rows forged past the library (two policies' grants on one 10.00 line) fail verify."""
    first = seal(_row(1, GENESIS, FP, 800))
    second = seal(_row(2, first.hash, FP2, 800))
    problems = [p.en for p in verify([first, second]).problems]
    assert ["row 2 brings line V1/1's grants to 1600 fen, more than its amount 1000 fen"] == problems


def _row(seq: int, prev: str, fingerprint: str, granted: int) -> dict[str, Any]:
    return dict(seq=seq, kind="grant", visit_id="V1", line_id="1", rule_id="r1", fingerprint=fingerprint,
                patient_key="P1", item="bed", business_date=DAY, amount_fen=1000, requested_fen=granted,
                granted_fen=granted, year_cap_fen=None, reverses=None, reason=None,
                posted_at=dt.datetime(2026, 3, 2, 8, 0), prev_hash=prev)


# --- 11: pseudonymisation fixed per ledger ---------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_pseudonymisation_is_fixed_by_the_first_grant(backend: str, ledger: Ledger) -> None:
    """A ledger keyed one way refuses a post keyed another way (or with another key), naming
    both; nothing of that batch is written, so the yearly cap cannot be escaped."""
    hashed, other = pseudonym_identity(b"key one"), pseudonym_identity(b"key two")
    ledger.post([request("1", year_cap_fen=600, requested=600)])
    for identity in (hashed, other):
        with pytest.raises(LedgerError) as caught:
            ledger.post([request("1", visit_id="V2", patient_key="h:x", pseudonym=identity, year_cap_fen=600,
                                 requested=600)])
        assert ("V2", "pseudonymise", True) == (
            caught.value.record, caught.value.field, f"keys patients as {PLAIN}, this posting as {identity}"
            in caught.value.message.en)
    assert [(1, "grant", "V1", 600)] == rows(ledger)


def test_pseudonym_identity_names_the_key_without_revealing_it() -> None:
    identity = pseudonym_identity(b"secret-key")
    assert (identity, True, False) == (pseudonym_identity(b"secret-key"), identity.startswith("hmac-sha256:"),
                                       "secret" in identity or identity == pseudonym_identity(b"other"))
    assert PLAIN == pseudonym_identity(None)


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_cli_yearly_cap_holds_across_pseudonymisation(backend: str, scratch: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Today 60.00 is granted against a 30.00 cap by posting once with --pseudonymise and once
    without. Now the ledger remembers (across processes) how it keys patients and exits 2."""
    drugs = ("-p", str(_pack(tmp_path, "capped", "drug", cap="30.00")))
    assert 0 == post(scratch, visit("A", item="drug", amount="40.00"), extra=drugs).exit_code
    monkeypatch.setenv("SHUANGYONG_PSEUDONYM_KEY", "k1")
    hashed = post(scratch, visit("B", item="drug", amount="40.00"), extra=(*drugs, "--pseudonymise"))
    error = answers(hashed)[0]["error"]
    assert (2, "pseudonymise", True) == (hashed.exit_code, error["field"], f"keys patients as none, this posting "
                                         f"as {pseudonym_identity(b'k1')}" in error["message"]["en"])
    zh = run("evaluate", "--post", "--ledger", scratch, *drugs, "--pseudonymise", "-",
             stdin=jsonl(visit("B", item="drug", amount="40.00")), lang="zh")
    assert "患者标识方式固定为 none" in zh.stdout
    assert ["30.00"] == [r["granted"] for r in exported(scratch) if r["rule_id"] == "capped.drug"]


# --- 12: nothing posted whose answer cannot be written; a re-run answers the same -------------

@pytest.mark.parametrize("backend", URL_BACKENDS)
@pytest.mark.parametrize("target", ["missing/dir/out.jsonl", ".", ""], ids=["missing-dir", "directory", "empty"])
def test_unwritable_output_posts_nothing(backend: str, scratch: str, tmp_path: Path, target: str) -> None:
    """An output that cannot be written is found before anything is posted: exit 2, no rows."""
    output = str(tmp_path / target) if target else target
    result = post(scratch, visit("A"), extra=("-o", output))
    assert (2, "field --output") == (result.exit_code, result.stderr.split(": ")[1])
    assert 0 == post(scratch, visit("Z")).exit_code  # the ledger holds only what came after
    assert ["Z"] == [r["visit_id"] for r in exported(scratch)]


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_rerun_after_lost_output_gives_the_same_answers(backend: str, scratch: str, tmp_path: Path) -> None:
    """If the answers are lost after posting, running the same input again returns them byte
    for byte (capped amounts included) and posts nothing new."""
    visits = (visit("A"), visit("B", patient="P2"))
    target = tmp_path / "out.jsonl"
    assert 0 == post(scratch, *visits, extra=("-o", str(target))).exit_code
    kept = target.read_bytes()
    target.unlink()  # the answers are lost
    assert 0 == post(scratch, *visits, extra=("-o", str(target))).exit_code
    assert (kept, 2) == (target.read_bytes(), len(exported(scratch)))


# --- 13: the head anchor, and no ledger made by reading ---------------------------------------

def _head(url: str) -> str:
    result = run("ledger", "head", "--ledger", url, "--format", "json")
    assert 0 == result.exit_code, result.output
    head = json.loads(result.stdout)
    assert f"{head['seq']}:{head['hash']}" == head["head"]
    return head["head"]


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_head_and_expect_head(backend: str, scratch: str) -> None:
    """``ledger head`` prints the last seq and hash (text and JSON); ``verify --expect-head``
    passes on that head, and still after more postings; a wrong hash or a row that is not there
    fails with exit 2 in zh and en."""
    post(scratch, visit("A"), visit("B"))
    head = _head(scratch)
    text = run("ledger", "head", "--ledger", scratch)
    assert (0, head + "\n", True) == (text.exit_code, text.stdout, "keep it outside the ledger" in text.stderr)
    assert head.startswith("2:") and head != f"2:{GENESIS}"
    post(scratch, visit("C"))
    assert 0 == run("ledger", "verify", "--ledger", scratch, "--expect-head", head).exit_code
    wrong = run("ledger", "verify", "--ledger", scratch, "--expect-head", "2:" + "0" * 64)
    assert (2, "row 2's hash differs from the kept head") == (wrong.exit_code, wrong.stderr.split(" " + "0" * 64)[0])
    beyond = run("ledger", "verify", "--ledger", scratch, "--expect-head", head.replace("2:", "9:"), lang="zh")
    assert (2, True) == (beyond.exit_code, "审计保存的链头是第 9 条" in beyond.stderr)
    bad = run("ledger", "verify", "--ledger", scratch, "--expect-head", "2:xyz")
    assert (2, "field --expect-head") == (bad.exit_code, bad.stderr.split(": ")[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_is_the_last_row(backend: str, ledger: Ledger) -> None:
    """Every backend's head is the genesis when empty, then the last row's (seq, hash)."""
    assert (0, GENESIS) == ledger.head()
    posted = ledger.post([request("1"), request("2")])
    reversal = ledger.reverse(1, "x")
    assert [(2, posted[1].hash), (3, reversal.hash)] == [(posted[1].seq, posted[1].hash), ledger.head()]


def _tamper(url: str, statements: dict[str, list[str]], *, rows_back: list[Posting] | None = None) -> None:
    """Run SQL behind the library's back (the triggers dropped or disabled first), then insert
    ``rows_back`` if given."""
    kind = "sqlite" if url.startswith("sqlite:///") else "postgresql" if url.startswith("postgresql") else "mariadb"
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("sqlite:///", "sqlite+pysqlite:///", 1))
    table = "postings" if kind == "sqlite" else "shuangyong_postings"
    with engine.begin() as connection:
        for statement in statements[kind]:
            connection.exec_driver_sql(statement)
        if rows_back is not None:
            for row in rows_back:
                values = row.as_dict() if kind == "sqlite" else attrs.asdict(row)
                values["year"] = row.business_date.year
                connection.execute(sa.text(f"INSERT INTO {table} ({', '.join(values)}) "
                                           f"VALUES ({', '.join(':' + k for k in values)})"), values)
    engine.dispose()


UNGUARD = {"sqlite": ["DROP TRIGGER postings_no_delete"],
           "postgresql": ["ALTER TABLE shuangyong_postings DISABLE TRIGGER USER"],
           "mariadb": ["DROP TRIGGER shuangyong_postings_no_delete"]}


def _with(statement: str) -> dict[str, list[str]]:
    """The statement (``{table}`` for the postings table) on each database, its guard removed first."""
    return {kind: [*guards, statement.format(table="postings" if kind == "sqlite" else "shuangyong_postings")]
            for kind, guards in UNGUARD.items()}


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_tail_rows_deleted_are_found_with_the_anchor(backend: str, scratch: str) -> None:
    """Deleting the last rows leaves a chain that verifies on its own (the limit the docs
    state); the head kept beforehand finds it."""
    post(scratch, visit("A"), visit("B"), visit("C"))
    head = _head(scratch)
    _tamper(scratch, _with("DELETE FROM {table} WHERE seq > 1"))
    assert 0 == run("ledger", "verify", "--ledger", scratch).exit_code
    anchored = run("ledger", "verify", "--ledger", scratch, "--expect-head", head)
    assert (2, "the kept head is row 3, which the ledger no longer has (1 rows: rows were removed)") == (
        anchored.exit_code, anchored.stderr.splitlines()[0])


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_rewrite_with_the_chain_rehashed_is_found_with_the_anchor(backend: str, scratch: str) -> None:
    """Every row rewritten (a grant lowered) and re-sealed verifies on its own; not against the head."""
    post(scratch, visit("A"), visit("B"))
    head = _head(scratch)
    with open_ledger(scratch, create=False) as opened:
        original = list(opened.postings())
    forged, prev = [], GENESIS
    for row in original:
        changed = seal({**attrs.asdict(row), "granted_fen": 1, "prev_hash": prev})
        forged.append(changed)
        prev = changed.hash
    _tamper(scratch, _with("DELETE FROM {table}"), rows_back=forged)
    assert 0 == run("ledger", "verify", "--ledger", scratch).exit_code
    anchored = run("ledger", "verify", "--ledger", scratch, "--expect-head", head)
    assert (2, "row 2's hash differs from the kept head") == (
        anchored.exit_code, anchored.stderr.splitlines()[0].split(" " + head.split(":")[1])[0])


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_emptied_ledger_does_not_verify(backend: str, scratch: str) -> None:
    """After TRUNCATE (MariaDB has no trigger against it) the empty ledger is not "verified":
    without an anchor verify says it is empty, with one it says the rows are gone."""
    post(scratch, visit("A"))
    head = _head(scratch)
    _tamper(scratch, _with("DELETE FROM {table}" if backend == "sqlite" else "TRUNCATE {table}"))
    plain = run("ledger", "verify", "--ledger", scratch)
    assert (2, "the ledger has no postings") == (plain.exit_code, plain.stderr.splitlines()[0].split(";")[0])
    assert 2 == run("ledger", "verify", "--ledger", scratch, "--expect-head", head).exit_code
    assert 0 == run("ledger", "verify", "--ledger", scratch, "--expect-head", f"0:{GENESIS}").exit_code


@pytest.mark.parametrize("command", [("verify",), ("export",), ("head",), ("reverse", "1", "--reason", "x")])
@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_reading_a_missing_ledger_refuses_and_creates_nothing(backend: str, scratch: str, tmp_path: Path,
                                                             command: tuple[str, ...]) -> None:
    """``sqlite:///typo.db`` or an empty database is refused by verify, export, head and
    reverse (exit 2, zh and en), and left as it was: only ``evaluate --post`` creates a ledger."""
    result = run("ledger", *command, "--ledger", scratch)
    zh = run("ledger", *command, "--ledger", scratch, lang="zh")
    assert (2, "", True, True) == (result.exit_code, result.stdout, "there is no ledger" in result.stderr,
                                   "没有账本" in zh.stderr or "不存在" in zh.stderr)
    assert [] == list(tmp_path.iterdir())
    if backend != "sqlite":
        import sqlalchemy as sa

        engine = sa.create_engine(scratch)
        assert [] == sa.inspect(engine).get_table_names()
        engine.dispose()


@pytest.mark.parametrize("command", [("verify",), ("head",)])
def test_memory_ledger_cannot_be_read_back(command: tuple[str, ...]) -> None:
    result = run("ledger", *command, "--ledger", "memory:")
    assert (2, True) == (result.exit_code, "lives only inside one process" in result.stderr)


def test_memory_ledger_refuses_create_false() -> None:
    with pytest.raises(LedgerError):
        MemoryLedger(create=False)


# --- 6: the SQLite file: huge amounts, broken, foreign, read-only and full files ------------------

SQLITE_SCHEMES = ["sqlite:///", "sqlite+pysqlite:///"]


def test_amount_beyond_the_maximum_is_refused_at_the_request() -> None:
    with pytest.raises(LedgerError) as caught:
        request("1", amount=MAX_FEN + 1, requested=0)
    assert ("V1/1", "amount_fen") == (caught.value.record, caught.value.field)
    assert MAX_FEN == request("1", amount=MAX_FEN, requested=MAX_FEN).amount_fen


def test_sqlite_backend_refuses_integers_it_cannot_store(tmp_path: Path) -> None:
    """Below the request check the backend holds too: no OverflowError from sqlite3."""
    big = seal({**_row(1, GENESIS, FP, 10), "amount_fen": 2**63, "requested_fen": 2**63})
    with SQLiteLedger(f"sqlite:///{tmp_path / 'l.db'}") as opened:
        with pytest.raises(LedgerError) as caught, opened.transaction() as tx:
            tx.insert([big])
        assert ("V1/1", "amount_fen", []) == (caught.value.record, caught.value.field, rows(opened))


@pytest.mark.parametrize("backend", URL_BACKENDS)
def test_cli_amount_beyond_the_maximum_exits_2_and_posts_the_rest(backend: str, scratch: str) -> None:
    """Today an OverflowError traceback. Now the huge visit gets its error, the others are posted."""
    result = post(scratch, visit("A"), visit("BIG", amount="99999999999999999999.00"), visit("C"))
    assert (2, ["A", "BIG", "C"]) == (result.exit_code, [a["visit_id"] for a in answers(result)])
    assert "error" in answers(result)[1]
    assert ["A", "C"] == [r["visit_id"] for r in exported(scratch)]


def _ledger_file(path: Path, visits: int = 1) -> Path:
    with SQLiteLedger(f"sqlite:///{path}") as opened:
        for number in range(visits):
            opened.post([request("1", visit_id=f"V{number:04d}", item="x" * 200)])
    return path


def _broken(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "corrupt":
        path.write_bytes(b"this is not a database, only text long enough to look like one\n" * 100)
    elif kind == "truncated":
        whole = _ledger_file(tmp_path / "whole.db", visits=200).read_bytes()
        path.write_bytes(whole[:len(whole) // 2])
    elif kind == "foreign":
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE patients (id TEXT)")
        connection.commit()
        connection.close()
    return path


BROKEN = {"corrupt": "file is not a database", "truncated": "malformed",
          "foreign": "is another SQLite database (tables patients), not a shuangyong ledger"}


@pytest.mark.parametrize("scheme", SQLITE_SCHEMES)
@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_or_foreign_sqlite_file_is_a_ledger_error(kind: str, scheme: str, tmp_path: Path) -> None:
    """Corrupt, truncated and foreign files exit 2 naming the file — for reading and posting
    alike — and are left byte for byte as they were."""
    path = _broken(kind, tmp_path)
    before = path.read_bytes()
    url = f"{scheme}{path}"
    for args in (("ledger", "verify", "--ledger", url), ("ledger", "export", "--ledger", url),
                 ("evaluate", "--post", "--ledger", url, "-")):
        result = run(*args, stdin=jsonl(visit("A")))
        assert (2, True, True) == (result.exit_code, BROKEN[kind] in result.output, path.name in result.output), (
            args, result.output)
    assert before == path.read_bytes()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted for the test (root only): a real full disk, and one that can be
    remounted read-only — not a monkeypatched error."""
    where = tmp_path / "mnt"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True).returncode:
        missing("a tmpfs can only be mounted as root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.mark.parametrize("scheme", SQLITE_SCHEMES)
def test_full_disk_is_a_ledger_error_and_loses_nothing(tmpfs: Path, scheme: str) -> None:
    """On a full disk a post exits 2 naming the visit and the file; every post before it is
    intact and verifies; nothing of the refused batch is written."""
    url = f"{scheme}{tmpfs / 'ledger.db'}"
    posted = 0
    with open_ledger(url) as opened:
        with pytest.raises(LedgerError) as caught:
            for number in range(10_000):
                opened.post([request(str(line), visit_id=f"V{number:05d}", item="x" * 200) for line in range(5)])
                posted += 1
        assert (f"V{posted:05d}", "ledger", True, True) == (
            caught.value.record, caught.value.field, "full" in caught.value.message.en,
            "ledger.db" in caught.value.message.en)
        assert (posted * 5, True) == (len(rows(opened)), verify(opened.postings()).ok)
    assert posted > 0


def test_read_only_file_verifies_but_refuses_posts(tmpfs: Path) -> None:
    """A ledger on a read-only disk can be verified and exported (nothing is written to read it);
    a post exits 2 naming the file, not a sqlite3 traceback."""
    path = _ledger_file(tmpfs / "ledger.db")
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    url = f"sqlite:///{path}"
    assert (0, 1) == (run("ledger", "verify", "--ledger", url).exit_code, len(exported(url)))
    result = post(url, visit("A"))
    error = answers(result)[0]["error"]
    assert (2, "A", "ledger", True) == (result.exit_code, error["record"], error["field"],
                                        "readonly" in error["message"]["en"] and str(path) in error["message"]["en"])


# --- 17: errors name the visit and field ------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "sql:sqlite", "sql:postgresql", "sql:mariadb"])
def test_database_refusal_names_the_visit_and_the_ledger(backend: str, ledger: Ledger) -> None:
    """A write the database refuses names the visit as the record (the ledger in the message)."""
    ledger.post([request("1")])
    table = "postings" if backend.endswith("sqlite") else "shuangyong_postings"
    refuse = (f"CREATE TRIGGER refuse_v3 BEFORE INSERT ON {table} FOR EACH ROW WHEN (NEW.visit_id = 'V3') "
              "BEGIN SELECT RAISE(ABORT, 'no V3 here'); END" if backend.endswith("sqlite")
              else f"ALTER TABLE {table} ADD CONSTRAINT refuse_v3 CHECK (visit_id <> 'V3')")
    if isinstance(ledger, SQLiteLedger):
        ledger.connection.execute(refuse)
    else:
        with ledger.engine.begin() as connection:  # type: ignore[attr-defined]
            connection.exec_driver_sql(refuse)
    with pytest.raises(LedgerError) as caught:
        ledger.post([request("1", visit_id="V3")])
    assert ("V3", "ledger", True) == (caught.value.record, caught.value.field,
                                      "nothing was written" in caught.value.message.en)
    assert 1 == len(rows(ledger))
