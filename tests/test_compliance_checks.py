"""Every built-in check kind on its boundaries: window edges, quarter ends, leap years, 春节."""

from __future__ import annotations

import datetime as dt

import pytest

from shuangyong.compliance.report import Status, evaluate
from tests.dossiers import HEAD, dossier, event, one_standard, result

YEAR_END = dt.date(2026, 12, 31)

BOARDS = {"kind": "count_in_window", "at_least": 2, "records": {"kind": "activity", "type": "publicity_board"}}
SPRING_WINDOW = {"kind": "count_in_window", "window": {"from": "03-01", "to": "05-31"},
                 "records": {"kind": "activity", "type": "checkup"}}
QUARTERLY = {"kind": "every_period", "period": "quarter", "records": {"kind": "meeting", "type": "leading_group"}}


def board(day: str, n: int = 1) -> dict:
    return event(f"b{n}", "activity", "publicity_board", day)


class TestCountInWindow:
    @pytest.mark.parametrize(("day", "counts"), [("2026-02-28", False), ("2026-03-01", True),
                                                  ("2026-05-31", True), ("2026-06-01", False)])
    def test_window_edges_are_inclusive(self, day: str, counts: bool) -> None:
        got = result(SPRING_WINDOW, dossier(event("c", "activity", "checkup", day)), "2026-12-31")
        assert (Status.MET if counts else Status.MISSING) == got.status

    def test_one_of_two_is_partial_once_due_and_not_yet_due_before(self) -> None:
        records = dossier(board("2026-04-15"))
        before, after = result(BOARDS, records, "2026-12-30"), result(BOARDS, records, "2026-12-31")
        assert ((Status.NOT_YET_DUE, None), (Status.PARTIAL, "1/2")) == (
            (before.status, before.score), (after.status, str(after.score)))
        assert "全年双拥宣传专栏（专刊）仅 1 项，需 2 项（应于 2026-12-31 前完成）" == after.gaps(YEAR_END)[0].zh

    def test_met_early_counts_before_the_due_date(self) -> None:
        got = result(BOARDS, dossier(board("2026-01-10", 1), board("2026-02-10", 2)), "2026-03-01")
        assert (Status.MET, 1, ("b1", "b2")) == (got.status, got.score, got.evidence)

    def test_records_after_as_of_are_not_known_yet(self) -> None:
        got = result(BOARDS, dossier(board("2026-01-10", 1), board("2026-06-10", 2)), "2026-06-09")
        assert (Status.NOT_YET_DUE, ("b1",)) == (got.status, got.requirements[0].found)


class TestEveryPeriod:
    def test_quarter_ends_belong_to_their_quarter(self) -> None:
        records = dossier(event("m1", "meeting", "leading_group", "2026-03-31"),
                          event("m2", "meeting", "leading_group", "2026-04-01"))
        got = result(QUARTERLY, records, "2026-12-31")
        assert [("m1",), ("m2",), (), ()] == [r.found for r in got.requirements]

    def test_a_quarter_is_due_on_its_last_day(self) -> None:
        records = dossier(*[event(f"m{q}", "meeting", "leading_group", d)
                            for q, d in ((1, "2026-02-01"), (2, "2026-05-01"))])
        on_time, late = result(QUARTERLY, records, "2026-09-29"), result(QUARTERLY, records, "2026-09-30")
        assert (Status.NOT_YET_DUE, Status.PARTIAL) == (on_time.status, late.status)
        assert "第三季度尚无双拥领导小组会议记录（应于 2026-09-30 前完成）" == late.gaps(YEAR_END)[0].zh
        assert "Q3: no 双拥 leading-group meeting recorded (due 2026-09-30)" == late.gaps(YEAR_END)[0].en

    def test_february_29_is_in_february_of_a_leap_year(self) -> None:
        check = {"kind": "every_period", "period": "month", "records": {"kind": "meeting", "type": "forum"}}
        got = result(check, dossier(event("f", "meeting", "forum", "2024-02-29"), year=2024), "2024-12-31")
        feb = got.requirements[1]
        assert (("f",), "2024-02-29") == (feb.found, str(feb.window.end))

    def test_nothing_at_all_is_missing(self) -> None:
        got = result(QUARTERLY, dossier(), "2026-12-31")
        assert (Status.MISSING, 0) == (got.status, got.score)


class TestDocumentBy:
    PLAN = {"kind": "document_by", "type": "annual_plan", "by": "03-31"}

    @pytest.mark.parametrize(("day", "status"), [("2026-03-31", Status.MET), ("2026-04-01", Status.MISSING)])
    def test_the_plan_is_due_by_the_end_of_q1(self, day: str, status: Status) -> None:
        assert status == result(self.PLAN, dossier(event("p", "document", "annual_plan", day)), "2026-06-30").status

    def test_not_yet_due_before_the_deadline(self) -> None:
        assert Status.NOT_YET_DUE == result(self.PLAN, dossier(), "2026-03-30").status

    def test_february_29_means_the_last_day_of_february_in_a_common_year(self) -> None:
        check = {"kind": "document_by", "type": "annual_plan", "by": "02-29"}
        got = result(check, dossier(event("p", "document", "annual_plan", "2025-02-28"), year=2025), "2025-12-31")
        assert ("2025-02-28", Status.MET) == (str(got.requirements[0].due), got.status)


