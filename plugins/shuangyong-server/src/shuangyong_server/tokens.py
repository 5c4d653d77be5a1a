"""API tokens: who may call the server, in which role.

A token is ``sy_<id>_<secret>``: the id finds the row, and only the SHA-256 of the whole token is
stored, compared in constant time; the secret is printed once, when the token is made, and can
never be shown again (lost: revoke it and make another). A random 256-bit secret needs no slow
password hash: there is nothing to guess. Every change (add, revoke) is written together with
its audit entry.

An office token may be kept to one unit (``unit``): a hospital's 双拥 office then sees and edits
that unit's dossiers only, while an office token without one (a health bureau's) sees every unit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Literal

import attrs

from shuangyong import InputError, Text
from shuangyong.limits import MAX_ID_LENGTH
from shuangyong_server.errors import RequestError
from shuangyong_server.store import utc_now

if TYPE_CHECKING:
    from starlette.requests import Request

    from shuangyong_server.store import ServerStore

Role = Literal["his", "office", "auditor", "admin"]
#: what each role may do, as ``server token add --help`` and docs/service.md say it
ROLES: dict[str, Text] = {
    "his": Text("医院信息系统：判定、解释、判定并记账", "the hospital system: evaluate, explain, evaluate and post"),
    "office": Text("双拥办：编辑本单位档案、自查报告", "the 双拥 office: the unit's dossier, compliance reports"),
    "auditor": Text("审计：读账本、校验、导出、报告、审计日志",
                    "auditors: read, verify and export the ledger, reports, the audit log"),
    "admin": Text("管理员：管理令牌、读审计日志", "administrators: manage tokens, read the audit log"),
}
_TOKEN = re.compile(r"sy_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[^\x00-\x20\x7f]+(?: [^\x00-\x20\x7f]+)*")  # printable, single spaces inside


@attrs.frozen(slots=True)
class Caller:
    """Who is calling: the token's id, name and role (the audit log's actor), and the unit an
    office token is kept to (None: every unit)."""

    token_id: str
    name: str
    role: str
    unit: str | None = None


@attrs.frozen(slots=True)
class Token:
    """A token as listed: never its secret."""

    id: str
    name: str
    role: str
    unit: str | None
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The token as the API and ``token list --format json`` show it."""
        return attrs.asdict(self)


@attrs.frozen(slots=True)
class Actor:
    """Who makes a change, for its audit entry: a caller of the API or an operator at the command line."""

    name: str
    role: str | None
    request_id: str
    client: str | None = None

    @classmethod
    def of_request(cls, request: Request, name: str, role: str | None) -> Actor:
        """The caller NAME in ROLE making a change through REQUEST: its id (the one ``X-Request-ID``
        answers with, set by the :class:`~shuangyong_server.guard.Guard`; a new one in an app
        without it) and the client's address, so that the change's audit entry names both."""
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        return cls(name=name, role=role, request_id=request_id, client=request.client.host if request.client else None)


def digest(token: str) -> str:
    """What is stored of a token: the hex SHA-256 of all of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_role(role: str) -> str:
    """The role, if it is one; else an ``InputError`` listing the roles."""
    if role not in ROLES:
        known = ", ".join(ROLES)
        raise InputError(Text(f"没有角色 {role!r}（可用：{known}）", f"no role {role!r} (roles: {known})"),
                         field="role", value=role)
    return role


def check_name(name: str) -> str:
    """A token's name: printable, at most 200 characters, no leading, trailing or double spaces
    (two names that look alike would be two tokens nobody can tell apart in the audit log)."""
    if not isinstance(name, str) or len(name) > MAX_ID_LENGTH or not _NAME.fullmatch(name):
        raise InputError(Text("令牌名称须为 1–200 个可打印字符，首尾无空格",
                              "a token's name is 1 to 200 printable characters, without spaces at either end"),
                         field="name", value=name)
    return name


def check_unit(unit: str | None, role: str) -> str | None:
    """The unit an office token is kept to: a unit id as a dossier names it (printable, at most 200
    characters). Any other role has no unit (it sees no dossier, or every one): refused, not
    ignored, so that nobody believes an auditor's token is kept to a unit."""
    if unit is None:
        return None
    if role != "office":
        raise InputError(Text(f"只有 office 角色的令牌可限定单位（此令牌的角色为 {role}）",
                              f"only an office token can be kept to a unit (this one's role is {role})"),
                         field="unit", value=unit)
    if not isinstance(unit, str) or len(unit) > MAX_ID_LENGTH or not _NAME.fullmatch(unit):
        raise InputError(Text("单位编号须为 1–200 个可打印字符，首尾无空格",
                              "a unit id is 1 to 200 printable characters, without spaces at either end"),
                         field="unit", value=unit)
    return unit


