"""``verify`` pinned down: a known-answer hash vector, and rows edited in storage behind the
library's back (the append-only triggers dropped first, as someone with a SQL prompt could),
with and without re-hashing, each found and named, on every backend."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

import attrs
import pytest
import sqlalchemy as sa

from shuangyong.ledger import Ledger, MemoryLedger, SQLiteLedger, verify
from shuangyong.ledger import base as ledger_base
from shuangyong.ledger.posting import seal

from .test_ledger import request

GENESIS = "0" * 64
POSTED_AT = dt.datetime(2026, 3, 2, 8, 30, 0, 123456)

# The canonical JSON of three rows written out by hand (keys sorted, no spaces, Chinese as is,
# the timestamp ISO with Z) and their SHA-256, computed with hashlib outside the library.
ROW_1 = ('{"amount_fen":1000,"business_date":"2026-03-02","fingerprint":"sha256:0123456789abcdef",'
         '"granted_fen":300,"item":"bed","kind":"grant","line_id":"1","patient_key":"P1",'
         '"posted_at":"2026-03-02T08:30:00.123456Z","prev_hash":"' + GENESIS + '","reason":null,'
         '"requested_fen":500,"reverses":null,"rule_id":"r1","seq":1,"visit_id":"V1","year_cap_fen":300}')
HASH_1 = "e3b83f28f4de9fe34e7f2b65d11f0c0dab5c694582cc56cc0e9ed03b26f488af"
ROW_2 = ('{"amount_fen":2000,"business_date":"2026-03-02","fingerprint":"sha256:0123456789abcdef",'
         '"granted_fen":1000,"item":"换药","kind":"grant","line_id":"2","patient_key":"P1",'
         '"posted_at":"2026-03-02T08:30:00.123456Z","prev_hash":"' + HASH_1 + '","reason":null,'
         '"requested_fen":1000,"reverses":null,"rule_id":"r2","seq":2,"visit_id":"V1","year_cap_fen":null}')
HASH_2 = "bc0a08b2dcb3e566300af7aa6a5be74107837bcdcc7ca87ac9841f0c2bc191e2"
ROW_3 = ('{"amount_fen":1000,"business_date":"2026-03-02","fingerprint":"sha256:0123456789abcdef",'
         '"granted_fen":300,"item":"bed","kind":"reversal","line_id":"1","patient_key":"P1",'
         '"posted_at":"2026-03-02T08:30:00.123456Z","prev_hash":"' + HASH_2 + '","reason":"挂错号",'
         '"requested_fen":500,"reverses":1,"rule_id":"r1","seq":3,"visit_id":"V1","year_cap_fen":300}')
HEAD = "e789552f258fdeae4733cc2c8dfd7baba049439b25be17ac00bd0e704dce8538"  #: the 3-row chain's head
# The first row again, borne by the 优抚 subsidy: a payer other than the hospital is hashed, under
# the key "payer" in its sorted place; the hospital's rows above carry none (docs/ledger.md).
SUBSIDY = "youfu_medical_subsidy"
ROW_SUBSIDY = ROW_1.replace('"patient_key":"P1",', '"patient_key":"P1","payer":"youfu_medical_subsidy",')
HASH_SUBSIDY = "740c978659f0f580cebfa562c64f3fbba4cd5c232002c4f4e4a61183d1681faa"
# The first row again, granted to a disabled veteran: a recorded category is hashed, under the key
# "category" in its sorted place; the rows above, posted before categories were recorded, carry none.
ROW_CATEGORY = ROW_1.replace('"business_date":"2026-03-02",',
                             '"business_date":"2026-03-02","category":"disabled_veteran",')
HASH_CATEGORY = "72cbff7c18db21af94f4a51b7f83b65453b0758a4295dd8dbda1e6cc1258bdf1"


def test_the_vector_is_what_it_says() -> None:
    """The literals agree with each other, so the test below pins the library to them."""
    assert [HASH_1, HASH_2, HEAD] == [hashlib.sha256(row.encode()).hexdigest() for row in (ROW_1, ROW_2, ROW_3)]
    assert ('"payer"' not in ROW_1, HASH_SUBSIDY) == (True, hashlib.sha256(ROW_SUBSIDY.encode()).hexdigest())
    assert ('"category"' not in ROW_1, HASH_CATEGORY) == (True, hashlib.sha256(ROW_CATEGORY.encode()).hexdigest())


def test_known_answer_hashes(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cap-cut grant, an uncapped one and a reversal in Chinese, at a fixed time, hash to the
    literal values on every backend (what the row hash covers, and the timestamp's round trip)."""
    monkeypatch.setattr(ledger_base, "utc_now", lambda: POSTED_AT)
    ledger.post([request("1", cap=300)])
    ledger.post([request("2", rule_id="r2", item="换药", amount=2000, requested=1000)])
    ledger.reverse(1, " 挂错号 ")
    assert [HASH_1, HASH_2, HEAD] == [row.hash for row in ledger.postings()]
    assert [GENESIS, HASH_1, HASH_2] == [row.prev_hash for row in ledger.postings()]
    assert verify(ledger.postings()).ok


