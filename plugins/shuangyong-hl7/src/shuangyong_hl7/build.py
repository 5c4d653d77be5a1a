"""JSON-contract visits as the DFT^P03 an HIS would send: the reverse of ``messages.visit``.

For HIS simulators, tests and benchmarks. The PID carries the patient's categories and cards
itself (no ADT^A04 needed): the first category in PID-27, any further one in an OBX, as
``messages`` reads them. Every value is escaped, so ``|``, ``^``, ``&``, ``~`` and ``\\`` in a
name or number survive the trip. FT1-1 is a set id, so line ids must be whole numbers; and a
DFT^P03 needs at least one FT1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shuangyong_hl7.messages import ITEM_SYSTEM, PATIENT_CLASS
from shuangyong_hl7.replies import VERSION, escape

if TYPE_CHECKING:
    from collections.abc import Mapping

_CLASS_OF_KIND = {kind: code for code, kind in PATIENT_CLASS.items()}
HOSPITAL_CODES = "HOSP"  #: FT1-7 coding system written for a hospital charge code


def _date(value: str | None) -> str:
    return (value or "").replace("-", "")


def _fields(*values: str, length: int) -> str:
    fields = [""] * length
    for position, value in enumerate(values):
        fields[position] = value
    return "|".join(fields).rstrip("|")


def visit_to_dft(visit: Mapping[str, Any], control_id: str, charset: str = "UNICODE UTF-8") -> str:
    """A DFT^P03 for a JSON-contract visit (the tests' and benchmarks' HIS side)."""
    patient = visit["patient"]
    ids = [f"{escape(patient['id'])}^^^HIS^MR"] + [
        f"{escape(card['number'])}^^^^{escape(card['kind'])}^^{_date(card.get('valid_from'))}^{_date(card.get('valid_to'))}"
        for card in patient.get("credentials", ())]
    name = escape(patient.get("name") or "") or '""'
    pid = ["PID", "1", "", "~".join(ids), "", name, "", _date(patient.get("birth_date"))]
    pid += [""] * (27 - len(pid) + 1)
    categories = list(patient.get("categories", ()))
    pid[27] = escape(categories[0]) if categories else ""
    pv1 = [""] * 45
    pv1[:3] = ["PV1", "1", _CLASS_OF_KIND[visit["kind"]]]
    pv1[19], pv1[39], pv1[44] = escape(visit["visit_id"]), escape(visit["region"]), _date(visit["date"])
    segments = [f"MSH|^~\\&|HIS|HOSPITAL|SHUANGYONG|HOSPITAL|{_date(visit['date'])}||DFT^P03^DFT_P03|"
                f"{escape(control_id)}|P|{VERSION}||||||{charset}",
                f"EVN|P03|{_date(visit['date'])}", "|".join(pid).rstrip("|"), "|".join(pv1).rstrip("|")]
    observations = [("category", "ST", category) for category in categories[1:]]  # PID-27 does not repeat
    observations += [(code, kind, patient.get(code)) for code, kind in (("disability_level", "NM"),
                                                                         ("disability_cause", "ST"))]
    segments += [f"OBX|{n}|{kind}|{code}^^SYOBS||{escape(value)}||||||F"
                 for n, (code, kind, value) in enumerate([o for o in observations if o[2] is not None], 1)]
    for line in visit["lines"]:
        code = (f"{escape(line['item'])}^{escape(line.get('description') or '')}^{ITEM_SYSTEM}" if line.get("item")
                else f"{escape(line['code'])}^{escape(line.get('description') or '')}^{HOSPITAL_CODES}")
        segments.append(f"FT1|{escape(line['line_id'])}|||{_date(visit['date'])}||CG|{code}|||1|{line['amount']}&CNY")
    return "\r".join(segments)
