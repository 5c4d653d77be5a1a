"""``shuangyong notice`` and :mod:`shuangyong.notice`: the rules in force for a region on a day,
exactly (dates, pack and rule regions, region conditions), put in words; the page self-contained
and escaped; every bad option exits 2 naming it, with nothing written."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shuangyong import plugins
from shuangyong.cli import main
from shuangyong.errors import InputError
from shuangyong.model.registry import Registry
from shuangyong.notice import (
    Notice,
    describe_condition,
    describe_grant,
    notice_for,
    notice_html,
    notice_markdown,
    region_code,
)
from shuangyong.policy import PolicySet
from shuangyong.policy.schema import Benefit, When
from shuangyong.text import Text

#: A city pack on top of the built-in packs: a rule only for 南宁 (4501) from 2026-04-01 to the
#: year's end, a rule whose condition names 桂林 (4503), one that needs no condition, and a seed
#: rule disabled.
LOCAL_PACK = """\
schema_version: 1
pack: test-guangxi
title: {zh: 测试地方包, en: Test local pack}
extends: seed-example
region: "450000"
disable: [three-halves.dressing]
rules:
  - id: nanning.drug
    title: {zh: 南宁：药品费优抚补助, en: "Nanning: drugs from the subsidy"}
    clause: "南宁条文 <b>加粗</b> | *星*"
    source: "南宁市文件（2026）"
    region: "450100"
    effective: {from: 2026-04-01, to: 2026-12-31}
    when: {category: key_care, age: {min: 60}}
    items: [drug]
    benefit: {reduce: "10%"}
    caps: {per_visit: "50.00", per_year: "500.00"}
    payer: youfu_medical_subsidy
    group: subsidy
  - id: guilin.checkup
    title: {zh: 桂林：检查费分段减免, en: "Guilin: examinations reduced in bands"}
    clause: "桂林条文"
    source: "桂林市文件"
    when:
      region: ["450300"]
      any:
        - {category: disabled_veteran, disability_level: {min: 1, max: 6}}
        - {not: {visit_kind: outpatient}}
    items: [exam]
    benefit:
      tiers:
        - {up_to: "100.00", reduce: "50%"}
        - {reduce: "20%"}
    group: fee
  - id: everyone.window
    title: {zh: 便民窗口, en: Help desk}
    clause: "便民条文"
    source: "地方文件"
    services: [green_channel]
