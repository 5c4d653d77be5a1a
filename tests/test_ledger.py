"""The ledger's rules on every built-in backend: idempotence, caps, reversals, chain, bad input."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuangyong.engine import Engine
from shuangyong.engine.decision import Applied
from shuangyong.errors import LedgerError
from shuangyong.interchange.posting import deciding_and_posting
from shuangyong.ledger import Ledger, MemoryLedger, PostingRequest, SQLiteLedger, patient_key, requests_for, verify
from shuangyong.ledger.posting import as_granted, seal
from shuangyong.ledger.sqlite import MIGRATIONS
from shuangyong.model.registry import Registry
from shuangyong.model.vocabulary import Term
from shuangyong.text import Text

from .builders import visit

FP = "sha256:0123456789abcdef"
SUBSIDY = "youfu_medical_subsidy"  #: a payer other than the hospital (优抚医疗补助)
EXAMPLES = itertools.count()  #: tells hypothesis' examples apart on a ledger they share
DAY = dt.date(2026, 3, 2)


def request(line: str = "1", *, visit_id: str = "V1", requested: int = 500, amount: int = 1000,
            cap: int | None = None, day: dt.date = DAY, patient: str = "P1", **changes: Any) -> PostingRequest:
    fields = dict(visit_id=visit_id, line_id=line, rule_id="r1", fingerprint=FP, patient_key=patient,
                  item="bed", business_date=day, amount_fen=amount, requested_fen=requested, year_cap_fen=cap)
    fields.update(changes)
    return PostingRequest(**fields)


def rows(ledger: Ledger) -> list[tuple[int, str, int]]:
    return [(p.seq, p.kind, p.granted_fen) for p in ledger.postings()]


class TestPosting:
    def test_post_returns_rows_in_request_order(self, ledger: Ledger) -> None:
        """Each request gets its row, numbered in order and chained."""
        posted = ledger.post([request("1"), request("2", requested=300)])
        assert [(1, "grant", 500), (2, "grant", 300)] == rows(ledger)
        assert (posted[0].hash, "0" * 64) == (posted[1].prev_hash, posted[0].prev_hash)

    def test_repost_writes_nothing(self, ledger: Ledger) -> None:
        """Posting the same batch again returns the earlier rows and writes none."""
        first = ledger.post([request("1"), request("2")])
        again = ledger.post([request("1"), request("2")])
        assert (first, 2) == (again, len(rows(ledger)))

    def test_same_line_under_a_new_policy_waits_for_the_reversal(self, ledger: Ledger) -> None:
        """Idempotence is per fingerprint, but a line is granted under one policy at a time: the
        new policy's grant is refused until the old one is reversed, then posted afresh."""
        ledger.post([request("1")])
        with pytest.raises(LedgerError) as caught:
            ledger.post([request("1", fingerprint="sha256:fedcba9876543210")])
        assert ("fingerprint", 1) == (caught.value.field, len(rows(ledger)))
        ledger.reverse(1, "policy changed")
        ledger.post([request("1", fingerprint="sha256:fedcba9876543210")])
        assert [(1, "grant", 500), (2, "reversal", 500), (3, "grant", 500)] == rows(ledger)

    def test_payer_is_posted_and_carried_by_the_reversal(self, ledger: Ledger) -> None:
        """A share borne by a subsidy is stored under that payer, a request that names nobody is
        the hospital's, and a reversal cancels the grant under the grant's payer."""
        ledger.post([request("1", payer=SUBSIDY), request("2")])
        ledger.reverse(1, "wrong fund")
        assert [(1, "grant", SUBSIDY), (2, "grant", "hospital"), (3, "reversal", SUBSIDY)] == [
            (p.seq, p.kind, p.payer) for p in ledger.postings()]

    def test_empty_batch(self, ledger: Ledger) -> None:
        assert ([], []) == (ledger.post([]), rows(ledger))

    def test_timestamps_round_trip(self, ledger: Ledger) -> None:
        """What was returned is what is stored, to the microsecond (the hash depends on it)."""
        posted = ledger.post([request("1")])
        assert posted == list(ledger.postings())


