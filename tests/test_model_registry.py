"""The domain model: vocabularies with parents, beneficiaries, visits, charge-code tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from shuangyong.dates import DateWindow
from shuangyong.errors import InputError, MoneyError, UnknownCategoryError
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

REGISTRY = Registry.builtin()


class TestVocabulary:
    def test_register_twice(self) -> None:
        """An id can be registered once only."""
        vocabulary = Vocabulary(Text("类别", "category"))
        vocabulary.register(Term("a", Text("甲", "A")))
        with pytest.raises(ValueError, match="registered twice"):
            vocabulary.register(Term("a", Text("甲", "A")))

    def test_unknown_parent(self) -> None:
        """A parent must be registered first."""
        with pytest.raises(ValueError, match="parent 'x' is not registered"):
            Vocabulary(Text("类别", "category")).register(Term("a", Text("甲", "A"), ("x",)))

    def test_ancestors_and_descendants(self) -> None:
        """A category's closure holds itself and all ancestors; descendants go the other way."""
        assert {"disabled_veteran", "key_care"} == REGISTRY.categories.with_ancestors("disabled_veteran")
        assert {"war_test_veteran", "key_care", "veteran"} == REGISTRY.categories.with_ancestors("war_test_veteran")
        assert "martyr_family" in REGISTRY.categories.descendants("key_care")
        assert "serviceman" not in REGISTRY.categories.descendants("key_care")

    def test_order_is_registration_order(self) -> None:
        """Outputs list ids in the vocabulary's order, whatever order they came in."""
        assert ("registration", "pharmacy", "admission") == REGISTRY.priorities.order(
            ["admission", "registration", "pharmacy", "admission"])

    def test_unknown_id_names_it_and_lists_known(self) -> None:
        """An unknown id is an error naming it and the known ones."""
        with pytest.raises(UnknownCategoryError) as caught:
            REGISTRY.categories.get("space_cadet")
        assert "'space_cadet'" in caught.value.message.en and "serviceman" in caught.value.message.en


@pytest.mark.parametrize(("vocabulary", "ids"), [
    ("categories", ["serviceman", "military_family", "key_care", "disabled_veteran", "martyr_family",
                    "sacrificed_family", "deceased_family", "demobilized_veteran", "ill_returned_veteran",
                    "war_test_veteran", "veteran"]),
    ("credentials", ["key_care_medical_card", "preferential_card", "military_id", "disability_card"]),
    ("items", ["registration", "injection", "bed", "routine_test", "dressing", "blood_deposit", "drug",
               "consultation", "exam"]),
])
def test_design_ids_are_built_in(vocabulary: str, ids: list[str]) -> None:
    """The ids of DESIGN §4 are the contract: all are registered, with zh labels."""
    terms = getattr(REGISTRY, vocabulary)
    assert all(term_id in terms and terms.get(term_id).label.zh for term_id in ids)


def test_only_blood_deposit_is_a_deposit() -> None:
    """Deposit waivers apply to deposit items; blood_deposit is the only built-in one."""
    assert ["blood_deposit"] == [term.id for term in REGISTRY.items if term.deposit]


