"""``Idempotency-Key``: a posting retried after a lost answer gets the first answer again.

Two guards, one inside the other. The ledger itself never grants a visit's line twice: posting
the same visit again returns its earlier rows (``Ledger.post``, docs/ledger.md), whoever asks and
however often. On top of that, a key names one request of one token: the first request with it
reserves the key with the SHA-256 of what it sent (before anything is posted), and its answer is
kept with the key once it is made; a retry gets that answer back, byte for byte, whatever was
posted since (a yearly cap another visit used up cannot change the answer a retry sees). The
same key with another request is refused (409) before anything is posted. A retry that finds
the key reserved but not answered (the first attempt still running, or cut off) runs again:
the ledger answers it with the rows already posted, so nothing is posted twice either way. A
request that writes nothing (a body that cannot be read, every visit refused) keeps no answer
and frees its key, so that the corrected request may use it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from shuangyong import Text
from shuangyong_server.errors import RequestError
from shuangyong_server.store import utc_now

if TYPE_CHECKING:
    import sqlite3

    from shuangyong_server.store import ServerStore

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII: a UUID, a HIS's own request number


@attrs.frozen(slots=True)
class Answer:
    """An answer as it is sent and kept: its status, media type and body."""

    status: int
    media_type: str
    body: bytes
    replayed: bool = False  #: a kept answer sent again (``Idempotent-Replayed: true``), never stored


def check_key(key: str) -> str:
    """A key as sent: 1 to 200 printable ASCII characters; else 400."""
    if not _KEY.fullmatch(key):
        raise RequestError(Text(f"{HEADER} 须为 1–200 个可打印 ASCII 字符（如 UUID）",
                                f"{HEADER} is 1 to 200 printable ASCII characters (a UUID, say)"),
                           status=400, field=HEADER, value=key)
    return key


def reserve(store: ServerStore, token_id: str, key: str, request_sha256: str) -> Answer | None:
    """The kept answer when this request was answered before; None when it is to be run (the key
    is now reserved for it). The key with another request is 409."""
    with store.transaction() as connection:
        row = connection.execute("SELECT request_sha256, status, media_type, body FROM idempotency "
                                 "WHERE token_id = ? AND key = ?", (token_id, key)).fetchone()
        if row is None:
            connection.execute("INSERT INTO idempotency (token_id, key, request_sha256, reserved_at) "
                               "VALUES (?, ?, ?, ?)", (token_id, key, request_sha256, utc_now()))
            return None
    if row["request_sha256"] != request_sha256:
        raise RequestError(Text(f"{HEADER} {key!r} 已用于另一个请求（内容不同）；新请求请用新的键",
                                f"{HEADER} {key!r} was used for another request (other content); "
                                "use a new key for a new request"), status=409, field=HEADER, value=key)
    return _kept(row)


def complete(connection: sqlite3.Connection, token_id: str, key: str, answer: Answer) -> Answer:
    """Keep the answer with its key, inside the transaction that audits the posting. When a
    twin request answered first, its answer is kept and returned, so that both say the same."""
    connection.execute("UPDATE idempotency SET status = ?, media_type = ?, body = ?, completed_at = ? "
                       "WHERE token_id = ? AND key = ? AND status IS NULL",
                       (answer.status, answer.media_type, answer.body, utc_now(), token_id, key))
    row = connection.execute("SELECT status, media_type, body FROM idempotency WHERE token_id = ? AND key = ?",
                             (token_id, key)).fetchone()
    return _kept(row) or answer


def release(connection: sqlite3.Connection, token_id: str, key: str) -> None:
    """Free a key whose request wrote nothing (every visit refused), so that the corrected request
    may use it: only an answer that posted is kept. A key another attempt answered stays."""
    connection.execute("DELETE FROM idempotency WHERE token_id = ? AND key = ? AND status IS NULL", (token_id, key))


def _kept(row: sqlite3.Row) -> Answer | None:
    if row["status"] is None:
        return None
    return Answer(status=row["status"], media_type=row["media_type"], body=bytes(row["body"]))
