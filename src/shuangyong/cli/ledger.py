"""``shuangyong ledger reverse|export|verify|head|report``: the concession ledger (台帐) at the command line.

None of these creates a ledger: a URL with a typo is refused, not verified as an empty ledger.
"""

from __future__ import annotations

import json
import re
import sys

import click

from shuangyong import plugins
from shuangyong.cli.base import (
    BAD_INPUT,
    check_output_target,
    exit_on_error,
    exporter_for,
    fail,
    lang,
    ledger_option,
    opened_ledger,
    say,
    writing_to,
)
from shuangyong.errors import LedgerError
from shuangyong.interchange.reports import verification, verification_to_dict, yuan
from shuangyong.ledger.export import export_row
from shuangyong.ledger.report import month_report, parse_month, report_table
from shuangyong.text import Text

#: the formats ``ledger report`` writes itself; the others are exporters of ``ledger_report``
REPORT_FORMATS = ("table", "json")


@click.group()
def ledger() -> None:
    """Reverse, export, verify, anchor and report on the concession ledger."""


_HEAD = re.compile(r"([0-9]{1,18}):([0-9a-f]{64})")


def _expected_head(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, str] | None:
    """``SEQ:HASH`` as ``ledger head`` prints it; anything else exits 2."""
    if value is None:
        return None
    match = _HEAD.fullmatch(value.strip())
    if match is None:
        fail(LedgerError(Text(f"--expect-head 应为 序号:64位十六进制哈希（ledger head 的输出），收到 {value!r}",
                              f"--expect-head is SEQ:HASH with a 64-digit hex hash (as ledger head prints it), "
                              f"got {value!r}"), field="--expect-head", value=value))
    return int(match[1]), match[2]


@ledger.command()
@ledger_option
@click.argument("seq", type=int)
@click.option("--reason", required=True, help="Why the grant is cancelled (kept in the ledger).")
def reverse(ledger_url: str | None, seq: int, reason: str) -> None:
    """Cancel posting SEQ with a reversal row (the original row is never changed)."""
    with opened_ledger(ledger_url) as opened:
        reversal = opened.reverse(seq, reason)
    click.echo(json.dumps(export_row(reversal), ensure_ascii=False))


@ledger.command()
@ledger_option
@click.option("--format", "fmt", default="jsonl", show_default=True, metavar="NAME",
              help="jsonl, csv (UTF-8 with BOM, opens in Excel), or any exporter a plugin adds.")
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
def export(ledger_url: str | None, fmt: str, output: str | None) -> None:
    """Every posting, in order, with amounts in yuan."""
    exporter = exporter_for("ledger", fmt)
    with opened_ledger(ledger_url) as opened, writing_to(output, binary=True) as out:
        exporter.write("ledger", opened.postings(), out)


@ledger.command()
@ledger_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def head(ledger_url: str | None, fmt: str) -> None:
    """The last posting's seq and hash (SEQ:HASH): keep it outside the ledger and give it to
    `ledger verify --expect-head` later to detect removed or rewritten rows."""
    with opened_ledger(ledger_url) as opened:
        seq, last = opened.head()
    if fmt == "json":
        click.echo(json.dumps({"seq": seq, "hash": last, "head": f"{seq}:{last}"}))
    else:
        say(Text(f"末条记账为第 {seq} 条；链头（请在账本之外保存）：",
                 f"last posting {seq}; head (keep it outside the ledger):"), err=True)
        click.echo(f"{seq}:{last}")  # alone on standard output: H=$(shuangyong ledger head …)


@ledger.command("verify")
@ledger_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--expect-head", metavar="SEQ:HASH", callback=_expected_head,
              help="A head printed earlier by `ledger head`: fail unless row SEQ still has HASH.")
def verify_command(ledger_url: str | None, fmt: str, expect_head: tuple[int, str] | None) -> None:
    """Recompute the hash chain, totals, caps and reversals; exit 2 if anything is wrong. Prints
    the totals and what each payer bears of them. An empty ledger fails unless --expect-head 0:…
    says it should be empty."""
    with opened_ledger(ledger_url) as opened:
        result = verification(opened.postings(), expect_head)
    if fmt == "json":
        click.echo(json.dumps(verification_to_dict(result), ensure_ascii=False, indent=2))
    else:
        granted, reversed_, net = yuan(result).values()
        say(Text(f"{result.rows} 条记账；减免 {granted} 元，冲正 {reversed_} 元，净额 {net} 元",
                 f"{result.rows} postings; granted {granted}, reversed {reversed_}, net {net} yuan"))
        for total in result.payers:
            granted, reversed_, net = yuan(total).values()
            say(Text(f"  {total.payer} 负担：减免 {granted} 元，冲正 {reversed_} 元，净额 {net} 元",
                     f"  borne by {total.payer}: granted {granted}, reversed {reversed_}, net {net} yuan"))
        for problem in result.problems:
            click.echo(problem.in_(lang()), err=True)
        say(Text("校验通过", "verified: chain, totals, caps and reversals are consistent") if result.ok
            else Text(f"发现 {len(result.problems)} 处问题", f"{len(result.problems)} problem(s) found"),
            err=not result.ok)
    if not result.ok:
        sys.exit(BAD_INPUT)


def _month(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    """``--month YYYY-MM``; anything else exits 2 naming the option and the value."""
    with exit_on_error():
        return parse_month(value, field="--month")


@ledger.command("report")
@ledger_option
@click.option("--month", required=True, metavar="YYYY-MM", callback=_month,
              help="The calendar month, by the postings' business (visit) date.")
@click.option("--format", "fmt", default="table", show_default=True, metavar="FORMAT",
              help="table, json, or an exporter a plugin adds (xlsx, pdf with shuangyong-export).")
@click.option("--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output.")
def report(ledger_url: str | None, month: tuple[int, int], fmt: str, output: str | None) -> None:
    """The month's 台帐: visits, persons and amounts granted, reversed and net, by rule,
    beneficiary category, item kind and payer. Every month's sums together are `ledger verify`'s
    totals."""
    exporter = None if fmt in REPORT_FORMATS else exporter_for("ledger_report", fmt, own=REPORT_FORMATS)
    check_output_target(output)  # nothing is read from a ledger for a report that cannot be written
    with opened_ledger(ledger_url) as opened:
        made = month_report(opened.postings(), *month)
    with exit_on_error(), writing_to(output, binary=True) as out:
        if exporter is not None:
            exporter.write("ledger_report", made.as_dict(), out)
        elif fmt == "json":
            out.write((json.dumps(made.as_dict(), ensure_ascii=False, indent=2) + "\n").encode())
        else:
            out.write(report_table(made, lang(), plugins.registry()).encode())
