"""One message in, one reply out: what the MLLP listener and the batch adapter both run.

ADT^A04 registers the patient (kept in memory for this service, by patient id); DFT^P03 is
decided with the service's engine and answered with the decision. Nothing a sender does makes
the service raise: every problem becomes an error ACK, so the listener never drops a message.
"""

from __future__ import annotations

from typing import Any

from shuangyong import (
    ChargeCodeMap,
    Engine,
    ShuangyongError,
    decision_to_dict,
    plugins,
    visit_from_dict,
)
from shuangyong_hl7 import codec, messages, replies
from shuangyong_hl7.messages import Hl7Error

CODE_TEXT = {messages.MISSING: "Required field missing", messages.DATA_TYPE: "Data type error",
             messages.TABLE_VALUE: "Table value not found", messages.UNSUPPORTED: "Unsupported message type",
             messages.UNKNOWN_KEY: "Unknown key identifier", messages.INTERNAL: "Application internal error"}


class Hl7Service:
    """Decides DFT^P03 messages with ``engine``; ``region`` is the hospital's GB/T 2260 code, used
    when a message's PV1-39 does not give one."""

    def __init__(self, engine: Engine, *, region: str | None = None, codes: ChargeCodeMap | None = None) -> None:
        self.engine, self.region, self.codes = engine, region, codes
        self.patients: dict[str, dict[str, Any]] = {}

    def handle(self, raw: bytes) -> bytes:
        """The encoded reply to one message's bytes (without MLLP framing)."""
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
        return codec.encode(reply, charset)

    def _reply(self, text: str, charset: str, request: dict[str, str]) -> str:
        message = messages.parse(text)
        if messages.message_type(message) == ("ADT", "A04"):
            patient = messages.patient(message)
            self._check_known(patient, request["control_id"])
            self.patients[patient["id"]] = patient
            return replies.accept_ack(request, charset, f"registered {patient['id']}")
        data = messages.visit(message, self.patients, self.region)
        visit = plugins.resolve_beneficiary(visit_from_dict(data, codes=self.codes))
        return replies.decision_ack(request, charset, decision_to_dict(self.engine.evaluate(visit)))

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
        return replies.error_ack(request, charset, reject=code == messages.UNSUPPORTED, segment=segment,
                                 sequence=sequence, position=position, code=code, code_text=CODE_TEXT[code],
                                 message=f"{error.message.zh} / {error.message.en}")
