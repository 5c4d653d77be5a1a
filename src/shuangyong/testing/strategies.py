"""Hypothesis strategies for what the engine reads: money, categories, credentials, beneficiaries,
charge lines, visits (with or without insurance data), and random but valid policy packs (with or
without the settlement keys of docs/settlement.md).

Each strategy shrinks toward a counterexample a reader can check by hand: amounts toward
``0.00`` and the first edge amounts, credential windows toward "valid on the visit day", ids
toward ``P1`` / ``V1`` / ``1``, lists toward empty, packs toward a single rule with one
condition. Vocabularies come from a :class:`~shuangyong.model.Registry`; by default the one the
installed plugins build (:func:`shuangyong.plugins.registry`), so a plugin's categories are
drawn too.

Needs the ``testing`` extra (``pip install 'shuangyong[testing]'``), which brings hypothesis.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from shuangyong.errors import MissingExtraError
from shuangyong.text import Text

try:
    from hypothesis import strategies as st
except ImportError:  # tested in a subprocess without hypothesis: tests/test_testing_strategies.py
    raise MissingExtraError(Text(
        "shuangyong.testing.strategies 需要 hypothesis：请安装 pip install 'shuangyong[testing]'",
        "shuangyong.testing.strategies needs hypothesis: pip install 'shuangyong[testing]'"),
        record="shuangyong.testing", field="hypothesis") from None

from shuangyong import plugins
from shuangyong.dates import DateWindow
from shuangyong.model import Beneficiary, ChargeCodeMap, ChargeLine, Credential, Registry, Visit
from shuangyong.model.insurance import BASES, Insurance
from shuangyong.model.visit import FEE_CATEGORIES
from shuangyong.money import from_fen, parse_amount, parse_rate, to_fen
from shuangyong.policy import PolicySet, merge, parse_pack

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "BIRTHDAYS", "EDGE_AMOUNTS", "PLACEMENTS", "REGIONS", "TIE_RATES", "beneficiaries", "birth_dates",
    "categories", "charge_lines", "conditions", "credential_kinds", "credentials", "default_registry",
    "effective_windows", "insurances", "insured_visits", "item_kinds", "money", "pack_sets", "policy_packs",
    "rates", "tie_amounts", "validity_windows", "visits",
]

#: Amounts where rounding and bounds go wrong: zero, one fen, the half-fen of a 50 % cut, the
#: yuan boundary, 12.35 (DESIGN §3's example) and the largest amount an HIS is likely to send.
EDGE_AMOUNTS = ("0.00", "0.01", "0.05", "0.49", "0.50", "0.51", "0.99", "1.00", "1.01", "12.35",
                "99999999.99")
#: Percentages whose product with some amounts lands on exactly half a fen: where half-up and
#: half-even (banker's) rounding part ways.
TIE_RATES = ("50%", "5%", "15%", "25%", "35%", "2.5%", "12.5%", "0.5%", "33.33%")
#: Where a credential's validity window lies relative to the visit day (first = simplest).
PLACEMENTS = ("covers", "open", "starts_on", "ends_on", "ended", "not_yet")
#: Where a birth date lies relative to the visit day: the birthday is that day (the age turns
#: over), was the day before, is the day after; born on 29 February; anywhere.
BIRTHDAYS = ("birthday", "day_after", "day_before", "leap_day", "any")
#: GB/T 2260 city codes in two provinces, so that region prefixes both match and miss.
REGIONS = ("450100", "450200", "450300", "370100", "320100")
#: Region scopes a random rule may be limited to: a province, a city, a district-level code.
_RULE_REGIONS = ("45", "4501", "450100", "37")
_TAGS = ("surgical", "child")
_UNKNOWN_ITEMS = ("acupuncture", "massage")


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry the installed plugins build (built-in vocabularies plus plugins' terms)."""
    return plugins.registry()


def _registry(registry: Registry | None) -> Registry:
    return registry if registry is not None else default_registry()


