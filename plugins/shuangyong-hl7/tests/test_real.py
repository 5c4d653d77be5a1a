"""Public HL7 v2 messages written by others (fixtures/real, provenance in its README.md), sent
unmodified to the listener over a real MLLP socket: every frame gets exactly one reply, every
message in it an ACK answering its control id, and every charge message with charge lines an AA
or a refusal whose ERR-2 names segment, sequence and field."""

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


#: The first answer each file gets: MSA-1 and ERR-2 (README.md has the reasons).
EXPECTED = {
    "lenient": {"python-hl7_vinah_batch.hl7": ("AA", None), "python-hl7_vinah_file.hl7": ("AA", None),
                "python-hl7_adt_a01_in1.hl7": ("AA", None), "medplum_adt_a01.hl7": ("AA", None),
                "medplum_dft_p03_insurance.hl7": ("AE", "PV1^1^2"), "medplum_dft_p03_procedures.hl7": ("AE", "PV1^1^2"),
                "linuxforhealth_dft_p03_in1.hl7": ("AE", "PV1^1^19"), "python-hl7_oru_r01.hl7": ("AR", "MSH^1^9"),
                "hl7apy_qbp_q22.hl7": ("AR", "MSH^1^9")},
    "strict": {"python-hl7_vinah_batch.hl7": ("AA", None), "python-hl7_vinah_file.hl7": ("AA", None),
               "python-hl7_adt_a01_in1.hl7": ("AE", "PID^1^4"), "medplum_adt_a01.hl7": ("AE", "PV1^1"),
               "medplum_dft_p03_insurance.hl7": ("AE", "FT1^1^22"),
               "medplum_dft_p03_procedures.hl7": ("AE", "FT1^1^22"),
               "linuxforhealth_dft_p03_in1.hl7": ("AE", "IN1^1^3"), "python-hl7_oru_r01.hl7": ("AR", "MSH^1^9"),
               "hl7apy_qbp_q22.hl7": ("AR", "MSH^1^9")}}


def messages_of(raw: bytes) -> list[list[str]]:
    """The MSH fields of each message in a file (MSH-10 at index 9), read as plainly as possible."""
    return [body.decode("latin-1").split("\r", 1)[0].split("|") for body in codec.unbatch(raw)]


def test_the_corpus_is_documented() -> None:
    """Each file has its provenance in the README, and the README names no file that is not there."""
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w.-]+\.hl7)`", readme))
    assert ({f.name for f in FILES}, True) == (named, len(FILES) >= 9)


@pytest.mark.parametrize("validation", ["strict", "lenient"])
def test_every_real_message_is_answered_over_mllp(validation: str) -> None:
    async def run() -> tuple[list[bytes], int]:
        listener = MllpListener(Hl7Service(Engine.from_packs("seed-example"), region="450103",
                                           validation=validation), port=0)
        await listener.start()
        try:
            replies = await asyncio.wait_for(send("127.0.0.1", listener.port, [f.read_bytes() for f in FILES]), 120)
        finally:
            await listener.close()
        return replies, listener.handled

    replies, handled = asyncio.run(run())
    assert (len(FILES), len(FILES)) == (handled, len(replies))
    for path, reply in zip(FILES, replies, strict=True):
        sent = messages_of(path.read_bytes())
        charset = codec.codec_of(sent[0][17] if len(sent[0]) > 17 else "") or "utf-8"
        segments = [s.split("|") for s in reply.decode(charset).split("\r")]  # the reply is in the sender's charset
        answers = [s for s in segments if s[0] == "MSA"]
        assert [m[9] for m in sent] == [a[2] for a in answers], path.name
        charges = [n for n, body in enumerate(codec.unbatch(path.read_bytes())) if b"\rFT1|" in body]
        errors = iter(s for s in segments if s[0] == "ERR")  # one per refused message, in order
        where = [None if answer[1] == "AA" else next(errors)[2] for answer in answers]
        assert all(where[n] is None or LOCATION.fullmatch(where[n]) for n in charges), (path.name, reply)
        assert EXPECTED[validation][path.name] == (answers[0][1], where[0]), path.name
