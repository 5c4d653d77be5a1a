"""``evaluate --post`` and ``shuangyong ledger …``: posting, verifying, reversing, exporting."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.ledger import PostingRequest
from shuangyong.plugins import open_ledger
from shuangyong.testing.prerequisites import import_or_missing

from .test_cli import good_visit, jsonl, outputs, run


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """The commands on the built-in SQLite file and on both servers through the SQL plugin."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    sql_testing = import_or_missing("shuangyong_sql.testing")
    with sql_testing.scratch_url(request.param, tmp_path) as scratch:
        yield scratch


def post(url: str, *records: object, extra: tuple[str, ...] = ()) -> object:
    return run("evaluate", "--post", "--ledger", url, *extra, "-", stdin=jsonl(*records))


def export(url: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in run("ledger", "export", "--ledger", url).stdout.splitlines()]


def test_post_then_verify_and_export(url: str) -> None:
    """Posted decisions appear in the ledger; verify is clean; posting again adds nothing."""
    first = post(url, good_visit("A"), good_visit("B"))
    again = post(url, good_visit("A"))
    assert (0, 0) == (first.exit_code, again.exit_code)
    rows = export(url)
    assert [("A", "1", "12.00"), ("B", "1", "12.00")] == [(r["visit_id"], r["line_id"], r["granted"]) for r in rows]
    verified = run("ledger", "verify", "--ledger", url)
    assert (0, "2 postings; granted 24.00, reversed 0.00, net 24.00 yuan") == (
        verified.exit_code, verified.stdout.splitlines()[0])


def _post_subsidy(url: str) -> None:
    """A share borne by the 优抚 subsidy beside the hospital's (until the engine decides such
    shares, posted through the library, as the CLI would post them)."""
    with open_ledger(url) as opened:
        opened.post([PostingRequest("S", "1", "subsidy", "sha256:0123456789abcdef", "P1", "drug",
                                    dt.date(2025, 3, 1), 3785, 1000, payer="youfu_medical_subsidy")])


