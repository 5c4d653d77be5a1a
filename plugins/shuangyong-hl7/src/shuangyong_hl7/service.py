"""One frame in, one reply out: what the MLLP listener and the batch adapter both run.

A registration (ADT^A01/A04/A28, BAR^P01) or an update (ADT^A08/A31) keeps the patient for this
service, by patient id; a charge (DFT^P03/P11) is decided with the service's engine and answered
with the decision. A charge for a patient nobody knows (no registration, no categories or cards
in its PID, no plugin that resolves them) is answered AE 204, never AA with nothing granted. A
batch (FHS/BHS … BTS/FTS) is answered with a batch holding one reply per message. Nothing a
sender does makes the service raise: every problem becomes an error ACK, so the listener never
drops a message.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from shuangyong import (
    ChargeCodeMap,
    Engine,
    ShuangyongError,
    Text,
    decision_to_dict,
    plugins,
    visit_from_dict,
)
from shuangyong.cli.base import unmapped_codes_as_items
from shuangyong_hl7 import codec, messages, replies
from shuangyong_hl7.messages import Hl7Error

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

CODE_TEXT = {messages.MISSING: "Required field missing", messages.DATA_TYPE: "Data type error",
             messages.TABLE_VALUE: "Table value not found", messages.UNSUPPORTED: "Unsupported message type",
             messages.UNSUPPORTED_EVENT: "Unsupported event code",
             messages.UNSUPPORTED_VERSION: "Unsupported version id",
             messages.UNKNOWN_KEY: "Unknown key identifier", messages.INTERNAL: "Application internal error"}
#: Codes answered AR (the message cannot be taken at all) rather than AE (its content is wrong).
REJECTED = frozenset({messages.UNSUPPORTED, messages.UNSUPPORTED_EVENT, messages.UNSUPPORTED_VERSION})
log = logging.getLogger(__name__)


def register(patients: MutableMapping[str, dict[str, Any]], patient: Mapping[str, Any]) -> None:
    """Keep a registered or updated patient: what the message carries replaces what was kept, and
    what it leaves out (the categories of a demographics update) stays."""
    patients[patient["id"]] = {**patients.get(patient["id"], {}), **patient}


def require_known(data: Mapping[str, Any], registered: Mapping[str, Any]) -> None:
    """Refuse a charge for a patient nobody knows (AE 204 at PID-3): not registered, no categories or
    cards in the message, and no plugin's ``resolve_beneficiary`` answers for them."""
    patient = data["patient"]
    if patient["id"] in registered or {"categories", "credentials"} & patient.keys():
        return
    day = dt.date.fromisoformat(data["date"])
    if plugins.plugin_manager().hook.resolve_beneficiary(patient_id=patient["id"], date=day) is None:
        raise Hl7Error(Text(f"未知的患者 {patient['id']!r}：没有登记（ADT^A01/A04/A28、BAR^P01），也没有插件认得",
                            f"unknown patient {patient['id']!r}: no registration (ADT^A01/A04/A28, BAR^P01) "
                            "and no plugin knows them"),
                       segment="PID", position=3, code=messages.UNKNOWN_KEY, record=data["visit_id"],
                       value=patient["id"])