class TestYearlyCap:
    def test_yearly_cap_cuts_and_then_refuses(self, ledger: Ledger) -> None:
        """Cap 1200: 500, 500, then 200, then 0 — granted, never more."""
        posted = ledger.post([request(str(n), cap=1200) for n in range(1, 5)])
        assert [500, 500, 200, 0] == [p.granted_fen for p in posted]

    def test_yearly_cap_counts_per_patient_and_year(self, ledger: Ledger) -> None:
        """Another patient, or the next calendar year, starts from nothing."""
        ledger.post([request("1", requested=1000, cap=1000)])
        posted = ledger.post([request("2", requested=1000, cap=1000, patient="P2"),
                              request("3", requested=1000, cap=1000, day=dt.date(2027, 1, 1)),
                              request("4", requested=1000, cap=1000, day=dt.date(2026, 12, 31))])
        assert [1000, 1000, 0] == [p.granted_fen for p in posted]

    def test_yearly_cap_counts_per_payer(self, ledger: Ledger) -> None:
        """One patient and rule, two payers: each payer's grants count against a cap of their own,
        so the subsidy's use leaves the hospital's untouched and the other way round."""
        posted = ledger.post([request("1", requested=800, cap=1000),
                              request("2", requested=800, cap=1000, payer=SUBSIDY),
                              request("3", requested=800, cap=1000, payer=SUBSIDY),
                              request("4", requested=800, cap=1000, visit_id="V2")])
        assert [800, 800, 200, 200] == [p.granted_fen for p in posted]

    def test_yearly_cap_freed_by_a_reversal(self, ledger: Ledger) -> None:
        """A reversed grant no longer counts against the cap."""
        ledger.post([request("1", requested=1000, cap=1000)])
        ledger.reverse(1, "posted to the wrong patient")
        assert 1000 == ledger.post([request("2", requested=1000, cap=1000)])[0].granted_fen

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, 2000), st.booleans(), st.sampled_from(["hospital", SUBSIDY])),
                    min_size=1, max_size=8), st.integers(0, 5000))
    def test_cap_never_exceeded(self, ledger: Ledger, steps: list[tuple[int, bool, str]], cap: int) -> None:
        """For any requests, payers and cap, on every backend, each grant is what is left of its
        payer's cap (a reversal gives back what it cancels, not what was asked), no payer's net
        exceeds the cap, and verify is clean. One ledger serves every example, each with a
        patient and visit of its own."""
        patient = f"P{next(EXAMPLES)}"
        left = {"hospital": cap, SUBSIDY: cap}
        for n, (ask, reversed_later, payer) in enumerate(steps):
            (grant,) = ledger.post([request(str(n), visit_id=patient, patient=patient, requested=ask,
                                            amount=2000, cap=cap, payer=payer)])
            assert (min(ask, left[payer]), payer) == (grant.granted_fen, grant.payer)
            left[payer] -= grant.granted_fen
            if reversed_later:
                ledger.reverse(grant.seq, "test")
                left[payer] += grant.granted_fen
        mine = [row for row in ledger.postings() if row.patient_key == patient]
        for payer in left:
            assert 0 <= sum(row.signed_fen for row in mine if row.payer == payer) <= cap
        assert verify(ledger.postings()).ok


class TestReversal:
    def test_reversal_row(self, ledger: Ledger) -> None:
        """A reversal is a new row pointing at the grant; the grant is unchanged."""
        grant = ledger.post([request("1")])[0]
        reversal = ledger.reverse(1, " wrong patient ")
        assert (2, "reversal", 1, "wrong patient", grant) == (
            reversal.seq, reversal.kind, reversal.reverses, reversal.reason, next(ledger.postings()))
        assert (500, 500, 0) == (verify(ledger.postings()).granted_fen, verify(ledger.postings()).reversed_fen,
                                 verify(ledger.postings()).net_fen)

    @pytest.mark.parametrize(("seq", "reason", "message"), [
        (9, "x", "the ledger has no posting 9"),
        (2, "x", "posting 2 is a reversal itself"),
        (1, "x", "posting 1 has already been reversed"),
        (1, "  ", "a reversal needs a reason"),
        ("1", "x", "posting number must be an integer, got '1'"),
    ])
    def test_refused_reversals_write_nothing(self, ledger: Ledger, seq: Any, reason: str, message: str) -> None:
        ledger.post([request("1")])
        ledger.reverse(1, "first")
        before = list(ledger.postings())
        with pytest.raises(LedgerError) as caught:
            ledger.reverse(seq, reason)
        assert (message, before) == (caught.value.message.en, list(ledger.postings()))


