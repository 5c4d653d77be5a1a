"""HL7 v2.5 messages for the tests: a registration and a charge for 黄建国 at a 南宁 hospital."""

from __future__ import annotations


def msh(trigger: str, control: str, charset: str = "UNICODE UTF-8") -> str:
    structure = {"A04": "ADT^A04^ADT_A01", "P03": "DFT^P03^DFT_P03"}[trigger]
    return f"MSH|^~\\&|HIS|NNFPH|SHUANGYONG|NNFPH|20260302093000||{structure}|{control}|P|2.5||||||{charset}"


def pv1(kind: str = "O", visit: str = "MZ20260302-0042", region: str = "450103", date: str = "20260302093000") -> str:
    fields = ["PV1", "1", kind] + [""] * 42
    fields[19], fields[39], fields[44] = visit, region, date
    return "|".join(fields)


def a04(control: str = "A0001", patient: str = "MZ2026030017", name: str = "黄^建国",
        category: str = "disabled_veteran^残疾军人^SYCAT", charset: str = "UNICODE UTF-8") -> str:
    pid = ["PID", "1", "", f"{patient}^^^NNFPH^MR~桂优医字第0451033号^^^MZJ^key_care_medical_card^^20240101^20261231",
           "", name, "", "19560801", "M"] + [""] * 18 + [category]
    return "\r".join([msh("A04", control, charset), "EVN|A04|20260302093000", "|".join(pid), pv1(),
                      "OBX|1|NM|disability_level^伤残等级^SYOBS||6||||||F",
                      "OBX|2|ST|disability_cause^伤残性质^SYOBS||war||||||F"])


FT1_LINES = (("1", "registration^挂号费^SYITEM", "12.00"), ("2", "injection^肌肉注射^SYITEM", "7.00"),
             ("3", "routine_test^血常规^SYITEM", "25.00"), ("4", "drug^阿莫西林胶囊^SYITEM", "37.85"))


def ft1(set_id: str, code: str, amount: str) -> str:
    return f"FT1|{set_id}|||20260302093000||CG|{code}|||1|{amount}&CNY"


def dft(control: str = "D0001", patient: str = "MZ2026030017", visit: str = "MZ20260302-0042",
        lines: tuple[tuple[str, str, str], ...] = FT1_LINES, charset: str = "UNICODE UTF-8", kind: str = "O") -> str:
    return "\r".join([msh("P03", control, charset), "EVN|P03|20260302100500", f"PID|1||{patient}^^^NNFPH^MR||黄^建国",
                      pv1(kind, visit), *(ft1(*line) for line in lines)])


def segments(reply: bytes, charset: str = "utf-8") -> dict[str, list[list[str]]]:
    """A reply's segments by name, each as its fields split on ``|``."""
    found: dict[str, list[list[str]]] = {}
    for segment in reply.decode(charset).split("\r"):
        fields = segment.split("|")
        found.setdefault(fields[0], []).append(fields)
    return found
