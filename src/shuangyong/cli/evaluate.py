"""``shuangyong evaluate`` and ``shuangyong explain``: the JSON contract at the command line."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

import click

from shuangyong.cli.base import (
    BAD_INPUT,
    check_output_target,
    codes_option,
    encoding_option,
    exit_on_error,
    exporter_for,
    for_each_record,
    his_option,
    lang,
    ledger_option,
    open_input,
    opened_ledger,
    policy_option,
    region_option,
    say,
    strict_option,
    writing_to,
)
from shuangyong.interchange.framing import Refused, Tally
from shuangyong.interchange.output import decision_to_dict, explanation_json, layout_for, results_text
from shuangyong.interchange.posting import deciding_and_posting, pseudonym_key
from shuangyong.render import decision_table, explanation_text, visible
from shuangyong.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable

    from shuangyong.engine import Decision, Engine
    from shuangyong.errors import ShuangyongError
    from shuangyong.interchange.framing import Input, RawRecord
    from shuangyong.model.charge_codes import ChargeCodeMap
    from shuangyong.model.visit import Visit


@click.command()
@click.argument("source", type=click.File("rb"), default="-")
@policy_option
@click.option("--format", "fmt", default="auto", show_default=True, metavar="FORMAT",
              help="auto, json, jsonl, table, or an exporter a plugin adds (xlsx, html, pdf with "
                   "shuangyong-export). auto mirrors the input: JSON Lines in, JSON Lines out; JSON in, JSON out.")
@strict_option
@codes_option
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
@click.option("--post", is_flag=True, help="Post each decision to the ledger; output what was granted "
              "(yearly caps applied).")
@ledger_option
@click.option("--pseudonymise", is_flag=True,
              help="Store patient ids as keyed hashes; the key comes from $SHUANGYONG_PSEUDONYM_KEY.")
@his_option
@region_option
@encoding_option
def evaluate(source: IO[bytes], policies: tuple[str, ...], fmt: str, strict: bool,
             codes: str | None, output: str | None, post: bool, ledger_url: str | None,
             pseudonymise: bool, his: str | None, region: str | None, encoding: str) -> None:
    """Decide each visit in SOURCE (JSON, JSON array or JSON Lines; '-' for stdin)."""
    _check_format(fmt)
    engine, code_map, records = open_input(source, policies, strict, codes, his, encoding, region)
    if not post:
        _write_decisions(engine, code_map, records, fmt, output, engine.evaluate)
        return
    with exit_on_error():
        key = pseudonym_key(pseudonymise)
    check_output_target(output)  # answers that cannot be written must not be posted
    with opened_ledger(ledger_url, create=True) as ledger:
        _write_decisions(engine, code_map, records, fmt, output, deciding_and_posting(engine, ledger, key))


TEXT_FORMATS = ("auto", "json", "jsonl", "table")


def _check_format(fmt: str) -> None:
    """An unknown format exits 2 before any input is read."""
    if fmt not in TEXT_FORMATS:
        exporter_for("decisions", fmt, own=TEXT_FORMATS)


def _export_decisions(engine: Engine, code_map: ChargeCodeMap | None, records: Input, fmt: str,
                      output: str | None, decide: Callable[[Visit], Decision]) -> int:
    """Decisions through a plugin's exporter (a whole file: xlsx, pdf); bad records on standard error."""
    decisions = []
    failures = 0
    for outcome in for_each_record(records.records, code_map, decide, engine):
        if isinstance(outcome, Refused):
            failures += 1
            click.echo(_error_line(outcome.record, outcome.error), err=True)
        else:
            decisions.append(decision_to_dict(outcome.value))
    with exit_on_error(), writing_to(output, binary=True) as out:
        exporter_for("decisions", fmt).write("decisions", decisions, out)
    return failures


def _write_decisions(engine: Engine, code_map: ChargeCodeMap | None, records: Input, fmt: str,
                     output: str | None, decide: Callable[[Visit], Decision]) -> None:
    """Every record's decision (or error) in the chosen format; exit 2 if any record was bad."""
    if fmt not in TEXT_FORMATS:
        _report(_export_decisions(engine, code_map, records, fmt, output, decide))
        return
    tally = Tally()
    outcomes = tally(for_each_record(records.records, code_map, lambda v: (v, decide(v)), engine))
    with writing_to(output) as out:
        if fmt == "table":
            for outcome in outcomes:
                if isinstance(outcome, Refused):
                    click.echo(_error_line(outcome.record, outcome.error), err=True)
                else:
                    out.write(decision_table(engine, *outcome.value, lang()) + "\n\n")
        else:
            for text in results_text(outcomes, layout_for(fmt, records.shape)):  # the server's writer too
                out.write(text)
    _report(tally.refused)


def _error_line(record: RawRecord, error: ShuangyongError) -> str:
    """A bad record's line on standard error, its control characters shown, not obeyed."""
    return visible(f"{record.label} {error.render(lang())}")


def _report(failures: int) -> None:
    """Exit 2 when any record was bad, saying how many."""
    if failures:
        say(Text(f"{failures} 条记录有误，已逐条输出错误",
                 f"{failures} record(s) had errors; each is reported in the output"), err=True)
        sys.exit(BAD_INPUT)


@click.command()
@click.argument("source", type=click.File("rb"), default="-")
@policy_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="json: one explanation (or error) object per visit, one per line.")
@strict_option
@codes_option
@his_option
@region_option
@encoding_option
def explain(source: IO[bytes], policies: tuple[str, ...], fmt: str, strict: bool, codes: str | None,
            his: str | None, region: str | None, encoding: str) -> None:
    """Explain each visit: every rule considered, why it applied or not, and its clause."""
    engine, code_map, records = open_input(source, policies, strict, codes, his, encoding, region)
    tally = Tally()
    for outcome in tally(for_each_record(records.records, code_map, lambda v: (v, engine.explain(v)), engine)):
        if fmt == "json":
            click.echo(explanation_json(outcome))  # the server's writer too
        elif isinstance(outcome, Refused):
            click.echo(_error_line(outcome.record, outcome.error), err=True)
        else:
            click.echo(explanation_text(engine, *outcome.value, lang()) + "\n")
    if tally.refused:
        sys.exit(BAD_INPUT)
