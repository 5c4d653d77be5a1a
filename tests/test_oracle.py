"""An oracle for the money: what the engine should grant, worked out again from the packs' own
words (docs/policy-packs.md, DESIGN §3, §5) in deliberately plain integer arithmetic, and held
against the row engine and the batch engine to the fen on every line.

The oracle uses nothing of the library but the vocabulary table it copies below: amounts are
parsed from their text into whole fen, percentages into integer fractions, half-up rounding is
a ``divmod``, ages are counted from the birthday in the visit's year. The strategies do not
leave the edges to luck: amounts whose reduction is exactly half a fen, visit dates on a rule's
first and last day and one day outside, cards that end on the visit date or the day before,
patients whose birthday is the visit date or 29 February, age bounds at that very age.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from shuangyong.batch import BatchEngine
from shuangyong.batch.sources.jsonl import json_line_chunks
from shuangyong.engine import Engine
from shuangyong.interchange import decision_to_dict, visit_from_dict
from shuangyong.model import Registry
from shuangyong.policy import merge
from shuangyong.policy.loader import LoadedPack
from shuangyong.policy.schema import PackSpec
from shuangyong.testing import strategies as sy

from .batch_support import batch_output, jsonl

REGISTRY = Registry.builtin()

#: The category hierarchy as docs/policy-packs.md tables it: each category's parents.
PARENTS: dict[str, tuple[str, ...]] = {
    "serviceman": (), "military_family": (), "key_care": (), "veteran": (),
    "disabled_veteran": ("key_care",), "martyr_family": ("key_care",), "sacrificed_family": ("key_care",),
    "deceased_family": ("key_care",), "demobilized_veteran": ("key_care", "veteran"),
    "ill_returned_veteran": ("key_care", "veteran"), "war_test_veteran": ("key_care", "veteran"),
}
CARDS = ("key_care_medical_card", "preferential_card")
ITEMS = ("drug", "bed", "exam")
KINDS = ("outpatient", "inpatient")
VISIT_REGIONS = ("450100", "450300", "370100")
RULE_REGIONS = (None, None, None, "45", "4501", "37")  #: mostly everywhere
#: days where calendars go wrong: leap days, the turn of a month and of a year
CALENDAR_EDGES = tuple(dt.date.fromisoformat(d) for d in (
    "2024-02-28", "2024-02-29", "2024-03-01", "2025-02-28", "2025-03-01", "2025-12-31", "2026-01-01"))


# --- the oracle ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Rule:
    """What a generated rule says, in the oracle's own terms (amounts in fen)."""

    id: str
    group: str
    items: tuple[str, ...]
    benefit: str  #: reduce, fixed or waive
    rate: str | None = None
    fixed: int | None = None
    per_line: int | None = None
    per_visit: int | None = None
    per_year: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    region: str | None = None
    categories: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None

    def yaml(self) -> dict[str, Any]:
        """The rule as a pack writes it."""
        rule: dict[str, Any] = {"id": self.id, "title": {"zh": self.id, "en": self.id}, "clause": "条款",
                                "source": "oracle", "items": list(self.items), "group": self.group,
                                "benefit": ({"reduce": self.rate} if self.benefit == "reduce" else
                                            {"fixed": yuan(self.fixed)} if self.benefit == "fixed" else
                                            {"waive": True})}
        caps = {key: yuan(value) for key, value in (("per_line", self.per_line), ("per_visit", self.per_visit),
                                                    ("per_year", self.per_year)) if value is not None}
        if caps:
            rule["caps"] = caps
        effective = {key: day.isoformat() for key, day in (("from", self.start), ("to", self.end)) if day}
        if effective:
            rule["effective"] = effective
        if self.region:
            rule["region"] = self.region
        when: dict[str, Any] = {}
        if self.categories:
            when["category"] = list(self.categories)
        if self.cards:
            when["credential"] = list(self.cards)
        if self.kinds:
            when["visit_kind"] = list(self.kinds)
        if self.age_min is not None or self.age_max is not None:
            when["age"] = {key: value for key, value in (("min", self.age_min), ("max", self.age_max))
                           if value is not None}
        if when:
            rule["when"] = when
        return rule


def fen(text: str) -> int:
    """``"12.35"`` → 1235, from the text."""
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def yuan(amount: int | None) -> str:
    """1235 → ``"12.35"``."""
    assert amount is not None
    return f"{amount // 100}.{amount % 100:02d}"