class TestBeneficiary:
    @pytest.mark.parametrize("level", [0, 11, -1, True])
    def test_bad_disability_level(self, level: object) -> None:
        """Disability levels run from 1 to 10."""
        with pytest.raises(InputError, match="1 to 10") as caught:
            Beneficiary("P1", disability_level=level)  # type: ignore[arg-type]
        assert "disability_level" == caught.value.field

    @pytest.mark.parametrize("level", [1, 10])
    def test_level_bounds(self, level: int) -> None:
        """1 and 10 are both valid levels."""
        assert level == Beneficiary("P1", disability_level=level).disability_level

    def test_bad_cause(self) -> None:
        """The cause is 因战, 因公 or 因病."""
        with pytest.raises(InputError, match="war, duty, illness"):
            Beneficiary("P1", disability_cause="accident")

    @pytest.mark.parametrize(("birth", "day", "age"), [
        (dt.date(1960, 5, 1), dt.date(2025, 5, 1), 65), (dt.date(1960, 5, 1), dt.date(2025, 4, 30), 64),
        (dt.date(1960, 2, 29), dt.date(2025, 2, 28), 64), (dt.date(1960, 2, 29), dt.date(2025, 3, 1), 65),
    ])
    def test_age_on(self, birth: dt.date, day: dt.date, age: int) -> None:
        """Whole years on the day; a 29 February birthday counts from 1 March in other years."""
        assert age == Beneficiary("P1", birth_date=birth).age_on(day)

    def test_no_birth_date_no_age(self) -> None:
        """Age is unknown without a birth date."""
        assert Beneficiary("P1").age_on(dt.date(2025, 1, 1)) is None

    def test_credential_valid_on_edges(self) -> None:
        """A credential is valid on its first and last day, not the days around them."""
        card = Credential("key_care_medical_card", "1", DateWindow(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
        days = [dt.date(2024, 12, 31), dt.date(2025, 1, 1), dt.date(2025, 1, 31), dt.date(2025, 2, 1)]
        assert [False, True, True, False] == [card.valid_on(day) for day in days]


class TestVisit:
    def test_float_amount_refused(self) -> None:
        """A charge line refuses a float amount on construction."""
        with pytest.raises(MoneyError, match="float"):
            ChargeLine("1", "bed", 12.5)  # type: ignore[arg-type]

    def test_charge_line_is_immutable_and_replace_validates(self) -> None:
        """A charge line cannot be changed in place, and _replace checks the new amount."""
        line = ChargeLine("2", "bed", "12.35")
        with pytest.raises(AttributeError):
            line.amount = Decimal("1.00")  # type: ignore[misc]
        moved = line._replace(line_id="3", amount="7")
        assert ("3", Decimal("7.00"), (0, 3, "3"), "bed") == (moved.line_id, moved.amount, moved.order, moved.item)
        with pytest.raises(MoneyError, match="float"):
            line._replace(amount=1.5)

    def test_duplicate_line_id(self) -> None:
        """Two lines with one id: the error names the visit and the second line."""
        lines = (ChargeLine("1", "bed", "1.00"), ChargeLine("1", "drug", "2.00"))
        with pytest.raises(InputError, match="appears twice") as caught:
            Visit("V9", dt.date(2025, 1, 1), "outpatient", "450100", Beneficiary("P1"), lines)
        assert ("V9", "lines[1].line_id") == (caught.value.record, caught.value.field)

    @pytest.mark.parametrize(("kind", "region", "field"), [
        ("ward", "450100", "kind"), ("outpatient", "45", "region"), ("outpatient", "4501OO", "region"),
    ])
    def test_bad_kind_or_region(self, kind: str, region: str, field: str) -> None:
        """Visit kind must be known and the region a 6-digit code."""
        with pytest.raises(InputError) as caught:
            Visit("V9", dt.date(2025, 1, 1), kind, region, Beneficiary("P1"))
        assert field == caught.value.field


class TestChargeCodes:
    def test_csv(self, tmp_path: Path) -> None:
        """A CSV table maps codes to item kinds (a BOM from Excel is fine)."""
        table = tmp_path / "codes.csv"
        table.write_text("\ufeffcode,item,description\n110200001,registration,挂号费\nY1,drug,药\n", encoding="utf-8")
        codes = ChargeCodeMap.load(table, REGISTRY.items)
        assert ("registration", "drug", None) == (codes.item_for("110200001"), codes.item_for("Y1"),
                                                  codes.item_for("Z"))

    def test_yaml(self, tmp_path: Path) -> None:
        """A YAML mapping works the same."""
        table = tmp_path / "codes.yaml"
        table.write_text("'110200001': registration\n", encoding="utf-8")
        assert "registration" == ChargeCodeMap.load(table, REGISTRY.items).item_for("110200001")

    def test_unknown_item_names_file_and_line(self, tmp_path: Path) -> None:
        """An unknown item kind in the table is an error naming the file and line."""
        table = tmp_path / "codes.csv"
        table.write_text("code,item\nA,drug\nB,acupuncture\n", encoding="utf-8")
        with pytest.raises(UnknownCategoryError, match="acupuncture") as caught:
            ChargeCodeMap.load(table, REGISTRY.items)
        assert f"{table}:line 3" == caught.value.record

    def test_conflicting_code(self, tmp_path: Path) -> None:
        """One code mapped to two item kinds is an error naming both rows."""
        table = tmp_path / "codes.csv"
        table.write_text("code,item\nA,drug\nA,bed\n", encoding="utf-8")
        with pytest.raises(InputError,
                           match=r"code A maps to drug \(any date, line 2\) and to bed \(any date, line 3\)"):
            ChargeCodeMap.load(table, REGISTRY.items)

    def test_missing_columns(self, tmp_path: Path) -> None:
        """A table without code and item columns is refused."""
        table = tmp_path / "codes.csv"
        table.write_text("charge,kind\nA,drug\n", encoding="utf-8")
        with pytest.raises(InputError, match="columns code and item"):
            ChargeCodeMap.load(table, REGISTRY.items)
