"""The two hooks of the region plugin: one category, one policy pack.

The category is the seeds' “三老”功臣 (seeds 000 and 003). The seeds name them beside 现役军人,
军烈属 and 残疾军人 but never define them or place them in a group (DOMAIN.md §1: "used in seeds,
never defined there … don't invent a definition"), so the term has no parent: a parent would
hand them every rule written for that group, which no source says. A region whose own document
does place them can add the parent here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shuangyong import Term, Text, hookimpl

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The id ``shuangyong.model.registry`` reserves for region plugins.
MERITORIOUS_ELDER = Term("meritorious_elder", Text("“三老”功臣", "“Three elders” meritorious veteran"))
#: The pack's name (``--policy guangxi``) and file.
PACK = ("guangxi", Path(__file__).with_name("guangxi.yaml"))


@hookimpl
def register_categories() -> Iterable[Term]:
    """三老功臣, Guangxi's category."""
    return [MERITORIOUS_ELDER]


@hookimpl
def register_policy_packs() -> Mapping[str, Path]:
    """The Guangxi pack, by name."""
    return dict([PACK])