"""


@pytest.fixture(scope="module")
def registry() -> Registry:
    return plugins.registry()


@pytest.fixture(scope="module")
def seed(registry: Registry) -> PolicySet:
    return PolicySet.load(["seed-example"], registry)


@pytest.fixture
def local_pack(tmp_path: Path) -> Path:
    path = tmp_path / "local.yaml"
    path.write_text(LOCAL_PACK, encoding="utf-8")
    return path


@pytest.fixture
def local(local_pack: Path, registry: Registry) -> PolicySet:
    return PolicySet.load([str(local_pack)], registry)


def rules(policy: PolicySet, region: str, day: str) -> list[str]:
    return [item.rule for item in notice_for(policy, region, dt.date.fromisoformat(day)).entitlements]


SEED_RULES = ["four-priorities", "two-waivers.registration", "two-waivers.injection", "three-halves.bed",
              "three-halves.routine-test", "three-halves.dressing", "military-window", "military-ward",
              "treat-first-settle-later", "green-channel", "blood-deposit-waiver"]


class TestInForce:
    def test_every_rule_of_the_built_in_packs_today(self, seed: PolicySet) -> None:
        """In 2026 every rule of cn-national and seed-example is in force everywhere, in the merged order."""
        assert [rule.spec.id for rule in seed.rules] == rules(seed, "450103", "2026-03-01")
        assert 17 == len(rules(seed, "110105", "2026-03-01"))

    def test_a_rule_not_yet_effective_is_left_out(self, seed: PolicySet) -> None:
        """Before 2021 no national rule was in force; the status law's rules start on 2021-08-01
        (included), the 2024 regulation's on 2024-10-01."""
        assert SEED_RULES == rules(seed, "450103", "2020-12-31")
        national = [r for r in rules(seed, "450103", "2021-07-31") if r.startswith("nat.")]
        assert ["nat.veterans-law-52.veterans", "nat.veterans-law-52.combat-and-disabled"] == national
        on_the_day = [r for r in rules(seed, "450103", "2021-08-01") if r.startswith("nat.")]
        assert ["nat.status-law-51.servicemen", "nat.status-law-51.families-and-survivors",
                "nat.veterans-law-52.veterans", "nat.veterans-law-52.combat-and-disabled"] == on_the_day
        assert 4 == len([r for r in rules(seed, "450103", "2024-09-30") if r.startswith("nat.")])
        assert 6 == len([r for r in rules(seed, "450103", "2024-10-01") if r.startswith("nat.")])

    def test_a_city_rule_before_during_and_after_its_window(self, local: PolicySet) -> None:
        """南宁's rule is absent the day before it starts, present on its first and last day,
        absent the day after; the disabled seed rule is absent throughout."""
        assert ("nanning.drug" in rules(local, "450103", "2026-03-31"),
                "nanning.drug" in rules(local, "450103", "2026-04-01"),
                "nanning.drug" in rules(local, "450103", "2026-12-31"),
                "nanning.drug" in rules(local, "450103", "2027-01-01")) == (False, True, True, False)
        assert "three-halves.dressing" not in rules(local, "450103", "2026-06-01")

    def test_another_region_gets_neither_the_city_rule_nor_the_pack(self, local: PolicySet) -> None:
        """桂林 (450303) gets the pack's rules but not 南宁's, and the rule whose condition names
        桂林; 北京 (110105) gets none of the Guangxi pack; the province code itself gets the
        province-wide rule but no city's."""
        local_rules = ["nanning.drug", "guilin.checkup", "everyone.window"]
        seen = {region: [r for r in rules(local, region, "2026-06-01") if r in local_rules]
                for region in ("450103", "450303", "110105", "450000")}
        assert {"450103": ["nanning.drug", "everyone.window"], "450303": ["guilin.checkup", "everyone.window"],
                "110105": [], "450000": ["everyone.window"]} == seen
        assert 6 + len(SEED_RULES) - 1 == len(rules(local, "110105", "2026-06-01"))

    def test_a_rule_region_is_a_prefix_not_a_string(self, local: PolicySet) -> None:
        """450100 is 南宁: 451000 (百色) does not start with it, 450199 does."""
        assert ("nanning.drug" in rules(local, "451000", "2026-06-01"),
                "nanning.drug" in rules(local, "450199", "2026-06-01")) == (False, True)

    def test_the_notice_carries_its_policy(self, local: PolicySet) -> None:
        made = notice_for(local, "450103", dt.date(2026, 6, 1))
        assert (("cn-national", "seed-example", "test-guangxi"), local.fingerprint, "450103", dt.date(2026, 6, 1)) \
            == (made.packs, made.fingerprint, made.region, made.day)


