"""Hypothesis strategies for visits, beneficiaries and random (valid) policy packs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import strategies as st

from shuangyong.dates import DateWindow
from shuangyong.model import Beneficiary, ChargeLine, Credential, Registry, Visit
from shuangyong.policy import PolicySet, merge, parse_pack

REGISTRY = Registry.builtin()
CATEGORIES = [t.id for t in REGISTRY.categories]
CREDENTIALS = [t.id for t in REGISTRY.credentials]
ITEMS = [t.id for t in REGISTRY.items]
FEE_ITEMS = [t.id for t in REGISTRY.items if not t.deposit]
REGIONS = ["450100", "450200", "450300", "370100", "320100"]
DAY = dt.date(2025, 6, 15)

amounts = st.one_of(
    st.integers(0, 5_000_00),            # realistic: up to 5,000 yuan
    st.sampled_from([0, 1, 5, 99, 100, 101, 1235, 1_000_000_00]),  # edges
).map(lambda fen: Decimal(fen) / 100)


@st.composite
def credentials(draw: st.DrawFn, day: dt.date = DAY, kinds: list[str] = CREDENTIALS) -> Credential:
    """A credential whose window starts and ends near ``day``: before, on the edges, after."""
    start = day + dt.timedelta(days=draw(st.integers(-400, 3)))
    end = draw(st.one_of(st.none(), st.integers(0, 800).map(lambda n: start + dt.timedelta(days=n))))
    return Credential(draw(st.sampled_from(kinds)), draw(st.text("桂0123456789", min_size=1, max_size=6)),
                      DateWindow(start, end))


@st.composite
def beneficiaries(draw: st.DrawFn, day: dt.date = DAY) -> Beneficiary:
    categories = frozenset(draw(st.lists(st.sampled_from(CATEGORIES), max_size=3)))
    disabled = "disabled_veteran" in categories
    return Beneficiary(
        draw(st.text("P0123456789", min_size=1, max_size=5)), categories,
        tuple(draw(st.lists(credentials(day), max_size=3))),
        draw(st.integers(1, 10)) if disabled else None,
        draw(st.sampled_from(["war", "duty", "illness"])) if disabled else None,
        draw(st.one_of(st.none(), st.dates(dt.date(1925, 1, 1), dt.date(2020, 1, 1)))))


@st.composite
def visits(draw: st.DrawFn, items: list[str] = ITEMS) -> Visit:
    day = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
    count = draw(st.integers(0, 12))
    ids = draw(st.lists(st.text("0123456789abc", min_size=1, max_size=3), min_size=count,
                        max_size=count, unique=True))
    lines = tuple(ChargeLine(line_id, draw(st.sampled_from(items + ["acupuncture"])), draw(amounts),
                             frozenset(draw(st.lists(st.sampled_from(["surgical", "child"]), max_size=2))))
                  for line_id in ids)
    return Visit(draw(st.text("V0123456789", min_size=1, max_size=6)), day,
                 draw(st.sampled_from(["outpatient", "emergency", "inpatient"])),
                 draw(st.sampled_from(REGIONS)), draw(beneficiaries(day)), lines)


def _when(draw: st.DrawFn) -> dict[str, Any]:
    options: list[dict[str, Any]] = [
        {"category": draw(st.sampled_from(CATEGORIES))},
        {"credential": draw(st.sampled_from(CREDENTIALS))},
        {"visit_kind": draw(st.sampled_from(["outpatient", "emergency", "inpatient"]))},
        {"region": draw(st.sampled_from(["45", "450100", "37"]))},
        {"age": {"min": draw(st.integers(0, 90))}},
        {"disability_level": {"min": 1, "max": draw(st.integers(1, 10))}},
        {"tags": ["surgical"]},
    ]
    chosen = draw(st.lists(st.sampled_from(range(len(options))), min_size=1, max_size=2, unique=True))
    when: dict[str, Any] = {}
    for index in chosen:
        when.update(options[index])
    return when


@st.composite
def pack_sets(draw: st.DrawFn, per_visit_caps: bool = True) -> PolicySet:
    """A random valid pack: rules with predicates, benefits, groups, caps and effective dates."""
    rules = []
    for n in range(draw(st.integers(1, 8))):
        benefit = draw(st.sampled_from(["reduce", "fixed", "waive"]))
        rule: dict[str, Any] = {
            "id": f"r{n}", "title": {"zh": f"规则{n}", "en": f"rule {n}"}, "clause": "测试", "source": "test",
            "when": _when(draw),
            "items": draw(st.lists(st.sampled_from(FEE_ITEMS), min_size=1, max_size=3, unique=True)),
            "group": draw(st.sampled_from(["a", "b"])),
            "benefit": {"reduce": f"{draw(st.integers(0, 100))}%"} if benefit == "reduce"
            else {"fixed": str(draw(amounts))} if benefit == "fixed" else {"waive": True},
        }
        caps = {}
        if draw(st.booleans()):
            caps["per_line"] = str(draw(amounts))
        if per_visit_caps and draw(st.booleans()):
            caps["per_visit"] = str(draw(amounts))
        if caps:
            rule["caps"] = caps
        if draw(st.booleans()):
            start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
            rule["effective"] = {"from": start.isoformat(),
                                 "to": (start + dt.timedelta(days=draw(st.integers(0, 400)))).isoformat()}
        rules.append(rule)
    document = {"pack": "random", "title": {"zh": "随机", "en": "random"}, "rules": rules}
    return merge([parse_pack(yaml.safe_dump(document, allow_unicode=True), "random.yaml")], REGISTRY)
