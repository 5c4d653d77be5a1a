"""The server's own errors, and how every error becomes an HTTP answer.

Every answer that is not a success carries an error object of the JSON contract's shape
(``{"type", "record", "field", "message": {"zh", "en"}}``) under ``"error"``: a record the
library refuses is answered with exactly the object the command line writes in its place (see
:mod:`shuangyong_server.service`); a request the server refuses (no token, too large, unknown
route) with a :class:`RequestError`, so that a hospital system reads one shape whatever went wrong.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shuangyong import InputError, LedgerError, ShuangyongError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shuangyong import Text

#: the media type of every JSON answer; UTF-8 always, Chinese written as it is
JSON = "application/json; charset=utf-8"
#: the media type of JSON Lines answers (one JSON object a line)
JSON_LINES = "application/x-ndjson; charset=utf-8"


class RequestError(ShuangyongError):
    """A request the server refuses, with the HTTP status that says why (401, 403, 404, 408,
    409, 413, 415, 422, 503) and any headers that go with it (``WWW-Authenticate``)."""

    def __init__(self, message: Text, *, status: int, field: str | None = None, record: str | None = None,
                 value: object = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, record=record, field=field, value=value)
        self.status = status
        self.headers = dict(headers or {})


class StoreError(ShuangyongError):
    """The server's own database (tokens, audit log, idempotency records) cannot be used as
    asked; ``record`` is its URL."""


class Unreadable(Exception):
    """A body the library cannot read as input at all (not JSON, empty, not in its encoding):
    answered 400 with the library's own error object, as the command line would report it."""

    def __init__(self, error: ShuangyongError) -> None:
        super().__init__(str(error))
        self.error = error


def status_of(error: ShuangyongError) -> int:
    """The HTTP status of an error: a refused request's own; 409 when the ledger refuses a
    posting (a visit id re-used with other content); 422 for a record or document that cannot
    be used as given; 400 for anything else the caller sent."""
    if isinstance(error, RequestError):
        return error.status
    if isinstance(error, LedgerError):
        return 409
    if isinstance(error, InputError):
        return 422
    return 400


def error_json(error: ShuangyongError) -> bytes:
    """The body of an error answer: ``{"error": {...}}``, in UTF-8."""
    return (json.dumps({"error": error.as_dict()}, ensure_ascii=False) + "\n").encode("utf-8")
