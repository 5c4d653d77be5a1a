"""``shuangyong notice``: the 公示 of the concessions in force, for printing (:mod:`shuangyong.notice`)."""

from __future__ import annotations

import click

from shuangyong import plugins
from shuangyong.cli.base import (
    check_output_target,
    exit_on_error,
    exporter_for,
    lang,
    policy_option,
    writing_to,
)
from shuangyong.cli.policy import load_set
from shuangyong.dates import parse_date
from shuangyong.notice import notice_for, notice_html, notice_markdown, region_code

#: the formats the core writes itself; the others (pdf) are exporters of the ``notice`` subject
OWN_FORMATS = {"html": notice_html, "md": notice_markdown}


@click.command()
@click.option("--region", required=True, metavar="CODE",
              help="The hospital's GB/T 2260 code (6 digits): rules of other regions are left out.")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD",
              help="The day the notice is for: rules not in force that day are left out.")
@policy_option
@click.option("--format", "fmt", default="html", show_default=True, metavar="FORMAT",
              help="html (one page for A4 paper), md, or an exporter a plugin adds (pdf with shuangyong-export).")
@click.option("--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output.")
def notice(region: str, day: str, policies: tuple[str, ...], fmt: str, output: str | None) -> None:
    """公示：某地某日有效的优惠减免和优先项目，附对象、内容、条文和出处。

    The public notice (公示) of the concessions and priorities in force in a region on a day:
    each with whom it is for, what it gives, its clause and the source the pack cites. Chinese
    first; with --lang en, the English under it.
    """
    with exit_on_error():
        when = parse_date(day, field="--date")
        code = region_code(region, field="--region")
    exporter = None if fmt in OWN_FORMATS else exporter_for("notice", fmt, own=tuple(OWN_FORMATS))
    check_output_target(output)  # before the packs are read: a notice that cannot be written costs nothing
    policy = load_set(policies)
    with exit_on_error():
        made = notice_for(policy, code, when, plugins.registry())
    with exit_on_error(), writing_to(output, binary=True) as out:
        if exporter is None:
            out.write(OWN_FORMATS[fmt](made, lang()).encode())
        else:
            exporter.write("notice", made, out, lang=lang())