def test_known_answer_hash_with_a_payer(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same grant borne by the subsidy hashes to the literal value that includes the payer."""
    monkeypatch.setattr(ledger_base, "utc_now", lambda: POSTED_AT)
    (row,) = ledger.post([request("1", cap=300, payer=SUBSIDY)])
    assert (HASH_SUBSIDY, [HASH_SUBSIDY]) == (row.hash, [stored.hash for stored in ledger.postings()])
    assert verify(ledger.postings()).ok


def test_known_answer_hash_with_a_category(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same grant recorded for a disabled veteran hashes to the literal value that includes the
    category; its reversal carries the category."""
    monkeypatch.setattr(ledger_base, "utc_now", lambda: POSTED_AT)
    (row,) = ledger.post([request("1", cap=300, category="disabled_veteran")])
    reversal = ledger.reverse(1, "挂错号")
    assert (HASH_CATEGORY, [HASH_CATEGORY, reversal.hash]) == (row.hash, [stored.hash for stored in ledger.postings()])
    assert ("disabled_veteran", True) == (reversal.category, verify(ledger.postings()).ok)


def _history(ledger: Ledger) -> None:
    """Four rows: a grant cut by the cap (500 asked, 300 granted), an uncapped grant of another
    rule, the first's reversal, and a grant the reversal made room for."""
    ledger.post([request("1", cap=300)])
    ledger.post([request("2", rule_id="r2")])
    ledger.reverse(1, "wrong patient")
    ledger.post([request("4", cap=300)])


def test_clean_history(ledger: Ledger) -> None:
    """A reversal cancels what was granted, not what was asked; it frees the cap and counts
    negative in the totals."""
    _history(ledger)
    rows = list(ledger.postings())
    assert [("grant", 500, 300), ("grant", 500, 500), ("reversal", 500, 300), ("grant", 500, 300)] == [
        (row.kind, row.requested_fen, row.granted_fen) for row in rows]
    checked = verify(rows)
    assert (True, (), 4, 1100, 300, 800) == (checked.ok, checked.problems, checked.rows, checked.granted_fen,
                                              checked.reversed_fen, checked.net_fen)


def _store(ledger: Ledger, seq: int, changes: dict[str, Any]) -> None:
    """Overwrite fields of stored row ``seq`` in the backend itself."""
    if isinstance(ledger, MemoryLedger):
        ledger.rows[seq - 1] = attrs.evolve(ledger.rows[seq - 1], **changes)
    elif isinstance(ledger, SQLiteLedger):
        ledger.connection.execute("DROP TRIGGER IF EXISTS postings_no_update")
        ledger.connection.execute(f"UPDATE postings SET {', '.join(f'{name} = :{name}' for name in changes)} "
                                  "WHERE seq = :seq", {**changes, "seq": seq})
    else:  # the SQL plugin's ledger
        drop = {"postgresql": "ALTER TABLE shuangyong_postings DISABLE TRIGGER shuangyong_postings_append_only",
                "sqlite": "DROP TRIGGER IF EXISTS postings_no_update"}.get(
            ledger.dialect, "DROP TRIGGER IF EXISTS shuangyong_postings_no_update")
        with ledger.engine.begin() as connection:
            connection.exec_driver_sql(drop)
            connection.execute(sa.update(ledger.table).where(ledger.table.c.seq == seq).values(**changes))


def forge(ledger: Ledger, seq: int, reseal: Literal["no", "row", "chain"], **changes: Any) -> None:
    """Edit row ``seq`` in storage; ``row`` re-hashes it, ``chain`` also re-links every later row."""
    rows = list(ledger.postings())
    edited = attrs.evolve(rows[seq - 1], **changes)
    if reseal == "no":
        _store(ledger, seq, changes)
        return
    edited = seal(attrs.asdict(edited))
    _store(ledger, seq, {**changes, "hash": edited.hash})
    previous = edited.hash
    for row in rows[seq:] if reseal == "chain" else ():
        relinked = seal({**attrs.asdict(row), "prev_hash": previous})
        _store(ledger, row.seq, {"prev_hash": previous, "hash": relinked.hash})
        previous = relinked.hash


@pytest.mark.parametrize(("seq", "reseal", "changes", "problems"), [
    pytest.param(3, "no", {"reason": "typo"}, ["row 3: content does not match its hash (altered)"],
                 id="reason-edited"),
    pytest.param(2, "no", {"prev_hash": "f" * 64},
                 ["row 2: prev_hash breaks the chain", "row 2: content does not match its hash (altered)"],
                 id="prev-hash-edited"),
    pytest.param(2, "no", {"granted_fen": 400}, ["row 2: content does not match its hash (altered)"],
                 id="amount-edited"),
    pytest.param(2, "row", {"granted_fen": 400}, ["row 3: prev_hash breaks the chain"],
                 id="amount-edited-and-rehashed"),
    pytest.param(3, "row", {"reason": "typo"}, ["row 4: prev_hash breaks the chain"],
                 id="reason-edited-and-rehashed"),
    pytest.param(3, "chain", {"granted_fen": 100},
                 ["row 3 does not match the grant 1 it reverses",
                  "row 4 brings the year's total borne by hospital to 500 fen, over the cap of 300 fen"],
                 id="reversal-amount-rewritten"),
    pytest.param(3, "chain", {"reverses": 2}, ["row 3 does not match the grant 2 it reverses"],
                 id="reversal-pointed-elsewhere"),
    pytest.param(4, "chain", {"granted_fen": 500, "requested_fen": 500},
                 ["row 4 brings the year's total borne by hospital to 500 fen, over the cap of 300 fen"],
                 id="grant-over-the-cap-rewritten"),
])
def test_tampering_is_found_and_named(ledger: Ledger, seq: int, reseal: Literal["no", "row", "chain"],
                                      changes: dict[str, Any], problems: list[str]) -> None:
    _history(ledger)
    forge(ledger, seq, reseal, **changes)
    assert changes.items() <= attrs.asdict(list(ledger.postings())[seq - 1]).items(), "the edit was not stored"
    assert problems == [problem.en for problem in verify(ledger.postings()).problems]


def _payer_history(ledger: Ledger) -> None:
    """Four rows: a hospital grant; a subsidy grant cut by the subsidy's cap (500 asked, 400
    granted); its reversal; a subsidy grant the reversal made room for."""
    ledger.post([request("1")])
    ledger.post([request("2", rule_id="s1", cap=400, payer=SUBSIDY)])
    ledger.reverse(2, "wrong fund")
    ledger.post([request("4", rule_id="s1", cap=400, payer=SUBSIDY)])


@pytest.mark.parametrize(("seq", "reseal", "changes", "problems"), [
    pytest.param(1, "no", {"payer": SUBSIDY}, ["row 1: content does not match its hash (altered)"],
                 id="hospital-row-given-a-payer"),
    pytest.param(4, "no", {"payer": "hospital"}, ["row 4: content does not match its hash (altered)"],
                 id="subsidy-row-put-on-the-hospital"),
    pytest.param(3, "chain", {"payer": "hospital"},
                 ["row 3 does not match the grant 2 it reverses",
                  "row 4 brings the year's total borne by youfu_medical_subsidy to 800 fen, over the cap of 400 fen",
                  "visit V1: net grants borne by youfu_medical_subsidy total 800 fen, more than the 500 fen requested"],
                 id="reversal-credited-to-another-payer"),
])
def test_payer_tampering_is_found_and_named(ledger: Ledger, seq: int, reseal: Literal["no", "row", "chain"],
                                            changes: dict[str, Any], problems: list[str]) -> None:
    """The payer is under the hash both ways (to and from the hospital, whose rows carry no payer
    in the hashed form); a reversal re-credited to another payer, re-hashed and re-chained,
    leaves the subsidy over its yearly cap and bearing more of the visit than was asked of it."""
    _payer_history(ledger)
    assert [("hospital", 500, 0), (SUBSIDY, 800, 400)] == [
        (total.payer, total.granted_fen, total.reversed_fen) for total in verify(ledger.postings()).payers]
    forge(ledger, seq, reseal, **changes)
    assert changes.items() <= attrs.asdict(list(ledger.postings())[seq - 1]).items(), "the edit was not stored"
    assert problems == [problem.en for problem in verify(ledger.postings()).problems]


def _category_history(ledger: Ledger) -> None:
    """Three rows: a grant whose category was not recorded, a grant to a martyr's survivor, and
    that grant's reversal."""
    ledger.post([request("1")])
    ledger.post([request("2", rule_id="r2", category="martyr_family")])
    ledger.reverse(2, "挂错号")


@pytest.mark.parametrize(("seq", "reseal", "changes", "problems"), [
    pytest.param(1, "no", {"category": "disabled_veteran"}, ["row 1: content does not match its hash (altered)"],
                 id="unrecorded-row-given-a-category"),
    pytest.param(2, "no", {"category": ""}, ["row 2: content does not match its hash (altered)",
                                              "row 3 does not match the grant 2 it reverses"],
                 id="category-erased"),
    pytest.param(2, "no", {"category": "military_family"}, ["row 2: content does not match its hash (altered)",
                                                             "row 3 does not match the grant 2 it reverses"],
                 id="category-changed"),
    pytest.param(3, "chain", {"category": "military_family"}, ["row 3 does not match the grant 2 it reverses"],
                 id="reversal-under-another-category"),
])
def test_category_tampering_is_found_and_named(ledger: Ledger, seq: int, reseal: Literal["no", "row", "chain"],
                                               changes: dict[str, Any], problems: list[str]) -> None:
    """The category is under the hash both ways (to and from not recorded, whose rows carry no
    category in the hashed form); a reversal moved to another category, re-hashed and re-chained,
    no longer matches its grant."""
    _category_history(ledger)
    assert ["", "martyr_family", "martyr_family"] == [row.category for row in ledger.postings()]
    forge(ledger, seq, reseal, **changes)
    assert changes.items() <= attrs.asdict(list(ledger.postings())[seq - 1]).items(), "the edit was not stored"
    assert problems == [problem.en for problem in verify(ledger.postings()).problems]


def test_a_reversal_without_a_category_matches_its_grant(ledger: Ledger) -> None:
    """A version from before categories, still running beside a newer one, reverses a grant without
    recording its category: no tampering, so verify finds nothing (re-hashed and re-chained as
    that version would have written it)."""
    _category_history(ledger)
    forge(ledger, 3, "chain", category="")
    assert (["", "martyr_family", ""], True) == (
        [row.category for row in ledger.postings()], verify(ledger.postings()).ok)
