"""``shuangyong ledger reverse|export|verify``: the concession ledger (台帐) at the command line."""

from __future__ import annotations

import json
import sys

import click

from shuangyong.cli.base import (
    BAD_INPUT,
    exporter_for,
    lang,
    ledger_option,
    main,
    opened_ledger,
    say,
    writing_to,
)
from shuangyong.ledger import verify
from shuangyong.ledger.export import export_row
from shuangyong.money import format_amount, from_fen
from shuangyong.text import Text


@main.group()
def ledger() -> None:
    """Reverse, export and verify the concession ledger."""


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


@ledger.command("verify")
@ledger_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def verify_command(ledger_url: str | None, fmt: str) -> None:
    """Recompute the hash chain, totals, caps and reversals; exit 2 if anything is wrong."""
    with opened_ledger(ledger_url) as opened:
        result = verify(opened.postings())
    if fmt == "json":
        click.echo(json.dumps({"ok": result.ok, "rows": result.rows,
                               "granted": format_amount(from_fen(result.granted_fen)),
                               "reversed": format_amount(from_fen(result.reversed_fen)),
                               "net": format_amount(from_fen(result.net_fen)),
                               "problems": [p.as_dict() for p in result.problems]}, ensure_ascii=False, indent=2))
    else:
        granted, reversed_, net = (format_amount(from_fen(v)) for v in
                                   (result.granted_fen, result.reversed_fen, result.net_fen))
        say(Text(f"{result.rows} 条记账；减免 {granted} 元，冲正 {reversed_} 元，净额 {net} 元",
                 f"{result.rows} postings; granted {granted}, reversed {reversed_}, net {net} yuan"))
        for problem in result.problems:
            click.echo(problem.in_(lang()), err=True)
        say(Text("校验通过", "verified: chain, totals, caps and reversals are consistent") if result.ok
            else Text(f"发现 {len(result.problems)} 处问题", f"{len(result.problems)} problem(s) found"),
            err=not result.ok)
    if not result.ok:
        sys.exit(BAD_INPUT)
