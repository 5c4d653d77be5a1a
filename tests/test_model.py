"""The domain model: vocabularies, the built-in registry, beneficiaries, visits and charge codes."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from shuangyong.dates import DateWindow
from shuangyong.errors import InputError, MoneyError, UnknownCategoryError
from shuangyong.interchange import check_id, framing, json_depth, read_records, visit_from_dict, visit_from_json
from shuangyong.model import (
    Beneficiary,
    ChargeCodeMap,
    ChargeLine,
    Credential,
    Registry,
    Term,
    Visit,
    Vocabulary,
)
from shuangyong.text import Text

DAY = dt.date(2025, 3, 1)


def _vocabulary() -> Vocabulary:
    """root ← child ← grandchild, and a separate other."""
    vocabulary = Vocabulary(Text("类别", "category"))
    vocabulary.register(Term("root", Text("根", "root")))
    vocabulary.register(Term("other", Text("其他", "other")))
    vocabulary.register(Term("child", Text("子", "child"), ("root",)))
    vocabulary.register(Term("grandchild", Text("孙", "grandchild"), ("child",)))
    return vocabulary


class TestVocabulary:
    def test_register_twice_raises(self) -> None:
        """An id is registered once; a second registration is a ValueError naming it."""
        vocabulary = _vocabulary()
        with pytest.raises(ValueError) as caught:
            vocabulary.register(Term("root", Text("根", "root")))
        assert "category 'root' is registered twice" == str(caught.value)

    def test_unknown_parent_raises(self) -> None:
        """A parent must be registered before its children."""
        vocabulary = _vocabulary()
        with pytest.raises(ValueError) as caught:
            vocabulary.register(Term("orphan", Text("孤", "orphan"), ("nobody",)))
        assert ("category 'orphan': parent 'nobody' is not registered", False) == (
            str(caught.value), "orphan" in vocabulary)

    def test_with_ancestors(self) -> None:
        """An id's closure is itself and every ancestor."""
        vocabulary = _vocabulary()
        assert (frozenset({"grandchild", "child", "root"}), frozenset({"other"})) == (
            vocabulary.with_ancestors("grandchild"), vocabulary.with_ancestors("other"))

    def test_descendants(self) -> None:
        """An id's descendants include itself and everything below it."""
        vocabulary = _vocabulary()
        assert (frozenset({"root", "child", "grandchild"}), frozenset({"grandchild"})) == (
            vocabulary.descendants("root"), vocabulary.descendants("grandchild"))

    def test_order_is_registration_order(self) -> None:
        """``order`` sorts ids into registration order and drops duplicates."""
        vocabulary = _vocabulary()
        assert ("root", "other", "child", "grandchild") == vocabulary.order(
            ["grandchild", "child", "other", "root", "child"])

    def test_unknown_id_is_an_unknown_category_error(self) -> None:
        """``get`` of an unknown id raises UnknownCategoryError listing the known ids."""
        with pytest.raises(UnknownCategoryError) as caught:
            _vocabulary().get("alien")
        assert "unknown category 'alien' (known: root, other, child, grandchild)" == caught.value.message.en

    def test_late_registration_reaches_closures(self) -> None:
        """A term registered after a closure was memoised still gets its own closure."""
        vocabulary = _vocabulary()
        vocabulary.with_ancestors("child")
        vocabulary.register(Term("late", Text("晚", "late"), ("child",)))
        assert frozenset({"late", "child", "root"}) == vocabulary.with_ancestors("late")


BUILTIN = Registry.builtin()
KEY_CARE_CHILDREN = ("disabled_veteran", "martyr_family", "sacrificed_family", "deceased_family",
                     "demobilized_veteran", "ill_returned_veteran", "war_test_veteran")


