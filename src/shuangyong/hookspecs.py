"""The hooks a plugin can implement (pluggy, project name ``shuangyong``).

A plugin is a module with functions decorated ``@shuangyong.hookimpl`` and named after these
specs, registered through the ``shuangyong`` entry-point group. Registration hooks *return* what
they add, so the library knows which plugin added what and can name it in an error (two plugins
registering one id, a hook that raises). Every hook is documented in ``docs/hooks.md``; a test
fails if one is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pluggy

if TYPE_CHECKING:
    from shuangyong.ledger import Ledger, Posting, PostingRequest
    from shuangyong.model import Beneficiary
    from shuangyong.model.vocabulary import Term

hookspec = pluggy.HookspecMarker("shuangyong")
hookimpl = pluggy.HookimplMarker("shuangyong")


@hookspec
def register_categories() -> Iterable[Term]:
    """Beneficiary categories to add (``Term(id, Text(zh, en), parents)``); parents may be built-in
    ids or ids the same plugin registers earlier in its list."""


@hookspec
def register_predicates() -> Mapping[str, Any]:
    """Conditions for ``when: {custom: {NAME: ARGUMENT}}``: NAME → a factory taking ARGUMENT and
    returning a predicate (``__call__(ctx, line) -> bool``, ``explain(ctx, line, registry)``,
    ``LINE_LEVEL``)."""


@hookspec
def register_policy_packs() -> Mapping[str, Path]:
    """Policy packs by name → YAML file, usable wherever a built-in pack name is."""


@hookspec
def register_standards() -> Mapping[str, Path]:
    """Standards packs (compliance) by name → YAML file."""


@hookspec
def register_check_kinds() -> Iterable[Any]:
    """Compliance check kinds to add to the standards engine (see ``docs/standards-packs.md``)."""


@hookspec
def register_his_adapters() -> Mapping[str, Any]:
    """HIS adapters by name: objects that turn a hospital system's messages into JSON-contract
    visit records (``read(source) -> Iterator[dict]``) and decisions back
    (``write(decisions, target)``)."""


@hookspec
def register_storage() -> Mapping[str, Any]:
    """Ledger backends by URL scheme (``postgresql+psycopg``): a factory ``(url) -> Ledger``."""


@hookspec
def register_exporters() -> Mapping[str, Any]:
    """Exporters by name (``xlsx``, ``pdf``): objects with ``subjects`` (what they can write:
    ``decisions``, ``ledger``, ``compliance``), ``suffix`` and ``write(subject, data, path)``."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``shuangyong`` command (``@cli.command()``)."""


@hookspec(firstresult=True)
def resolve_beneficiary(patient_id: str, date: dt.date) -> Beneficiary | None:
    """Look up who a patient is on a date (an HIS or a registry); the first answer wins."""


@hookspec(firstresult=True)
def ledger_append(ledger: Ledger, requests: list[PostingRequest]) -> list[Posting]:
    """Post requests to a ledger. The built-in implementation posts; a plugin wraps it
    (``@hookimpl(wrapper=True)``) to audit, to mirror or to refuse, and sees the postings."""