class Hl7Service:
    """Decides charge messages with ``engine``. ``region`` is the hospital's GB/T 2260 code, used
    when a message's PV1-39 does not give one; ``validation`` is ``strict`` or ``lenient``;
    ``identifiers`` maps PID-3 identifier types to their meaning (``messages.IDENTIFIER_TYPES``);
    ``patients`` keeps the registrations (a dict, or a :class:`~shuangyong_hl7.store.PatientStore`
    to keep them across restarts)."""

    def __init__(self, engine: Engine, *, region: str | None = None, codes: ChargeCodeMap | None = None,
                 validation: str = messages.STRICT, identifiers: Mapping[str, str] = messages.IDENTIFIER_TYPES,
                 patients: MutableMapping[str, dict[str, Any]] | None = None) -> None:
        self.engine, self.region, self.codes = engine, region, codes
        self.validation, self.identifiers = validation, identifiers
        self.patients: MutableMapping[str, dict[str, Any]] = {} if patients is None else patients
        self._credentials = frozenset(term.id for term in engine.registry.credentials)

    def handle(self, raw: bytes) -> bytes:
        """The encoded reply to one frame's bytes (without MLLP framing): a message's ACK, or for a
        batch a batch of ACKs, one per message."""
        if not codec.is_batch(raw):
            return self._one(raw)
        return replies.batch(codec.batch_headers(raw), [self._one(body) for body in codec.unbatch(raw)])

    def _one(self, raw: bytes) -> bytes:
        try:
            text, charset = codec.decode(raw)
        except codec.CharsetError as error:
            request = replies.request_header(raw.decode("ascii", "replace"))
            return codec.encode(replies.error_ack(
                request, "", reject=True, segment="MSH", sequence=1, position=18, code=messages.UNSUPPORTED,
                code_text="Unsupported character set", message=f"{error.detail.zh} / {error.detail.en}"), "")
        request = replies.request_header(text)
        try:
            reply = self._reply(text, charset, request)
        except Hl7Error as error:
            reply = self._error(request, charset, error, error.segment, error.sequence, error.position, error.code)
        except ShuangyongError as error:  # the engine refused a value: name where it came from
            segment, position, sequence = messages.location(error.field)
            reply = self._error(request, charset, error, segment, sequence, position, messages.TABLE_VALUE)
        except Exception:  # a sender must hear back whatever failed; the trace goes to the log
            log.exception("HL7 message %s could not be answered", request.get("control_id"))
            reply = replies.error_ack(request, charset, reject=False, segment="MSH", sequence=1, position=None,
                                      code=messages.INTERNAL, code_text=CODE_TEXT[messages.INTERNAL],
                                      message="内部错误，请联系管理员 / internal error, see the listener's log")
        return codec.encode(reply, charset)

    def _reply(self, text: str, charset: str, request: dict[str, str]) -> str:
        message = messages.parse(text, self.validation)
        patient = messages.patient(message, self.identifiers, self._credentials)
        if messages.message_type(message) in messages.REGISTRATIONS:
            self._check_known(patient, request["control_id"])
            register(self.patients, patient)
            return replies.accept_ack(request, charset, f"registered {patient['id']}")
        data = messages.visit(message, self.patients, self.region, patient)
        require_known(data, self.patients)
        self._unmapped_codes(data)
        visit = visit_from_dict(data, codes=self.codes)
        decision = self.engine.evaluate(plugins.resolve_beneficiary(visit))
        return replies.decision_ack(request, charset, decision_to_dict(decision))

    def _unmapped_codes(self, data: dict[str, Any]) -> None:
        """A hospital charge code the code table does not map: decided as an item kind of its own,
        which no rule covers (as ``evaluate --his`` does), or in strict mode refused at its FT1-7."""
        if not self.engine.strict:
            unmapped_codes_as_items(data, self.codes or {})
            return
        for n, line in enumerate(data["lines"], 1):
            code = line.get("code")
            if code and "item" not in line and (self.codes is None or code not in self.codes):
                raise Hl7Error(Text(f"收费编码 {code!r} 不在对照表中（严格模式）",
                                    f"charge code {code!r} is not in the code table (strict mode)"),
                               segment="FT1", position=7, sequence=n, code=messages.TABLE_VALUE,
                               record=data["visit_id"], value=code)

    def _check_known(self, patient: dict[str, Any], record: str) -> None:
        """Refuse unknown categories and card kinds at registration rather than at the first charge."""
        registry = self.engine.registry
        for category in patient.get("categories", ()):
            if category not in registry.categories:
                raise registry.categories.unknown(category, record=record, field="patient.categories")
        for n, card in enumerate(patient.get("credentials", ())):
            if card["kind"] not in registry.credentials:
                raise registry.credentials.unknown(card["kind"], record=record, field=f"patient.credentials[{n}].kind")

    @staticmethod
    def _error(request: dict[str, str], charset: str, error: ShuangyongError, segment: str, sequence: int,
               position: int | None, code: str) -> str:
        return replies.error_ack(request, charset, reject=code in REJECTED, segment=segment,
                                 sequence=sequence, position=position, code=code, code_text=CODE_TEXT[code],
                                 message=f"{error.message.zh} / {error.message.en}")