def unit_refused(held: str | None, asked: str) -> Text | None:
    """Why a token kept to the unit HELD (None: to no unit) may not reach a dossier of the unit
    ASKED (a 403, on the API and the office's pages alike); None when it may."""
    if held is None or held == asked:
        return None
    return Text(f"此令牌仅限单位 {held} 的档案，不能查看或修改单位 {asked} 的档案",
                f"this token is kept to the dossiers of unit {held}: it cannot see or change those of unit {asked}")


def add_token(store: ServerStore, name: str, role: str, by: Actor, *, unit: str | None = None) -> tuple[Token, str]:
    """Make a token (an office one kept to ``unit``, if given); returns it and its secret, which is
    stored nowhere. A live token of the same name is refused (409): revoke it first."""
    check_name(name)
    check_role(role)
    check_unit(unit, role)
    token_id = secrets.token_hex(8)
    secret = f"sy_{token_id}_{secrets.token_urlsafe(32)}"
    token = Token(id=token_id, name=name, role=role, unit=unit, created_at=utc_now(), created_by=by.name)
    with store.transaction() as connection:
        if connection.execute("SELECT 1 FROM tokens WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
            raise RequestError(Text(f"已有名为 {name!r} 的有效令牌；请先吊销它或换一个名称",
                                    f"a live token is already named {name!r}; revoke it first or choose another name"),
                               status=409, field="name", value=name)
        connection.execute("INSERT INTO tokens (id, name, role, unit, secret_sha256, created_at, created_by) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (token.id, name, role, unit, digest(secret), token.created_at, token.created_by))
        store.audit(connection, actor=by.name, role=by.role, action="token.add", target=name,
                    request_id=by.request_id, client=by.client, detail=_detail(token))
    return token, secret


def list_tokens(store: ServerStore, *, revoked: bool = False) -> list[Token]:
    """The live tokens (and the revoked ones with ``revoked``), oldest first."""
    with store.reading() as connection:
        rows = connection.execute("SELECT id, name, role, unit, created_at, created_by, revoked_at, revoked_by "
                                  "FROM tokens "
                                  + ("" if revoked else "WHERE revoked_at IS NULL ") + "ORDER BY created_at, id")
        return [Token(**dict(row)) for row in rows]


def revoke_token(store: ServerStore, name: str, by: Actor) -> Token:
    """Revoke the live token named NAME (or whose id is NAME); unknown is 404."""
    with store.transaction() as connection:
        row = connection.execute("SELECT id, name, role, unit, created_at, created_by FROM tokens "
                                 "WHERE (name = ? OR id = ?) AND revoked_at IS NULL", (name, name)).fetchone()
        if row is None:
            raise RequestError(Text(f"没有名为 {name!r} 的有效令牌", f"no live token is named {name!r}"),
                               status=404, field="name", value=name)
        token = Token(**dict(row), revoked_at=utc_now(), revoked_by=by.name)
        connection.execute("UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                           (token.revoked_at, token.revoked_by, token.id))
        store.audit(connection, actor=by.name, role=by.role, action="token.revoke", target=token.name,
                    request_id=by.request_id, client=by.client, detail=_detail(token))
    return token


def _detail(token: Token) -> dict[str, str]:
    """What the audit entry of a token's change says of it: its id, role and unit (if kept to one)."""
    return {"id": token.id, "role": token.role, **({"unit": token.unit} if token.unit is not None else {})}


def authenticate(store: ServerStore, presented: str) -> Caller:
    """The caller a presented token stands for; a malformed, unknown or revoked one is 401."""
    match = _TOKEN.fullmatch(presented)
    row = None
    if match is not None:
        with store.reading() as connection:
            row = connection.execute("SELECT id, name, role, unit, secret_sha256, revoked_at FROM tokens "
                                     "WHERE id = ?", (match[1],)).fetchone()
    # the digest is compared even when no row was found, so that timing tells nothing of which ids exist
    stored = row["secret_sha256"] if row is not None else "0" * 64
    if not hmac.compare_digest(stored, digest(presented)) or row is None:
        raise unauthorized(Text("令牌无效", "the token is not valid"))
    if row["revoked_at"] is not None:
        raise unauthorized(Text(f"令牌已于 {row['revoked_at']} 吊销", f"the token was revoked at {row['revoked_at']}"))
    return Caller(token_id=row["id"], name=row["name"], role=row["role"], unit=row["unit"])


def unauthorized(why: Text) -> RequestError:
    """401, with the ``WWW-Authenticate`` header that says a bearer token is wanted."""
    return RequestError(why, status=401, field="Authorization", headers={"WWW-Authenticate": "Bearer"})