class TestBadInput:
    @pytest.mark.parametrize(("changes", "field", "message"), [
        ({"requested": 5.0}, "requested_fen", "requested_fen must be a non-negative whole number of fen, got 5.0"),
        ({"requested": -1}, "requested_fen", "requested_fen must be a non-negative whole number of fen, got -1"),
        ({"amount": True}, "amount_fen", "amount_fen must be a non-negative whole number of fen, got True"),
        ({"cap": 1.5}, "year_cap_fen", "year_cap_fen must be a non-negative whole number of fen, got 1.5"),
        ({"requested": 2000}, "requested_fen", "reduction 2000 fen exceeds the amount 1000 fen"),
        ({"fingerprint": "sha256:XYZ"}, "fingerprint",
         "policy fingerprint 'sha256:XYZ' is malformed (expected sha256: and 16 hex digits)"),
        ({"day": "2026-03-02"}, "business_date", "business_date must be a date"),
        ({"payer": ""}, "payer", "payer '' is not a payer id"),
        ({"payer": " hospital"}, "payer", "payer ' hospital' is not a payer id"),
        ({"payer": None}, "payer", "payer None is not a payer id"),
    ])
    def test_refused_with_field(self, changes: dict[str, Any], field: str, message: str) -> None:
        with pytest.raises(LedgerError) as caught:
            request(**changes)
        assert ("V1/1", field, message) == (caught.value.record, caught.value.field, caught.value.message.en)

    def test_same_share_twice_in_a_batch(self, ledger: Ledger) -> None:
        with pytest.raises(LedgerError) as caught:
            ledger.post([request("1"), request("1")])
        assert ("a batch asks for the same line and rule twice", []) == (caught.value.message.en, rows(ledger))

    def test_bad_request_in_batch_writes_nothing(self, ledger: Ledger) -> None:
        """A failure inside the transaction, before any row is inserted, writes nothing (faults
        after a real insert: tests/test_ledger_faults.py)."""
        ledger.post([request("1")])

        class Broken(PostingRequest):
            @property
            def cap_key(self) -> Any:
                raise RuntimeError("storage failed mid-batch")

        broken = Broken(**{**attrs.asdict(request("3", cap=10), recurse=False)})
        with pytest.raises(RuntimeError):
            ledger.post([request("2"), broken])
        assert [(1, "grant", 500)] == rows(ledger)

    def test_decision_under_another_policy(self) -> None:
        """A decision made under policy A cannot be posted as if under policy B."""
        seed = Engine.from_packs("seed-example")
        national = Engine.from_packs("cn-national")
        v = visit([("1", "registration", "12.00")], categories=("disabled_veteran",))
        with pytest.raises(LedgerError) as caught:
            requests_for(v, seed.evaluate(v), national.policy)
        assert ("V1", "policy") == (caught.value.record, caught.value.field)


