"""The domain model: who a beneficiary is, what a visit charged, and the vocabularies they use.

Internal: the model types are public from :mod:`shuangyong` (docs/api.md); import them from there.
"""

from shuangyong.model.beneficiary import Beneficiary, Credential
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.registry import Registry
from shuangyong.model.visit import ChargeLine, Visit
from shuangyong.model.vocabulary import Term, Vocabulary

__all__ = [
    "Beneficiary",
    "ChargeCodeMap",
    "ChargeLine",
    "Credential",
    "Registry",
    "Term",
    "Visit",
    "Vocabulary",
]