def percent_of(amount: int, rate: str) -> int:
    """``rate`` of ``amount`` fen, rounded half up to the fen, with integers only."""
    whole, _, decimals = rate.removesuffix("%").partition(".")
    numerator, denominator = int(whole + decimals), 100 * 10 ** len(decimals)
    quotient, remainder = divmod(amount * numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years on ``day``: a year more from the birthday itself; a 29 February birthday is
    kept on 1 March in common years (docs/money-and-dates.md, "Age")."""
    if (birth.month, birth.day) == (2, 29) and not _leap(day.year):
        birthday = dt.date(day.year, 3, 1)
    else:
        birthday = dt.date(day.year, birth.month, birth.day)
    return day.year - birth.year - (1 if day < birthday else 0)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def with_ancestors(categories: list[str]) -> set[str]:
    found: set[str] = set()
    todo = list(categories)
    while todo:
        category = todo.pop()
        if category not in found:
            found.add(category)
            todo.extend(PARENTS[category])
    return found


def applies(rule: Rule, record: dict[str, Any]) -> bool:
    """In force on the visit date (both ends included), in region, and ``when`` holds."""
    day = dt.date.fromisoformat(record["date"])
    patient = record["patient"]
    if (rule.start and day < rule.start) or (rule.end and day > rule.end):
        return False
    if rule.region and not record["region"].startswith(rule.region):
        return False
    if rule.categories and not with_ancestors(patient["categories"]) & set(rule.categories):
        return False
    if rule.cards and not any(
            card["kind"] in rule.cards
            and (card["valid_from"] is None or dt.date.fromisoformat(card["valid_from"]) <= day)
            and (card["valid_to"] is None or day <= dt.date.fromisoformat(card["valid_to"]))
            for card in patient["credentials"]):
        return False
    if rule.kinds and record["kind"] not in rule.kinds:
        return False
    if rule.age_min is not None or rule.age_max is not None:
        birth = patient.get("birth_date")
        if birth is None or dt.date.fromisoformat(birth) > day:  # no age before birth
            return False
        age = age_on(dt.date.fromisoformat(birth), day)
        if (rule.age_min is not None and age < rule.age_min) or (rule.age_max is not None and age > rule.age_max):
            return False
    return True


def oracle(rules: list[Rule], groups: list[str], record: dict[str, Any]) -> dict[str, tuple[str, list[list[str]]]]:
    """Per line id: the reduction and the (rule, share) list, as the JSON contract writes them.

    Lines in numeric id order; groups in order, each on what the previous left; within a group
    the rule taking off most wins, the earlier on a tie, and taking off nothing never wins; a
    rule's take is its benefit, then at most its per-line cap, then at most what is left of its
    per-visit cap. The yearly cap needs the ledger, so the engine alone does not apply it.
    """
    eligible = [rule for rule in rules if applies(rule, record)]
    cap_left = {rule.id: rule.per_visit for rule in eligible if rule.per_visit is not None}
    answer = {}
    for line in sorted(record["lines"], key=lambda line: int(line["line_id"])):
        remaining = fen(line["amount"])
        shares = []
        for group in groups:
            best: Rule | None = None
            best_take = 0
            for rule in eligible:
                if rule.group != group or line["item"] not in rule.items:
                    continue
                take = (percent_of(remaining, rule.rate) if rule.benefit == "reduce" else  # type: ignore[arg-type]
                        min(rule.fixed, remaining) if rule.benefit == "fixed" else remaining)  # type: ignore[type-var]
                if rule.per_line is not None:
                    take = min(take, rule.per_line)
                if rule.id in cap_left:
                    take = min(take, cap_left[rule.id])
                if take > best_take:
                    best, best_take = rule, take
            if best is not None:
                remaining -= best_take
                shares.append([best.id, yuan(best_take)])
                if best.id in cap_left:
                    cap_left[best.id] -= best_take
        answer[line["line_id"]] = (yuan(fen(line["amount"]) - remaining), shares)
    return answer


# --- strategies that force the edges ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scenario:
    rules: list[Rule]
    groups: list[str]
    records: list[dict[str, Any]]

    def engine(self) -> Engine:
        document = {"schema_version": 1, "pack": "oracle", "title": {"zh": "预言", "en": "oracle"},
                    "groups": self.groups, "rules": [rule.yaml() for rule in self.rules]}
        # validated as parse_pack validates a file, without the YAML text (most of the time)
        pack = LoadedPack(PackSpec.model_validate(document), "oracle.yaml", None, {})
        return Engine(merge([pack], REGISTRY), REGISTRY)


def _fen_up_to(limit: int) -> st.SearchStrategy[int | None]:
    """No cap, or one small enough to bind (half of them under 3.00)."""
    return st.one_of(st.none(), st.integers(0, limit), st.integers(0, 300))


FIXED = st.one_of(st.integers(0, 3000), st.integers(0, 300))
PER_LINE, PER_VISIT, PER_YEAR = _fen_up_to(3000), _fen_up_to(6000), _fen_up_to(3000)
RATES = st.one_of(st.sampled_from(sy.TIE_RATES), sy.rates())
CATEGORY_SETS = st.lists(st.sampled_from(sorted(PARENTS)), max_size=2, unique=True).map(tuple)
ITEM_SETS = st.lists(st.sampled_from(ITEMS), min_size=1, max_size=2, unique=True).map(tuple)
LINE_IDS = st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True)


#: the one condition a rule may carry (none most often, so that rules often apply)
CONDITIONS = ("none", "none", "none", "category", "credential", "visit_kind", "age")


@st.composite
def rules(draw: st.DrawFn, number: int, anchor: dt.date, age: int) -> Rule:
    """A rule in force around ``anchor`` (from or until that day, ended the day before…), with
    at most one condition; age bounds sit at ``age`` or one year either side."""
    benefit = draw(st.sampled_from(["reduce", "reduce", "fixed", "waive"]))
    effective = draw(st.one_of(st.just({}), sy.effective_windows(anchor)))
    condition = draw(st.sampled_from(CONDITIONS))
    when: dict[str, Any] = {}
    if condition == "category":
        when["categories"] = draw(st.lists(st.sampled_from(sorted(PARENTS)), min_size=1, max_size=2,
                                           unique=True).map(tuple))
    elif condition == "credential":
        when["cards"] = draw(st.sampled_from([CARDS[:1], CARDS]))
    elif condition == "visit_kind":
        when["kinds"] = (draw(st.sampled_from(KINDS)),)
    elif condition == "age":
        bounds = st.one_of(st.none(), st.sampled_from([age - 1, age, age + 1]))
        low, high = draw(bounds), draw(bounds)
        if low is None and high is None:
            low = age
        when = {"age_min": low, "age_max": high if low is None or high is None or high >= low else None}
    return Rule(
        f"r{number}", draw(st.sampled_from(["a", "b"])), draw(ITEM_SETS), benefit,
        rate=draw(RATES) if benefit == "reduce" else None,
        fixed=draw(FIXED) if benefit == "fixed" else None,
        per_line=draw(PER_LINE), per_visit=draw(PER_VISIT), per_year=draw(PER_YEAR),
        start=dt.date.fromisoformat(effective["from"]) if "from" in effective else None,
        end=dt.date.fromisoformat(effective["to"]) if "to" in effective else None,
        region=draw(st.sampled_from(RULE_REGIONS)), **when)


@st.composite
def records(draw: st.DrawFn, number: int, days: list[dt.date], rules: list[Rule], age: int) -> dict[str, Any]:
    """A visit on one of ``days`` (the rules' first and last days and their neighbours): cards
    ending on it or the day before, a birthday on it (or a birth date after it, a typing error
    that leaves the age unknown), amounts on half a fen for the rules' rates."""
    day = draw(st.sampled_from(days))
    cards = []
    for kind in draw(st.lists(st.sampled_from(CARDS), max_size=2)):
        window = draw(sy.validity_windows(day))
        cards.append({"kind": kind, "number": "桂001", "valid_from": window.start and window.start.isoformat(),
                      "valid_to": window.end and window.end.isoformat()})
    wanted = sorted({category for rule in rules for category in rule.categories})
    held = set(draw(CATEGORY_SETS)) | set(draw(st.lists(st.sampled_from(wanted))) if wanted else ())
    patient: dict[str, Any] = {"id": f"P{number}", "categories": sorted(held), "credentials": cards}
    birth = draw(st.one_of(st.none(), st.integers(1, 400).map(lambda n: day + dt.timedelta(days=n)),
                           *(sy.birth_dates(day, placement, ages=st.sampled_from([age - 1, age, age + 1]))
                             for placement in ("birthday", "birthday", "birthday", *sy.BIRTHDAYS))))
    if birth is not None:
        patient["birth_date"] = birth.isoformat()
    amounts = sy.money(typical_max="50.00", ties=[rule.rate for rule in rules if rule.rate is not None])
    lines = [{"line_id": str(n), "item": draw(st.sampled_from(ITEMS)), "amount": str(draw(amounts)), "tags": []}
             for n in draw(LINE_IDS)]
    return {"visit_id": f"V{number}", "date": day.isoformat(), "kind": draw(st.sampled_from(KINDS)),
            "region": draw(st.sampled_from(VISIT_REGIONS)), "patient": patient, "lines": lines}


@st.composite
def scenarios(draw: st.DrawFn, max_visits: int = 1) -> Scenario:
    """Up to four rules around one anchor day, and visits on their first and last days and the
    days just outside."""
    anchor = draw(st.one_of(st.sampled_from(CALENDAR_EDGES), st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))))
    age = draw(st.integers(1, 99))
    drawn = [draw(rules(n, anchor, age)) for n in range(draw(st.integers(1, 4)))]
    one = dt.timedelta(days=1)
    edges = [day for rule in drawn for day in (rule.start, rule.end) if day]
    # a rule's first and last days, twice as often as the days just outside them
    days = [anchor, *edges, *edges, *(day + shift for day in edges for shift in (-one, one))]
    visits = [draw(records(n, days, drawn, age)) for n in range(draw(st.integers(1, max_visits)))]
    return Scenario(drawn, list(draw(st.permutations(sorted({r.group for r in drawn})))), visits)


