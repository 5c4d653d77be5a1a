"""HL7 v2.5: registration and charges answered with the decision, error ACKs naming segment and
field, UTF-8 and GB 18030, and the MLLP listener driven over a real socket."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangyong import plugins
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.errors import MoneyError
from shuangyong.interchange import decision_to_dict, visit_from_dict
from shuangyong.model.registry import Registry
from shuangyong_hl7 import Hl7Adapter, Hl7Error, Hl7Service, MllpListener, send
from shuangyong_hl7.build import visit_to_dft
from shuangyong_hl7.codec import END, START

sys.path.insert(0, str(Path(__file__).parent))
from hl7_messages import a04, dft, ft1, segments  # noqa: E402

ENGINE = Engine.from_packs("seed-example")


def service() -> Hl7Service:
    return Hl7Service(ENGINE, region="450100")


def expected_decision() -> dict[str, Any]:
    """The same visit through the JSON contract: what the ACK must carry."""
    return decision_to_dict(ENGINE.evaluate(visit_from_dict(next(Hl7Adapter().read(f"{a04()}\n{dft()}".encode())))))


class TestExchange:
    def test_registration_then_charge_carries_the_decision(self) -> None:
        """A04 registers 黄建国 with his card; the DFT^P03 reply has one ZDL per line and the totals."""
        handler = service()
        registered = segments(handler.handle(a04().encode()))
        reply = segments(handler.handle(dft().encode()))
        decision = expected_decision()
        assert (["MSA", "AA", "A0001", "registered MZ2026030017"], ["MSA", "AA", "D0001"]) == (
            registered["MSA"][0], reply["MSA"][0])
        assert [[line["line_id"], line["item"], line["amount"], line["reduction"], line["payable"], line["rule"] or ""]
                for line in decision["lines"]] == [[*z[1:6], z[6] if len(z) > 6 else ""] for z in reply["ZDL"]]
        assert ["ZDT", decision["policy"], "81.85", "31.50", "50.35", "~".join(decision["priorities"]),
                "~".join(decision["services"])] == reply["ZDT"][0]

    def test_reply_is_valid_hl7(self) -> None:
        """hl7apy reads the reply: an ACK answering the request's control id."""
        handler = service()
        handler.handle(a04().encode())
        ack = parse_message(handler.handle(dft().encode()).decode(), validation_level=VALIDATION_LEVEL.TOLERANT)
        assert ("ACK", "AA", "D0001") == (ack.msh.msh_9.msg_1.to_er7(), ack.msa.msa_1.to_er7(), ack.msa.msa_2.to_er7())

    def test_unregistered_patient_is_refused_not_decided(self) -> None:
        """A charge for a patient nobody registered (and no plugin resolves) is AE 204 at PID-3, not
        an AA granting 0.00 that would read as "not eligible"."""
        reply = segments(service().handle(dft(patient="MZ9999").encode()))
        assert ("AE", "PID^1^3", "204", "ZDL" in reply) == (reply["MSA"][0][1], reply["ERR"][0][2],
                                                           reply["ERR"][0][3].split("^")[0], False)
        assert "MZ9999" in reply["ERR"][0][8]

    def test_registered_patient_without_benefits_is_decided(self) -> None:
        """A patient registered with no category is known: the charge is decided, granting nothing."""
        handler = service()
        handler.handle(a04(patient="MZ9999", category="").replace("~" + PID_3.split("~")[1], "").encode())
        reply = segments(handler.handle(dft(patient="MZ9999").encode()))
        assert ("AA", ["0.00"] * 4) == (reply["MSA"][0][1], [z[4] for z in reply["ZDL"]])

    def test_admit_date_falls_back_to_the_transaction_date(self) -> None:
        """No PV1-44: the visit is dated by the first FT1-4 (the date of service)."""
        handler = service()
        handler.handle(a04().encode())
        message = dft().replace("|450103|||||20260302093000", "|450103||||||", 1).replace(
            "FT1|1|||20260302093000", "FT1|1|||20260301080000", 1)
        assert "AA" == segments(handler.handle(message.encode()))["MSA"][0][1]

    def test_gb18030_both_ways(self) -> None:
        """A message in GB 18030 (MSH-18) is read and answered in GB 18030."""
        handler = service()
        registered = handler.handle(a04(charset="GB 18030-2000").encode("gb18030"))
        reply = handler.handle(dft(charset="GB 18030-2000").encode("gb18030"))
        assert ("黄建国", "GB 18030-2000", "AA", "12.00") == (
            handler.patients["MZ2026030017"]["name"], segments(registered, "gb18030")["MSH"][0][17],
            segments(reply, "gb18030")["MSA"][0][1], segments(reply, "gb18030")["ZDL"][0][4])


