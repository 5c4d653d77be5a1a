"""The URLs that mark shuangyong's data inside FHIR resources, and the FHIR codes it reads.

FHIR has no element for a 双拥 category, a GB/T 2260 visit region or a concession rule, so they
travel as extensions and codings under one base URL. The ``.invalid`` host says these are this
project's names, not a published implementation guide; a region that publishes one maps its
URLs here.
"""

from __future__ import annotations

BASE = "https://shuangyong.invalid/fhir"
EXT_CATEGORY = f"{BASE}/StructureDefinition/category"  #: Patient, valueCoding (CS_CATEGORY)
EXT_DISABILITY_LEVEL = f"{BASE}/StructureDefinition/disability-level"  #: Patient, valueInteger 1–10
EXT_DISABILITY_CAUSE = f"{BASE}/StructureDefinition/disability-cause"  #: Patient, valueCode war|duty|illness
EXT_REGION = f"{BASE}/StructureDefinition/region"  #: Encounter, valueCode: 6-digit GB/T 2260
EXT_POLICY = f"{BASE}/StructureDefinition/policy"  #: Invoice, valueString: the rule set's fingerprint
CS_CATEGORY = f"{BASE}/CodeSystem/category"
CS_CREDENTIAL = f"{BASE}/CodeSystem/credential"  #: Identifier.type / Coverage.type: the card's kind
CS_ITEM = f"{BASE}/CodeSystem/item"  #: ChargeItem.code: the item kind (registration, bed, …)
CS_RULE = f"{BASE}/CodeSystem/rule"  #: Invoice price component code: the rule that discounted
SYS_VISIT = f"{BASE}/NamingSystem/visit"  #: Invoice.identifier: the visit (Encounter) it answers

#: HL7 v2 table 0203 "MR": the hospital's medical record number, used as the patient's id.
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MEDICAL_RECORD = "MR"
#: Encounter.class (v3 ActCode) → the JSON contract's visit kind.
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
VISIT_KINDS = {"AMB": "outpatient", "EMER": "emergency", "IMP": "inpatient", "ACUTE": "inpatient",
               "NONAC": "inpatient"}
CLASS_OF_KIND = {"outpatient": "AMB", "emergency": "EMER", "inpatient": "IMP"}
CURRENCY = "CNY"
#: Encounters and charge items in these states did not happen or are not charged: skipped.
SKIPPED_ENCOUNTERS = frozenset({"cancelled", "entered-in-error"})
SKIPPED_CHARGES = frozenset({"entered-in-error", "not-billable", "aborted"})