class TestHolidayVisits:
    CHECK = {"kind": "holiday_visits", "holidays": ["spring_festival"], "days_before": 15, "days_after": 7}

    @pytest.mark.parametrize(("year", "outside", "inside_first", "inside_last", "after"), [
        (2023, "2023-01-06", "2023-01-07", "2023-01-29", "2023-01-30"),  # 春节 22 January
        (2024, "2024-01-25", "2024-01-26", "2024-02-17", "2024-02-18"),  # 春节 10 February
    ])
    def test_spring_festival_window_in_january_and_february(self, year: int, outside: str, inside_first: str,
                                                            inside_last: str, after: str) -> None:
        def status(day: str) -> Status:
            return result(self.CHECK, dossier(event("v", "activity", "holiday_visit", day), year=year),
                          f"{year}-12-31").status
        assert [Status.MISSING, Status.MET, Status.MET, Status.MISSING] == [
            status(outside), status(inside_first), status(inside_last), status(after)]

    def test_new_year_window_starts_in_the_previous_december(self) -> None:
        check = {"kind": "holiday_visits", "holidays": ["new_year", "army_day"], "days_before": 15, "days_after": 7}
        got = result(check, dossier(event("v", "activity", "holiday_visit", "2025-12-17")), "2026-12-31")
        assert ([("v",), ()], Status.PARTIAL) == ([r.found for r in got.requirements], got.status)
        assert "八一建军节尚无节日走访慰问记录（应于 2026-08-08 前完成）" == got.gaps(YEAR_END)[0].zh


class TestTwiceYearly:
    CHECK = {"kind": "twice_yearly", "records": {"kind": "activity", "type": "checkup", "paired": True},
             "spring": {"from": "03-01", "to": "05-31"}, "autumn": {"from": "09-01", "to": "11-30"}}
    PAIRING = {"id": "p", "kind": "pairing", "partner": "PAP-1", "since": "2020-01-01"}

    def test_spring_and_autumn_for_the_paired_unit(self) -> None:
        records = dossier(self.PAIRING, event("a", "activity", "checkup", "2026-05-31", partner="PAP-1"),
                          event("b", "activity", "checkup", "2026-09-01", partner="PAP-1"))
        assert Status.MET == result(self.CHECK, records, "2026-12-31").status

    def test_a_checkup_for_another_unit_does_not_count(self) -> None:
        records = dossier(self.PAIRING, event("a", "activity", "checkup", "2026-04-01", partner="PAP-1"),
                          event("b", "activity", "checkup", "2026-10-01", partner="OTHER"))
        got = result(self.CHECK, records, "2026-12-31")
        assert (Status.PARTIAL, "秋季尚无共建部队官兵健康体检记录（应于 2026-11-30 前完成）") == (
            got.status, got.gaps(YEAR_END)[0].zh)

    def test_a_checkup_counts_only_while_the_pairing_is_in_force_on_its_date(self) -> None:
        """Issue 15 §11: paired with A until 2025-12-31 and with B from 2026-01-01; checkups for A
        in 2026 are for a former partner, whatever the as-of day."""
        records = dossier({"id": "pa", "kind": "pairing", "partner": "A", "since": "2020-01-01", "until": "2025-12-31"},
                          {"id": "pb", "kind": "pairing", "partner": "B", "since": "2026-01-01"},
                          event("a1", "activity", "checkup", "2026-04-01", partner="A"),
                          event("a2", "activity", "checkup", "2026-10-01", partner="A"))
        assert Status.MISSING == result(self.CHECK, records, "2026-12-31").status

    def test_a_pairing_is_in_force_on_its_first_and_last_day(self) -> None:
        """A pairing (结对共建) holds for an inclusive window of days (the test of the former
        ``model.unit.Pairing``, issue 15 §9, on the pairing the checks read)."""
        records = dossier({"id": "p", "kind": "pairing", "partner": "PAP-1", "since": "2026-05-31",
                           "until": "2026-09-01"},
                          event("a", "activity", "checkup", "2026-05-31", partner="PAP-1"),
                          event("b", "activity", "checkup", "2026-09-01", partner="PAP-1"))
        assert Status.MET == result(self.CHECK, records, "2026-12-31").status

    def test_a_checkup_before_the_pairing_began_does_not_count(self) -> None:
        records = dossier({"id": "p", "kind": "pairing", "partner": "PAP-1", "since": "2026-06-01"},
                          event("a", "activity", "checkup", "2026-04-01", partner="PAP-1"),
                          event("b", "activity", "checkup", "2026-10-01", partner="PAP-1"))
        got = result(self.CHECK, records, "2026-12-31")
        assert (Status.PARTIAL, ("b",)) == (got.status, got.evidence)


