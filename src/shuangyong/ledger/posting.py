"""What the ledger stores: one row per rule's share of a charge line's reduction, in integer fen.

A request is what a decision asks to grant; a posting is what the ledger granted (after the
yearly cap) with its place in the hash chain. Rows are never changed: a correction is a
reversal row that points at the grant it cancels. Each row names its payer, who bears the share
(the hospital unless the rule says otherwise; insurance funds are not posted: we do not grant them),
and the beneficiary category the grant is for (:mod:`shuangyong.ledger.category`), which the
monthly 台帐 counts by.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs

from shuangyong.engine.decision import Applied, Decision
from shuangyong.errors import LedgerError
from shuangyong.ledger.category import UNRECORDED, builtin_categories, named_categories, posting_category
from shuangyong.limits import MAX_AMOUNT
from shuangyong.money import ZERO, from_fen, to_fen
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from shuangyong.model.registry import Registry
    from shuangyong.model.visit import Visit
    from shuangyong.policy.layers import PolicySet

GENESIS = "0" * 64  #: the ``prev_hash`` of the first row
FINGERPRINT = re.compile(r"sha256:[0-9a-f]{16}")
Kind = Literal["grant", "reversal"]
GrantKey = tuple[str, str, str, str]  #: (visit_id, line_id, rule_id, fingerprint): posted at most once
CapKey = tuple[str, str, str, int]  #: (patient_key, rule_id, payer, year): what a yearly cap counts
#: who bears a share when the rule names nobody: the hospital, as every row before payers existed
DEFAULT_PAYER: str = Applied._field_defaults["payer"]
MAX_FEN = to_fen(MAX_AMOUNT)  #: largest fen value a request may carry: every sum stays within int64
PATIENT = "patient"  #: the decision's name for what is left to the patient in a line's ``payers``
PLAIN = "none"  #: the pseudonymisation identity of a ledger that stores patient ids as they are
#: what a pseudonym key is identified by (an HMAC of this label, never the key itself)
_KEY_LABEL = b"shuangyong ledger pseudonym key identity"
#: what a posted grant must repeat exactly to be the same grant again (idempotent re-post). Not the
#: category: it describes the patient as known when first posted, grants and caps do not depend on
#: it, and a row posted before categories were recorded must still answer a re-run of its input
CONTENT_FIELDS = ("patient_key", "payer", "item", "business_date", "amount_fen", "requested_fen")


def _fen(value: object, name: str, record: str) -> int:
    if type(value) is not int or value < 0:  # bool and float are refused here too
        raise LedgerError(Text(f"{name} 必须是非负整数（分），收到 {value!r}",
                               f"{name} must be a non-negative whole number of fen, got {value!r}"),
                          record=record, field=name, value=value)
    if value > MAX_FEN:
        raise LedgerError(Text(f"{name} 为 {value} 分，超过上限 {MAX_FEN} 分（{MAX_AMOUNT} 元）",
                               f"{name} is {value} fen, more than the maximum {MAX_FEN} fen ({MAX_AMOUNT} yuan)"),
                          record=record, field=name, value=value)
    return value


class _Share:
    """The keys of one rule's share of one line, for requests and postings alike."""

    __slots__ = ()
    visit_id: str
    line_id: str
    rule_id: str
    fingerprint: str
    patient_key: str
    payer: str
    business_date: dt.date

    @property
    def grant_key(self) -> GrantKey:
        return (self.visit_id, self.line_id, self.rule_id, self.fingerprint)

    @property
    def cap_key(self) -> CapKey:
        return (self.patient_key, self.rule_id, self.payer, self.business_date.year)