PID_3 = "MZ2026030017^^^NNFPH^MR~桂优医字第0451033号^^^MZJ^key_care_medical_card^^20240101^20261231"


def wrong_charset() -> bytes:
    return a04(charset="UNICODE UTF-8").encode("gb18030")


@pytest.mark.parametrize(("raw", "ack", "location", "code"), [
    (lambda: a04().replace(PID_3, "").encode(), "AE", "PID^1^3", "101"),
    (lambda: a04().replace(PID_3, PID_3 + "^^^^^X").encode(), "AE", "PID^1^3", "102"),
    (lambda: dft().replace("20260302093000||CG", "2026-03-02||CG", 1).encode(), "AE", "FT1^1^4", "102"),
    (lambda: dft(lines=(("1", "registration^挂号费^SYITEM", "12.345"),)).encode(), "AE", "FT1^1^11", "102"),
    (lambda: dft().replace("7.00&CNY", "7.00&USD").encode(), "AE", "FT1^2^11", "102"),
    (lambda: dft(lines=(("1", "registration^挂号费^SYITEM", ""),)).encode(), "AE", "FT1^1^11", "101"),
    (lambda: dft(kind="X").encode(), "AE", "PV1^1^2", "103"),
    (lambda: dft(visit="").encode(), "AE", "PV1^1^19", "101"),
    (lambda: a04(category="space_cadet^太空学员^SYCAT").encode(), "AE", "PID^1^27", "103"),
    (lambda: a04(category="veteran~serviceman").encode(), "AE", "PID^1^27", "102"),
    (lambda: dft(lines=()).encode(), "AE", "FT1^1", "101"),
    (lambda: a04().replace("ADT^A04^ADT_A01", "ADT^A03^ADT_A03").encode(), "AR", "MSH^1^9", "201"),
    (lambda: a04().replace("ADT^A04^ADT_A01", "ORU^R01^ORU_R01").encode(), "AR", "MSH^1^9", "200"),
    (lambda: a04().replace("|P|2.5|", "|P|2.2|").encode(), "AR", "MSH^1^12", "203"),
    (lambda: dft(patient="NOBODY").encode(), "AE", "PID^1^3", "204"),
    (lambda: a04(charset="BIG5").encode(), "AR", "MSH^1^18", "200"),
    (wrong_charset, "AR", "MSH^1^18", "200"),
    (lambda: b"EVN|A04|20260302", "AE", "MSH^1", "101"),
])
def test_error_ack_names_segment_and_field(raw: Any, ack: str, location: str, code: str) -> None:
    """Each malformed message gets an error ACK: MSA-1 AE or AR, ERR-2 the location, ERR-3 the code,
    ERR-8 the reason in zh and en; the service keeps answering afterwards."""
    handler = service()
    reply = segments(handler.handle(raw()))
    err = reply["ERR"][0]
    assert (ack, location, code, "E") == (reply["MSA"][0][1], err[2], err[3].split("^")[0], err[4])
    assert " / " in err[8]
    assert "AA" == segments(handler.handle(a04(control="after").encode()))["MSA"][0][1]


