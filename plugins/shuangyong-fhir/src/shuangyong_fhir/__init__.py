"""FHIR R4B for shuangyong: Patient, Coverage, Encounter and ChargeItem in; Invoice out.

The names are imported on first use: loading the plugin (``shuangyong_fhir.hooks``, at every
``shuangyong`` command) imports this package, and must not import fhir.resources.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shuangyong_fhir.bundle import FhirError, load_bundle
    from shuangyong_fhir.hooks import FhirAdapter
    from shuangyong_fhir.reader import VisitContext, read_bundle, read_each
    from shuangyong_fhir.writer import decisions_to_bundle, invoices_from_bundle, visits_to_bundle

#: public name → the module defining it
_MODULES = {"FhirAdapter": "hooks", "FhirError": "bundle", "VisitContext": "reader", "decisions_to_bundle": "writer",
            "invoices_from_bundle": "writer", "load_bundle": "bundle", "read_bundle": "reader", "read_each": "reader",
            "visits_to_bundle": "writer"}

__all__ = ["FhirAdapter", "FhirError", "VisitContext", "decisions_to_bundle", "invoices_from_bundle", "load_bundle",
           "read_bundle", "read_each", "visits_to_bundle"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"shuangyong_fhir.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shuangyong_fhir' has no attribute {name!r}")