class TestVerify:
    def test_clean(self, ledger: Ledger) -> None:
        ledger.post([request(str(n), cap=1200) for n in range(4)])
        ledger.reverse(2, "x")
        result = verify(ledger.postings())
        assert (True, 5, 1200, 500) == (result.ok, result.rows, result.granted_fen, result.reversed_fen)

    def test_altered_row_found(self, ledger: Ledger) -> None:
        """A row changed behind the library's back breaks its hash."""
        ledger.post([request("1"), request("2")])
        tampered = list(ledger.postings())
        tampered[0] = attrs.evolve(tampered[0], granted_fen=1)
        assert ["row 1: content does not match its hash (altered)"] == [
            p.en for p in verify(tampered).problems]

    def test_gap_duplicate_and_cap(self) -> None:
        """Rows resealed consistently still show a gap, a duplicate grant and a cap overrun."""
        ledger = MemoryLedger()
        ledger.post([request("1", cap=600), request("2", requested=100, cap=600)])
        first, second = ledger.postings()
        forged = seal({**attrs.asdict(second), "seq": 4, "line_id": "1", "granted_fen": 500,
                       "requested_fen": 500, "prev_hash": second.hash})
        problems = [p.en for p in verify([first, second, forged]).problems]
        assert ["row 3 has seq 4 (numbering must have no gaps)", "row 4 posts the same grant as row 1",
                "row 4 brings the year's total borne by hospital to 1100 fen, over the cap of 600 fen"] == problems

    def test_totals_per_payer(self, ledger: Ledger) -> None:
        """What each payer bears, the hospital first whatever was posted first, the others in the
        order they were first posted; the payers' totals add up to the ledger's."""
        ledger.post([request("1", payer=SUBSIDY, requested=300), request("2", requested=200),
                     request("3", payer="city_fund", requested=100)])
        ledger.reverse(1, "x")
        result = verify(ledger.postings())
        assert [("hospital", 200, 0, 200), (SUBSIDY, 300, 300, 0), ("city_fund", 100, 0, 100)] == [
            (t.payer, t.granted_fen, t.reversed_fen, t.net_fen) for t in result.payers]
        assert (result.granted_fen, result.reversed_fen) == (sum(t.granted_fen for t in result.payers),
                                                             sum(t.reversed_fen for t in result.payers))

    def test_reversal_of_missing_grant(self) -> None:
        ledger = MemoryLedger()
        ledger.post([request("1")])
        grant = next(ledger.postings())
        orphan = seal({**attrs.asdict(grant), "seq": 2, "kind": "reversal", "reverses": 7, "reason": "x",
                       "prev_hash": grant.hash})
        assert ["row 2 reverses 7, which is missing or already reversed"] == [
            p.en for p in verify([grant, orphan]).problems]


def test_update_and_delete_refused(tmp_path: Path) -> None:
    """SQLite triggers refuse UPDATE and DELETE even through a raw connection; the row is unchanged."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with SQLiteLedger(url) as ledger:
        ledger.post([request("1")])
    raw = sqlite3.connect(tmp_path / "l.db")
    for statement in ("UPDATE postings SET granted_fen = 1", "DELETE FROM postings"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute(statement)
    assert [(500,)] == raw.execute("SELECT granted_fen FROM postings").fetchall()


def test_reopening_keeps_rows_and_schema(tmp_path: Path) -> None:
    """A second open of the same file neither migrates again nor loses rows."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with SQLiteLedger(url) as ledger:
        ledger.post([request("1")])
    with SQLiteLedger(url) as ledger:
        assert [(1, "grant", 500)] == rows(ledger)
        assert [(version,) for version, _ in MIGRATIONS] == [
            tuple(row) for row in ledger.connection.execute("SELECT version FROM shuangyong_schema")]


@pytest.mark.parametrize("url", ["sqlite://relative.db", "sqlite:///"])
def test_bad_sqlite_url(url: str) -> None:
    with pytest.raises(LedgerError) as caught:
        SQLiteLedger(url)
    assert ("ledger", True) == (caught.value.field, caught.value.message.en.startswith("a SQLite ledger URL is"))


def test_pseudonym() -> None:
    """A keyed hash: stable for one key, different for another, not the id."""
    assert patient_key("P1", None) == "P1"
    one, again, other = patient_key("P1", b"k1"), patient_key("P1", b"k1"), patient_key("P1", b"k2")
    assert (True, False, 34) == (one == again, one == other, len(one))


