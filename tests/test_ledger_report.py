"""``shuangyong ledger report`` and :mod:`shuangyong.ledger.report`: the monthly 台帐 summed by
hand (by rule, beneficiary category, item kind and payer), months bounded by the business date
(both ends included), reconciled with ``ledger verify`` to the fen, and every bad option exiting 2
with nothing written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong import Engine, plugins, visit_from_dict
from shuangyong.cli import main
from shuangyong.errors import DateError
from shuangyong.ledger import requests_for, verify
from shuangyong.ledger.posting import GENESIS, seal
from shuangyong.ledger.report import (
    GROUPINGS,
    MonthReport,
    Tally,
    month_days,
    month_report,
    parse_month,
    report_table,
)

#: seed-example and a subsidy's rule: drugs 10 % off for key care recipients, borne by the 优抚医疗补助,
#: at most 13.79 a person a year (so a third visit's share is cut to nothing).
SUBSIDY_PACK = """\
schema_version: 1
pack: test-subsidy
title: {zh: 测试优抚补助, en: Test subsidy}
extends: seed-example
region: "450000"
rules:
  - id: subsidy.drug
    title: {zh: 药品费优抚补助, en: Drugs from the subsidy}
    clause: "测试条文"
    source: "测试出处"
    when: {category: key_care}
    items: [drug]
    benefit: {reduce: "10%"}
    caps: {per_year: "13.79"}
    payer: youfu_medical_subsidy
    group: subsidy