@attrs.frozen(slots=True)
class PostingRequest(_Share):
    """One rule's share of one line, as a decision asks for it. Checked when built."""

    visit_id: str
    line_id: str
    rule_id: str
    fingerprint: str
    patient_key: str
    item: str
    business_date: dt.date
    amount_fen: int
    requested_fen: int
    year_cap_fen: int | None = None
    #: how ``patient_key`` was made: :data:`PLAIN` or :func:`pseudonym_identity` of the key
    pseudonym: str = PLAIN
    payer: str = DEFAULT_PAYER  #: who bears the share (``Applied.payer``)
    #: the beneficiary category the grant is for (:func:`requests_for` chooses it); by hand: not recorded
    category: str = UNRECORDED

    def __attrs_post_init__(self) -> None:
        record = f"{self.visit_id}/{self.line_id}"
        for name in ("amount_fen", "requested_fen"):
            _fen(getattr(self, name), name, record)
        if self.year_cap_fen is not None:
            _fen(self.year_cap_fen, "year_cap_fen", record)
        if self.requested_fen > self.amount_fen:
            raise LedgerError(Text(f"减免 {self.requested_fen} 分超过金额 {self.amount_fen} 分",
                                   f"reduction {self.requested_fen} fen exceeds the amount {self.amount_fen} fen"),
                              record=record, field="requested_fen", value=self.requested_fen)
        if not isinstance(self.fingerprint, str) or not FINGERPRINT.fullmatch(self.fingerprint):
            raise LedgerError(Text(f"政策指纹 {self.fingerprint!r} 格式不对（应为 sha256: 加 16 位十六进制）",
                                   f"policy fingerprint {self.fingerprint!r} is malformed "
                                   "(expected sha256: and 16 hex digits)"),
                              record=record, field="fingerprint", value=self.fingerprint)
        if not isinstance(self.payer, str) or not self.payer or self.payer != self.payer.strip():
            raise LedgerError(Text(f"负担方 {self.payer!r} 不是支付方标识", f"payer {self.payer!r} is not a payer id"),
                              record=record, field="payer", value=self.payer)
        if not isinstance(self.category, str) or self.category != self.category.strip():
            raise LedgerError(Text(f"优抚对象类别 {self.category!r} 不是类别标识",
                                   f"category {self.category!r} is not a category id"),
                              record=record, field="category", value=self.category)
        if type(self.business_date) is not dt.date:
            raise LedgerError(Text("业务日期必须是日期", "business_date must be a date"),
                              record=record, field="business_date", value=self.business_date)


@attrs.frozen(slots=True)
class Posting(_Share):
    """A row of the ledger. ``granted_fen`` counts up for a grant and down for a reversal."""

    seq: int
    kind: Kind
    visit_id: str
    line_id: str
    rule_id: str
    #: who bears the share; keyword-only with a default so rows built without one stay the hospital's
    payer: str = attrs.field(default=DEFAULT_PAYER, kw_only=True)
    #: the beneficiary category the grant is for; :data:`~shuangyong.ledger.category.UNRECORDED` on
    #: rows posted before categories were recorded (keyword-only with that default, as the payer)
    category: str = attrs.field(default=UNRECORDED, kw_only=True)
    fingerprint: str
    patient_key: str
    item: str
    business_date: dt.date
    amount_fen: int
    requested_fen: int
    granted_fen: int
    year_cap_fen: int | None
    reverses: int | None
    reason: str | None
    posted_at: dt.datetime  #: UTC
    prev_hash: str
    hash: str

    @property
    def signed_fen(self) -> int:
        """The grant as it counts towards a cap: negative for a reversal."""
        return self.granted_fen if self.kind == "grant" else -self.granted_fen

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types; dates ISO, the timestamp ISO with ``Z``. Also what is hashed."""
        row = attrs.asdict(self)
        row["business_date"] = self.business_date.isoformat()
        row["posted_at"] = self.posted_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return row


    @classmethod
    def from_row(cls, row: Any) -> Posting:
        """Rebuild a posting from a database row (a mapping), whatever types the driver returns
        for dates and timestamps."""
        fields = {name: row[name] for name in POSTING_COLUMNS}
        if isinstance(fields["business_date"], str):
            fields["business_date"] = dt.date.fromisoformat(fields["business_date"])
        elif isinstance(fields["business_date"], dt.datetime):
            fields["business_date"] = fields["business_date"].date()
        if isinstance(fields["posted_at"], str):
            fields["posted_at"] = dt.datetime.fromisoformat(fields["posted_at"].removesuffix("Z"))
        return cls(**fields)


POSTING_COLUMNS = tuple(field.name for field in attrs.fields(Posting))


def row_hash(row: dict[str, Any]) -> str:
    """SHA-256 over the row's canonical JSON without its own hash: changing any field breaks it.

    A column added later is left out while it holds what rows posted before it hold — the payer
    when it is :data:`DEFAULT_PAYER`, the category when it is ``UNRECORDED`` — so those rows keep
    the hashes they were written with, and a value changed either way still changes the hash
    (docs/ledger.md)."""
    content = {key: value for key, value in row.items()
               if key != "hash" and not (key in _LATER_DEFAULTS and value == _LATER_DEFAULTS[key])}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()


#: columns added after the first rows were hashed, with the value that leaves them out of the hash
_LATER_DEFAULTS: dict[str, str] = {"payer": DEFAULT_PAYER, "category": UNRECORDED}


def seal(fields: dict[str, Any]) -> Posting:
    """Build the posting with its hash from every other field (``prev_hash`` included); a
    ``hash`` among the fields is replaced."""
    unsealed = Posting(**{**fields, "hash": ""})
    return attrs.evolve(unsealed, hash=row_hash(unsealed.as_dict()))


def utc_now() -> dt.datetime:
    """Microseconds are kept, so a timestamp survives every backend's round trip unchanged."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def patient_key(patient_id: str, key: bytes | None) -> str:
    """The patient id as stored: itself, or a keyed hash (HMAC-SHA-256) when a key is given.

    The same key always gives the same pseudonym, so yearly caps still count per person; without
    the key a pseudonym cannot be turned back into an id.
    """
    if key is None:
        return patient_id
    return "h:" + hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonym_identity(key: bytes | None) -> str:
    """What a ledger records of how it keys patients: :data:`PLAIN`, or ``hmac-sha256:`` and 16
    hex digits of an HMAC of a fixed label under the key — the same key always gives the same
    identity, and the identity reveals nothing of the key."""
    if key is None:
        return PLAIN
    return "hmac-sha256:" + hmac.new(key, _KEY_LABEL, hashlib.sha256).hexdigest()[:16]


