"""What 医保 settled, from a ClaimResponse, as the visit's ``insurance`` (JSON contract 1.1).

A ClaimResponse answers a visit when its ``request`` is a Claim of the bundle whose items name
that one Encounter (``Claim.item.encounter``). Its ``total`` amounts become the visit's figures,
which the contract spreads over the lines:

- a category coded in ``CS_FUND`` (``basic_pool``, ``disabled_servicemen`` …): what that fund paid;
- a category coded in ``CS_SELF_PAY`` (``preliminary``, ``in_scope``, ``full``, ``over_limit``):
  that part of what the patient pays;
- otherwise the standard adjudication codes: ``benefit`` is what the basic fund paid
  (``basic_pool``), ``copay`` and ``deductible`` are the patient's part within the funds' scope
  (``in_scope``), and ``submitted`` minus ``eligible`` is outside it (``full``).

The parts must add up to what the visit's lines charge, exactly, or the ClaimResponse is refused
(nothing is guessed). Coverage gives the policy's terms, not what was paid: no amount is read
from it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from shuangyong.plugins import format_amount, parse_amount
from shuangyong_fhir import systems
from shuangyong_fhir.bundle import BundleIndex, Entry, fail

if TYPE_CHECKING:
    from decimal import Decimal

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
SETTLED = frozenset({"complete", "partial"})  #: ClaimResponse.outcome values that carry figures


def responses_by_encounter(index: BundleIndex) -> dict[str, list[Entry]]:
    """The settled ClaimResponses of the bundle, by the Encounter their Claim's items name."""
    found: dict[str, list[Entry]] = defaultdict(list)
    for entry in index.of_type("ClaimResponse"):
        request = entry.data.get("request")
        target = request.get("reference") if isinstance(request, dict) else None
        claim = index.by_reference.get(target) if isinstance(target, str) else None
        if claim is None or claim.data.get("resourceType") != "Claim" or claim.resource is None:
            continue
        encounters = {ref.reference for item in claim.resource.item or () for ref in item.encounter or ()}
        targets = {index.by_reference[r].name for r in encounters if r in index.by_reference}
        for target in targets:
            found[target].append(entry)
    return found


def visit_insurance(entries: list[Entry], total: Decimal) -> dict[str, Any] | None:
    """The visit's ``insurance`` from its ClaimResponse (one at most), or None when there is none
    or it carries no amount this mapping reads."""
    settled = [e for e in entries if e.status == "active" and str(e.data.get("outcome")) in SETTLED]
    if not settled:
        return None
    if len(settled) > 1:
        first, second = settled[0].name, settled[1].name
        raise fail(second, "request", f"同一就诊有多个 ClaimResponse（{first} 与 {second}）",
                   f"the visit has more than one ClaimResponse ({first} and {second})")
    entry = settled[0]
    if entry.error is not None:
        raise entry.error
    funds: dict[str, Decimal] = defaultdict(lambda: systems.ZERO)
    self_pay: dict[str, Decimal] = defaultdict(lambda: systems.ZERO)
    standard: dict[str, Decimal] = {}
    for n, part in enumerate(entry.resource.total or ()):
        at = f"total[{n}]"
        if part.amount is None or part.amount.value is None:
            raise fail(entry.name, f"{at}.amount.value", "缺少金额", "the amount is missing")
        if part.amount.currency not in (None, systems.CURRENCY):
            raise fail(entry.name, f"{at}.amount.currency", f"币种应为 CNY，收到 {part.amount.currency}",
                       f"currency must be CNY, got {part.amount.currency}", part.amount.currency)
        value = parse_amount(part.amount.value, record=entry.name, field=f"{at}.amount.value")
        codings = part.category.coding or () if part.category else ()
        fund = next((c.code for c in codings if c.system == systems.CS_FUND and c.code), None)
        share = next((c.code for c in codings if c.system == systems.CS_SELF_PAY and c.code), None)
        code = next((c.code for c in codings if c.system in (None, ADJUDICATION) and c.code), None)
        if fund is not None:
            funds[fund] += value
        elif share is not None:
            if share not in systems.SELF_PAY_PARTS:
                parts = ", ".join(systems.SELF_PAY_PARTS)
                raise fail(entry.name, f"{at}.category", f"自付部分应为 {parts} 之一，收到 {share!r}",
                           f"a self-pay part must be one of {parts}, got {share!r}", share)
            self_pay[share] += value
        elif code == "benefit":
            funds["basic_pool"] += value
        elif code in ("copay", "deductible"):
            self_pay["in_scope"] += value
        elif code in ("submitted", "eligible"):
            standard[code] = standard.get(code, systems.ZERO) + value
    if {"submitted", "eligible"} <= standard.keys():
        self_pay["full"] += standard["submitted"] - standard["eligible"]
    if not funds and not self_pay:
        return None
    settled_sum = sum(funds.values(), systems.ZERO) + sum(self_pay.values(), systems.ZERO)
    if settled_sum != total:
        got, due = format_amount(settled_sum), format_amount(total)
        raise fail(entry.name, "total", f"ClaimResponse 的各部分之和为 {got}，与就诊收费合计 {due} 不符",
                   f"the parts of the ClaimResponse add up to {got}, not to the visit's charges {due}", got)
    out: dict[str, Any] = {}
    if funds:
        out["funds"] = {k: format_amount(v) for k, v in funds.items()}
    if self_pay:
        out["self_pay"] = {k: format_amount(v) for k, v in self_pay.items()}
    return out
