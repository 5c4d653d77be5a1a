"""The ``hl7`` HIS adapter, the ``hl7`` exporter (decisions as the ACKs the listener would send:
``shuangyong evaluate messages.hl7 --his hl7 --format hl7``) and ``shuangyong hl7 listen``.

Every ``shuangyong`` command imports this module (docs/plugins.md): hl7apy is imported when a
message is read (:mod:`shuangyong_hl7.messages`), asyncio and SQLAlchemy when ``hl7 listen`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from shuangyong import ChargeCodeMap, Engine, InputError, ShuangyongError, Text, hookimpl, plugins
from shuangyong.cli.base import exit_on_error
from shuangyong.plugins import AdapterExporter
from shuangyong_hl7 import codec, messages, replies
from shuangyong_hl7.service import Hl7Service, register, require_known

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from shuangyong_hl7.listener import MllpListener


class Hl7Adapter:
    """A HIS adapter (docs/hooks.md) for a file of HL7 v2 messages, MLLP-framed, one per block or
    in batches (FHS/BHS … BTS/FTS).

    ``read`` registers the patients of registrations (ADT^A01/A04/A08/A28/A31, BAR^P01) and yields
    a visit per charge (DFT^P03/P11); a message that cannot be used raises
    :class:`~shuangyong_hl7.messages.Hl7Error` naming segment and field. ``read_each`` yields that
    error in the message's place instead and goes on. ``write`` answers each decision with the
    ACK the listener would send. ``region`` is the hospital's GB/T 2260 code for messages without
    PV1-39 (``read(..., region=)`` overrides it); ``validation`` and ``identifiers`` as for
    :class:`~shuangyong_hl7.service.Hl7Service`.
    """

    def __init__(self, region: str | None = None, *, validation: str = messages.STRICT,
                 identifiers: Mapping[str, str] = messages.IDENTIFIER_TYPES) -> None:
        self.region, self.validation, self.identifiers = region, validation, identifiers

    def read(self, source: bytes | str | Path | IO[bytes], *, region: str | None = None) -> Iterator[dict[str, Any]]:
        """The visits of SOURCE; the first message that cannot be used raises its error."""
        for visit in self.read_each(source, region=region):
            if isinstance(visit, ShuangyongError):
                raise visit
            yield visit

    def read_each(self, source: bytes | str | Path | IO[bytes], *,
                  region: str | None = None) -> Iterator[dict[str, Any] | ShuangyongError]:
        """A visit per charge and, in its place, the error of each message that cannot be used (bytes
        not in its character set, a message hl7apy or shuangyong refuses, a charge for a patient
        nobody knows), naming the message by its control id (MSH-10) or its number in the file:
        one bad message does not hide the others. Input with no message at all is refused whole."""
        raw = source.read() if hasattr(source, "read") else Path(source).read_bytes() \
            if isinstance(source, (str, Path)) else source
        bodies = codec.split_batch(raw)
        if not bodies:
            raise messages.Hl7Error(Text("输入中没有 HL7 消息（MLLP 帧或以 MSH 开头的段）",
                                         "no HL7 message in the input (an MLLP frame or a block starting with MSH)"),
                                    segment="MSH", code=messages.MISSING)
        patients: dict[str, dict[str, Any]] = {}
        credentials = frozenset(term.id for term in plugins.registry().credentials)
        for number, body in enumerate(bodies, 1):
            try:
                visit = self._message(body, patients, credentials, region or self.region)
            except ShuangyongError as error:
                yield error if error.record else error.located(record=f"message {number}")
                continue
            if visit is not None:
                yield visit

    def _message(self, body: bytes, patients: dict[str, dict[str, Any]], credentials: frozenset[str],
                 region: str | None) -> dict[str, Any] | None:
        """The visit of a charge; a registration keeps its patient in PATIENTS and gives None."""
        try:
            text, _ = codec.decode(body)
        except codec.CharsetError as error:
            raise messages.Hl7Error(error.detail,
                                    segment="MSH", position=18, code=messages.UNSUPPORTED,
                                    record=messages.control_id(body.decode("ascii", "replace")) or None,
                                    value=error.charset) from None
        message = messages.parse(text, self.validation)
        patient = messages.patient(message, self.identifiers, credentials)
        if messages.message_type(message) in messages.REGISTRATIONS:
            register(patients, patient)
            return None
        visit = messages.visit(message, patients, region, patient)
        require_known(visit, patients)
        return visit

    def write(self, decisions: Iterable[Mapping[str, Any]], target: IO[bytes]) -> None:
        """Every reply is built before the first is written: a bad decision writes nothing."""
        acks = replies.decisions_as_acks(decisions)
        content = b"".join(codec.frame(codec.encode(ack, "UNICODE UTF-8")) for ack in acks)
        target.write(content)


@hookimpl
def register_his_adapters() -> Mapping[str, Any]:
    """``--his hl7``: DFT^P03 (and A04) messages in."""
    return {"hl7": Hl7Adapter()}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    """``--format hl7``: decisions out as the ACKs the listener sends."""
    return {"hl7": AdapterExporter(Hl7Adapter(), ".hl7")}  # MLLP-framed ACK^P03 replies


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``shuangyong hl7 listen``."""
    @cli.group()
    def hl7() -> None:
        """HL7 v2 (2.3 to 2.6) over MLLP (shuangyong-hl7)."""

    @hl7.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=2575, show_default=True, type=int, help="TCP port; 0 picks a free one.")
    @click.option("--policy", "-p", "policies", multiple=True, metavar="NAME_OR_PATH",
                  help="Policy pack by name or YAML path; repeat to layer. Default: seed-example.")
    @click.option("--region", metavar="CODE", help="The hospital's GB/T 2260 code, for messages without PV1-39.")
    @click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                  help="Charge-code → item-kind table for FT1-7 codes that are not item kinds.")
    @click.option("--strict", is_flag=True, help="Refuse charge codes the table does not map and unknown item kinds.")
    @click.option("--validation", type=click.Choice([messages.STRICT, messages.LENIENT]), default=messages.STRICT,
                  show_default=True, help="strict: hl7apy checks structure, data types and required fields; "
                  "lenient: only the fields shuangyong reads are checked.")
    @click.option("--identifier-type", "identifier_types", multiple=True, metavar="TYPE=MEANING",
                  help="What a PID-3 identifier type means: patient_id, ignore or a credential kind; repeat. "
                       "Adds to or overrides the default map (docs/hl7.md).")
    @click.option("--registrations", default="sqlite:///shuangyong-hl7.sqlite3", show_default=True, metavar="URL",
                  help="Where registrations are kept across restarts: sqlite:///FILE, or memory:.")
    @click.option("--max-messages", type=int, metavar="N", help="Stop after answering N messages.")
    def listen(host: str, port: int, policies: tuple[str, ...], region: str | None, codes: str | None,
               strict: bool, validation: str, identifier_types: tuple[str, ...], registrations: str,
               max_messages: int | None) -> None:
        """Answer registrations (ADT^A01/A04/A08/A28/A31, BAR^P01) and charges (DFT^P03/P11) over MLLP."""
        import asyncio  # here: the server's modules (asyncio, SQLAlchemy) only when it runs

        from shuangyong_hl7.listener import MllpListener
        from shuangyong_hl7.store import PatientStore

        with exit_on_error():
            engine = Engine.from_packs(*policies, strict=strict, registry=plugins.registry())
            code_map = ChargeCodeMap.load(Path(codes), engine.registry.items) if codes else None
            identifiers = identifier_map(identifier_types)
            patients = PatientStore(registrations)
        service = Hl7Service(engine, region=region, codes=code_map, validation=validation, identifiers=identifiers,
                             patients=patients)
        try:
            asyncio.run(_serve(MllpListener(service, host, port, max_messages=max_messages)))
        finally:
            patients.close()


def identifier_map(options: Iterable[str]) -> dict[str, str]:
    """The default PID-3 identifier map with ``TYPE=MEANING`` options applied."""
    identifiers = dict(messages.IDENTIFIER_TYPES)
    for option in options:
        kind, sep, meaning = option.partition("=")
        if not (sep and kind.strip() and meaning.strip()):
            raise InputError(Text(f"--identifier-type 应写作 类型=含义，收到 {option!r}",
                                  f"--identifier-type takes TYPE=MEANING, got {option!r}"),
                             field="--identifier-type", value=option)
        identifiers[kind.strip()] = meaning.strip()
    return identifiers


async def _serve(listener: MllpListener) -> None:
    await listener.start()
    click.echo(f"listening on {listener.host}:{listener.port}", err=True)
    try:
        await listener.done.wait()
    finally:
        await listener.close()
