"""Public HL7 v2 messages written by others (fixtures/real, provenance in its README.md), sent
unmodified to the listener over a real MLLP socket: every frame gets exactly one reply, every
message in it an ACK answering its control id, and every charge message with charge lines an AA
or a refusal whose ERR-2 names segment, sequence and field. The answers are pinned."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from shuangyong.engine import Engine
from shuangyong_hl7 import Hl7Service, MllpListener, codec, send

REAL = Path(__file__).parent / "fixtures" / "real"
FILES = sorted(REAL.glob("*.hl7"))
LOCATION = re.compile(r"[A-Z][A-Z0-9]{2}\^\d+\^\d+")  #: ERR-2 naming segment^sequence^field

#: What each message of each file gets, in order: MSA-1, and ERR-2 when refused (README.md says why).
EXPECTED = {
    "lenient": {
        "hl7apy_qbp_q22.hl7": [("AR", "MSH^1^9")],
        "linuxforhealth_dft_p03_in1.hl7": [("AE", "PV1^1^19")],
        "medplum_adt_a01.hl7": [("AA", None)],
        "medplum_dft_p03_insurance.hl7": [("AE", "PV1^1^2")],
        "medplum_dft_p03_procedures.hl7": [("AE", "PV1^1^2")],
        "node-hl7-complete_adt_a01_one_line.hl7": [("AE", "PID^1^3")],
        "node-hl7-complete_bar_p01.hl7": [("AA", None)],
        "node-hl7-complete_mieweb_dft_p03.hl7": [("AE", "PV1^1^2"), ("AE", "PV1^1^2")],
        "python-hl7_adt_a01_in1.hl7": [("AA", None)],
        "python-hl7_oru_r01.hl7": [("AR", "MSH^1^9")],
        "python-hl7_vinah_batch.hl7": [("AA", None)],
        "python-hl7_vinah_file.hl7": [("AA", None), ("AA", None), ("AA", None)]},
    "strict": {
        "hl7apy_qbp_q22.hl7": [("AR", "MSH^1^9")],
        "linuxforhealth_dft_p03_in1.hl7": [("AE", "IN1^1^3")],
        "medplum_adt_a01.hl7": [("AE", "PV1^1")],
        "medplum_dft_p03_insurance.hl7": [("AE", "FT1^1^22")],
        "medplum_dft_p03_procedures.hl7": [("AE", "FT1^1^22")],
        "node-hl7-complete_adt_a01_one_line.hl7": [("AE", "MSH^1^22")],
        "node-hl7-complete_bar_p01.hl7": [("AE", "EVN^1")],
        "node-hl7-complete_mieweb_dft_p03.hl7": [("AE", "PID^1^3"), ("AE", "PID^1^3")],
        "python-hl7_adt_a01_in1.hl7": [("AE", "PID^1^4")],
        "python-hl7_oru_r01.hl7": [("AR", "MSH^1^9")],
        "python-hl7_vinah_batch.hl7": [("AA", None)],
        "python-hl7_vinah_file.hl7": [("AA", None), ("AA", None), ("AA", None)]}}


def frames(raw: bytes) -> list[bytes]:
    """What a sender puts in MLLP frames: a batch whole, otherwise each message of the file."""
    return [raw] if codec.is_batch(raw) else codec.split_batch(raw)


def test_the_corpus_is_documented() -> None:
    """Each file has its provenance in the README, and the README names no file that is not there."""
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w.-]+\.hl7)`", readme))
    assert ({f.name for f in FILES}, set(EXPECTED["strict"])) == (named, named)


@pytest.mark.parametrize("validation", ["strict", "lenient"])
def test_every_real_message_is_answered_over_mllp(validation: str) -> None:
    sent = [(path, frame) for path in FILES for frame in frames(path.read_bytes())]

    async def run() -> tuple[list[bytes], int]:
        listener = MllpListener(Hl7Service(Engine.from_packs("seed-example"), region="450103",
                                           validation=validation, patients={}), port=0)
        await listener.start()
        try:
            replies = await asyncio.wait_for(send("127.0.0.1", listener.port, [frame for _, frame in sent]), 120)
        finally:
            await listener.close()
        return replies, listener.handled

    replies, handled = asyncio.run(run())
    assert (len(sent), len(sent)) == (handled, len(replies))
    answered: dict[str, list[tuple[str, str | None]]] = {}
    for (path, frame), reply in zip(sent, replies, strict=True):
        messages = codec.unbatch(frame)
        first = messages[0].split(b"\r", 1)[0].split(b"\n", 1)[0].split(b"|") + [b""] * 18
        charset = codec.codec_of(first[17].decode("ascii", "replace")) or "utf-8"
        segments = [s.split("|") for s in reply.decode(charset).split("\r")]  # in the sender's character set
        answers = [s for s in segments if s[0] == "MSA"]
        assert [m.split(b"|")[9].decode() for m in messages] == [a[2] for a in answers], path.name
        errors = iter(s for s in segments if s[0] == "ERR")  # one per refused message, in order
        where = [None if answer[1] == "AA" else next(errors)[2] for answer in answers]
        charges = [n for n, message in enumerate(messages) if re.search(rb"[\r\n]FT1\|", message)]
        assert all(where[n] is None or LOCATION.fullmatch(where[n]) for n in charges), (path.name, reply)
        answered.setdefault(path.name, []).extend(zip([a[1] for a in answers], where, strict=True))
    assert EXPECTED[validation] == answered