def test_as_granted_applies_the_cap() -> None:
    """The decision after posting shows the capped reduction, and still sums."""
    engine = Engine.from_packs("seed-example")
    v = visit([("1", "registration", "12.00"), ("2", "drug", "5.00")], categories=("disabled_veteran",),
              cards=(("key_care_medical_card", "2024-01-01", None),))
    decision = engine.evaluate(v)
    capped = [attrs.evolve(p, granted_fen=700) for p in MemoryLedger().post(requests_for(v, decision, engine.policy))]
    after = as_granted(decision, capped)
    line = after.lines[0]
    assert ("7.00", "5.00", "7.00") == (str(line.reduction), str(line.payable), str(after.totals.reduction))
    assert after.totals.reduction + after.totals.payable == after.totals.amount


def test_payer_from_the_decision_and_a_capped_subsidy_falls_to_the_patient() -> None:
    """A share's payer (``Applied.payer``) goes into its request; when the ledger grants less
    (a yearly cap), ``as_granted`` takes the difference from that payer's part and gives it to
    the patient, leaves the insurance funds as they were, and every line and the totals still
    sum: insurance + reduction + payable == amount."""
    engine = Engine.from_packs("seed-example")
    v = visit([("1", "registration", "12.00"), ("2", "drug", "5.00")], categories=("disabled_veteran",),
              cards=(("key_care_medical_card", "2024-01-01", None),))
    plain = engine.evaluate(v)
    rule = plain.lines[0].rule
    settled = (plain.lines[0]._replace(
                   reduction=Decimal("8.00"), payable=Decimal("0.00"), insurance=Decimal("4.00"),
                   applied=(Applied(rule, Decimal("8.00"), SUBSIDY, "patient_share"),),
                   payers=(("basic_pool", Decimal("4.00")), (SUBSIDY, Decimal("8.00")), ("patient", Decimal("0.00")))),
               plain.lines[1]._replace(payers=(("patient", Decimal("5.00")),)))
    decision = attrs.evolve(plain, lines=settled, totals=attrs.evolve(
        plain.totals, reduction=Decimal("8.00"), payable=Decimal("5.00"), insurance=Decimal("4.00"),
        payers=(("basic_pool", Decimal("4.00")), (SUBSIDY, Decimal("8.00")), ("patient", Decimal("5.00")))))
    (asked,) = requests_for(v, decision, engine.policy)
    assert (rule, SUBSIDY, 800) == (asked.rule_id, asked.payer, asked.requested_fen)
    capped = [attrs.evolve(p, granted_fen=500) for p in MemoryLedger().post([asked])]
    after = as_granted(decision, capped)
    line, totals = after.lines[0], after.totals
    assert (Decimal("5.00"), Decimal("3.00"), (Applied(rule, Decimal("5.00"), SUBSIDY, "patient_share"),)) == (
        line.reduction, line.payable, line.applied)
    assert (("basic_pool", Decimal("4.00")), (SUBSIDY, Decimal("5.00")), ("patient", Decimal("3.00"))) == line.payers
    assert (Decimal("4.00"), Decimal("5.00"), Decimal("8.00")) == (totals.insurance, totals.reduction, totals.payable)
    assert (("basic_pool", Decimal("4.00")), (SUBSIDY, Decimal("5.00")), ("patient", Decimal("8.00"))) == totals.payers
    for figures in (*after.lines, totals):
        assert figures.insurance + figures.reduction + figures.payable == figures.amount
        assert sum(part for _, part in figures.payers) == figures.amount


def test_evaluate_post_chooses_the_category_with_the_engines_registry() -> None:
    """``deciding_and_posting`` (``evaluate --post`` and the HTTP server) gives ``requests_for``
    the engine's registry: a plugin's category under key_care is the more specific one, so the
    grant records it (with the built-in registry it would have no parent, and key_care would win)."""
    registry = Registry.builtin()
    registry.categories.register(Term("sample_elder", Text("示例三老", "sample elder"), ("key_care",)))
    engine = Engine.from_packs("seed-example", registry=registry)
    visit_ = visit([("1", "registration", "12.00")], categories=("key_care", "sample_elder"),
                   cards=(("key_care_medical_card", None, None),))
    ledger = MemoryLedger()
    granted = deciding_and_posting(engine, ledger)(visit_)
    assert [("two-waivers.registration", "sample_elder")] == [(p.rule_id, p.category) for p in ledger.postings()]
    assert Decimal("12.00") == granted.lines[0].reduction