def test_payers_in_verify_export_and_reverse(url: str, tmp_path: Path) -> None:
    """verify prints each payer's totals (zh and en; JSON: ``payers``), the hospital first;
    export (JSON Lines and CSV) and the reversal's output carry each row's payer."""
    assert 0 == post(url, good_visit("A")).exit_code
    _post_subsidy(url)
    reversal = run("ledger", "reverse", "--ledger", url, "2", "--reason", "重复")
    assert (0, "youfu_medical_subsidy") == (reversal.exit_code, json.loads(reversal.stdout)["payer"])
    assert [("A", "hospital"), ("S", "youfu_medical_subsidy"), ("S", "youfu_medical_subsidy")] == [
        (r["visit_id"], r["payer"]) for r in export(url)]
    target = tmp_path / "台帐.csv"
    assert 0 == run("ledger", "export", "--ledger", url, "--format", "csv", "-o", str(target)).exit_code
    table = list(csv.DictReader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert ["hospital", "youfu_medical_subsidy", "youfu_medical_subsidy"] == [row["payer"] for row in table]
    verified = run("ledger", "verify", "--ledger", url)
    assert (0, ["3 postings; granted 22.00, reversed 10.00, net 12.00 yuan",
                "  borne by hospital: granted 12.00, reversed 0.00, net 12.00 yuan",
                "  borne by youfu_medical_subsidy: granted 10.00, reversed 10.00, net 0.00 yuan"]) == (
        verified.exit_code, verified.stdout.splitlines()[:3])
    chinese = CliRunner().invoke(main, ["--lang", "zh", "ledger", "verify", "--ledger", url])
    assert "  youfu_medical_subsidy 负担：减免 10.00 元，冲正 10.00 元，净额 0.00 元" == chinese.stdout.splitlines()[2]
    report = json.loads(run("ledger", "verify", "--ledger", url, "--format", "json").stdout)
    assert {"hospital": {"granted": "12.00", "reversed": "0.00", "net": "12.00"},
            "youfu_medical_subsidy": {"granted": "10.00", "reversed": "10.00", "net": "0.00"}} == report["payers"]
    assert ["hospital", "youfu_medical_subsidy"] == list(report["payers"])


def test_categories_in_export_and_reverse(url: str, tmp_path: Path) -> None:
    """``evaluate --post`` records each grant's category (the disabled veteran's; ``none`` for a
    card holder with no category); export (JSON Lines and CSV, the column after the payer) and the
    reversal's output carry it; verify still holds."""
    no_category = good_visit("N")
    no_category["patient"] = {**no_category["patient"], "id": "P2", "categories": []}
    del no_category["patient"]["disability_level"]
    assert 0 == post(url, good_visit("A"), no_category).exit_code
    reversal = run("ledger", "reverse", "--ledger", url, "1", "--reason", "重复")
    assert (0, "disabled_veteran") == (reversal.exit_code, json.loads(reversal.stdout)["category"])
    expected = [("A", "grant", "disabled_veteran"), ("N", "grant", "none"), ("A", "reversal", "disabled_veteran")]
    assert expected == [(r["visit_id"], r["kind"], r["category"]) for r in export(url)]
    target = tmp_path / "台帐.csv"
    assert 0 == run("ledger", "export", "--ledger", url, "--format", "csv", "-o", str(target)).exit_code
    table = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    column = table[0].index("category")
    assert ("payer", ["disabled_veteran", "none", "disabled_veteran"]) == (
        table[0][column - 1], [row[column] for row in table[1:]])
    assert 0 == run("ledger", "verify", "--ledger", url).exit_code


def test_bad_record_is_not_posted_and_others_are(url: str) -> None:
    """A bad record gets its error object; the records around it are decided and posted."""
    bad = good_visit("BAD")
    bad["lines"][0]["amount"] = 1.5
    result = post(url, good_visit("A"), bad, good_visit("B"))
    assert (2, ["A", "BAD", "B"]) == (result.exit_code, [o["visit_id"] for o in outputs(result)])
    assert ["A", "B"] == [r["visit_id"] for r in export(url)]


def test_reverse(url: str) -> None:
    post(url, good_visit("A"))
    result = run("ledger", "reverse", "--ledger", url, "1", "--reason", "挂错号")
    assert (0, "reversal", 1) == (result.exit_code, json.loads(result.stdout)["kind"],
                                  json.loads(result.stdout)["reverses"])
    again = run("ledger", "reverse", "--ledger", url, "1", "--reason", "again")
    assert (2, "posting 1 has already been reversed") == (again.exit_code, again.stderr.split(": ", 2)[-1].strip())
    assert 2 == len(export(url))


def test_csv_export_has_bom_for_excel(url: str, tmp_path: Path) -> None:
    post(url, good_visit("A"))
    target = tmp_path / "台帐.csv"
    assert 0 == run("ledger", "export", "--ledger", url, "--format", "csv", "-o", str(target)).exit_code
    data = target.read_bytes()
    assert (True, "seq,kind,visit_id") == (data.startswith(b"\xef\xbb\xbf"), data.decode("utf-8-sig")[:17])


def test_unknown_exporter(url: str) -> None:
    result = run("ledger", "export", "--ledger", url, "--format", "docx")
    message = result.stderr.split(": ", 2)[-1].strip()
    available = set(message.split("(available: ")[1].rstrip(")").split(", "))
    assert (2, "no ledger exporter named 'docx'", True) == (  # plugins' exporters may be listed too
        result.exit_code, message.split(" (")[0], {"csv", "jsonl"} <= available)


@pytest.mark.parametrize(("args", "message"), [
    (("ledger", "verify"), "a ledger is needed: --ledger URL or $SHUANGYONG_LEDGER"),
    (("ledger", "verify", "--ledger", "oracle://x"), "no ledger backend for 'oracle://x'"),
    (("evaluate", "--post", "-"), "a ledger is needed"),
])
def test_missing_or_unknown_ledger(args: tuple[str, ...], message: str) -> None:
    result = run(*args, stdin=jsonl(good_visit("A")))
    assert (2, True, "") == (result.exit_code, message in result.stderr, result.stdout)


def test_pseudonymise(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key, the ledger holds a keyed hash, never the patient id; without a key it refuses."""
    assert "SHUANGYONG_PSEUDONYM_KEY" in post(url, good_visit("A"), extra=("--pseudonymise",)).stderr
    assert [] == export(url)
    monkeypatch.setenv("SHUANGYONG_PSEUDONYM_KEY", "secret")
    assert 0 == post(url, good_visit("A"), extra=("--pseudonymise",)).exit_code
    keys = {r["patient_key"] for r in export(url)}
    assert (1, True) == (len(keys), all(k.startswith("h:") and "P1" not in k for k in keys))


def test_verify_reports_tampering(sqlite_url: str, tmp_path: Path) -> None:
    """A row edited behind the triggers' back (dropping them first) is found; exit 2."""
    import sqlite3

    url = sqlite_url
    post(url, good_visit("A"))
    raw = sqlite3.connect(tmp_path / "ledger.db")
    raw.execute("DROP TRIGGER postings_no_update")
    raw.execute("UPDATE postings SET granted_fen = 1")
    raw.commit()
    result = run("ledger", "verify", "--ledger", url)
    assert (2, "row 1: content does not match its hash (altered)") == (
        result.exit_code, result.stderr.splitlines()[0])


def test_plugins_lists_builtin() -> None:
    result = run("plugins", "--format", "json")
    builtin = next(p for p in json.loads(result.stdout) if p["name"] == "shuangyong.builtin_plugin")
    assert {"register_storage", "ledger_append", "register_exporters"} <= set(builtin["hooks"])