class TestListener:
    def test_bounded_load_over_a_real_socket_drops_nothing(self) -> None:
        """4 clients × (1 A04 + 30 DFT + 1 malformed) at once: 128 replies, each answering its own
        control id in order, the malformed ones AE and every other AA."""
        clients, charges = 4, 30

        def batch(client: int) -> list[bytes]:
            patient = f"P{client:04d}"
            messages = [a04(f"A{client}", patient=patient).encode()]
            messages += [dft(f"D{client}-{n}", patient=patient, visit=f"V{client}-{n}").encode()
                         for n in range(charges)]
            messages.insert(charges // 2, b"MSH|^~\\&|HIS|X|SY|X|20260302||DFT^P03^DFT_P03|BAD" + str(client).encode()
                            + b"|P|2.5\rPID|1")
            return messages

        async def run() -> tuple[list[list[bytes]], int]:
            listener = MllpListener(service(), port=0)
            await listener.start()
            try:
                replies = await asyncio.wait_for(asyncio.gather(
                    *(send("127.0.0.1", listener.port, batch(c)) for c in range(clients))), timeout=60)
            finally:
                await listener.close()
            return list(replies), listener.handled

        replies, handled = asyncio.run(run())
        assert (clients * (charges + 2), clients * (charges + 2)) == (handled, sum(map(len, replies)))
        for client, answers in enumerate(replies):
            sent = [m.split(b"|")[9].decode() for m in batch(client)]
            got = [segments(r)["MSA"][0] for r in answers]
            assert sent == [msa[2] for msa in got]
            assert ["AE" if c.startswith("BAD") else "AA" for c in sent] == [msa[1] for msa in got]
            assert all(segments(r)["ZDT"][0][3] == "31.50"
                       for r, c in zip(answers, sent, strict=True) if c.startswith("D"))

    @pytest.mark.parametrize("workers", [1, 2])
    def test_a_large_message_does_not_hold_up_a_small_one(self, workers: int) -> None:
        """A small message sent on another connection while a large one is being decided is answered
        first: decoding runs off the event loop, and large messages have a worker of their own
        (with one small-message worker, the small one is not queued behind the large one either)."""
        started = threading.Event()

        class Signalling(Hl7Service):
            def handle(self, raw: bytes) -> bytes:
                if len(raw) > 4096:
                    started.set()
                return super().handle(raw)

        large = dft("BIG", lines=tuple((str(n), "drug^药^SYITEM", "1.00") for n in range(1, 121))).encode()

        async def run() -> list[str]:
            listener = MllpListener(Signalling(ENGINE, region="450100"), port=0, workers=workers, small_message=4096)
            await listener.start()
            order: list[str] = []

            async def client(name: str, message: bytes, after: threading.Event | None = None) -> None:
                if after is not None:
                    await asyncio.to_thread(after.wait, 60)
                answers = await send("127.0.0.1", listener.port, [message])
                order.append(f"{name} {segments(answers[0])['MSA'][0][1]}")

            await asyncio.gather(client("large", large), client("small", a04().encode(), started))
            await listener.close()
            return order

        assert ["small AA", "large AA"] == asyncio.run(run())

    def test_frame_without_start_byte_is_answered(self) -> None:
        """Bytes with no MLLP start byte still get a reply (an error ACK), then the connection goes on."""
        async def run() -> list[bytes]:
            listener = MllpListener(service(), port=0)
            await listener.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(a04().encode() + END + START + a04("A2").encode() + END)
            await writer.drain()
            answers = [await reader.readuntil(END) for _ in range(2)]
            writer.close()
            await writer.wait_closed()
            await listener.close()
            return answers

        first, second = asyncio.run(run())
        assert ("AA", "AA") == (segments(first[1:-2])["MSA"][0][1], segments(second[1:-2])["MSA"][0][1])

    def test_oversized_frame_closes_only_its_connection(self) -> None:
        """A sender that never ends a frame beyond max_frame is cut off; another connection is served."""
        async def run() -> tuple[bytes, list[bytes]]:
            listener = MllpListener(service(), port=0, max_frame=4096)
            await listener.start()
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(START + b"MSH|" + b"x" * 10_000)
            await writer.drain()
            cut = await asyncio.wait_for(reader.read(), timeout=10)  # EOF: the listener closed it
            writer.close()
            await writer.wait_closed()
            answers = await send("127.0.0.1", listener.port, [a04().encode()])
            await listener.close()
            return cut, answers

        cut, answers = asyncio.run(run())
        assert (b"", "AA") == (cut, segments(answers[0])["MSA"][0][1])

    def test_registrations_survive_a_restart(self, tmp_path: Path) -> None:
        """`shuangyong hl7 listen --max-messages 1` registers 黄建国 and exits 0; a new listener on the
        same registrations file decides his charge (AA, 31.50 off) instead of refusing him as unknown."""
        registrations = f"sqlite:///{tmp_path / 'registrations.sqlite3'}"

        def listen(message: bytes) -> bytes:
            with subprocess.Popen([sys.executable, "-m", "shuangyong", "hl7", "listen", "--port", "0",
                                   "--region", "450103", "--max-messages", "1", "--registrations", registrations],
                                  stderr=subprocess.PIPE, env={**os.environ, "PYTHONIOENCODING": "utf-8"}) as process:
                try:
                    port = int(process.stderr.readline().decode().rsplit(":", 1)[1])  # type: ignore[union-attr]
                    [answer] = asyncio.run(send("127.0.0.1", port, [message]))
                    assert 0 == process.wait(timeout=30)
                finally:
                    process.kill()
            return answer

        registered, decided = listen(a04().encode()), listen(dft().encode())
        assert ("AA", "AA", "31.50") == (segments(registered)["MSA"][0][1], segments(decided)["MSA"][0][1],
                                         segments(decided)["ZDT"][0][3])


