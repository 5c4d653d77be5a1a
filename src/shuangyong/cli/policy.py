"""``shuangyong policy list|show|check|diff``: read, merge and compare policy packs."""

from __future__ import annotations

import json

import click

from shuangyong import plugins
from shuangyong.cli.base import exit_on_error, lang, policy_option, say
from shuangyong.engine import DEFAULT_PACKS, Engine
from shuangyong.interchange.reports import policy_to_dict
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.policy import PolicySet, builtin_pack_names, load_reference
from shuangyong.policy.diff import diff_policies
from shuangyong.policy.reach import unreached_warnings
from shuangyong.render import table
from shuangyong.text import Text


@click.group()
def policy() -> None:
    """List, show, check and compare policy packs."""


@policy.command("list")
def policy_list() -> None:
    """The built-in packs and those plugins add."""
    rows = [["pack", "extends", "rules", "title"]]
    with exit_on_error():
        named = plugins.registry().packs
    for name in sorted({*builtin_pack_names(), *named}):
        with exit_on_error():
            spec = load_reference(name, named=named).spec
        rows.append([name, ", ".join(spec.extends) or "—", str(len(spec.rules)), spec.title.zh
                     if lang() == "zh" else spec.title.en])
    click.echo("\n".join(table(rows, right={2})))


def load_set(references: tuple[str, ...]) -> PolicySet:
    """The merged policy packs, or exit 2 naming what is wrong."""
    with exit_on_error():
        return PolicySet.load(references or DEFAULT_PACKS, plugins.registry())


@policy.command("show")
@policy_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def policy_show(policies: tuple[str, ...], fmt: str) -> None:
    """The merged rule set of the given packs, with its fingerprint."""
    merged = load_set(policies)
    if fmt == "json":
        click.echo(json.dumps(policy_to_dict(merged), ensure_ascii=False, indent=2))
        return
    click.echo(f"{' → '.join(merged.packs)}  {merged.fingerprint}")
    rows = [["rule", "pack", "items / grants", "benefit", "title"]]
    for rule in merged.rules:
        spec = rule.spec
        target = (", ".join((*spec.items, *(f"fee_category {c}" for c in spec.fee_categories)))
                  or ", ".join(spec.priorities + spec.services))
        benefit = "—"
        if spec.benefit is not None:
            benefit = next(f"{k}={v}" for k, v in spec.benefit.model_dump(exclude_none=True).items())
        rows.append([spec.id, rule.pack, target, benefit, getattr(spec.title, lang())])
    click.echo("\n".join(table(rows, right=set())))


@policy.command("check")
@click.argument("references", nargs=-1, required=True, metavar="NAME_OR_PATH...")
@click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The charge-code table (CSV or YAML) the HIS's lines go through; without it, "
                   "every item kind no fee category maps to is warned about.")
def policy_check(references: tuple[str, ...], codes: str | None) -> None:
    """Load, validate and merge packs; exit 2 with file:line and field on the first error.

    Warns (on standard error, exit 0) about item kinds that rules name but that no fee category
    and no code of the --codes table maps to: only lines that send such an item reach those rules.
    """
    with exit_on_error():  # compiling finds what merging cannot, e.g. a tag test on a visit grant
        engine = Engine.from_packs(*references, registry=plugins.registry())
        code_map = ChargeCodeMap.load(codes, engine.registry.items) if codes else None
    merged = engine.policy
    say(Text(f"通过：{' → '.join(merged.packs)}，{len(merged.rules)} 条规则，指纹 {merged.fingerprint}",
              f"ok: {' → '.join(merged.packs)}, {len(merged.rules)} rules, fingerprint {merged.fingerprint}"))
    for warning in unreached_warnings(merged, engine.registry, code_map):
        say(Text(f"警告：{warning.zh}", f"warning: {warning.en}"), err=True)


@policy.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_diff(old: str, new: str, fmt: str) -> None:
    """What changes from pack set OLD to NEW (each a name or path, with its extends)."""
    changes = diff_policies(load_set((old,)), load_set((new,)))
    if fmt == "json":
        click.echo(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2))
        return
    if not changes:
        say(Text("两组规则相同", "the two rule sets are the same"))
    for change in changes:
        click.echo(change.describe(lang()))