# --- the properties --------------------------------------------------------------------------

def _visit(number: int, day: str, birth: str, card_to: str, *amounts: str) -> dict[str, Any]:
    return {"visit_id": f"V{number}", "date": day, "kind": "outpatient", "region": "450100",
            "patient": {"id": "P1", "categories": [], "birth_date": birth, "credentials": [
                {"kind": CARDS[0], "number": "桂001", "valid_from": None, "valid_to": card_to}]},
            "lines": [{"line_id": str(n), "item": item, "amount": amount, "tags": []}
                      for n, (item, amount) in enumerate(zip(ITEMS, amounts, strict=False), start=1)]}


#: Every edge at once, written out, so that the properties see them whatever Hypothesis draws:
#: 50 % of 0.05 (0.025: half-up 0.03, half-even 0.02), a per-line cap of 1.00 on a 1.50 take,
#: a rule on its last day, a card on its last day, the 80th birthday, a 29 February birthday.
EDGES = Scenario(
    [Rule("half", "a", ("drug",), "reduce", rate="50%", end=dt.date(2025, 3, 1)),
     Rule("capped", "a", ("bed",), "reduce", rate="15%", per_line=100, cards=CARDS[:1]),
     Rule("elders", "b", ("exam",), "waive", age_min=80),
     Rule("leap", "b", ("drug",), "fixed", fixed=1, age_max=20)],
    ["a", "b"],
    [_visit(1, "2025-03-01", "1945-03-01", "2025-03-01", "0.05", "10.00", "2.00"),
     _visit(2, "2025-03-02", "1945-03-02", "2025-03-01", "0.07", "10.00", "2.00"),
     _visit(3, "2025-02-28", "2004-02-29", "2026-01-01", "0.05", "0.30", "2.00"),
     _visit(4, "2025-03-01", "2004-02-29", "2026-01-01", "0.05", "0.30", "2.00")])


