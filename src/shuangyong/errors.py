"""One exception hierarchy. Every error names where it happened (record, field) in zh and en.

Each subclass also inherits the matching builtin so that callers' existing ``except ValueError``
keeps working.

Internal module: the error classes are public from :mod:`shuangyong` (docs/api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shuangyong.text import Lang, Text


class ShuangyongError(Exception):
    """Root of every error the library raises on purpose.

    ``record`` is the visit id, pack id or file the error belongs to; ``field`` the dotted path
    of the offending value inside it. ``message`` says what is wrong, in zh and en.
    """

    def __init__(self, message: Text, *, record: str | None = None, field: str | None = None,
                 value: Any = None) -> None:
        self.message = message
        self.record = record
        self.field = field or None  # an empty path (the whole document) is no field
        self.value = value
        super().__init__(self.render("en"))

    def where(self, lang: Lang) -> str:
        """``record …, field …`` in ``lang``; empty when the error belongs to neither."""
        parts = []
        if self.record is not None:
            parts.append(("记录 " if lang == "zh" else "record ") + str(self.record))
        if self.field is not None:
            parts.append(("字段 " if lang == "zh" else "field ") + self.field)
        return ", ".join(parts)

    def render(self, lang: Lang) -> str:
        """The message in ``lang``, after where it belongs."""
        where = self.where(lang)
        text = self.message.in_(lang)
        return f"{where}: {text}" if where else text

    def as_dict(self) -> dict[str, Any]:
        """The error object of the JSON contract (``"error"`` member)."""
        return {
            "type": type(self).__name__,
            "record": self.record,
            "field": self.field,
            "message": self.message.as_dict(),
        }

    def located(self, *, record: str | None = None, prefix: str | None = None) -> ShuangyongError:
        """Return the same error placed inside a record and/or under a field prefix."""
        field = self.field
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        clone = type(self).__new__(type(self))
        ShuangyongError.__init__(clone, self.message, record=record or self.record, field=field,
                                 value=self.value)
        return clone


class InputError(ShuangyongError, ValueError):
    """A visit, beneficiary or charge line that cannot be evaluated as given."""


class MoneyError(InputError):
    """An amount that is not exact yuan and fen (float, negative, too many decimals)."""


class DateError(InputError):
    """A date that is malformed, impossible, or a window whose end is before its start."""


class UnknownCategoryError(InputError, LookupError):
    """A category or credential kind that no registry knows."""


class UnknownItemError(InputError, LookupError):
    """An item kind no rule mentions, refused only in strict mode."""


class PolicyError(ShuangyongError, ValueError):
    """A policy pack that cannot be loaded, layered or compiled. ``record`` is file:line."""


class LedgerError(ShuangyongError, ValueError):
    """A posting or reversal the ledger refuses; nothing of it was written."""


class OutputError(ShuangyongError, OSError):
    """An output file that cannot be written (``-o``): a missing directory, a full disk …; ``value`` is the path."""


class PluginError(ShuangyongError, RuntimeError):
    """A plugin that failed to load or to answer a hook; ``record`` is the plugin's name."""


class MissingExtraError(ShuangyongError, ImportError):
    """An optional part of the library whose extra is not installed (``pip install shuangyong[NAME]``)."""


class CaseError(ShuangyongError, ValueError):
    """A YAML test-case file that cannot be read; ``record`` is file:line, ``field`` the key."""


def field_path(loc: Iterable[str | int]) -> str:
    """``("rules", 0, "when", "any", 1)`` → ``rules[0].when.any[1]``: one spelling in every message."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