class TestBuiltinRegistry:
    def test_disabled_veteran_is_key_care(self) -> None:
        """A rule on key_care covers a disabled veteran."""
        assert frozenset({"disabled_veteran", "key_care"}) == BUILTIN.categories.with_ancestors("disabled_veteran")

    @pytest.mark.parametrize("category", ["serviceman", "military_family", "key_care", *KEY_CARE_CHILDREN,
                                          "veteran"])
    def test_design_categories_present(self, category: str) -> None:
        """Every category id of DESIGN §4 is built in."""
        assert True is (category in BUILTIN.categories)

    @pytest.mark.parametrize("category", KEY_CARE_CHILDREN)
    def test_key_care_children(self, category: str) -> None:
        """Each category DESIGN §4 puts under key_care has key_care among its ancestors."""
        assert True is ("key_care" in BUILTIN.categories.with_ancestors(category))

    @pytest.mark.parametrize("category", ["serviceman", "military_family", "key_care", "veteran"])
    def test_top_level_categories(self, category: str) -> None:
        """The four top-level categories have no parent."""
        assert frozenset({category}) == BUILTIN.categories.with_ancestors(category)

    def test_meritorious_elder_is_left_to_plugins(self) -> None:
        """三老功臣 is local: registered by a region plugin or pack, not built in."""
        assert False is ("meritorious_elder" in BUILTIN.categories)

    @pytest.mark.parametrize("credential", ["key_care_medical_card", "preferential_card", "military_id",
                                            "disability_card"])
    def test_design_credentials_present(self, credential: str) -> None:
        """Every credential kind of DESIGN §4 is built in."""
        assert True is (credential in BUILTIN.credentials)

    @pytest.mark.parametrize("item", ["registration", "injection", "bed", "routine_test", "dressing",
                                      "blood_deposit", "drug", "consultation", "exam"])
    def test_design_items_present(self, item: str) -> None:
        """Every item kind of DESIGN §4 is built in."""
        assert True is (item in BUILTIN.items)

    def test_only_blood_deposit_is_a_deposit(self) -> None:
        """Among the built-in item kinds, only the blood-use deposit is a deposit."""
        assert ["blood_deposit"] == [term.id for term in BUILTIN.items if term.deposit]

    def test_labels_in_chinese(self) -> None:
        """The zh labels are the ones DESIGN §4 gives."""
        assert ("重点优抚对象", "重点优抚对象医疗证", "用血保证金") == (
            BUILTIN.categories.get("key_care").label.zh, BUILTIN.credentials.get("key_care_medical_card").label.zh,
            BUILTIN.items.get("blood_deposit").label.zh)

    def test_each_builtin_is_a_fresh_copy(self) -> None:
        """Registering into one registry does not change another."""
        mine = Registry.builtin()
        mine.categories.register(Term("meritorious_elder", Text("“三老”功臣", "Meritorious elder"), ("key_care",)))
        assert (True, False) == ("meritorious_elder" in mine.categories,
                                 "meritorious_elder" in Registry.builtin().categories)


class TestBeneficiary:
    @pytest.mark.parametrize("level", [0, 11, -1, True, False, "5"], ids=repr)
    def test_bad_disability_level(self, level: object) -> None:
        """A disability level outside 1–10, a bool or a string is refused naming the field."""
        with pytest.raises(InputError) as caught:
            Beneficiary("P1", disability_level=level)  # type: ignore[arg-type]
        assert "disability_level" == caught.value.field

    @pytest.mark.parametrize("level", [1, 5, 10, None])
    def test_good_disability_level(self, level: int | None) -> None:
        """Levels 1 (most severe) to 10 are accepted, and so is none."""
        assert level == Beneficiary("P1", disability_level=level).disability_level

    def test_float_disability_level_refused(self) -> None:
        """A float level is refused like a bool: a level is a whole number."""
        with pytest.raises(InputError):
            Beneficiary("P1", disability_level=5.0)  # type: ignore[arg-type]

    @pytest.mark.parametrize("cause", ["war", "duty", "illness", None])
    def test_good_disability_cause(self, cause: str | None) -> None:
        """因战 / 因公 / 因病, or none."""
        assert cause == Beneficiary("P1", disability_cause=cause).disability_cause

    @pytest.mark.parametrize("cause", ["combat", "War", ""])
    def test_bad_disability_cause(self, cause: str) -> None:
        """Any other cause is refused, naming the field."""
        with pytest.raises(InputError) as caught:
            Beneficiary("P1", disability_cause=cause)
        assert "disability_cause" == caught.value.field

    @pytest.mark.parametrize(("birth", "day", "age"), [
        (dt.date(1960, 3, 1), dt.date(2025, 3, 1), 65),      # the birthday itself counts
        (dt.date(1960, 3, 1), dt.date(2025, 2, 28), 64),     # the day before does not
        (dt.date(1960, 3, 1), dt.date(2025, 3, 2), 65),
        (dt.date(2000, 2, 29), dt.date(2023, 2, 28), 22),    # leap-day birthday, non-leap year
        (dt.date(2000, 2, 29), dt.date(2023, 3, 1), 23),
        (dt.date(2000, 2, 29), dt.date(2024, 2, 29), 24),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 1), 0),
    ])
    def test_age_on(self, birth: dt.date, day: dt.date, age: int) -> None:
        """Whole years on the day; a 29 February birthday counts from 1 March in other years."""
        assert age == Beneficiary("P1", birth_date=birth).age_on(day)

    def test_no_birth_date_no_age(self) -> None:
        """Without a birth date the age is unknown."""
        assert None is Beneficiary("P1").age_on(DAY)