class TestWords:
    def entitlement(self, policy: PolicySet, rule: str, region: str = "450103") -> tuple[Text, Text]:
        made = notice_for(policy, region, dt.date(2026, 6, 1))
        item = next(item for item in made.entitlements if item.rule == rule)
        return item.who, item.what

    def test_the_seed_rules(self, seed: PolicySet) -> None:
        """Who and what of the seed's rules, as a patient reads them, zh and en."""
        assert (Text("持有效的重点优抚对象医疗证", "holding a valid Key care recipient's medical card"),
                Text("免收挂号费", "Registration fee waived")) == self.entitlement(seed, "two-waivers.registration")
        assert (Text("持有效的重点优抚对象医疗证，且就诊类型为住院",
                     "holding a valid Key care recipient's medical card, and visit kind: Inpatient"),
                Text("床位费减免 50%", "Bed fee: 50% off")) == self.entitlement(seed, "three-halves.bed")
        assert Text("现役军人家属（直系亲属）、烈士遗属、因公牺牲军人遗属或病故军人遗属",
                    "Serviceman's family (direct relatives), Martyr's survivor, Survivor of a serviceman who died "
                    "on duty or Survivor of a serviceman who died of illness") \
            == self.entitlement(seed, "nat.status-law-51.families-and-survivors")[0]
        assert Text("优先挂号、优先就诊、优先取药、优先住院",
                    "Priority registration, Priority consultation, Priority at the pharmacy, Priority admission") \
            == self.entitlement(seed, "four-priorities")[1]
        assert Text("优先就诊；军人窗口", "Priority consultation; Military window") \
            == self.entitlement(seed, "military-window")[1]
        assert Text("免交用血保证金", "Blood-use deposit not required") \
            == self.entitlement(seed, "blood-deposit-waiver")[1]

    def test_payer_caps_age_and_categories(self, local: PolicySet) -> None:
        """A subsidy's rule names its payer and its caps; an open age range reads "or more"."""
        assert (Text("重点优抚对象，且就诊日年龄 60 岁及以上",
                     "Key care recipient, and age on the visit date 60 or more"),
                Text("药品费减免 10%，由优抚医疗补助负担；每次就诊最多减免 50.00 元，每人每年最多减免 500.00 元",
                     "Drugs: 10% off, borne by Medical subsidy for entitled groups (优抚); at most 50.00 yuan a "
                     "visit, at most 500.00 yuan a person a year")) == self.entitlement(local, "nanning.drug")

    def test_any_not_levels_region_and_bands(self, local: PolicySet) -> None:
        assert (Text("就诊地区属于 450300，且满足其一：（残疾军人（革命伤残军人），且伤残等级 1–6 级）；"
                     "（不满足（就诊类型为门诊））",
                     "visit region within 450300, and any of: (Disabled serviceman or veteran, and disability "
                     "level 1–6); (not (visit kind: Outpatient))"),
                Text("检查费分段减免：0 至 100.00 元 50%，100.00 元以上 20%",
                     "Examination, reduced in bands: 0 to 100.00 yuan 50%, above 100.00 yuan 20%")) \
            == self.entitlement(local, "guilin.checkup", "450303")

    def test_no_condition(self, local: PolicySet) -> None:
        assert Text("无附加条件", "no condition") == self.entitlement(local, "everyone.window")[0]

    @pytest.mark.parametrize(("when", "zh", "en"), [
        ({"disability_level": {"max": 4}}, "伤残等级 4 级及以下", "disability level 4 or less"),
        ({"disability_cause": ["war", "duty"]}, "致残原因为因战或因公", "disability cause: In combat or On duty"),
        ({"tags": ["vip", "night"]}, "收费明细标签含 vip或night", "charge line tagged vip or night"),
        ({"all": [{"category": "veteran"}, {"credential": "preferential_card"}]},
         "退役军人，且持有效的优待证", "Veteran, and holding a valid Preferential treatment card"),
    ])
    def test_each_kind_of_condition(self, when: dict[str, object], zh: str, en: str) -> None:
        assert Text(zh, en) == describe_condition(When.model_validate(when), Registry.builtin())

    def test_fixed_and_patient_pays_at_most(self, seed: PolicySet) -> None:
        """The two other benefit shapes, said of the rule they change."""
        base = seed.rule("two-waivers.injection").spec
        fixed = base.model_copy(update={"benefit": Benefit.model_validate({"fixed": "2"})})
        most = base.model_copy(update={"benefit": Benefit.model_validate({"patient_pays_at_most": "1"}),
                                       "base": "patient_share"})
        assert (Text("注射费每项减免 2.00 元", "Injection fee: 2.00 yuan off each"),
                Text("注射费个人最多负担 1.00 元（按医保结算后个人负担计算）",
                     "Injection fee: the patient pays at most 1.00 yuan (on the patient share after insurance)")) \
            == (describe_grant(fixed, Registry.builtin()), describe_grant(most, Registry.builtin()))


class TestPages:
    @pytest.fixture
    def made(self, local: PolicySet) -> Notice:
        return notice_for(local, "450103", dt.date(2026, 6, 1))

    def test_html_is_self_contained_a4_and_escaped(self, made: Notice) -> None:
        page = notice_html(made, "zh")
        assert [] == re.findall(r"<script|<link|(?:src|href)\s*=|@import|url\(|https?://", page)
        assert ("@page { size: A4 portrait" in page, "南宁条文 &lt;b&gt;加粗&lt;/b&gt; | *星*" in page,
                "<b>" in page) == (True, True, False)

    def test_html_lists_each_entitlement_with_its_basis(self, made: Notice, local: PolicySet) -> None:
        page = notice_html(made, "zh")
        rows = re.findall(r'<tr><td class="no">(\d+)</td><td>(.*?)</td>', page)
        expected = [r.spec.title.zh for r in local.rules if r.spec.id != "guilin.checkup"]
        assert (list(map(str, range(1, len(expected) + 1))), expected) == ([n for n, _ in rows], [t for _, t in rows])
        assert ("出处：南宁市文件（2026）" in page, "2026-04-01 – 2026-12-31 有效" in page,
                "Public notice" in page) == (True, True, False)

    def test_english_comes_under_the_chinese(self, made: Notice) -> None:
        page = notice_html(made, "en")
        assert page.index("双拥医疗优待公示") < page.index("Public notice") < page.index("“两免”：免交挂号费") \
            < page.index("Two waivers: registration fee waived")

    def test_markdown_escapes_and_keeps_the_order(self, made: Notice) -> None:
        text = notice_markdown(made, "zh")
        headings = re.findall(r"^## (\d+)\. ", text, re.M)
        assert (list(map(str, range(1, 19))), True) == (headings, r"南宁条文 &lt;b&gt;加粗&lt;/b&gt; \| \*星\*" in text)

    def test_nothing_in_force(self, seed: PolicySet) -> None:
        """A day before every rule (there are none before 2021 in cn-national alone) says so."""
        national = PolicySet.load(["cn-national"], Registry.builtin())
        made = notice_for(national, "450103", dt.date(2020, 1, 1))
        assert ((), True, True) == (made.entitlements, "该日本地区没有有效的优待项目" in notice_html(made),
                                    "No concession or priority" in notice_markdown(made, "en"))


