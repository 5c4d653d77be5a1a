"""Deciding a visit and posting what it grants, in one step: what ``evaluate --post`` runs for
each record, and the HTTP server's posting endpoint too (``shuangyong-server``), so that the two
post alike and answer with the same decisions as granted (yearly caps applied).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shuangyong import plugins
from shuangyong.errors import LedgerError
from shuangyong.ledger.posting import as_granted, requests_for
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shuangyong.engine import Decision, Engine
    from shuangyong.ledger import Ledger, Posting
    from shuangyong.model.visit import Visit

#: where the key patient ids are hashed with comes from (never an option: it would show in ``ps``)
PSEUDONYM_KEY_VARIABLE = "SHUANGYONG_PSEUDONYM_KEY"


def pseudonym_key(pseudonymise: bool, environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The key to store patient ids as keyed hashes with, when ``pseudonymise`` asks for it;
    asked for without a key in the environment is a ``LedgerError``, before anything is posted."""
    if not pseudonymise:
        return None
    key = environ.get(PSEUDONYM_KEY_VARIABLE, "").encode()
    if not key:
        raise LedgerError(Text(f"--pseudonymise 需要环境变量 {PSEUDONYM_KEY_VARIABLE}",
                               f"--pseudonymise needs the key in ${PSEUDONYM_KEY_VARIABLE}"), field="pseudonymise")
    return key


def deciding_and_posting(engine: Engine, ledger: Ledger, key: bytes | None = None,
                         posted: Callable[[Visit, list[Posting]], None] | None = None) -> Callable[[Visit], Decision]:
    """A function that decides a visit, posts its grants to ``ledger`` through the
    ``ledger_append`` hook and returns the decision as granted. A visit posted before with the
    same content gets its earlier rows back (nothing is written twice); a refusal raises the
    ``LedgerError`` naming the visit. ``posted`` is told of each visit's rows (an audit log)."""
    def decide_and_post(visit: Visit) -> Decision:
        decision = engine.evaluate(visit)
        postings = plugins.post(ledger, requests_for(visit, decision, engine.policy, key, registry=engine.registry))
        if posted is not None:
            posted(visit, postings)
        return as_granted(decision, postings)

    return decide_and_post