"""

#: (visit, business date, patient, lines (item, amount)); posted in this order
VISITS = [
    ("A", "2026-03-01", "P1", [("registration", "12.00"), ("drug", "37.85")]),  # 12.00 hospital, 3.79 subsidy
    ("B", "2026-03-31", "P2", [("routine_test", "20.00"), ("injection", "3.50")]),  # 10.00 and 3.50 hospital
    ("C", "2026-03-15", "P1", [("registration", "12.00"), ("drug", "100.00")]),  # 12.00, 10.00 (cap reached)
    ("D", "2026-04-01", "P2", [("registration", "12.00")]),  # April
    ("E", "2026-02-28", "P3", [("dressing", "30.00")]),  # February: 15.00
    ("F", "2026-03-20", "P1", [("registration", "12.00"), ("drug", "50.00")]),  # 12.00; the 5.00 asked is capped to 0
]
#: reversed after posting: B's injection (a March visit) and D's registration (April)
REVERSED = [("B", "2"), ("D", "1")]
#: each patient's category: P2 a martyr's survivor, the others disabled veterans
CATEGORIES = {"P1": "disabled_veteran", "P2": "martyr_family", "P3": "disabled_veteran"}


def visit(visit_id: str, day: str, patient: str, lines: list[tuple[str, str]]) -> dict[str, Any]:
    return {"visit_id": visit_id, "date": day, "kind": "outpatient", "region": "450103",
            "patient": {"id": patient, "categories": [CATEGORIES[patient]],
                        "credentials": [{"kind": "key_care_medical_card", "number": f"桂{patient}"}]},
            "lines": [{"line_id": str(n), "item": item, "amount": amount} for n, (item, amount) in enumerate(lines, 1)]}


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    """A SQLite ledger with the visits above posted and the two grants reversed."""
    pack = tmp_path / "subsidy.yaml"
    pack.write_text(SUBSIDY_PACK, encoding="utf-8")
    engine = Engine.from_packs(str(pack), registry=plugins.registry())
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with plugins.open_ledger(url) as ledger:
        for args in VISITS:
            parsed = visit_from_dict(visit(*args))
            plugins.post(ledger, requests_for(parsed, engine.evaluate(parsed), engine.policy))
        for visit_id, line_id in REVERSED:
            seq = next(p.seq for p in ledger.postings() if (p.visit_id, p.line_id) == (visit_id, line_id))
            ledger.reverse(seq, "挂错号")
    return url


def postings(url: str) -> list[Any]:
    with plugins.open_ledger(url, create=False) as ledger:
        return list(ledger.postings())


def tally(key: str, visits: int, persons: int, granted: int, reversed_: int = 0) -> Tally:
    return Tally(key, visits, persons, granted, reversed_)


class TestMonth:
    def test_march_by_hand(self, ledger_url: str) -> None:
        """1 and 31 March are in, 28 February and 1 April are not; B's reversal counts in March
        (its visit's month) though posted after April's visit; F's capped drug share (0.00) makes
        no subsidy visit."""
        report = month_report(postings(ledger_url), 2026, 3)
        assert (dt.date(2026, 3, 1), dt.date(2026, 3, 31), 9, 12) == (
            report.first, report.last, report.postings, report.through_seq)
        assert tally("", 4, 2, 1200 + 379 + 1000 + 350 + 1200 + 1000 + 1200, 350) == report.total
        assert (tally("two-waivers.registration", 3, 1, 3600),
                tally("subsidy.drug", 2, 1, 379 + 1000),
                tally("three-halves.routine-test", 1, 1, 1000),
                tally("two-waivers.injection", 1, 1, 350, 350)) == report.by_rule
        assert (tally("disabled_veteran", 3, 1, 3600 + 1379),
                tally("martyr_family", 1, 1, 1000 + 350, 350)) == report.by_category
        assert (tally("registration", 3, 1, 3600), tally("drug", 2, 1, 1379), tally("routine_test", 1, 1, 1000),
                tally("injection", 1, 1, 350, 350)) == report.by_item
        assert (tally("hospital", 4, 2, 3600 + 1000 + 350, 350), tally("youfu_medical_subsidy", 2, 1, 1379)) \
            == report.by_payer

    def test_each_grouping_adds_up_to_the_total(self, ledger_url: str) -> None:
        report = month_report(postings(ledger_url), 2026, 3)
        for name in GROUPINGS:
            groups = getattr(report, name)
            assert (report.total.granted_fen, report.total.reversed_fen) == (
                sum(t.granted_fen for t in groups), sum(t.reversed_fen for t in groups)), name

    def test_other_months(self, ledger_url: str) -> None:
        rows = postings(ledger_url)
        assert (tally("", 1, 1, 1200, 1200), tally("", 1, 1, 1500), tally("", 0, 0, 0)) == (
            month_report(rows, 2026, 4).total, month_report(rows, 2026, 2).total, month_report(rows, 2026, 5).total)
        assert ((), 0, 12) == (month_report(rows, 2025, 3).by_rule, month_report(rows, 2025, 3).postings,
                               month_report(rows, 2025, 3).through_seq)

    def test_every_month_together_is_verify_to_the_fen(self, ledger_url: str) -> None:
        """The months' granted, reversed and net, in all, per payer and over the two categories,
        are verify's."""
        rows = postings(ledger_url)
        checked = verify(rows)
        reports = [month_report(rows, y, m) for y, m in sorted({(p.business_date.year, p.business_date.month)
                                                                  for p in rows})]
        assert (True, 3) == (checked.ok, len(reports))
        assert (checked.rows, checked.granted_fen, checked.reversed_fen, checked.net_fen) == (
            sum(r.postings for r in reports), sum(r.total.granted_fen for r in reports),
            sum(r.total.reversed_fen for r in reports), sum(r.total.net_fen for r in reports))
        summed = {name: _summed(reports, name) for name in ("by_payer", "by_category")}
        assert {p.payer: [p.granted_fen, p.reversed_fen] for p in checked.payers} == summed["by_payer"]
        assert (9029, 1550) == (checked.granted_fen, checked.reversed_fen)  # by hand: 63.29 + 12 + 15; 3.50 + 12
        # by hand: P1's 49.79 in March and P3's 15.00 in February; P2's 13.50 in March and 12.00 in
        # April, of which 3.50 and 12.00 reversed
        assert {"disabled_veteran": [6479, 0], "martyr_family": [2550, 1550]} == summed["by_category"]
        assert [checked.granted_fen, checked.reversed_fen] == [sum(column) for column in
                                                                zip(*summed["by_category"].values(), strict=True)]

    def test_the_json_form(self, ledger_url: str) -> None:
        """Stable keys, counts as numbers, amounts as strings."""
        data = month_report(postings(ledger_url), 2026, 4).as_dict()
        zero = {"visits": 1, "persons": 1, "granted": "12.00", "reversed": "12.00", "net": "0.00"}
        assert {"report": "shuangyong.ledger-month/1", "month": "2026-04", "from": "2026-04-01", "to": "2026-04-30",
                "date": "business_date", "postings": 2, "through_seq": 12, "total": zero,
                "by_rule": [{"rule": "two-waivers.registration", **zero}],
                "by_category": [{"category": "martyr_family", **zero}],
                "by_item": [{"item": "registration", **zero}], "by_payer": [{"payer": "hospital", **zero}]} == data

    def test_payers_hospital_first(self) -> None:
        """Another payer posted first still comes after the hospital, as verify lists them."""
        rows = [_posting(1, "youfu_medical_subsidy"), _posting(2, "hospital")]
        assert ["hospital", "youfu_medical_subsidy"] == [t.key for t in month_report(rows, 2026, 3).by_payer]


def _summed(reports: list[MonthReport], grouping: str) -> dict[str, list[int]]:
    """Granted and reversed per key of one grouping, over several months."""
    sums: dict[str, list[int]] = {}
    for report in reports:
        for found in getattr(report, grouping):
            pair = sums.setdefault(found.key, [0, 0])
            pair[0] += found.granted_fen
            pair[1] += found.reversed_fen
    return sums


def _posting(seq: int, payer: str) -> Any:
    return seal(dict(seq=seq, kind="grant", visit_id=f"V{seq}", line_id="1", rule_id="r", payer=payer,
                     fingerprint="sha256:0123456789abcdef", patient_key="P", item="drug",
                     business_date=dt.date(2026, 3, 2), amount_fen=100, requested_fen=10, granted_fen=10,
                     year_cap_fen=None, reverses=None, reason=None, posted_at=dt.datetime(2026, 3, 2),
                     prev_hash=GENESIS))


class TestMonthText:
    @pytest.mark.parametrize(("text", "expected"), [("2026-03", (2026, 3)), ("2024-02", (2024, 2)),
                                                    ("0001-12", (1, 12))])
    def test_taken(self, text: str, expected: tuple[int, int]) -> None:
        assert expected == parse_month(text)

    @pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-3", "26-03", "2026-03-01", "0000-01", "２０２６-03",
                                      "", "2026/03"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(DateError) as caught:
            parse_month(text, field="--month")
        assert ("--month", text) == (caught.value.field, caught.value.value)

    def test_leap_february(self) -> None:
        assert ((dt.date(2024, 2, 1), dt.date(2024, 2, 29)), dt.date(2026, 2, 28)) == (
            month_days(2024, 2), month_days(2026, 2)[1])


def run(*args: str, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, "ledger", "report", *args])


