"""The ``shuangyong`` command. Thin: parsing options and writing output; logic lives elsewhere.

Exit status: 0 when every record got a decision, 2 for bad input or a bad policy (after writing
a decision or an error object for every record, in input order), 1 only for a bug.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from shuangyong.engine import DEFAULT_PACKS, Engine
from shuangyong.errors import ShuangyongError
from shuangyong.interchange import (
    Input,
    RawRecord,
    decision_to_dict,
    decision_to_json,
    error_to_dict,
    explanation_to_dict,
    read_records,
)
from shuangyong.model.charge_codes import ChargeCodeMap
from shuangyong.model.registry import Registry
from shuangyong.model.visit import Visit
from shuangyong.policy import PolicySet, builtin_pack_names, load_reference
from shuangyong.policy.diff import diff_policies
from shuangyong.render import decision_table, explanation_text, table
from shuangyong.text import Lang, Text

BAD_INPUT = 2


def _default_lang() -> str:
    chosen = os.environ.get("SHUANGYONG_LANG") or os.environ.get("LANG", "")
    return "zh" if chosen.lower().startswith("zh") else "en"


def _lang() -> Lang:
    return click.get_current_context().find_root().params.get("lang") or "en"  # type: ignore[return-value]


def _say(text: Text, *, err: bool = False) -> None:
    click.echo(text.in_(_lang()), err=err)


def _fail(error: ShuangyongError) -> NoReturn:
    click.echo(("错误：" if _lang() == "zh" else "error: ") + error.render(_lang()), err=True)
    sys.exit(BAD_INPUT)


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file that appears only once it is completely written."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent or ".",
                                         prefix=f".{target.name}.", delete=False)
    try:
        with handle:
            yield handle
        os.replace(handle.name, target)
    except BaseException:
        os.unlink(handle.name)
        raise


@contextmanager
def _exit_on_error() -> Iterator[None]:
    """A bad policy, table or input file ends the command with status 2 and a clear message."""
    try:
        yield
    except ShuangyongError as error:
        _fail(error)


def _open(source: IO[str], policies: tuple[str, ...], strict: bool,
          codes: str | None) -> tuple[Engine, ChargeCodeMap | None, Input]:
    """Compile the packs, load the charge-code table and sniff the input, or exit 2."""
    with _exit_on_error():
        engine = Engine.from_packs(*policies, strict=strict)
        code_map = ChargeCodeMap.load(Path(codes), engine.registry.items) if codes else None
        return engine, code_map, read_records(source)


def _for_each_record(records: Iterator[RawRecord], codes: ChargeCodeMap | None,
                     handle: Callable[[Visit], Any]) -> Iterator[tuple[bool, Any, RawRecord]]:
    """Parse and handle every record; a bad record yields its error instead of stopping the run."""
    for record in records:
        try:
            yield True, handle(record.visit(codes)), record
        except ShuangyongError as error:
            yield False, error, record


policy_option = click.option(
    "--policy", "-p", "policies", multiple=True, metavar="NAME_OR_PATH",
    help="Policy pack by built-in name or YAML path; repeat to layer. Default: seed-example.")
strict_option = click.option("--strict", is_flag=True,
                             help="Treat item kinds no registry knows as errors.")
codes_option = click.option("--codes", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                            help="Charge-code → item-kind table (CSV or YAML) for lines that send a code.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["zh", "en"]), default=_default_lang, show_default="from $LANG",
              help="Language of messages, titles and tables.")
@click.version_option(package_name="shuangyong", prog_name="shuangyong")
def main(lang: str) -> None:
    """双拥医疗优待：按收费明细判断优惠并说明依据。

    Military-support medical concessions, line by line, with the rule behind each answer.
    """


@main.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@policy_option
@click.option("--format", "fmt", type=click.Choice(["auto", "json", "jsonl", "table"]), default="auto",
              help="auto mirrors the input: JSON Lines in, JSON Lines out; JSON in, JSON out.")
@strict_option
@codes_option
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
def evaluate(source: IO[str], policies: tuple[str, ...], fmt: str, strict: bool,
             codes: str | None, output: str | None) -> None:
    """Decide each visit in SOURCE (JSON, JSON array or JSON Lines; '-' for stdin)."""
    engine, code_map, records = _open(source, policies, strict, codes)
    if fmt == "auto":
        fmt = "jsonl" if records.shape == "lines" else "json"
    as_array = fmt == "json" and records.shape != "object"
    failures = 0
    with _output(output) as out:
        out.write("[\n" if as_array else "")
        results = _for_each_record(records.records, code_map, lambda v: (v, engine.evaluate(v)))
        for count, (ok, result, record) in enumerate(results):
            failures += not ok
            if fmt == "table":
                if ok:
                    out.write(decision_table(engine, *result, _lang()) + "\n\n")
                else:
                    click.echo(f"{record.label} {result.render(_lang())}", err=True)
            elif fmt == "jsonl":
                out.write((decision_to_json(result[1]) if ok else json.dumps(
                    error_to_dict(result, record.visit_id()), ensure_ascii=False, separators=(",", ":"))) + "\n")
            else:
                payload = decision_to_dict(result[1]) if ok else error_to_dict(result, record.visit_id())
                text = json.dumps(payload, ensure_ascii=False, indent=2)
                out.write((",\n" if count else "") + text if as_array else text + "\n")
        out.write("\n]\n" if as_array else "")
    if failures:
        _say(Text(f"{failures} 条记录有误，已逐条输出错误", f"{failures} record(s) had errors; each is reported in the output"),
             err=True)
        sys.exit(BAD_INPUT)


@main.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@policy_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="json: one explanation (or error) object per visit, one per line.")
@strict_option
@codes_option
def explain(source: IO[str], policies: tuple[str, ...], fmt: str, strict: bool, codes: str | None) -> None:
    """Explain each visit: every rule considered, why it applied or not, and its clause."""
    engine, code_map, records = _open(source, policies, strict, codes)
    failures = 0
    results = _for_each_record(records.records, code_map, lambda v: (v, engine.explain(v)))
    for ok, result, record in results:
        if not ok:
            failures += 1
            click.echo(json.dumps(error_to_dict(result, record.visit_id()), ensure_ascii=False)
                       if fmt == "json" else f"{record.label} {result.render(_lang())}", err=fmt == "text")
            continue
        visit, explanation = result
        click.echo(json.dumps(explanation_to_dict(explanation), ensure_ascii=False)
                   if fmt == "json" else explanation_text(engine, visit, explanation, _lang()) + "\n")
    if failures:
        sys.exit(BAD_INPUT)


@main.group()
def policy() -> None:
    """List, show, check and compare policy packs."""


@policy.command("list")
def policy_list() -> None:
    """The built-in packs."""
    rows = [["pack", "extends", "rules", "title"]]
    for name in builtin_pack_names():
        spec = load_reference(name).spec
        rows.append([name, ", ".join(spec.extends) or "—", str(len(spec.rules)), spec.title.zh
                     if _lang() == "zh" else spec.title.en])
    click.echo("\n".join(table(rows, right={2})))


def _load_set(references: tuple[str, ...]) -> PolicySet:
    with _exit_on_error():
        return PolicySet.load(references or DEFAULT_PACKS, Registry.builtin())


@policy.command("show")
@policy_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def policy_show(policies: tuple[str, ...], fmt: str) -> None:
    """The merged rule set of the given packs, with its fingerprint."""
    merged = _load_set(policies)
    if fmt == "json":
        click.echo(json.dumps({
            "packs": list(merged.packs), "fingerprint": merged.fingerprint, "groups": list(merged.groups),
            "rules": [dict(rule.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
                           pack=rule.pack, region=rule.region or "*") for rule in merged.rules],
        }, ensure_ascii=False, indent=2))
        return
    click.echo(f"{' → '.join(merged.packs)}  {merged.fingerprint}")
    rows = [["rule", "pack", "items / grants", "benefit", "title"]]
    for rule in merged.rules:
        spec = rule.spec
        target = ", ".join(spec.items) or ", ".join(spec.priorities + spec.services)
        benefit = "—"
        if spec.benefit is not None:
            benefit = next(f"{k}={v}" for k, v in spec.benefit.model_dump(exclude_none=True).items())
        rows.append([spec.id, rule.pack, target, benefit, getattr(spec.title, _lang())])
    click.echo("\n".join(table(rows, right=set())))


@policy.command("check")
@click.argument("references", nargs=-1, required=True, metavar="NAME_OR_PATH...")
def policy_check(references: tuple[str, ...]) -> None:
    """Load, validate and merge packs; exit 2 with file:line and field on the first error."""
    with _exit_on_error():  # compiling finds what merging cannot, e.g. a tag test on a visit grant
        merged = Engine.from_packs(*references).policy
    _say(Text(f"通过：{' → '.join(merged.packs)}，{len(merged.rules)} 条规则，指纹 {merged.fingerprint}",
              f"ok: {' → '.join(merged.packs)}, {len(merged.rules)} rules, fingerprint {merged.fingerprint}"))


@policy.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_diff(old: str, new: str, fmt: str) -> None:
    """What changes from pack set OLD to NEW (each a name or path, with its extends)."""
    changes = diff_policies(_load_set((old,)), _load_set((new,)))
    if fmt == "json":
        click.echo(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2))
        return
    if not changes:
        _say(Text("两组规则相同", "the two rule sets are the same"))
    for change in changes:
        click.echo(change.describe(_lang()))