class TestCredential:
    CARD = Credential("key_care_medical_card", "桂001", DateWindow(dt.date(2024, 1, 1), dt.date(2025, 3, 1)))

    @pytest.mark.parametrize(("day", "valid"), [
        (dt.date(2023, 12, 31), False), (dt.date(2024, 1, 1), True),
        (dt.date(2025, 3, 1), True), (dt.date(2025, 3, 2), False),
    ])
    def test_valid_on_inclusive(self, day: dt.date, valid: bool) -> None:
        """A card is valid from its first day to its last day, both included."""
        assert valid == self.CARD.valid_on(day)

    def test_open_card_always_valid(self) -> None:
        """A card with no dates is valid every day."""
        assert True is Credential("military_id", "军001").valid_on(DAY)


class TestChargeLine:
    def test_float_amount_refused(self) -> None:
        """A float amount is refused at construction."""
        with pytest.raises(MoneyError):
            ChargeLine("1", "bed", 12.35)

    def test_amount_quantized(self) -> None:
        """The amount is kept as Decimal yuan with two decimals."""
        assert "12.00" == str(ChargeLine("1", "bed", "12").amount)

    def test_replace_validates(self) -> None:
        """``_replace`` checks a new amount like the constructor does."""
        with pytest.raises(MoneyError):
            ChargeLine("1", "bed", "12.00")._replace(amount=1.5)

    def test_replace_keeps_order_in_step(self) -> None:
        """A replaced line_id gets its own sort key."""
        assert ChargeLine("10", "bed", "1.00").order == ChargeLine("1", "bed", "1.00")._replace(line_id="10").order

    def test_digit_only_line_id_past_the_bound_refused(self) -> None:
        """Issue 14 (5): 5,000 digits reached int()'s 4,300-digit limit (a ValueError, exit 1);
        past limits.MAX_ID_LENGTH the line_id is refused as input, naming the field."""
        with pytest.raises(InputError) as caught:
            ChargeLine("9" * 5000, "bed", "1.00")
        assert ("line_id", "line_id is longer than 200 characters") == (caught.value.field, caught.value.message.en)

    def test_unicode_digits_are_not_numbers(self) -> None:
        """"²" and "١٢" are digits to str.isdigit but not to int (a crash before): they sort as text,
        after every number."""
        ids = ["b²", "١٢", "²", "10", "2"]
        ordered = sorted(ids, key=lambda line_id: ChargeLine(line_id, "bed", "1.00").order)
        assert ["2", "10", "b²", "²", "١٢"] == ordered


def _visit(**changes: object) -> Visit:
    fields: dict[str, object] = {"visit_id": "V1", "date": DAY, "kind": "outpatient", "region": "450100",
                                 "patient": Beneficiary("P1"), "lines": ()}
    fields.update(changes)
    return Visit(**fields)  # type: ignore[arg-type]


