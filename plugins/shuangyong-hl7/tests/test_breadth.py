"""What real senders need (issue 17): a reply whatever the character set, the PID-3 identifier map,
versions 2.3 to 2.6, the registration and charge message types, batches, and lenient validation.
The messages here are written for these tests (hl7_messages.py), not taken from real systems:
those are in fixtures/real and test_real_hl7.py."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong import InputError, decision_to_dict, visit_from_dict
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong_hl7 import Hl7Adapter, Hl7Service, MllpListener, codec, send
from shuangyong_hl7.hooks import identifier_map
from shuangyong_hl7.messages import IDENTIFIER_TYPES, IGNORE, PATIENT_ID, VERSIONS
from shuangyong_hl7.store import PatientStore

sys.path.insert(0, str(Path(__file__).parent))
from hl7_messages import a04, dft, segments  # noqa: E402

ENGINE = Engine.from_packs("seed-example")
CARD = "桂优医字第0451033号^^^MZJ^key_care_medical_card^^20240101^20261231"


def service(**options: Any) -> Hl7Service:
    return Hl7Service(ENGINE, region="450100", **options)


def ascii_only(text: str) -> str:
    """The message without its Chinese text, so that it is honestly ASCII."""
    return "".join(c for c in text if c.isascii())


class TestEveryFrameIsAnswered:
    def test_refused_ascii_message_gets_its_ack_over_mllp(self) -> None:
        """MSH-18 ASCII and a refusal (an unknown category): the zh+en reason cannot be written in
        ASCII, yet the sender gets exactly one AE on the same connection, the Chinese written as
        HL7 hexadecimal data, and the next message is answered too."""
        refused = ascii_only(a04("ASC1", category="space_cadet^^SYCAT", charset="ASCII")).encode("ascii")
        accepted = ascii_only(a04("ASC2", charset="ASCII")).encode("ascii")

        async def run() -> list[bytes]:
            listener = MllpListener(service(), port=0)
            await listener.start()
            try:
                return await asyncio.wait_for(send("127.0.0.1", listener.port, [refused, accepted]), timeout=30)
            finally:
                await listener.close()

        first, second = asyncio.run(run())
        err = segments(first, "ascii")["ERR"][0]
        assert (["AE", "ASC1"], "ASCII", ["AA", "ASC2"]) == (
            segments(first, "ascii")["MSA"][0][1:3], segments(first, "ascii")["MSH"][0][17],
            segments(second, "ascii")["MSA"][0][1:3])
        assert ("space_cadet" in err[8], "\\XE" in err[8]) == (True, True)

    @pytest.mark.parametrize(("charset", "codec_name"), [("ASCII", "ascii"), ("8859/1", "latin-1")])
    def test_what_a_charset_cannot_carry_is_hex_escaped(self, charset: str, codec_name: str) -> None:
        """黄 (UTF-8 E9 BB 84) in an ASCII or ISO 8859-1 reply is \\XE9BB84\\; the rest is untouched."""
        assert b"ERR|\\XE9BB84\\ / Huang" == codec.encode("ERR|黄 / Huang", charset)
        assert "ERR|\\XE9BB84\\ / Huang" == codec.encode("ERR|黄 / Huang", charset).decode(codec_name)

    def test_an_internal_failure_is_answered_207(self) -> None:
        """Whatever fails inside (here the engine), the sender hears AE 207, not silence."""
        class Broken(Engine):
            def evaluate(self, *_: Any, **__: Any) -> Any:
                raise RuntimeError("boom")

        handler = Hl7Service(Broken.from_packs("seed-example"), region="450100")
        handler.handle(a04().encode())
        reply = segments(handler.handle(dft().encode()))
        assert ("AE", "207") == (reply["MSA"][0][1], reply["ERR"][0][3].split("^")[0])


@pytest.mark.parametrize(("charset", "codec_name"), [
    ("GB18030", "gb18030"), ("GB 18030-2000", "gb18030"), ("GBK", "gbk"), ("UNICODE UTF-8", "utf-8"),
    ("", "utf-8"), ("gb18030", "gb18030")])
def test_charset_aliases(charset: str, codec_name: str) -> None:
    """MSH-18 as Chinese HIS spell it: read in that set, answered in it with the same MSH-18."""
    handler = service()
    handler.handle(a04(charset=charset).encode(codec_name))
    reply = segments(handler.handle(dft(charset=charset).encode(codec_name)), codec_name)
    assert ("AA", charset, "50.35") == (reply["MSA"][0][1], (reply["MSH"][0] + [""] * 18)[17], reply["ZDT"][0][4])


class TestIdentifierMap:
    PID_3 = "MZ2026030017^^^NNFPH^MR~" + CARD

    def register(self, pid_3: str, handler: Hl7Service | None = None) -> tuple[Hl7Service, dict[str, Any]]:
        handler = handler or service()
        reply = segments(handler.handle(a04().replace(self.PID_3, pid_3).encode()))
        return handler, reply

    def test_chinese_his_identifiers_are_not_credentials(self) -> None:
        """A resident ID card (NNCHN), a social security (SS) and an insurance card (HC) number and a
        person number (PN) beside the patient id are ignored by default, not refused as unknown cards."""
        pid_3 = "~".join(["MZ2026030017^^^NNFPH^MR", "450103195608011234^^^GXGA^NNCHN", "123-45-6789^^^^SS",
                          "YB450100123^^^YBJ^HC", "P0001^^^NNFPH^PN", CARD])
        handler, reply = self.register(pid_3)
        assert ("AA", ["key_care_medical_card"]) == (
            reply["MSA"][0][1], [c["kind"] for c in handler.patients["MZ2026030017"]["credentials"]])

    def test_pi_is_a_patient_id(self) -> None:
        """A patient internal id (PI) is the patient id when there is no MR."""
        handler, reply = self.register("PI0042^^^NNFPH^PI~" + CARD)
        assert ("AA", ["PI0042"]) == (reply["MSA"][0][1], list(handler.patients))

    def test_mr_wins_over_pi(self) -> None:
        handler, _ = self.register("PI0042^^^NNFPH^PI~MZ7^^^NNFPH^MR")
        assert ["MZ7"] == list(handler.patients)

    def test_the_map_is_configurable(self) -> None:
        """A site whose HIS types the 优抚 card ``YFZ`` and its patient ids ``HIS`` says so in the map."""
        identifiers = {**IDENTIFIER_TYPES, "YFZ": "key_care_medical_card", "HIS": PATIENT_ID, "MR": IGNORE}
        handler = service(identifiers=identifiers)
        self.register("MR1^^^X^MR~H42^^^NNFPH^HIS~桂优0451033号^^^MZJ^YFZ", handler)
        assert (["H42"], "key_care_medical_card") == (list(handler.patients),
                                                      handler.patients["H42"]["credentials"][0]["kind"])

    def test_a_credential_kind_the_registry_does_not_know_is_refused(self) -> None:
        handler = service(identifiers={**IDENTIFIER_TYPES, "YFZ": "space_card"})
        _, reply = self.register("MR1^^^X^MR~0451033^^^MZJ^YFZ", handler)
        assert ("AE", "PID^1^3", "103") == (reply["MSA"][0][1], reply["ERR"][0][2], reply["ERR"][0][3][:3])

    def test_no_patient_id_names_the_types(self) -> None:
        _, reply = self.register("450103195608011234^^^GXGA^NNCHN")
        assert ("AE", "PID^1^3", "101", True) == (reply["MSA"][0][1], reply["ERR"][0][2], reply["ERR"][0][3][:3],
                                                  "MR, PI" in reply["ERR"][0][8])


def versioned(message: str, version: str) -> str:
    """MESSAGE as VERSION. Before 2.5 a CX has no validity dates and its type (CX-5) is at most 20
    characters, so the card carries no dates and a site type ``YFZ``; before 2.4 MSH-9 has no
    message structure (hl7apy's 2.3 and 2.3.1 refuse one) and 2.3.1 requires OBX-4 (sub-id)."""
    message = message.replace("|P|2.5|", f"|P|{version}|", 1)
    if version < "2.4":
        message = message.replace("^ADT_A01|", "|").replace("^DFT_P03|", "|").replace("^SYOBS||", "^SYOBS|1|")
    if version < "2.5":
        message = message.replace("^key_care_medical_card^^20240101^20261231", "^YFZ")
    return message


@pytest.mark.parametrize("version", VERSIONS)
def test_versions(version: str) -> None:
    """Every supported version is read against its own definitions, and the reply echoes it."""
    handler = service(identifiers={**IDENTIFIER_TYPES, "YFZ": "key_care_medical_card"})
    registered = segments(handler.handle(versioned(a04(), version).encode()))
    reply = segments(handler.handle(versioned(dft(), version).encode()))
    assert (["AA", "AA"], version, "50.35") == ([registered["MSA"][0][1], reply["MSA"][0][1]],
                                                reply["MSH"][0][11], reply["ZDT"][0][4])


def test_processing_id_is_echoed() -> None:
    """A test message (MSH-11 T) is answered as a test message."""
    reply = segments(service().handle(a04().replace("|P|2.5|", "|T|2.5|", 1).encode()))
    assert ("AA", "T") == (reply["MSA"][0][1], reply["MSH"][0][10])


@pytest.mark.parametrize("structure", ["ADT^A01^ADT_A01", "ADT^A28^ADT_A05", "ADT^A31^ADT_A05"])
def test_registrations(structure: str) -> None:
    """Admit (A01), add person (A28) and update person (A31) register the patient like A04."""
    handler = service()
    registered = segments(handler.handle(a04().replace("ADT^A04^ADT_A01", structure).encode()))
    reply = segments(handler.handle(dft().encode()))
    assert ("AA", structure.split("^")[1], "31.50") == (registered["MSA"][0][1], registered["MSH"][0][8][4:7],
                                                        reply["ZDT"][0][3])


def test_an_update_keeps_what_it_does_not_carry() -> None:
    """An A08 that corrects the name but carries no category keeps the registered category."""
    handler = service()
    handler.handle(a04().encode())
    update = a04("U1", name="黄^建华", category="").replace("ADT^A04^ADT_A01", "ADT^A08^ADT_A01")
    update = update.replace("~" + CARD, "")
    assert "AA" == segments(handler.handle(update.encode()))["MSA"][0][1]
    assert ("黄建华", ["disabled_veteran"]) == (handler.patients["MZ2026030017"]["name"],
                                              handler.patients["MZ2026030017"]["categories"])


def test_bar_p01_registers() -> None:
    """BAR^P01 (add patient account) registers the patient of its PID."""
    handler = service()
    bar = a04().replace("ADT^A04^ADT_A01", "BAR^P01^BAR_P01").replace("EVN|A04|", "EVN|P01|")
    assert "AA" == segments(handler.handle(bar.encode()))["MSA"][0][1]
    assert "31.50" == segments(handler.handle(dft().encode()))["ZDT"][0][3]


def test_dft_p11_is_decided() -> None:
    """DFT^P11 (post detail financial transactions, expanded) is decided like P03."""
    handler = service()
    handler.handle(a04().encode())
    p11 = dft().replace("DFT^P03^DFT_P03", "DFT^P11^DFT_P11").replace("EVN|P03|", "EVN|P11|")
    reply = segments(handler.handle(p11.encode()))
    assert ("AA", "P11", "31.50") == (reply["MSA"][0][1], reply["MSH"][0][8].split("^")[1], reply["ZDT"][0][3])


def test_batch_is_answered_per_message() -> None:
    """A file of one batch (FHS/BHS … BTS/FTS) in one frame: one reply frame, a batch with an ACK
    per message in order, BHS-12 naming the request's batch."""
    batch = "\r".join(["FHS|^~\\&|HIS|NNFPH|SHUANGYONG|NNFPH|20260302||||F1", "BHS|^~\\&|HIS|NNFPH|SHUANGYONG|NNFPH|"
                       "20260302||||B1", a04(), dft(), dft("D2", patient="NOBODY"), "BTS|3", "FTS|1"])

    async def run() -> list[bytes]:
        listener = MllpListener(service(), port=0)
        await listener.start()
        try:
            return await send("127.0.0.1", listener.port, [batch.encode()])
        finally:
            await listener.close()

    [reply] = asyncio.run(run())
    found = segments(reply)
    assert (["FHS", "BHS", "BTS", "FTS"], "B1", ["A0001", "D0001", "D2"], ["AA", "AA", "AE"], "3") == (
        [s[:3] for s in reply.decode().split("\r") if s[:3] in ("FHS", "BHS", "BTS", "FTS")], found["BHS"][0][11],
        [m[2] for m in found["MSA"]], [m[1] for m in found["MSA"]], found["BTS"][0][1])


def test_lenient_validation_takes_what_strict_refuses() -> None:
    """An identifier with more components than CX has is refused by strict validation (hl7apy) and
    read by lenient validation, which keeps shuangyong's own checks."""
    message = a04().replace(CARD, CARD + "^^^^^X").encode()
    strict, lenient = segments(service().handle(message)), segments(service(validation="lenient").handle(message))
    assert ("AE", "AA") == (strict["MSA"][0][1], lenient["MSA"][0][1])
    bad_date = dft().replace("20260302093000||CG", "2026-03-02||CG", 1)
    handler = service(validation="lenient")
    handler.handle(a04().encode())
    assert "AA" == segments(handler.handle(bad_date.encode()))["MSA"][0][1]  # FT1-4 is not read: PV1-44 dates it


def test_an_event_the_version_lacks_is_201() -> None:
    """DFT^P11 came in 2.4: in a 2.3 message it is refused AR 201 at MSH-9."""
    p11 = versioned(dft(), "2.3").replace("DFT^P03", "DFT^P11").replace("EVN|P03|", "EVN|P11|")
    reply = segments(service().handle(p11.encode()))
    assert ("AR", "MSH^1^9", "201") == (reply["MSA"][0][1], reply["ERR"][0][2], reply["ERR"][0][3][:3])


@pytest.mark.parametrize(("amounts", "payable"), [
    ("|1|12.000000", "0.00"),                # trailing zeros past the fen: 12.00
    ("|2||6.00", "0.00"),                    # no FT1-11: FT1-12 × FT1-10
    ("|||12.00", "0.00"),                    # no quantity: one
])
def test_amount_as_senders_write_it(amounts: str, payable: str) -> None:
    handler = service()
    handler.handle(a04().encode())
    message = dft(lines=(("1", "registration^挂号费^SYITEM", "12.00"),)).replace("|||1|12.00&CNY", "||" + amounts)
    reply = segments(handler.handle(message.encode()))
    assert ("AA", "12.00", payable) == (reply["MSA"][0][1], reply["ZDL"][0][3], reply["ZDL"][0][5])


@pytest.mark.parametrize(("amounts", "location", "code"), [
    ("|x||6.00", "FT1^1^10", "102"),         # a quantity that is not a number
    ("|3||0.333", "FT1^1^12", "102"),        # a unit amount past the fen
    ("|1|12.001", "FT1^1^11", "102"),
])
def test_amount_errors_name_the_field(amounts: str, location: str, code: str) -> None:
    handler = service(validation="lenient")
    handler.handle(a04().encode())
    message = dft(lines=(("1", "registration^挂号费^SYITEM", "12.00"),)).replace("|||1|12.00&CNY", "||" + amounts)
    reply = segments(handler.handle(message.encode()))
    assert ("AE", location, code) == (reply["MSA"][0][1], reply["ERR"][0][2], reply["ERR"][0][3][:3])


@pytest.mark.parametrize(("strict", "ack"), [(False, "AA"), (True, "AE")])
def test_an_unmapped_charge_code(strict: bool, ack: str) -> None:
    """A hospital code no table maps: decided as an item kind of its own with no concession, or in
    strict mode refused at its FT1-7 (103)."""
    handler = Hl7Service(Engine.from_packs("seed-example", strict=strict), region="450100")
    handler.handle(a04().encode())
    reply = segments(handler.handle(dft(lines=(("1", "X123^某药^HOSP", "12.00"),
                                               ("2", "registration^挂号费^SYITEM", "12.00"))).encode()))
    assert ack == reply["MSA"][0][1]
    if strict:
        assert ("FT1^1^7", "103", True) == (reply["ERR"][0][2], reply["ERR"][0][3][:3], "X123" in reply["ERR"][0][8])
    else:
        assert (["X123", "registration"], ["0.00", "12.00"]) == ([z[2] for z in reply["ZDL"]],
                                                                  [z[4] for z in reply["ZDL"]])


@pytest.mark.parametrize(("options", "says"), [
    (["HC"], "--identifier-type takes TYPE=MEANING, got 'HC'"),
    (["=ignore"], "--identifier-type takes TYPE=MEANING, got '=ignore'")])
def test_identifier_type_option_errors(options: list[str], says: str) -> None:
    with pytest.raises(InputError) as caught:
        identifier_map(options)
    assert ("--identifier-type", says) == (caught.value.field, caught.value.message.en)


def test_identifier_type_option_overrides_the_default() -> None:
    assert ("key_care_medical_card", PATIENT_ID, IGNORE) == tuple(
        identifier_map(["YFZ=key_care_medical_card", "HC = patient_id"])[k] for k in ("YFZ", "HC", "SS"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_the_registrations_store(kind: str, tmp_path: Path) -> None:
    """Registrations written are there when the database is opened again, on SQLite and on the SQL
    plugin's servers (scratch databases from shuangyong-sql's test helper); an update replaces."""
    testing = pytest.importorskip("shuangyong_sql.testing")
    with testing.scratch_url(kind, tmp_path) as url:
        store = PatientStore(url)
        store["P1"] = {"id": "P1", "name": "黄建国"}
        store["P1"] = {"id": "P1", "name": "黄建华"}
        store.close()
        again = PatientStore(url)
        assert ({"P1": {"id": "P1", "name": "黄建华"}}, 1, "P2" in again) == (dict(again), len(again), False)
        del again["P1"]
        with pytest.raises(KeyError):
            del again["P1"]
        again.close()


def test_memory_registrations_are_shared_by_the_workers() -> None:
    """``memory:`` is one database for every worker thread, not one each."""
    store = PatientStore("memory:")
    store["P1"] = {"id": "P1"}
    with ThreadPoolExecutor(2) as pool:
        assert [True, True] == list(pool.map(lambda _: "P1" in store, range(2)))


@pytest.mark.parametrize("url", ["nonsense", "nosuchdialect://x/y", "sqlite:///{tmp}/missing/dir/r.sqlite3"])
def test_a_bad_registrations_url_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        PatientStore(url.format(tmp=tmp_path))
    assert "--registrations" == caught.value.field


def insured_dft(*ft1_14_15: tuple[str, str]) -> str:
    """A DFT whose first lines carry FT1-14 (fund) and FT1-15 (insurance amount)."""
    message = dft()
    for n, (fund, paid) in enumerate(ft1_14_15, 1):
        line = next(s for s in message.split("\r") if s.startswith(f"FT1|{n}|"))
        message = message.replace(line, line + f"|||{fund}|{paid}")
    return message


def test_insurance_amounts_feed_the_settlement() -> None:
    """FT1-15 paid by the fund in FT1-14 is the line's insurance (contract 1.1); a line without is the
    patient's in full; the ACK carries the decision of that contract visit."""
    message = insured_dft(("basic_pool", "9.60"), ("basic_pool", "5.00"))
    [data] = Hl7Adapter().read((a04() + "\r" + message).encode())
    assert ({"funds": {"basic_pool": "9.60"}, "self_pay": {"in_scope": "2.40"}},
            {"self_pay": {"full": "25.00"}}) == (data["lines"][0]["insurance"], data["lines"][2]["insurance"])
    handler = service()
    handler.handle(a04().encode())
    totals = decision_to_dict(ENGINE.evaluate(visit_from_dict(data)))["totals"]
    assert ["AA", totals["reduction"], totals["payable"]] == [
        segments(handler.handle(message.encode()))[name][0][n] for name, n in (("MSA", 1), ("ZDT", 3), ("ZDT", 4))]


@pytest.mark.parametrize(("ft1", "location", "code"), [
    (("", "9.60"), "FT1^1^14", "101"),                    # an amount and no fund
    (("basic_pool", "12.01"), "FT1^1^15", "102"),         # more than the line
    (("basic_pool", "9.601"), "FT1^1^15", "102")])        # past the fen
def test_insurance_errors_name_the_field(ft1: tuple[str, str], location: str, code: str) -> None:
    handler = service()
    handler.handle(a04().encode())
    reply = segments(handler.handle(insured_dft(ft1).encode()))
    assert ("AE", location, code) == (reply["MSA"][0][1], reply["ERR"][0][2], reply["ERR"][0][3][:3])


@pytest.mark.parametrize(("options", "says"), [
    (["--identifier-type", "HC"], "field --identifier-type: --identifier-type takes TYPE=MEANING, got 'HC'"),
    (["--registrations", "nonsense"], "field --registrations: cannot open the registrations at 'nonsense'")])
def test_listen_refuses_bad_options_before_listening(options: list[str], says: str) -> None:
    """`shuangyong hl7 listen` with a bad option exits 2 naming it, without opening a port."""
    result = CliRunner().invoke(main, ["--lang", "en", "hl7", "listen", "--registrations", "memory:", *options])
    assert (2, says) == (result.exit_code, result.stderr.removeprefix("error: ")[:len(says)])


@pytest.mark.parametrize(("card", "location", "code", "says"), [
    ("^^^MZJ^key_care_medical_card", "PID^1^3", "101", "a card number is missing"),
    ("0451033^^^MZJ^key_care_medical_card^^2024-01-01", "PID^1^3", "102", "a full date YYYYMMDD is needed"),
])
def test_a_card_that_cannot_be_read(card: str, location: str, code: str, says: str) -> None:
    """A credential repetition without its number, or with a validity date written otherwise than
    HL7 does, is refused at PID-3 (lenient validation: shuangyong's own checks)."""
    reply = segments(service(validation="lenient").handle(a04().replace(CARD, card).encode()))
    err = reply["ERR"][0]
    assert ("AE", location, code, True) == (reply["MSA"][0][1], err[2], err[3][:3], says in err[8])


def test_a_date_off_the_calendar_is_refused_in_a_file(tmp_path: Path) -> None:
    """Lenient validation leaves dates to shuangyong: PV1-44 `20261399` is that message's error
    (PV1-44, 102), not a traceback, and the next message is still decided."""
    source = tmp_path / "messages.hl7"
    bad = dft("D1", visit="V1").replace("|450103|||||20260302093000", "|450103|||||20261399093000", 1)
    source.write_bytes("\n".join([a04(), bad, dft("D2", visit="V2")]).encode())
    visits = list(Hl7Adapter(validation="lenient").read_each(source))
    assert [("D1", "PV1-44"), "V2"] == [(v.record, v.field) if isinstance(v, InputError) else v["visit_id"]
                                        for v in visits]
