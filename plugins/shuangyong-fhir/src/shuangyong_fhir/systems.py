"""The URLs that mark shuangyong's data inside FHIR resources, and the FHIR codes it reads.

FHIR has no element for a 双拥 category, a GB/T 2260 visit region or a concession rule, so they
travel as extensions and codings under one base URL. The ``.invalid`` host says these are this
project's names, not a published implementation guide; a region that publishes one maps its
URLs here.
"""

from __future__ import annotations

from shuangyong.plugins import parse_amount

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
CS_FUND = f"{BASE}/CodeSystem/fund"  #: ClaimResponse.total.category: the insurance fund that paid (basic_pool …)
CS_SELF_PAY = f"{BASE}/CodeSystem/self-pay"  #: ClaimResponse.total.category: the patient's part (in_scope …)

#: HL7 v2 table 0203 "MR": the hospital's medical record number, used as the patient's id.
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MEDICAL_RECORD = "MR"
#: Encounter.class (v3 ActCode) → the JSON contract's visit kind. A virtual visit (互联网诊疗) is
#: billed as outpatient, an observation stay (留观) as emergency, a short stay (日间病房) as
#: inpatient; home health (HH, 家庭病床 rules differ by region), field (FLD) and pre-admission
#: (PRENC) encounters are refused, with this list.
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
VISIT_KINDS = {"AMB": "outpatient", "VR": "outpatient", "EMER": "emergency", "OBSENC": "emergency",
               "IMP": "inpatient", "ACUTE": "inpatient", "NONAC": "inpatient", "SS": "inpatient"}
CLASS_OF_KIND = {"outpatient": "AMB", "emergency": "EMER", "inpatient": "IMP"}
CURRENCY = "CNY"
ZERO = parse_amount("0.00")  #: where a sum of amounts starts, so that an empty one still reads "0.00"
#: the contract's ``self_pay`` parts (docs/json-contract.md, version 1.1), as ``…/CodeSystem/self-pay`` codes
SELF_PAY_PARTS = ("preliminary", "in_scope", "full", "over_limit")
#: Encounters in these states did not happen: skipped.
SKIPPED_ENCOUNTERS = frozenset({"cancelled", "entered-in-error"})
#: Only charges in these states are decided; the others (planned, not-billable, aborted,
#: entered-in-error, unknown) are left out, and the Invoice says which.
DECIDED_CHARGES = frozenset({"billable", "billed"})