def _answer(output: dict[str, Any]) -> dict[str, tuple[str, list[list[str]]]]:
    return {line["line_id"]: (line["reduction"], [[a["rule"], a["reduction"]] for a in line["applied"]])
            for line in output["lines"]}


@settings(max_examples=150, deadline=None)
@given(scenarios(max_visits=3))
@example(EDGES)
def test_row_engine_grants_what_the_oracle_works_out(scenario: Scenario) -> None:
    """Every line's reduction and every rule's share, to the fen, on the edges that matter."""
    engine = scenario.engine()
    for record in scenario.records:
        assert _answer(decision_to_dict(engine.evaluate(visit_from_dict(record)))) == oracle(
            scenario.rules, scenario.groups, record)


@settings(max_examples=50, deadline=None)
@given(scenarios(max_visits=4))
@example(EDGES)
def test_batch_engine_grants_what_the_oracle_works_out(scenario: Scenario) -> None:
    """The columns agree with the oracle too, and did the work (no visit fell back to rows)."""
    batch = BatchEngine(scenario.engine())
    data = jsonl(scenario.records)
    assert not batch.evaluate_chunk(next(json_line_chunks(io.BytesIO(data), 1 << 20))).rows
    outputs = [json.loads(line) for line in batch_output(batch, data).splitlines()]
    assert [_answer(output) for output in outputs] == [
        oracle(scenario.rules, scenario.groups, record) for record in scenario.records]