class TestFacilityPresent:
    CHECK = {"kind": "facility_present", "type": "priority_sign", "locations": ["registration", "pharmacy"]}

    def sign(self, id_: str, location: str, since: str, until: str | None = None) -> dict:
        record = {"id": id_, "kind": "facility", "type": "priority_sign", "location": location, "since": since}
        return record | ({"until": until} if until else {})

    def test_each_location_needs_its_own_sign(self) -> None:
        got = result(self.CHECK, dossier(self.sign("r", "registration", "2020-01-01")), "2026-06-30")
        assert (Status.PARTIAL, "取药窗口未见“军人优先”标牌（应自 2026-01-01 起具备）") == (
            got.status, got.gaps(YEAR_END)[0].zh)

    def test_a_sign_taken_down_before_as_of_is_not_in_place(self) -> None:
        records = dossier(self.sign("r", "registration", "2020-01-01", "2026-06-29"),
                          self.sign("p", "pharmacy", "2020-01-01"))
        assert [(), ("p",)] == [r.found for r in result(self.CHECK, records, "2026-06-30").requirements]

    def test_a_sign_put_up_on_as_of_counts(self) -> None:
        records = dossier(self.sign("r", "registration", "2026-06-30"), self.sign("p", "pharmacy", "2026-06-30"))
        assert Status.MET == result(self.CHECK, records, "2026-06-30").status


class TestRatioAtLeast:
    CHECK = {"kind": "ratio_at_least", "at_least": {"cadres": "100%", "others": "80%"}}

    @pytest.mark.parametrize(("reached", "total", "met"), [(80, 100, True), (79, 100, False), (4, 5, True)])
    def test_others_at_eighty_percent_exactly(self, reached: int, total: int, met: bool) -> None:
        records = dossier(event("c", "coverage", "cadres", "2026-06-01", reached=40, total=40),
                          event("o", "coverage", "others", "2026-06-01", reached=reached, total=total))
        assert (Status.MET if met else Status.PARTIAL) == result(self.CHECK, records, "2026-12-31").status

    def test_a_survey_below_the_threshold_does_not_undo_one_above(self) -> None:
        records = dossier(event("c1", "coverage", "cadres", "2026-03-01", reached=40, total=40),
                          event("c2", "coverage", "cadres", "2026-09-01", reached=39, total=40),
                          event("o", "coverage", "others", "2026-06-01", reached=9, total=10))
        assert Status.MET == result(self.CHECK, records, "2026-12-31").status


class TestPairingAndHeadAndLedger:
    def test_a_pairing_that_ended_last_year_is_not_in_force(self) -> None:
        records = dossier({"id": "p", "kind": "pairing", "partner": "X", "since": "2019-01-01",
                           "until": "2025-12-31"})
        assert Status.MISSING == result({"kind": "pairing_present"}, records, "2026-01-01").status

    def test_led_by_head_compares_the_name(self) -> None:
        check = {"kind": "led_by_head", "records": {"kind": "activity", "type": "holiday_visit"}}
        other = dossier(event("v", "activity", "holiday_visit", "2026-02-01", led_by="李红"))
        head = dossier(event("v", "activity", "holiday_visit", "2026-02-01", led_by=HEAD))
        got = result(check, other, "2026-12-31")
        assert (Status.MISSING, Status.MET) == (got.status, result(check, head, "2026-12-31").status)
        assert "由一把手（王建国）带领的节日走访慰问" in got.gaps(YEAR_END)[0].zh

    def test_without_a_named_head_nothing_is_led_by_the_head(self) -> None:
        check = {"kind": "led_by_head", "records": {"kind": "activity", "type": "holiday_visit"}}
        records = dossier(event("v", "activity", "holiday_visit", "2026-02-01", led_by=HEAD), head=None)
        assert Status.MISSING == result(check, records, "2026-12-31").status

    @pytest.mark.parametrize(("complete", "published", "status"), [
        (True, True, Status.MET), (True, False, Status.MISSING), (False, True, Status.MISSING)])
    def test_ledger_must_be_complete_and_published(self, complete: bool, published: bool, status: Status) -> None:
        records = dossier(event("l", "ledger_publication", "concession_ledger", "2026-06-30",
                                complete=complete, published=published))
        assert status == result({"kind": "ledger_published"}, records, "2026-12-31").status


def test_a_standard_for_townships_is_not_applicable_to_a_hospital() -> None:
    standards = one_standard({"kind": "pairing_present"}, applies_to=["township"])
    hospital, township = dossier(), dossier(kind="township")
    assert (Status.NOT_APPLICABLE, Status.MISSING) == (evaluate(hospital, standards, YEAR_END).results[0].status,
                                                       evaluate(township, standards, YEAR_END).results[0].status)
    assert None is evaluate(hospital, standards, YEAR_END).score
