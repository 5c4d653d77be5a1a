"""The hooks a plugin can implement (pluggy, project name ``shuangyong``).

A plugin is a module with functions decorated ``@shuangyong.hookimpl`` and named after these
specs, registered through the ``shuangyong`` entry-point group. Registration hooks *return* what
they add, so the library knows which plugin added what and can name it in an error (two plugins
registering one id, a hook that raises). Every hook is documented in ``docs/hooks.md``; a test
fails if one is not.

Internal module: ``hookimpl`` is public from :mod:`shuangyong`, the protocols from
:mod:`shuangyong.plugins` (docs/api.md).
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Collection, Iterable, Iterator, Mapping
    from pathlib import Path

    import click

    from shuangyong.ledger import Ledger, Posting, PostingRequest
    from shuangyong.model import Beneficiary
    from shuangyong.model.vocabulary import Term

hookspec = pluggy.HookspecMarker("shuangyong")
hookimpl = pluggy.HookimplMarker("shuangyong")


@runtime_checkable
class Exporter(Protocol):
    """What ``register_exporters`` maps a name to (``shuangyong.exporters`` has ready-made ones)."""

    subjects: Collection[str]  #: what it can write: ``decisions``, ``ledger``, ``compliance``
    suffix: str  #: the file suffix, ``.xlsx``

    def write(self, subject: str, data: Any, target: IO[bytes]) -> None:
        """Write ``data`` (decision dicts, postings or a report dict) to a binary stream."""


@runtime_checkable
class HisAdapter(Protocol):
    """What ``register_his_adapters`` maps a name to. ``write`` is optional: an adapter that
    answers back (an Invoice bundle, ACKs) is also offered as a decisions exporter."""

    def read(self, source: Any, *, region: str | None = None) -> Iterator[dict[str, Any]]:
        """JSON-contract visit records from the system's messages (a binary stream). ``region``
        (``--region``: the hospital's GB/T 2260 code, for messages that name none) is passed only
        when the user gives one: an adapter without the keyword still works without it."""


class StorageFactory(Protocol):
    """What ``register_storage`` maps a URL scheme to: the ledger class, or any factory."""

    def __call__(self, url: str, *, create: bool = True) -> Ledger:
        """Open the ledger at ``url``; with ``create=False`` one that does not exist yet is a
        :class:`~shuangyong.errors.LedgerError`, not made empty (``ledger verify`` on a typo)."""


@hookspec
def register_categories() -> Iterable[Term]:
    """Beneficiary categories to add (``Term(id, Text(zh, en), parents)``); parents may be built-in
    ids or ids the same plugin registers earlier in its list."""


@hookspec
def register_payers() -> Iterable[Term]:
    """Insurance funds and concession payers to add (``Term(id, Text(zh, en), kind=...)``, kind
    ``fund`` or ``subsidy``): a fund a line's ``insurance.funds`` may name, or a payer a pack rule
    may name in ``payer:``."""


@hookspec
def register_predicates() -> Mapping[str, Any]:
    """Conditions for ``when: {custom: {NAME: ARGUMENT}}``: NAME → a factory taking ARGUMENT and
    returning a predicate (``__call__(ctx, line) -> bool``, ``explain(ctx, line, registry)``,
    ``LINE_LEVEL``)."""


@hookspec
def register_policy_packs() -> Mapping[str, Path]:
    """Policy packs by name → YAML file (a ``Path``; a ``str`` path is taken too), usable wherever
    a built-in pack name is. The file must exist when the plugin is asked."""


@hookspec
def register_standards() -> Mapping[str, Path]:
    """Standards packs (compliance) by name → YAML file, as for ``register_policy_packs``."""


@hookspec
def register_check_kinds() -> Iterable[Any]:
    """Compliance check kinds to add to the standards engine (see ``docs/standards-packs.md``)."""


@hookspec
def register_his_adapters() -> Mapping[str, Any]:
    """HIS adapters by name (:class:`HisAdapter`): objects that turn a hospital system's messages
    into JSON-contract visit records (``read(source, *, region=None) -> Iterator[dict]``) and, optionally,
    decisions back (``write(decisions, target)``, ``target`` a binary stream)."""


@hookspec
def register_storage() -> Mapping[str, Any]:
    """Ledger backends by URL scheme (``postgresql+psycopg``): a :class:`StorageFactory`
    ``(url) -> Ledger``."""


@hookspec
def register_exporters() -> Mapping[str, Any]:
    """Exporters by name (``xlsx``, ``pdf``), each an :class:`Exporter`: ``subjects`` (what it can
    write: ``decisions``, ``ledger``, ``compliance``), ``suffix`` and ``write(subject, data,
    target)`` where ``target`` is a binary stream."""


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