class TestRegion:
    @pytest.mark.parametrize("code", ["450103", "110105", "820000"])
    def test_codes_taken(self, code: str) -> None:
        assert code == region_code(code)

    @pytest.mark.parametrize(("code", "why"), [
        ("45013", "6-digit"), ("4501030", "6-digit"), ("45010a", "6-digit"), ("", "6-digit"),
        ("４５０１０３", "6-digit"), ("990103", "99 is no province"), ("000000", "00 is no province"),
    ])
    def test_codes_refused(self, code: str, why: str) -> None:
        with pytest.raises(InputError) as caught:
            region_code(code, field="--region")
        assert ("--region", code, True) == (caught.value.field, caught.value.value, why in str(caught.value))

    def test_notice_for_refuses_a_bad_region(self, seed: PolicySet) -> None:
        with pytest.raises(InputError, match="990103"):
            notice_for(seed, "990103", dt.date(2026, 1, 1))


def run(*args: str, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, "notice", *args])


class TestCommand:
    def test_markdown_to_a_file_is_the_library_s_notice(self, tmp_path: Path, local_pack: Path,
                                                          local: PolicySet) -> None:
        out = tmp_path / "公示.md"
        result = run("--region", "450103", "--date", "2026-06-01", "-p", str(local_pack), "--format", "md",
                     "-o", str(out))
        expected = notice_markdown(notice_for(local, "450103", dt.date(2026, 6, 1)), "en")
        assert (0, "", expected) == (result.exit_code, result.output, out.read_text(encoding="utf-8"))

    def test_html_on_standard_output_in_chinese_by_default_policy(self, seed: PolicySet) -> None:
        result = run("--region", "450103", "--date", "2020-12-31", lang="zh")
        expected = notice_html(notice_for(seed, "450103", dt.date(2020, 12, 31)), "zh")
        assert (0, expected) == (result.exit_code, result.stdout)
        assert 11 == expected.count('<tr><td class="no">')

    @pytest.mark.parametrize(("args", "words"), [
        (("--region", "450103", "--date", "2026-02-30"), ["--date", "2026-02-30", "impossible"]),
        (("--region", "450103", "--date", "2026/03/01"), ["--date", "2026/03/01", "YYYY-MM-DD"]),
        (("--region", "45013", "--date", "2026-03-01"), ["--region", "45013", "6-digit"]),
        (("--region", "990103", "--date", "2026-03-01"), ["--region", "990103", "no province"]),
        (("--region", "450103", "--date", "2026-03-01", "--format", "docx"), ["--format", "docx", "html, md"]),
        (("--region", "450103", "--date", "2026-03-01", "-p", "no-such-pack"), ["no-such-pack"]),
        (("--date", "2026-03-01",), ["--region"]),
        (("--region", "450103",), ["--date"]),
    ])
    def test_bad_input_exits_2_naming_it_and_writes_nothing(self, tmp_path: Path, args: tuple[str, ...],
                                                             words: list[str]) -> None:
        fresh, kept = tmp_path / "new.html", tmp_path / "old.html"
        kept.write_text("before", encoding="utf-8")
        results = [run(*args, "-o", str(target)) for target in (fresh, kept)]
        assert [2, 2] == [r.exit_code for r in results]
        assert [] == [w for w in words if w not in results[0].output]
        assert ("Traceback" in results[0].output, fresh.exists(), kept.read_text(encoding="utf-8")) \
            == (False, False, "before")

    def test_messages_in_chinese(self) -> None:
        result = run("--region", "990103", "--date", "2026-03-01", lang="zh")
        assert (2, "错误：字段 --region: 行政区划代码 990103 不存在：99 不是任何省级行政区的代码\n") == (
            result.exit_code, result.output)

    def test_an_output_that_cannot_be_written_exits_2(self, tmp_path: Path) -> None:
        result = run("--region", "450103", "--date", "2026-03-01", "-o", str(tmp_path))
        assert (2, "it is a directory") == (result.exit_code, result.output.strip().rsplit(": ", 1)[1])
