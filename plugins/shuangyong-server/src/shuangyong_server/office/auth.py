"""Who is looking at a page, and what their role lets them see.

A person logs in by pasting the bearer token the server's admin gave them. The token goes into a
session cookie that is HMAC-signed with the server's secret and dated (a cookie older than
:data:`SESSION_SECONDS`, or altered, is refused), HTTP-only (page scripts cannot read it) and
SameSite=Strict (another site's form cannot send it). Every request checks the token again with
``authenticate``, so that revoking a token logs its holder out at once. A script may send
``Authorization: Bearer TOKEN`` instead. Forms carry a CSRF value derived from the session, as a
second guard behind SameSite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

import attrs

from shuangyong import Text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shuangyong.text import Lang

SESSION_COOKIE = "shuangyong_office"
LANG_COOKIE = "shuangyong_lang"
SESSION_SECONDS = 8 * 3600  #: a working day: the page asks for the token again the next morning

#: what each role may do on the office's pages (the API's roles: his, office, auditor, admin)
EDIT, REPORT, NOTICE, LEDGER = "edit", "report", "notice", "ledger"
ROLES: dict[str, frozenset[str]] = {
    "office": frozenset({EDIT, REPORT, NOTICE}),
    "auditor": frozenset({REPORT, NOTICE, LEDGER}),
    "admin": frozenset({EDIT, REPORT, NOTICE, LEDGER}),
}
ROLE_LABELS: dict[str, Text] = {
    "his": Text("HIS 接口", "HIS interface"),
    "office": Text("双拥办", "双拥 office"),
    "auditor": Text("审计", "auditor"),
    "admin": Text("管理员", "administrator"),
}


@attrs.frozen(slots=True)
class Viewer:
    """The person behind a request: name and role as ``authenticate`` gave them, the CSRF value
    their forms carry (empty for a bearer-token request, which no other site can forge), and the
    unit their token is kept to (None: every unit)."""

    name: str
    role: str
    csrf: str = ""
    unit: str | None = None

    def can(self, capability: str) -> bool:
        """Whether the role allows ``capability`` (:data:`EDIT`, :data:`REPORT`, …)."""
        return capability in ROLES.get(self.role, frozenset())

    @property
    def role_label(self) -> Text:
        """The role's name, in zh and en."""
        return ROLE_LABELS.get(self.role, Text(self.role, self.role))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen(slots=True)
class Sessions:
    """Signs and reads the session cookie with ``secret``; ``clock`` is seconds since the epoch."""

    secret: bytes
    clock: Callable[[], float] = time.time

    def _mac(self, purpose: bytes, payload: bytes) -> str:
        return _b64(hmac.new(self.secret, purpose + b"\0" + payload, hashlib.sha256).digest())

    def issue(self, token: str) -> str:
        """The cookie's value for a session of ``token`` starting now."""
        payload = json.dumps({"t": token, "at": int(self.clock())}, separators=(",", ":")).encode("utf-8")
        return f"{_b64(payload)}.{self._mac(b'session', payload)}"

    def token(self, cookie: str | None) -> str | None:
        """The token in a cookie this server signed less than :data:`SESSION_SECONDS` ago; else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        encoded, mac = cookie.split(".")
        try:
            payload = _unb64(encoded)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(b"session", payload)):
            return None
        data = json.loads(payload)
        age = self.clock() - data["at"]
        return data["t"] if 0 <= age < SESSION_SECONDS else None

    def csrf(self, cookie: str) -> str:
        """The value the session's forms must send back."""
        return self._mac(b"csrf", cookie.encode("utf-8"))

    def csrf_ok(self, cookie: str, sent: str | None) -> bool:
        """Whether a form of this session sent its CSRF value."""
        return sent is not None and hmac.compare_digest(sent, self.csrf(cookie))


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def chosen_lang(query: Mapping[str, str], cookies: Mapping[str, str]) -> Lang:
    """``?lang=`` first, then the cookie an earlier ``?lang=`` set; Chinese unless English was chosen."""
    wanted = query.get("lang") or cookies.get(LANG_COOKIE)
    return "en" if wanted == "en" else "zh"