class TestVisit:
    def test_duplicate_line_id(self) -> None:
        """A line_id used twice is an error naming the visit and the second line's position."""
        lines = (ChargeLine("1", "registration", "12.00"), ChargeLine("1", "drug", "3.00"))
        with pytest.raises(InputError) as caught:
            _visit(lines=lines)
        assert ("V1", "lines[1].line_id", "1") == (caught.value.record, caught.value.field, caught.value.value)

    def test_distinct_line_ids_accepted(self) -> None:
        """Distinct line ids make a visit."""
        lines = (ChargeLine("1", "registration", "12.00"), ChargeLine("2", "drug", "3.00"))
        assert lines == _visit(lines=lines).lines

    @pytest.mark.parametrize("kind", ["clinic", "Outpatient", "", None])
    def test_bad_kind(self, kind: object) -> None:
        """The visit kind is outpatient, emergency or inpatient."""
        with pytest.raises(InputError) as caught:
            _visit(kind=kind)
        assert "kind" == caught.value.field

    @pytest.mark.parametrize("kind", ["outpatient", "emergency", "inpatient"])
    def test_good_kind(self, kind: str) -> None:
        """Each of the three kinds is accepted."""
        assert kind == _visit(kind=kind).kind

    @pytest.mark.parametrize("region", ["4501", "4501000", "45010a", "", 450100, "*"], ids=repr)
    def test_region_not_six_digits(self, region: object) -> None:
        """The visit region is a 6-digit GB/T 2260 code."""
        with pytest.raises(InputError) as caught:
            _visit(region=region)
        assert "region" == caught.value.field

    def test_region_full_width_digits_refused(self) -> None:
        """Full-width digits are not a GB/T 2260 code."""
        with pytest.raises(InputError):
            _visit(region="４５０１００")


