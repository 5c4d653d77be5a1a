"""FHIR R4B for shuangyong: Patient, Coverage, Encounter and ChargeItem in; Invoice out."""

from shuangyong_fhir.bundle import FhirError, load_bundle
from shuangyong_fhir.hooks import FhirAdapter
from shuangyong_fhir.reader import VisitContext, read_bundle, read_each
from shuangyong_fhir.writer import decisions_to_bundle, invoices_from_bundle, visits_to_bundle

__all__ = ["FhirAdapter", "FhirError", "VisitContext", "decisions_to_bundle", "invoices_from_bundle", "load_bundle",
           "read_bundle", "read_each", "visits_to_bundle"]
