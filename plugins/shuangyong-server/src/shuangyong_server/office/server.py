"""The office pages wired to a running server: one call for the app factory.

The dossiers are the server's (:attr:`Service.dossiers`: by default in its database file beside
its tokens, or where ``--dossiers`` says), every change goes to the server's audit log, a page's
token is checked by the server's own ``authenticate``, and the report, the 公示 and the month view
use the server's standards, policy, registry and ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shuangyong import ShuangyongError
from shuangyong_server.errors import StoreError
from shuangyong_server.office.pages import office_router
from shuangyong_server.tokens import authenticate

if TYPE_CHECKING:
    from fastapi import APIRouter

    from shuangyong_server.service import Service


def office_for(service: Service, **options: Any) -> APIRouter:
    """The office's router for ``service``: ``create_app(service=service, routers=[office_for(service)])``.
    ``options`` go to :func:`~shuangyong_server.office.pages.office_router` (``today``; ``secret``, by default
    the store's ``office-session`` secret, the same for every process on the file)."""
    store = service.dossiers

    def who(token: str) -> tuple[str, str, str | None] | None:
        try:
            caller = authenticate(service.store, token)
        except StoreError:
            raise  # the database is down: a page error, not "log in again"
        except ShuangyongError:  # malformed, unknown or revoked
            return None
        return caller.name, caller.role, caller.unit

    ledger = service.ledgers.get if service.ledgers is not None else None
    options.setdefault("secret", service.store.secret("office-session"))  # sessions outlive a restart
    return office_router(lambda: store, who, service.standards(()), service.engine.policy, ledger=ledger,
                         registry=service.engine.registry, **options)