class TestAdapter:
    def test_reads_framed_and_plain_batches(self) -> None:
        """A file of MLLP frames and one of messages separated by new lines give the same visits."""
        framed = b"".join(START + m.encode() + END for m in (a04(), dft()))
        plain = f"{a04()}\n{dft()}\n".replace("\r", "\n").encode()
        visits = list(Hl7Adapter().read(io.BytesIO(framed)))
        assert (visits, ["disabled_veteran"], 4) == (list(Hl7Adapter().read(plain)),
                                                     visits[0]["patient"]["categories"], len(visits[0]["lines"]))

    def test_read_refuses_with_the_location(self) -> None:
        with pytest.raises(Hl7Error) as caught:
            list(Hl7Adapter().read(dft(kind="X").encode()))
        assert ("PV1-2", "D0001") == (caught.value.field, caught.value.record)

    def test_write_answers_each_decision(self) -> None:
        target = io.BytesIO()
        Hl7Adapter().write([expected_decision()], target)
        body = target.getvalue()
        reply = segments(body[1:-2])
        assert (True, "MZ20260302-0042", "12.50") == (body.startswith(START) and body.endswith(END),
                                                      reply["MSA"][0][2], reply["ZDL"][2][4])

    def test_write_refuses_floats_and_writes_nothing(self) -> None:
        decision = expected_decision()
        decision["lines"][0]["reduction"] = 12.0
        target = io.BytesIO()
        with pytest.raises(MoneyError) as caught:
            Hl7Adapter().write([decision], target)
        assert ("lines[0].reduction", b"") == (caught.value.field, target.getvalue())


def test_listed_by_plugins() -> None:
    """`shuangyong plugins` shows the hl7 plugin with its adapter, exporter and command."""
    info = {i.name: i.hooks for i in plugins.plugin_infos()}
    assert ("register_commands", "register_exporters", "register_his_adapters") == info["hl7"]


def test_evaluate_a_file_of_messages(tmp_path: Path) -> None:
    """`evaluate FILE --his hl7 --format hl7`: the ACKs for a GB 18030 file of messages."""
    source, out = tmp_path / "messages.hl7", tmp_path / "acks.hl7"
    source.write_bytes(b"".join(START + m.encode("gb18030") + END
                                for m in (a04(charset="GB 18030-2000"), dft(charset="GB 18030-2000"))))
    result = CliRunner().invoke(main, ["evaluate", str(source), "--his", "hl7", "--format", "hl7", "-o", str(out)])
    body = out.read_bytes()
    assert (0, "MZ20260302-0042", "50.35") == (result.exit_code, segments(body[1:-2])["MSA"][0][2],
                                               segments(body[1:-2])["ZDT"][0][4])


