"""The ``hl7`` HIS adapter, the ``hl7`` exporter (decisions as the ACKs the listener would send:
``shuangyong evaluate messages.hl7 --his hl7 --format hl7``) and ``shuangyong hl7 listen``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import click

from shuangyong import hookimpl, plugins
from shuangyong.engine import Engine
from shuangyong.exporters import AdapterExporter
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong_hl7 import codec, messages, replies
from shuangyong_hl7.listener import MllpListener
from shuangyong_hl7.service import Hl7Service


class Hl7Adapter:
    """A HIS adapter (docs/hooks.md) for a file of HL7 v2.5 messages, MLLP-framed or one per block.

    ``read`` registers the patients of ADT^A04 messages and yields a visit per DFT^P03; a message
    that cannot be used raises :class:`~shuangyong_hl7.messages.Hl7Error` naming segment and
    field. ``write`` answers each decision with the ACK the listener would send.
    """

    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def read(self, source: bytes | str | Path | IO[bytes]) -> Iterator[dict[str, Any]]:
        raw = source.read() if hasattr(source, "read") else Path(source).read_bytes() \
            if isinstance(source, (str, Path)) else source
        patients: dict[str, dict[str, Any]] = {}
        for body in codec.split_batch(raw):
            text, _ = codec.decode(body)
            message = messages.parse(text)
            if messages.message_type(message) == ("ADT", "A04"):
                patient = messages.patient(message)
                patients[patient["id"]] = patient
            else:
                yield messages.visit(message, patients, self.region)

    def write(self, decisions: Iterable[Mapping[str, Any]], target: IO[bytes]) -> None:
        """Every reply is built before the first is written: a bad decision writes nothing."""
        content = b"".join(codec.frame(codec.encode(ack, "UNICODE UTF-8")) for ack in replies.decisions_as_acks(decisions))
        target.write(content)


@hookimpl
def register_his_adapters() -> Mapping[str, Any]:
    return {"hl7": Hl7Adapter()}


@hookimpl
def register_exporters() -> Mapping[str, Any]:
    return {"hl7": AdapterExporter(Hl7Adapter(), ".hl7")}  # MLLP-framed ACK^P03 replies


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group()
    def hl7() -> None:
        """HL7 v2.5 over MLLP (shuangyong-hl7)."""

    @hl7.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=2575, show_default=True, type=int, help="TCP port; 0 picks a free one.")
    @click.option("--policy", "-p", "policies", multiple=True, metavar="NAME_OR_PATH",
                  help="Policy pack by name or YAML path; repeat to layer. Default: seed-example.")
    @click.option("--region", metavar="CODE", help="The hospital's GB/T 2260 code, for messages without PV1-39.")
    @click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                  help="Charge-code → item-kind table for FT1-7 codes that are not item kinds.")
    @click.option("--max-messages", type=int, metavar="N", help="Stop after answering N messages.")
    def listen(host: str, port: int, policies: tuple[str, ...], region: str | None, codes: str | None,
               max_messages: int | None) -> None:
        """Answer ADT^A04 (register) and DFT^P03 (decide) messages over MLLP."""
        # imported here: this module is loaded while the plugin manager is being built, which
        # importing shuangyong.cli at the top would start again
        from shuangyong.cli.base import exit_on_error

        with exit_on_error():
            engine = Engine.from_packs(*policies, registry=plugins.registry())
            code_map = ChargeCodeMap.load(Path(codes), engine.registry.items) if codes else None
        asyncio.run(_serve(MllpListener(Hl7Service(engine, region=region, codes=code_map), host, port,
                                        max_messages=max_messages)))


async def _serve(listener: MllpListener) -> None:
    await listener.start()
    click.echo(f"listening on {listener.host}:{listener.port}", err=True)
    try:
        await listener.done.wait()
    finally:
        await listener.close()