class TestChargeCodeMap:
    def test_csv(self, tmp_path: Path) -> None:
        """A CSV with code, item and an optional description maps codes to item kinds."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item,description\nG001,registration,挂号费\n Z01 , injection ,\n", encoding="utf-8")
        codes = ChargeCodeMap.load(path, BUILTIN.items)
        assert ({"G001": "registration", "Z01": "injection"}, None) == (codes.items, codes.item_for("X"))

    def test_csv_with_bom(self, tmp_path: Path) -> None:
        """A CSV saved by Excel with a byte-order mark still has a ``code`` column."""
        path = tmp_path / "codes.csv"
        path.write_text("\ufeffcode,item\nG001,registration\n", encoding="utf-8")
        assert {"G001": "registration"} == ChargeCodeMap.load(path, BUILTIN.items).items

    def test_yaml(self, tmp_path: Path) -> None:
        """A YAML mapping ``code: item`` is read the same way."""
        path = tmp_path / "codes.yaml"
        path.write_text("G001: registration\nZ01: injection\n", encoding="utf-8")
        assert {"G001": "registration", "Z01": "injection"} == ChargeCodeMap.load(path, BUILTIN.items).items

    def test_csv_unknown_item_names_file_and_line(self, tmp_path: Path) -> None:
        """An unknown item kind in row 3 of the file is reported at that line, field item."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item\nG001,registration\nX9,teleport\n", encoding="utf-8")
        with pytest.raises(UnknownCategoryError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert (f"{path}:line 3", "item", "teleport") == (caught.value.record, caught.value.field, caught.value.value)

    def test_yaml_unknown_item_refused(self, tmp_path: Path) -> None:
        """An unknown item kind in a YAML table is refused, naming the field and the value."""
        path = tmp_path / "codes.yaml"
        path.write_text("G001: registration\nX9: teleport\n", encoding="utf-8")
        with pytest.raises(UnknownCategoryError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert ("item", "teleport") == (caught.value.field, caught.value.value)

    def test_yaml_unknown_item_names_line(self, tmp_path: Path) -> None:
        """An unknown item kind in line 2 of a YAML table is reported at that line."""
        path = tmp_path / "codes.yaml"
        path.write_text("G001: registration\nX9: teleport\n", encoding="utf-8")
        with pytest.raises(UnknownCategoryError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert f"{path}:line 2" == caught.value.record

    def test_conflicting_duplicate_code(self, tmp_path: Path) -> None:
        """A code mapped to two different items is refused at the second row."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item\nG001,registration\nG001,bed\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert (f"{path}:line 3", "code", "G001") == (caught.value.record, caught.value.field, caught.value.value)

    def test_repeated_identical_row_accepted(self, tmp_path: Path) -> None:
        """The same code mapped twice to the same item is harmless."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item\nG001,registration\nG001,registration\n", encoding="utf-8")
        assert {"G001": "registration"} == ChargeCodeMap.load(path, BUILTIN.items).items

    @pytest.mark.parametrize("text", ["code,kind\nG001,registration\n", "item\nregistration\n", ""])
    def test_missing_columns(self, tmp_path: Path, text: str) -> None:
        """A CSV without both code and item columns is refused, naming the file."""
        path = tmp_path / "codes.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert (str(path), "a charge-code table needs the columns code and item") == (
            caught.value.record, caught.value.message.en)

    def test_yaml_not_a_mapping(self, tmp_path: Path) -> None:
        """A YAML table that is a list is refused, naming the file."""
        path = tmp_path / "codes.yml"
        path.write_text("- G001\n- registration\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert str(path) == caught.value.record

    @pytest.mark.parametrize(("name", "text"), [("codes.yaml", "G001: [registration\n"),
                                                 ("codes.csv", b"code,item\nG001,\xb9\xd2\xba\xc5\n")])
    def test_unreadable_table(self, tmp_path: Path, name: str, text: str | bytes) -> None:
        """Broken YAML or a file that is not UTF-8 is an InputError naming the file, not a traceback."""
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert (str(path), True) == (caught.value.record,
                                     caught.value.message.en.startswith("cannot read the charge-code table: "))

    def test_short_csv_row(self, tmp_path: Path) -> None:
        """A row with a code but no item cell is an InputError at its line."""
        path = tmp_path / "codes.csv"
        path.write_text("code,item\nG001,registration\nX9\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ChargeCodeMap.load(path, BUILTIN.items)
        assert f"{path}:line 3" == caught.value.record

    def test_yaml_codes_keep_leading_zeros(self, tmp_path: Path) -> None:
        """A charge code is text: ``010`` stays ``010``, not the number 8."""
        path = tmp_path / "codes.yaml"
        path.write_text("010: bed\n", encoding="utf-8")
        assert {"010": "bed"} == ChargeCodeMap.load(path, BUILTIN.items).items


def _text(visit_id: str = "V1", patient: str = '"id": "P1"', line: str = '"line_id": "1", "amount": "1.00"') -> str:
    return ('{"visit_id": "' + visit_id + '", "date": "2025-03-01", "kind": "outpatient", "region": "450100", '
            '"patient": {' + patient + '}, "lines": [{"item": "bed", ' + line + '}]}')


class TestContractReading:
    """shuangyong.interchange's own checks (issue 14): keys, surrogates, bounds, depth, encodings."""

    def test_colon_in_a_string_is_not_a_key(self) -> None:
        """Keys are first counted by colons: a colon inside a value must not look like a duplicate."""
        visit = visit_from_json(_text(line='"line_id": "1", "amount": "1.00", "description": "12:30 {\\"a\\": 1}"'))
        assert "12:30 {\"a\": 1}" == visit.lines[0].description

    @pytest.mark.parametrize("text", [
        _text(line='"line_id": "1", "amount": "1.00", "description": "a:b", "amount": "9.00"'),
        _text(patient='"id": "P1", "name": "x:y", "id": "P2"').encode("utf-8"),
    ], ids=["str with a colon", "bytes"])
    def test_duplicate_found_even_when_colons_differ(self, text: str | bytes) -> None:
        """With a colon in a value the exact count runs, and still finds the key written twice."""
        with pytest.raises(InputError) as caught:
            visit_from_json(text, record="line 7")
        assert ("line 7", True) == (caught.value.record, "appears twice" in caught.value.message.en)

    def test_amount_that_is_an_object_is_an_amount_error(self) -> None:
        """An object where the amount goes has keys pydantic does not count: no false duplicate."""
        with pytest.raises(MoneyError) as caught:
            visit_from_json(_text(line='"line_id": "1", "amount": {"yuan": "1.00"}'))
        assert ("V1", "lines[0].amount") == (caught.value.record, caught.value.field)

    def test_surrogate_in_a_dict_names_the_field(self) -> None:
        """From Python data too (an HIS adapter, the array path), a lone surrogate is refused by field."""
        data = json.loads(_text(patient='"id": "P\\udc00"'))
        with pytest.raises(InputError) as caught:
            visit_from_dict(data, record="#3")
        assert ("V1", "patient.id") == (caught.value.record, caught.value.field)

    @pytest.mark.parametrize(("value", "ok"), [("x" * 200, True), ("x" * 201, False), ("\ud800", False),
                                               ("桂001", True), (7, False)], ids=repr)
    def test_check_id(self, value: object, ok: bool) -> None:
        """check_id, for readers outside the TypedDict shape: a bounded, encodable string."""
        if ok:
            assert value == check_id(value, "patient.id")
        else:
            with pytest.raises(InputError) as caught:
                check_id(value, "patient.id", record="#2")
            assert ("#2", "patient.id") == (caught.value.record, caught.value.field)

    @pytest.mark.parametrize(("text", "depth"), [
        ("1", 0), ("[]", 1), ('{"a": [1, {"b": "[[[[{{"}]}', 3), ("[" * 100_000, 100_000),
        ('["\\"]]]", [[]]]', 3),
    ])
    def test_json_depth(self, text: str, depth: int) -> None:
        """Depth without recursion, brackets inside strings (escaped quotes too) not counted."""
        assert depth == json_depth(text)

    def test_read_records_decodes_each_line(self) -> None:
        """A GB 18030 line in a UTF-8 file is that record's error; the BOM of line 1 is dropped."""
        good = b"\xef\xbb\xbf" + _text("A").encode() + b"\n"
        bad = _text("\u5f20").encode("gb18030") + b"\n"
        records = list(read_records(io.BytesIO(good + bad + _text("B").encode() + b"\n")).records)
        assert ["A", None, "B"] == [r.visit_id() for r in records]
        with pytest.raises(InputError) as caught:
            records[1].visit()
        where = f"offset {len(good) + 14} of the file"
        assert ("line 2", True) == (caught.value.record, where in caught.value.message.en)
        assert "\u5f20" == next(read_records(io.BytesIO(bad), "gb18030").records).visit().visit_id

    def test_line_longer_than_a_record_is_skipped_not_held(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A line past MAX_RECORD_BYTES is an error for that line; the next line is still read."""
        monkeypatch.setattr(framing, "MAX_RECORD_BYTES", 250)
        data = _text("A").encode() + b"\n" + b" " * 700 + b"\n" + _text("B").encode() + b"\n"
        records = list(read_records(io.BytesIO(data)).records)
        assert ["line 1", "line 2", "line 3"] == [r.label for r in records]
        with pytest.raises(InputError, match="longer than 250 bytes"):
            records[1].visit()
        assert "B" == records[2].visit().visit_id


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_visit_from_json_refuses_deep_bytes_in_every_json_encoding(codec: str) -> None:
    """Bytes ``json.loads`` reads as UTF-16 reached it 1,000 arrays deep (a RecursionError): the
    depth was counted on the bytes, where the escape ``"\\ud800"`` misled the string skipping
    (found by the fuzzer through ``--his fhir``; its reproducer is the input here)."""
    found = Path(__file__).parent / "fuzz/corpus/fhir/found-deep-utf16-bundle.json"
    text = found.read_bytes().decode("utf-16")
    with pytest.raises(InputError) as raised:
        visit_from_json(text.encode(codec))
    assert "nested deeper than 64 levels" in raised.value.message.en


@pytest.mark.parametrize("line_id", ["1", "12", "a-2", "１"])
def test_plain_line_is_the_constructors_line(line_id: str) -> None:
    """The short way the reader builds most lines (only ``line_id``, ``item`` and ``amount``) builds
    the very line the constructor does, field for field, twice over (the second time from the
    caches of amounts and line orders)."""
    record = json.loads(_text(line=f'"line_id": {json.dumps(line_id)}, "amount": "12.30"'))
    for _ in range(2):
        plain = visit_from_dict(record).lines[0]
        assert type(plain) is ChargeLine
        assert tuple(plain) == tuple(ChargeLine(line_id, "bed", "12.30"))


@pytest.mark.parametrize(("amount", "message"), [("1.005", "more than two decimals"), (1.5, "must not be a float"),
                                                 ("-1.00", "must not be negative")])
def test_plain_line_checks_its_amount(amount: object, message: str) -> None:
    for _ in range(2):  # a refused amount is never remembered
        with pytest.raises(MoneyError, match=message):
            ChargeLine("1", "drug", amount)


def test_plain_line_checks_its_id() -> None:
    with pytest.raises(InputError, match="line_id is longer than"):
        ChargeLine("9" * 10_000, "drug", "1.00")