class TestBadMessagesInAFile:
    """`evaluate --his hl7`: each message that cannot be used is one error record; the rest are decided."""

    def test_each_bad_message_is_reported_in_its_place(self, tmp_path: Path) -> None:
        source = tmp_path / "messages.hl7"
        garbage = START + b"MSH|^~\\&|\xff\xfe\x80 not utf-8" + END
        source.write_bytes(b"".join(START + m.encode() + END for m in (a04(), dft("D1", visit="V1")))
                           + garbage + START + dft("D2", kind="X").encode() + END
                           + START + dft("D3", visit="V3").encode() + END)
        result = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source), "--his", "hl7",
                                           "--format", "jsonl"])
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert (2, ["V1", None, None, "V3"]) == (result.exit_code, [o.get("visit_id") for o in out])
        assert [("message 3", "MSH-18"), ("D2", "PV1-2")] == [(o["error"]["record"], o["error"]["field"])
                                                              for o in out if "error" in o]
        assert (True, True) == ("not valid utf-8" in out[1]["error"]["message"]["en"],
                                "2 record(s) had errors" in result.stderr)
        assert "字节" in out[1]["error"]["message"]["zh"]

    def test_a_field_past_the_bound_is_refused_before_hl7apy(self, tmp_path: Path) -> None:
        """hl7apy's validation is quadratic in a field's length (a 38 KB timestamp took a minute):
        a field past MAX_TEXT_LENGTH is refused at once, naming segment and field (fuzzer)."""
        source = tmp_path / "long.hl7"
        long_event = dft("D1", visit="V1").replace("EVN|P03|", "EVN|P03|" + "2" * 38_000, 1)
        source.write_bytes(START + a04().encode() + END + START + long_event.encode() + END
                           + START + dft("D2", visit="V2").encode() + END)
        result = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source), "--his", "hl7",
                                           "--format", "jsonl"])
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert (2, ("D1", "EVN-2"), "V2") == (result.exit_code, (out[0]["error"]["record"], out[0]["error"]["field"]),
                                             out[1]["visit_id"])

    def test_random_bytes_are_an_error_not_a_traceback(self, tmp_path: Path) -> None:
        """Random bytes: exit 2 with a message, whether or not they happen to hold a frame."""
        for seed in range(20):
            source = tmp_path / f"random{seed}.hl7"
            source.write_bytes(random.Random(seed).randbytes(3000))
            result = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source), "--his", "hl7"])
            assert (2, True) == (result.exit_code, isinstance(result.exception, SystemExit)), result.output

    @pytest.mark.parametrize("raw", [b"", b"\r\n\n"])
    def test_no_message_at_all_is_refused_whole(self, raw: bytes) -> None:
        with pytest.raises(Hl7Error) as caught:
            list(Hl7Adapter().read_each(raw))
        assert ("MSH", "no HL7 message in the input") == (caught.value.field, caught.value.message.en[:27])


def test_ft1_helper_matches_the_spec() -> None:
    """FT1-11 carries the extended amount and its currency (CP: amount&currency)."""
    assert "12.00&CNY" == ft1("1", "registration", "12.00").split("|")[11]


REGISTRY = Registry.builtin()
DELIMITED = st.text(alphabet="黄建国覃秀兰|^&~\\AZ09 ", min_size=1, max_size=8).map(str.strip).filter(bool)
short_ids = st.from_regex(r"[A-Z]{1,3}[0-9]{1,6}", fullmatch=True)
cards = st.fixed_dictionaries({"kind": st.sampled_from([t.id for t in REGISTRY.credentials]), "number": DELIMITED},
                              optional={"valid_from": st.just("2024-01-01"), "valid_to": st.just("2026-12-31")})
patients = st.fixed_dictionaries(  # with a category: a charge for a patient nobody knows is refused
    {"id": short_ids, "categories": st.lists(st.sampled_from([t.id for t in REGISTRY.categories]), min_size=1,
                                             max_size=3, unique=True)},
    optional={"name": DELIMITED, "birth_date": st.just("1956-08-01"),
              "credentials": st.lists(cards, min_size=1, max_size=2), "disability_level": st.integers(1, 10),
              "disability_cause": st.sampled_from(["war", "duty", "illness"])})