def requests_for(visit: Visit, decision: Decision, policy: PolicySet,
                 pseudonym_key: bytes | None = None, *, registry: Registry | None = None) -> list[PostingRequest]:
    """What the decision grants, one request per rule's share of a line (zero shares skipped),
    each with the payer who bears it and the beneficiary category the rule grants it for, chosen
    with ``registry``'s categories (the engine's; the built-in ones when not given, where a
    plugin's category has no parents)."""
    if decision.policy != policy.fingerprint:
        raise LedgerError(Text(f"决定出自政策 {decision.policy}，与账本所用政策 {policy.fingerprint} 不符",
                               f"the decision was made under policy {decision.policy}, "
                               f"not {policy.fingerprint}"),
                          record=visit.visit_id, field="policy", value=decision.policy)
    vocabulary = registry.categories if registry is not None else builtin_categories()
    caps: dict[str, int | None] = {}
    categories: dict[str, str] = {}
    granting = {share.rule for line in decision.lines for share in line.applied if share.reduction}
    for rule in policy.rules:
        year_cap = rule.spec.caps.per_year if rule.spec.caps else None
        caps[rule.spec.id] = to_fen(year_cap) if year_cap is not None else None
        if rule.spec.id in granting:
            categories[rule.spec.id] = posting_category(visit.patient.categories, named_categories(rule.spec.when),
                                                        vocabulary)
    who = patient_key(visit.patient.id, pseudonym_key)
    identity = pseudonym_identity(pseudonym_key)
    return [PostingRequest(visit.visit_id, line.line_id, share.rule, decision.policy, who, line.item,
                           visit.date, to_fen(line.amount), to_fen(share.reduction), caps[share.rule], identity,
                           share.payer, categories[share.rule])
            for line in decision.lines for share in line.applied if share.reduction]


def as_granted(decision: Decision, postings: Iterable[Posting]) -> Decision:
    """The decision with each rule's share cut to what the ledger granted (yearly caps). What a
    cap takes from a payer's part the patient pays; the insurance funds' parts stay as they were."""
    granted = {(p.line_id, p.rule_id): from_fen(p.granted_fen) for p in postings}
    lines = []
    for line in decision.lines:
        applied = tuple(share._replace(reduction=granted.get((line.line_id, share.rule), share.reduction))
                        for share in line.applied)
        reduction = sum((share.reduction for share in applied), ZERO)
        payable = line.amount - line.insurance - reduction
        borne: dict[str, Decimal] = {PATIENT: payable}
        for share in applied:
            borne[share.payer] = borne.get(share.payer, ZERO) + share.reduction
        payers = tuple((payer, borne.get(payer, part)) for payer, part in line.payers)
        lines.append(line._replace(reduction=reduction, payable=payable, applied=applied, payers=payers))
    totals = decision.totals
    reduction = sum((line.reduction for line in lines), ZERO)
    payers = tuple((payer, sum((part for line in lines for name, part in line.payers if name == payer), ZERO))
                   for payer, _ in totals.payers)
    return attrs.evolve(decision, lines=tuple(lines), totals=attrs.evolve(
        totals, reduction=reduction, payable=totals.amount - totals.insurance - reduction, payers=payers))