def money(*, min_value: object = "0.00", max_value: object = "99999999.99",
          typical_max: object = "5000.00", ties: Sequence[str] = ()) -> st.SearchStrategy[Decimal]:
    """Decimal yuan with exactly two places: realistic amounts up to ``typical_max`` and the
    :data:`EDGE_AMOUNTS` within bounds. Bounds are amounts as the library reads them (``"12.35"``).

    ``ties``: percentages (``"50%"``) whose half-fen amounts (:func:`tie_amounts`) are mixed in,
    so that rounding is exercised and not only reached by luck; a rate without any is skipped."""
    low, high = to_fen(parse_amount(min_value)), to_fen(parse_amount(max_value))
    typical = max(low, min(high, to_fen(parse_amount(typical_max))))
    edges = [fen for fen in (to_fen(Decimal(a)) for a in EDGE_AMOUNTS) if low <= fen <= high]
    options = [st.integers(low, typical)]
    if edges:
        options.append(st.sampled_from(edges))
    for rate in ties:
        tied = _tied_fen(rate, low, max(low, min(high, typical)))
        if tied is not None:
            options.append(tied)
    return st.one_of(options).map(lambda n: parse_amount(from_fen(n)))


def _tied_fen(rate: str, low: int, high: int) -> st.SearchStrategy[int] | None:
    """Amounts in fen from ``low`` to ``high`` whose product with ``rate`` ends in exactly half a
    fen; ``None`` when there are none (for ``"20%"``: fifths of a fen never are halves)."""
    numerator, denominator = parse_rate(rate).as_integer_ratio()
    if denominator % 2:  # fen × p / q is k + ½ only if 2q divides 2·fen·p − q: q must be even
        return None
    least = denominator // 2 * pow(numerator, -1, denominator) % denominator  # then every q fen
    first = least + max(0, -(-(low - least) // denominator)) * denominator
    if first > high:
        return None
    return st.integers(0, (high - first) // denominator).map(lambda k: first + k * denominator)


def tie_amounts(rate: str, *, max_value: object = "99999999.99") -> st.SearchStrategy[Decimal]:
    """Amounts whose product with ``rate`` is exactly half a fen (for ``"50%"`` an odd number of
    fen, for ``"15%"`` 0.10, 0.30, …): the reductions a half-up engine rounds up and a half-even
    one may round down. Refuses a rate that has none, such as ``"20%"`` (``ValueError``)."""
    tied = _tied_fen(rate, 0, to_fen(parse_amount(max_value)))
    if tied is None:
        raise ValueError(f"no amount up to {max_value} times {rate} ends in half a fen")
    return tied.map(lambda n: parse_amount(from_fen(n)))


def rates() -> st.SearchStrategy[str]:
    """Percentages as packs write them (``"50%"``), with the edges 0 %, 1 %, 50 %, 99 %, 100 %
    and the :data:`TIE_RATES` (``"12.5%"``, ``"15%"``) whose reductions can fall on half a fen."""
    return st.one_of(st.integers(0, 100).map(lambda n: f"{n}%"),
                     st.sampled_from(["0%", "1%", "50%", "99%", "100%", *TIE_RATES]))


def categories(registry: Registry | None = None) -> st.SearchStrategy[str]:
    """A registered category id, plugins' included."""
    return st.sampled_from([term.id for term in _registry(registry).categories])


def credential_kinds(registry: Registry | None = None) -> st.SearchStrategy[str]:
    """Credential kind ids of the registry (the built-in one by default)."""
    return st.sampled_from([term.id for term in _registry(registry).credentials])


def item_kinds(registry: Registry | None = None, *, deposits: bool = True,
               unknown: bool = False) -> st.SearchStrategy[str]:
    """A registered item kind; ``unknown`` adds kinds no registry knows (they get nothing)."""
    kinds = [term.id for term in _registry(registry).items if deposits or not term.deposit]
    return st.sampled_from(kinds + (list(_UNKNOWN_ITEMS) if unknown else []))


@st.composite
def validity_windows(draw: st.DrawFn, day: dt.date, placement: str | None = None) -> DateWindow:
    """An inclusive window placed relative to ``day`` (one of :data:`PLACEMENTS`): covering it,
    open-ended, starting or ending on it (the inclusive edges), ended the day before or earlier,
    or starting the day after or later (the day before and the day after are drawn often)."""
    where = placement or draw(st.sampled_from(PLACEMENTS))
    if where not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {where!r}")
    # one day off is where an exclusive comparison hides: drawn often, not only when shrinking
    days = st.one_of(st.just(1), st.integers(1, 730)).map(lambda n: dt.timedelta(days=n))
    maybe_open = st.one_of(st.none(), days)
    if where == "covers":
        return DateWindow(day - draw(days), day + draw(days))
    if where == "open":
        before = draw(maybe_open)
        return DateWindow(None if before is None else day - before, None)
    if where == "starts_on":
        after = draw(maybe_open)
        return DateWindow(day, None if after is None else day + after)
    if where == "ends_on":
        before = draw(maybe_open)
        return DateWindow(None if before is None else day - before, day)
    if where == "ended":
        end = day - draw(days)
        before = draw(maybe_open)
        return DateWindow(None if before is None else end - before, end)
    start = day + draw(days)
    after = draw(maybe_open)
    return DateWindow(start, None if after is None else start + after)


def effective_windows(day: dt.date, placement: str | None = None) -> st.SearchStrategy[dict[str, str]]:
    """A rule's ``effective`` as YAML data, placed around ``day`` as :func:`validity_windows`
    places a credential: in force from or until that very day, ended the day before, starting
    the day after… An open window on both sides is ``{}`` (leave ``effective`` out)."""
    return validity_windows(day, placement).map(lambda window: {
        key: value.isoformat() for key, value in (("from", window.start), ("to", window.end)) if value})


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same month and day ``years`` earlier, or further back until that day exists (29 Feb)."""
    while True:
        try:
            return day.replace(year=day.year - years)
        except ValueError:
            years += 1


@st.composite
def birth_dates(draw: st.DrawFn, day: dt.date, placement: str | None = None, *,
                ages: st.SearchStrategy[int] | None = None) -> dt.date:
    """A birth date placed relative to ``day`` (one of :data:`BIRTHDAYS`): the birthday falls on
    ``day`` itself (the age turns over that day), on the day after (not yet), on the day before;
    29 February of a leap year (a year older on 1 March in common years); or any day since 1925.
    ``ages`` draws the age reached (0–100 by default)."""
    where = placement or draw(st.sampled_from(BIRTHDAYS))
    if where not in BIRTHDAYS:
        raise ValueError(f"placement must be one of {', '.join(BIRTHDAYS)}, got {where!r}")
    if where == "any":
        return draw(st.dates(dt.date(1925, 1, 1), day))
    age = draw(ages if ages is not None else st.integers(0, 100))
    if where == "leap_day":
        year = day.year - age - ((day.month, day.day) < (2, 29))
        while not calendar.isleap(year):
            year -= 1
        return dt.date(year, 2, 29)
    shift = {"birthday": 0, "day_after": 1, "day_before": -1}[where]
    # a birthday tomorrow is at least the first: a baby is not born after the visit
    return _years_before(day + dt.timedelta(days=shift), max(age, shift))


@st.composite
def credentials(draw: st.DrawFn, day: dt.date, *, kinds: Sequence[str] | None = None,
                registry: Registry | None = None, placement: str | None = None) -> Credential:
    """A credential whose window lies around ``day`` (see :func:`validity_windows`)."""
    kind = draw(st.sampled_from(list(kinds)) if kinds is not None else credential_kinds(registry))
    number = draw(st.integers(1, 999).map(lambda n: f"桂{n:03d}"))
    return Credential(kind, number, draw(validity_windows(day, placement)))


@st.composite
def beneficiaries(draw: st.DrawFn, day: dt.date, *, registry: Registry | None = None,
                  max_categories: int = 3, max_credentials: int = 3) -> Beneficiary:
    """A patient on ``day``: some categories, some credentials around the day, a disability
    level and cause when a category is (or descends from) ``disabled_veteran``, maybe a birth
    date (often a birthday on or next to ``day``: see :func:`birth_dates`)."""
    registry = _registry(registry)
    held = frozenset(draw(st.lists(categories(registry), max_size=max_categories)))
    disabled = any("disabled_veteran" in registry.categories.with_ancestors(c) for c in held)
    return Beneficiary(
        draw(st.integers(1, 99999).map(lambda n: f"P{n}")), held,
        tuple(draw(st.lists(credentials(day, registry=registry), max_size=max_credentials))),
        draw(st.integers(1, 10)) if disabled else None,
        draw(st.sampled_from([t.id for t in registry.disability_causes])) if disabled else None,
        draw(st.one_of(st.none(), birth_dates(day))))


def line_ids() -> st.SearchStrategy[str]:
    """Line ids as HISs send them: numbers (natural order: "2" before "10") and mixed text."""
    return st.one_of(st.integers(1, 99).map(str), st.text("0123456789abc", min_size=1, max_size=3))


@st.composite
def charge_lines(draw: st.DrawFn, line_id: str | None = None, *, registry: Registry | None = None,
                 items: Sequence[str] | None = None, codes: ChargeCodeMap | None = None,
                 unknown_items: bool = False, amounts: st.SearchStrategy[Decimal] | None = None) -> ChargeLine:
    """One charge line of any item kind (or of ``items``), with or without a national fee category
    (docs/fee-categories.md). With ``codes``, the line may carry a hospital charge code and the
    item kind the table maps it to, as a decoded record would."""
    code = None
    if codes is not None and codes.items and draw(st.booleans()):
        code = draw(st.sampled_from(sorted(codes.items)))
        item = codes.items[code]
    elif items is not None:
        item = draw(st.sampled_from(list(items)))
    else:
        item = draw(item_kinds(registry, unknown=unknown_items))
    return ChargeLine(line_id if line_id is not None else draw(line_ids()), item,
                      draw(amounts if amounts is not None else money()),
                      frozenset(draw(st.lists(st.sampled_from(_TAGS), max_size=2))), code,
                      fee_category=draw(st.none() | st.sampled_from(FEE_CATEGORIES)))


@st.composite
def visits(draw: st.DrawFn, *, day: dt.date | None = None, registry: Registry | None = None,
           items: Sequence[str] | None = None, codes: ChargeCodeMap | None = None,
           regions: Sequence[str] = REGIONS, max_lines: int = 12, unknown_items: bool = True,
           amounts: st.SearchStrategy[Decimal] | None = None) -> Visit:
    """A visit with up to ``max_lines`` lines of distinct ids, on ``day`` or a day in 2024–2026
    (the years the national rules came into force)."""
    registry = _registry(registry)
    when = day or draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
    ids = draw(st.lists(line_ids(), max_size=max_lines, unique=True))
    lines = tuple(draw(charge_lines(i, registry=registry, items=items, codes=codes,
                                    unknown_items=unknown_items, amounts=amounts)) for i in ids)
    return Visit(draw(st.integers(1, 99999).map(lambda n: f"V{n}")), when,
                 draw(st.sampled_from([t.id for t in registry.visit_kinds])),
                 draw(st.sampled_from(list(regions))), draw(beneficiaries(when, registry=registry)), lines)


@st.composite
def insurances(draw: st.DrawFn, amount: Decimal, *, registry: Registry | None = None,
               funds: Sequence[str] | None = None) -> Insurance:
    """What 医保 settled on a line of ``amount``: the amount cut in whole fen into what up to three
    funds paid (of ``funds``, by default the registry's, plugins' included) and the four self-pay
    parts, adding up exactly. Shrinks toward a line insurance did not cover: everything ``full``
    self-pay, no fund."""
    pool = list(funds) if funds is not None else list(_registry(registry).payer_ids("fund"))
    paying = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True)) if pool else []
    # the slot the cuts shrink into (all at 0: every fen in the last slot) is ``full``
    slots = [*paying, "preliminary", "in_scope", "over_limit", "full"]
    whole = to_fen(amount)
    cuts = sorted(draw(st.lists(st.integers(0, whole), min_size=len(slots) - 1, max_size=len(slots) - 1)))
    parts = dict(zip(slots, (from_fen(b - a) for a, b in zip([0, *cuts], [*cuts, whole], strict=True)),
                     strict=True))
    return Insurance(tuple((fund, parts[fund]) for fund in paying),
                     **{part: parts[part] for part in ("preliminary", "in_scope", "full", "over_limit")})


@st.composite
def insured_visits(draw: st.DrawFn, *, registry: Registry | None = None, funds: Sequence[str] | None = None,
                   **options: Any) -> Visit:
    """A :func:`visits` visit (same options) whose every line carries insurance data
    (:func:`insurances`), as the HIS sends it back from 医保 settlement."""
    visit = draw(visits(registry=registry, **options))
    return attrs.evolve(visit, lines=tuple(
        line._replace(insurance=draw(insurances(line.amount, registry=registry, funds=funds)))
        for line in visit.lines))


def conditions(registry: Registry | None = None, *, negation: bool = True, tags: bool = True,
               max_leaves: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """A rule's ``when`` as YAML data: leaves on categories, credentials, visit kinds, regions,
    ages, disability levels and causes, line tags; nested with ``all``, ``any`` and (with
    ``negation``) ``not``. Leave out ``negation`` where eligibility must only ever add."""
    registry = _registry(registry)
    ids = functools.partial(st.lists, min_size=1, max_size=2, unique=True)
    leaves: list[st.SearchStrategy[dict[str, Any]]] = [
        ids(categories(registry)).map(lambda v: {"category": v}),
        ids(credential_kinds(registry)).map(lambda v: {"credential": v}),
        ids(st.sampled_from([t.id for t in registry.visit_kinds])).map(lambda v: {"visit_kind": v}),
        ids(st.sampled_from(["45", "450100", "37", "4502"])).map(lambda v: {"region": v}),
        st.integers(0, 90).map(lambda n: {"age": {"min": n}}),
        st.integers(1, 10).map(lambda n: {"disability_level": {"min": 1, "max": n}}),
        ids(st.sampled_from([t.id for t in registry.disability_causes])).map(lambda v: {"disability_cause": v}),
    ]
    if tags:
        leaves.append(ids(st.sampled_from(_TAGS)).map(lambda v: {"tags": v}))

    def nest(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        def keyed(key: str) -> Callable[[object], dict[str, Any]]:
            return lambda value: {key: value}

        options = [st.lists(children, min_size=1, max_size=3).map(keyed("all")),
                   st.lists(children, min_size=1, max_size=3).map(keyed("any"))]
        if negation:
            options.append(children.map(keyed("not")))
        return st.one_of(options)

    return st.recursive(st.one_of(leaves), nest, max_leaves=max_leaves)


@st.composite
def _rule(draw: st.DrawFn, number: int, registry: Registry, negation: bool, per_visit_caps: bool,
          effective_dates: bool, regions: bool, around: dt.date | None, settlement: bool,
          items: Sequence[str] | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f"r{number}", "title": {"zh": f"规则{number}", "en": f"rule {number}"},
                            "clause": "测试条款", "source": "hypothesis"}
    deposits = [t.id for t in registry.items if t.deposit and (items is None or t.id in items)]
    grants = draw(st.sampled_from(["fee", "deposit", "visit"] if deposits else ["fee", "visit"]))
    if draw(st.booleans()):
        rule["when"] = draw(conditions(registry, negation=negation, tags=grants != "visit"))
    if grants == "visit":
        rule["priorities"] = draw(st.lists(st.sampled_from([t.id for t in registry.priorities]),
                                           max_size=2, unique=True))
        rule["services"] = draw(st.lists(st.sampled_from([t.id for t in registry.services]),
                                         min_size=0 if rule["priorities"] else 1, max_size=2, unique=True))
    else:
        pool = [t.id for t in registry.items
                if t.deposit == (grants == "deposit") and (items is None or t.id in items)]
        rule["items"] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        kinds = ["reduce", "fixed", "waive", *(["patient_pays_at_most", "tiers"] if settlement else [])]
        kind = "waive_deposit" if grants == "deposit" else draw(st.sampled_from(kinds))
        rule["benefit"] = draw(_benefit(kind))
        rule["group"] = draw(st.sampled_from(["a", "b", "c"]))
        visit_scope = False
        if settlement:
            visit_scope = _settlement_keys(draw, rule, registry)
            if grants == "fee" and draw(st.booleans()):  # rules by fee category, with or without items
                rule["fee_categories"] = draw(st.lists(st.sampled_from(FEE_CATEGORIES), min_size=1, max_size=2,
                                                       unique=True))
                if draw(st.booleans()):
                    del rule["items"]
        caps = {}
        if not visit_scope and draw(st.booleans()):
            caps["per_line"] = str(draw(money(typical_max="100.00")))
        if per_visit_caps and draw(st.booleans()):
            caps["per_visit"] = str(draw(money(typical_max="200.00")))
        if caps:
            rule["caps"] = caps
    if effective_dates and around is not None:
        effective = draw(effective_windows(around))
        if effective:
            rule["effective"] = effective
    elif effective_dates and draw(st.booleans()):
        start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
        end = draw(st.one_of(st.none(), st.integers(0, 400).map(lambda n: start + dt.timedelta(days=n))))
        rule["effective"] = {"from": start.isoformat(), **({"to": end.isoformat()} if end else {})}
    if regions and draw(st.booleans()):
        rule["region"] = draw(st.sampled_from(_RULE_REGIONS))
    return rule


def _benefit(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """A benefit of one shape, as YAML data."""
    if kind == "reduce":
        return rates().map(lambda rate: {"reduce": rate})
    if kind in ("fixed", "patient_pays_at_most"):
        return money(typical_max="100.00").map(lambda amount: {kind: str(amount)})
    if kind == "tiers":
        bounds = st.lists(money(min_value="0.01", typical_max="2000.00"), max_size=3, unique=True).map(sorted)
        return st.tuples(bounds, st.lists(rates(), min_size=4, max_size=4)).map(lambda drawn: {"tiers": [
            {**({"up_to": str(bound)} if n < len(drawn[0]) else {}), "reduce": rate}
            for n, (bound, rate) in enumerate(zip([*drawn[0], None], drawn[1], strict=False))]})
    return st.just({kind: True})


def _settlement_keys(draw: st.DrawFn, rule: dict[str, Any], registry: Registry) -> bool:
    """Add a payer, a base, visit scope and what to do without insurance data to a benefit rule
    (each drawn, each often left out); whether the rule works on the visit's sum. A visit-scope
    rule goes to the group ``v``, which no line-scope rule uses (docs/settlement.md)."""
    if draw(st.booleans()):
        rule["payer"] = draw(st.sampled_from(registry.payer_ids("subsidy")))
    if draw(st.booleans()):
        rule["base"] = draw(st.sampled_from(BASES))
    if rule.get("base", "gross") != "gross" and draw(st.booleans()):
        rule["without_insurance"] = draw(st.sampled_from(["error", "skip"]))
    visit_scope = "waive_deposit" not in rule["benefit"] and draw(st.booleans())
    if visit_scope:
        rule["scope"] = "visit"
        rule["group"] = "v"
    return visit_scope


@st.composite
def policy_packs(draw: st.DrawFn, *, registry: Registry | None = None, name: str = "random",
                 max_rules: int = 8, negation: bool = True, per_visit_caps: bool = True,
                 effective_dates: bool = True, regions: bool = True,
                 around: dt.date | None = None, settlement: bool = False,
                 items: Sequence[str] | None = None) -> dict[str, Any]:
    """A valid pack as YAML data (dump it with ``yaml.safe_dump`` to get a file): rules with
    conditions, benefits (reduce, fixed, waive, waive_deposit), stacking groups in a drawn order,
    per-line and per-visit caps, effective dates, rule regions, and visit-level grants.

    ``around``: a visit day that the rules' effective windows start on, end on, end the day
    before or start the day after (:func:`effective_windows`), so that a one-day error shows.

    ``settlement``: rules may also name a payer (the registry's subsidies), a base, visit scope,
    ``without_insurance``, the benefits ``patient_pays_at_most`` and ``tiers``, and national fee
    categories (``fee_categories``, with or without items); the pack may set the payers' order and
    ``item_rules_first`` (``settlement``). See docs/settlement.md and docs/fee-categories.md.

    ``items``: the item kinds rules name (at least one fee item), so that they meet visits drawn
    with the same ``items`` often."""
    registry = _registry(registry)
    if items is not None and not any(item in items for item in (t.id for t in registry.items if not t.deposit)):
        raise ValueError(f"items must include a fee item kind, got {list(items)}")
    count = draw(st.integers(1, max_rules))
    rules = [draw(_rule(n, registry, negation, per_visit_caps, effective_dates, regions, around, settlement, items))
             for n in range(count)]
    document: dict[str, Any] = {"schema_version": 1, "pack": name, "title": {"zh": "随机", "en": name},
                                "region": "*", "rules": rules}
    used = sorted({rule["group"] for rule in rules if "group" in rule})
    if used:
        document["groups"] = draw(st.permutations(used))
    if settlement and draw(st.booleans()):
        payers = sorted({"hospital", *(rule.get("payer", "hospital") for rule in rules)})
        document["settlement"] = {"payers": draw(st.permutations(payers)), "item_rules_first": draw(st.booleans())}
    return document


@st.composite
def pack_sets(draw: st.DrawFn, /, *, registry: Registry | None = None, **options: Any) -> PolicySet:
    """A :func:`policy_packs` document loaded and merged, ready for ``Engine(policy, registry)``."""
    registry = _registry(registry)
    document = draw(policy_packs(registry=registry, **options))
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return merge([parse_pack(text, f"{document['pack']}.yaml")], registry)