class TestCommand:
    def test_table_in_english(self, ledger_url: str) -> None:
        result = run("--ledger", ledger_url, "--month", "2026-03")
        lines = result.stdout.splitlines()
        assert (0, "Concession ledger for 2026-03 (business dates 2026-03-01 to 2026-03-31; 9 postings, "
                   "ledger read through posting 12)") == (result.exit_code, lines[0])
        assert ["By rule (concession)       visits  persons  granted  reversed    net",
                "two-waivers.registration        3        1    36.00      0.00  36.00",
                "subsidy.drug                    2        1    13.79      0.00  13.79",
                "three-halves.routine-test       1        1    10.00      0.00  10.00",
                "two-waivers.injection           1        1     3.50      3.50   0.00",
                "total                           4        2    63.29      3.50  59.79"] == lines[2:8]
        subsidy = "youfu_medical_subsidy Medical subsidy for entitled groups (优抚)"
        assert [subsidy, "2", "1", "13.79", "0.00", "13.79"] == lines[-2].split("  ")[:1] + lines[-2].split()[-5:]

    def test_table_in_chinese(self, ledger_url: str) -> None:
        result = run("--ledger", ledger_url, "--month", "2026-03", lang="zh")
        lines = result.stdout.splitlines()
        assert (0, "2026 年 3 月优惠减免台帐（业务日期 2026-03-01 至 2026-03-31；9 条记账，账本截至第 12 条）") == (
            result.exit_code, lines[0])
        assert ["按优抚对象类别                             人次  人数   减免  冲正   净额",
                "disabled_veteran 残疾军人（革命伤残军人）     3     1  49.79  0.00  49.79",
                "martyr_family 烈士遗属                        1     1  13.50  3.50  10.00",
                "合计                                          4     2  63.29  3.50  59.79"] == lines[9:13]
        assert ["按负担方                            人次  人数   减免  冲正   净额",
                "hospital 医院负担                      4     2  49.50  3.50  46.00",
                "youfu_medical_subsidy 优抚医疗补助     2     1  13.79  0.00  13.79",
                "合计                                   4     2  63.29  3.50  59.79"] == lines[-4:]

    def test_json_to_a_file(self, ledger_url: str, tmp_path: Path) -> None:
        out = tmp_path / "2026-03.json"
        result = run("--ledger", ledger_url, "--month", "2026-03", "--format", "json", "-o", str(out))
        expected = month_report(postings(ledger_url), 2026, 3).as_dict()
        assert (0, "", expected) == (result.exit_code, result.output, json.loads(out.read_text(encoding="utf-8")))

    def test_the_ledger_from_the_environment(self, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SHUANGYONG_LEDGER", ledger_url)
        result = run("--month", "2026-02", "--format", "json")
        assert (0, "15.00") == (result.exit_code, json.loads(result.stdout)["total"]["net"])

    @pytest.mark.parametrize(("args", "words"), [
        (("--month", "2026-13"), ["--month", "'2026-13'", "YYYY-MM"]),
        (("--month", "2026-3"), ["--month", "'2026-3'"]),
        (("--month", "2026-03", "--format", "docx"), ["--format", "'docx'", "table, json"]),
        (("--month", "2026-03", "--ledger", "sqlite:///{tmp}/none.db"), ["none.db", "only evaluate --post creates"]),
        (("--month", "2026-03", "--ledger", "nosuch://x"), ["nosuch://x", "no ledger backend"]),
        (("--month", "2026-03", "--ledger", ""), ["--ledger URL"]),
        (("--ledger", "sqlite:///{tmp}/ledger.db"), ["--month"]),
    ])
    def test_bad_input_exits_2_naming_it_and_writes_nothing(self, ledger_url: str, tmp_path: Path,
                                                             args: tuple[str, ...], words: list[str]) -> None:
        args = tuple(arg.replace("{tmp}", str(tmp_path)) for arg in args)
        if "--ledger" not in args:
            args = (*args, "--ledger", ledger_url)
        fresh, kept = tmp_path / "new.txt", tmp_path / "old.txt"
        kept.write_text("before", encoding="utf-8")
        results = [run(*args, "-o", str(target)) for target in (fresh, kept)]
        assert [2, 2] == [r.exit_code for r in results]
        assert [] == [w for w in words if w not in results[0].output], results[0].output
        assert ("Traceback" in results[0].output, fresh.exists(), kept.read_text(encoding="utf-8")) \
            == (False, False, "before")
        assert not (tmp_path / "none.db").exists()  # the report creates no ledger

    def test_chinese_message(self, ledger_url: str) -> None:
        result = run("--ledger", ledger_url, "--month", "2026-13", lang="zh")
        assert (2, "错误：字段 --month: 月份应为 YYYY-MM（如 2026-03），收到 '2026-13'\n") == (
            result.exit_code, result.output)


def test_report_table_labels_only_what_the_registry_knows() -> None:
    """Without a registry, ids alone; an item kind no registry knows keeps its id. A category not
    recorded, or none, is said in words either way."""
    report = MonthReport(2026, 3, *month_days(2026, 3), 3, 3, tally("", 3, 1, 300), (tally("r", 3, 1, 300),),
                         (tally("disabled_veteran", 1, 1, 100), tally("", 1, 1, 100), tally("none", 1, 1, 100)),
                         (tally("acupuncture", 3, 1, 300),), (tally("hospital", 3, 1, 300),))
    labelled, bare = (report_table(report, "en", registry).splitlines() for registry in (plugins.registry(), None))
    keys = ("acupuncture", "hospital", "disabled_veteran", "(category", "none")
    firsts = [[line.split("  ")[0] for line in lines if line.startswith(keys)] for lines in (labelled, bare)]
    assert [["disabled_veteran Disabled serviceman or veteran", "(category not recorded)",
             "none No beneficiary category", "acupuncture", "hospital Borne by the hospital"],
            ["disabled_veteran", "(category not recorded)", "none No beneficiary category", "acupuncture",
             "hospital"]] == firsts
    chinese = report_table(report, "zh", None).splitlines()
    assert ["（未记录类别）", "none 无优抚类别"] == [line.split("  ")[0] for line in chinese
                                                    if line.startswith(("（", "none"))]
