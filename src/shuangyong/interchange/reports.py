"""The JSON forms of a ledger verification and of a merged policy: what ``ledger verify --format
json`` and ``policy show --format json`` print, as data any front end (the HTTP server of
``shuangyong-server``) can serve, so that the two cannot drift apart (a test compares the bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from shuangyong.ledger import verify
from shuangyong.ledger.posting import GENESIS
from shuangyong.money import format_amount, from_fen
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.ledger import PayerTotal, Posting, Verification
    from shuangyong.policy import PolicySet


def verification(postings: Iterable[Posting], expect_head: tuple[int, str] | None = None) -> Verification:
    """``verify``, and an empty ledger counted as a problem unless ``expect_head`` says it should
    be empty (``0:`` and the genesis hash): a ledger URL with a typo must not verify as fine."""
    result = verify(postings, expect_head)
    if not result.rows and expect_head is None:
        result = attrs.evolve(result, problems=(
            Text(f"账本没有任何记账；若本应为空，请用 --expect-head 0:{GENESIS}",
                 f"the ledger has no postings; if it should be empty, say so with --expect-head 0:{GENESIS}"),))
    return result


def yuan(sums: Verification | PayerTotal) -> dict[str, str]:
    """Granted, reversed and net, in yuan strings, in that order."""
    return {name: format_amount(from_fen(fen)) for name, fen in
            (("granted", sums.granted_fen), ("reversed", sums.reversed_fen), ("net", sums.net_fen))}


def verification_to_dict(result: Verification) -> dict[str, Any]:
    """A verification as ``ledger verify --format json`` prints it."""
    return {"ok": result.ok, "rows": result.rows, **yuan(result),
            "payers": {total.payer: yuan(total) for total in result.payers},
            "problems": [problem.as_dict() for problem in result.problems]}


def policy_to_dict(merged: PolicySet) -> dict[str, Any]:
    """A merged rule set as ``policy show --format json`` prints it: its packs, fingerprint,
    stacking groups and every rule with the pack and region it came from."""
    return {
        "packs": list(merged.packs), "fingerprint": merged.fingerprint, "groups": list(merged.groups),
        "rules": [dict(rule.spec.model_dump(mode="json", by_alias=True, exclude_none=True,
                                            exclude=rule.spec.settlement_defaults()),
                       pack=rule.pack, region=rule.region or "*") for rule in merged.rules],
    }
