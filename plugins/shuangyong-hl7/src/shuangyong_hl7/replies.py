"""Replies: the ACK that answers every message, carrying the decision or the error.

An accepted charge (DFT^P03, P11) is answered ``ACK^P03`` (``ACK^P11``) with ``MSA|AA`` and the
decision in two site-defined segments (HL7 v2 has no segment for a concession; Z segments are its
convention for such data):

- ``ZDL|line_id|item|amount|reduction|payable|rule`` — one per charge line;
- ``ZDT|policy|amount|reduction|payable|priorities|services`` — the totals, the rule set's
  fingerprint, and the visit's priorities and services as repetitions.

A refused message gets ``MSA|AE`` (content) or ``MSA|AR`` (type, version, character set) and an
``ERR`` segment: ERR-2 the location (segment^sequence^field), ERR-3 the HL7 table 0357 code,
ERR-4 ``E``, ERR-8 the message in zh and en. The reply's MSH echoes the request's processing id,
version and character set; a batch is answered with a batch (``batch``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import TYPE_CHECKING, Any

from shuangyong.plugins import format_amount, parse_amount

VERSION = "2.5"  #: the version of a reply to a message of no supported version
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6")  #: the versions read, and echoed in replies

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_ESCAPES = str.maketrans({"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "~": "\\R\\", "&": "\\T\\",
                          "\r": "\\X0D\\", "\n": "\\X0A\\"})
_sequence = itertools.count(1)


def escape(value: object) -> str:
    """Text for a field or component: the delimiters written as HL7 escape sequences."""
    return "" if value is None else str(value).translate(_ESCAPES)


_UNESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", "X0D": "\r", "X0A": "\n"}


def unescape(value: str) -> str:
    """The text an HL7 value stands for: ``\\F\\`` back to ``|`` and so on (an unknown sequence is kept)."""
    return re.sub(r"\\(F|S|T|R|E|X0D|X0A)\\", lambda m: _UNESCAPES[m.group(1)], value) if "\\" in value else value


def _segment(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _header(trigger: str, charset: str, request: Mapping[str, str]) -> str:
    """MSH of a reply: sender and receiver swapped; the request's processing id (MSH-11), version
    (MSH-12, when it is one shuangyong speaks) and character set echoed."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    control = f"SY{now}{next(_sequence):06d}"
    version = request.get("version", "")
    return _segment("MSH", "^~\\&", "SHUANGYONG", request.get("receiving_facility", ""),
                    request.get("sending_application", ""), request.get("sending_facility", ""), now, "",
                    f"ACK^{trigger}^ACK", control, request.get("processing") or "P",
                    version if version in VERSIONS else VERSION, "", "", "", "", "", charset)


def request_header(text: str) -> dict[str, str]:
    """The MSH fields a reply echoes, read from the text even when the message does not parse."""
    fields = text.split("\r", 1)[0].split("|") + [""] * 12
    trigger = fields[8].split("^")[1] if "^" in fields[8] else ""
    return {"sending_application": fields[2], "sending_facility": fields[3], "receiving_facility": fields[5],
            "control_id": fields[9], "trigger": trigger, "processing": fields[10],
            "version": fields[11].split("^")[0]}


def _amounts(data: Mapping[str, Any], record: str, at: str) -> list[str]:
    """amount, reduction, payable: checked (never a float) and written with two decimals."""
    return [format_amount(parse_amount(data[name], record=record, field=f"{at}{name}"))
            for name in ("amount", "reduction", "payable")]


def decision_ack(request: Mapping[str, str], charset: str, decision: Mapping[str, Any]) -> str:
    """The AA reply to a DFT: one ZDL segment a line, with the amounts and the rule."""
    record = decision["visit_id"]
    segments = [_header(request.get("trigger") or "P03", charset, request),
                _segment("MSA", "AA", escape(request.get("control_id")))]
    for n, line in enumerate(decision["lines"]):
        segments.append(_segment("ZDL", escape(line["line_id"]), escape(line["item"]),
                                 *_amounts(line, record, f"lines[{n}]."), escape(line["rule"])))
    segments.append(_segment("ZDT", escape(decision["policy"]), *_amounts(decision["totals"], record, "totals."),
                             "~".join(map(escape, decision["priorities"])),
                             "~".join(map(escape, decision["services"]))))
    return "\r".join(segments)


def accept_ack(request: Mapping[str, str], charset: str, note: str = "") -> str:
    """An AA reply that carries no decision (an A04, say), with an optional note."""
    return "\r".join([_header(request.get("trigger") or "A04", charset, request),
                      _segment("MSA", "AA", escape(request.get("control_id")), escape(note))])


def error_ack(request: Mapping[str, str], charset: str, *, reject: bool, segment: str, sequence: int,
              position: int | None, code: str, code_text: str, message: str) -> str:
    """An AE (or AR with ``reject``) reply whose ERR segment points at the bad segment and field."""
    location = "^".join([segment, str(sequence), str(position or "")]).rstrip("^")
    return "\r".join([
        _header(request.get("trigger") or "", charset, request),
        _segment("MSA", "AR" if reject else "AE", escape(request.get("control_id"))),
        _segment("ERR", "", location, f"{code}^{escape(code_text)}^HL70357", "E", "", "", "", escape(message))])


def decisions_as_acks(decisions: Iterable[Mapping[str, Any]], charset: str = "UNICODE UTF-8") -> list[str]:
    """A reply per decision, answering the visit number (for the adapter's ``write``)."""
    return [decision_ack({"control_id": d["visit_id"], "trigger": "P03"}, charset, d) for d in decisions]


def batch(heads: Mapping[str, str], answers: list[bytes]) -> bytes:
    """The reply to a batch: a batch of the ANSWERS, one per message, BTS-1 counting them. ``heads``
    are the request's FHS and BHS segments by name; the reply's FHS-12 and BHS-12 refer to their
    control ids (FHS-11, BHS-11). A file (FHS) is answered as a file of one batch."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")

    def envelope(name: str) -> bytes:
        fields = heads.get(name, heads.get("FHS", heads.get("BHS", ""))).split("|") + [""] * 12
        return _segment(name, "^~\\&", "SHUANGYONG", fields[5], fields[2], fields[3], now, "", "", "",
                        f"SY{now}{next(_sequence):06d}", escape(unescape(fields[10]))).encode()

    segments = [envelope("BHS"), *answers, f"BTS|{len(answers)}".encode()]
    if "FHS" in heads:
        segments = [envelope("FHS"), *segments, b"FTS|1"]
    return b"\r".join(segments)
