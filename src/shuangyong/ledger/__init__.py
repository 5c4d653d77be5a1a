"""The concession ledger (台帐): append-only postings of what was granted, in integer fen.

:class:`Ledger` holds the rules (idempotent grants, yearly caps, reversals, hash chain);
backends only store rows: :class:`MemoryLedger`, :class:`SQLiteLedger`, and the SQL plugin's.

Internal: ``requests_for`` and ``as_granted`` are public from :mod:`shuangyong`, and what a
storage backend needs from :mod:`shuangyong.plugins` (docs/api.md); import them from there.
"""

from shuangyong.ledger.base import Ledger, Transaction
from shuangyong.ledger.memory import MemoryLedger
from shuangyong.ledger.posting import Posting, PostingRequest, patient_key, requests_for
from shuangyong.ledger.sqlite import SQLiteLedger
from shuangyong.ledger.verify import PayerTotal, Verification, verify

__all__ = ["Ledger", "MemoryLedger", "PayerTotal", "Posting", "PostingRequest", "SQLiteLedger", "Transaction",
           "Verification", "patient_key", "requests_for", "verify"]