charge_lines = st.one_of(
    st.fixed_dictionaries({"item": st.sampled_from([t.id for t in REGISTRY.items])},
                          optional={"description": DELIMITED}),
    st.fixed_dictionaries({"code": short_ids}, optional={"description": DELIMITED}))


@st.composite
def visits(draw: st.DrawFn) -> dict[str, Any]:
    lines = draw(st.lists(charge_lines, min_size=1, max_size=5))  # DFT^P03 requires an FT1
    return {"visit_id": draw(short_ids), "date": "2026-03-02", "kind": draw(st.sampled_from(["outpatient", "emergency",
                                                                                            "inpatient"])),
            "region": "450103", "patient": draw(patients),
            "lines": [{"line_id": str(n), "amount": draw(st.decimals(0, Decimal("99999999.99"), places=2).map(str)),
                       **line} for n, line in enumerate(lines, 1)]}


@settings(max_examples=30, deadline=None)
@given(visits(), st.sampled_from(["UNICODE UTF-8", "GB 18030-2000"]))
def test_visits_round_trip_through_dft(visit: dict[str, Any], charset: str) -> None:
    """Any visit written as a DFT^P03 (delimiters in names, numbers and descriptions escaped; UTF-8
    or GB 18030) reads back the same."""
    raw = visit_to_dft(visit, "P1", charset).encode("gb18030" if charset.startswith("GB") else "utf-8")
    assert [visit] == list(Hl7Adapter().read(raw))


def test_evaluate_takes_region_for_messages_without_pv1_39(tmp_path: Path) -> None:
    """`evaluate --his hl7 --region CODE`: a charge whose PV1-39 is empty is decided in that region;
    without --region it is reported (PV1-39) and the others are still decided."""
    source = tmp_path / "messages.hl7"
    source.write_bytes(b"".join(START + m.encode() + END for m in (
        a04(), dft("D1", visit="V1").replace("|450103|", "||", 1), dft("D2", visit="V2"))))
    given = CliRunner().invoke(main, ["evaluate", str(source), "--his", "hl7", "--region", "450103", "--format",
                                      "jsonl"])
    absent = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source), "--his", "hl7", "--format", "jsonl"])
    assert (0, ["V1", "V2"]) == (given.exit_code, [json.loads(line)["visit_id"] for line in given.stdout.splitlines()])
    assert (2, [("D1", "PV1-39"), None]) == (absent.exit_code, [
        (o["error"]["record"], o["error"]["field"]) if "error" in o else None
        for o in map(json.loads, absent.stdout.splitlines())])


class TestUnmappedChargeCode:
    """`evaluate --his hl7`: a hospital code no table maps is decided as an unknown item (no
    concession; explain says no rule covers it); with --strict it is that visit's error."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> Path:
        source = tmp_path / "messages.hl7"
        charge = dft(lines=(("1", "X123^某药^HOSP", "12.00"), ("2", "registration^挂号费^SYITEM", "12.00")))
        source.write_bytes(b"".join(START + m.encode() + END for m in (a04(), charge)))
        return source

    def test_decided_as_an_unknown_item(self, source: Path) -> None:
        result = CliRunner().invoke(main, ["evaluate", str(source), "--his", "hl7", "--format", "jsonl"])
        lines = json.loads(result.stdout)["lines"]
        explained = CliRunner().invoke(main, ["--lang", "en", "explain", str(source), "--his", "hl7"])
        assert (0, [("X123", "0.00"), ("registration", "12.00")]) == (
            result.exit_code, [(line["item"], line["reduction"]) for line in lines])
        assert "line 1 (X123):\n    no rule covers this item kind" in explained.stdout

    def test_refused_in_strict_mode(self, source: Path) -> None:
        result = CliRunner().invoke(main, ["--lang", "en", "evaluate", str(source), "--his", "hl7", "--strict",
                                           "--format", "jsonl"])
        error = json.loads(result.stdout)["error"]
        assert (2, "lines[0].item", "no item, and charge code 'X123' is not in the mapping table") == (
            result.exit_code, error["field"], error["message"]["en"])
