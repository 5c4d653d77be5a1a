"""The app factory: :func:`create_app` builds the FastAPI application ``shuangyong serve`` runs.

Everything a request meets is set up here: the :class:`~shuangyong_server.guard.Guard` bounds,
the ``/v1`` routes, the OpenAPI document at ``/v1/openapi.json`` (behind a token, like every
route but health), and the handlers that turn every error into the contract's error object with
its zh and en message: the caller's mistakes are 4xx, never 500.

No ``from __future__ import annotations`` here: FastAPI reads the annotations at run time.
"""

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from shuangyong import ShuangyongError, Text
from shuangyong.plugins import field_path
from shuangyong_server import api
from shuangyong_server.auth import ANY_ROLE, require_role
from shuangyong_server.errors import JSON, RequestError, StoreError, Unreadable, error_json, status_of
from shuangyong_server.guard import BodyRefused, Guard
from shuangyong_server.service import Service
from shuangyong_server.settings import ServerSettings
from shuangyong_server.tokens import Caller

TITLE = "shuangyong"
API_VERSION = "1.0"
DESCRIPTION = ("Military-support (双拥) medical concessions over HTTP: the JSON contract of "
               "`shuangyong evaluate`, byte for byte. Every route but `/v1/health` needs "
               "`Authorization: Bearer TOKEN`; see docs/service.md.")

#: what an HTTP status means, for requests refused before an endpoint ran (an unknown route …)
_STATUS_TEXT = {
    404: Text("没有这个地址（接口在 /v1/ 下）", "no such route (the API is under /v1/)"),
    405: Text("此地址不接受这种请求方法", "this route does not take this method"),
}


def create_app(settings: ServerSettings | None = None, *, service: Service | None = None,
               routers: Iterable[APIRouter] = ()) -> FastAPI:
    """The application for SETTINGS (or for an already started SERVICE), with the ``/v1`` routes
    and any more ROUTERS (the office pages): each of their routes declares ``require_role``."""
    if service is None:
        service = Service.start(settings or ServerSettings())
    settings = service.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title=TITLE, version=API_VERSION, description=DESCRIPTION, openapi_url=None, docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    app.state.service = service
    app.include_router(api.router)
    for router in routers:
        app.include_router(router)

    @app.get("/v1/openapi.json", include_in_schema=False)
    async def openapi(who: Annotated[Caller, require_role(*ANY_ROLE)]) -> Response:
        return Response(openapi_bytes(app), media_type=JSON)

    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
    app.add_middleware(Guard, max_body=settings.max_body, timeout=settings.timeout)
    return app


def openapi_bytes(app: FastAPI) -> bytes:
    """The app's OpenAPI document as served and as checked in (docs/_static/openapi.json)."""
    return (json.dumps(app.openapi(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _error_response(error: ShuangyongError, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(error_json(error), status_code=status, media_type=JSON, headers=headers)


async def _shuangyong_error(request: Request, exc: Exception) -> Response:
    """A library error (a bad dossier, a refused token change) or the server's own."""
    assert isinstance(exc, ShuangyongError)
    status = 503 if isinstance(exc, StoreError) else status_of(exc)
    return _error_response(exc, status, exc.headers if isinstance(exc, RequestError) else None)


async def _unreadable(request: Request, exc: Exception) -> Response:
    """A body the library cannot read as input: 400, with the library's own error object."""
    assert isinstance(exc, Unreadable)
    return _error_response(exc.error, 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown route, wrong method) and bodies the guard refused."""
    assert isinstance(exc, HTTPException)
    if isinstance(exc, BodyRefused):
        return _error_response(exc.error, exc.error.status, exc.error.headers)
    text = _STATUS_TEXT.get(exc.status_code, Text(f"请求被拒绝（HTTP {exc.status_code}）",
                                                  f"the request is refused (HTTP {exc.status_code})"))
    error = RequestError(text, status=exc.status_code, field="path", value=request.url.path)
    return _error_response(error, exc.status_code, dict(exc.headers or {}))


async def _invalid(request: Request, exc: Exception) -> Response:
    """A parameter or JSON body FastAPI refused: 422 naming the first field, in zh and en."""
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0]
    where = field_path([part for part in first.get("loc", ()) if part not in ("query", "path", "header", "body")])
    reason = str(first.get("msg", "invalid"))
    error = RequestError(Text(f"{where or '请求'} 的值无效：{reason}",
                              f"{where or 'the request'} is not valid: {reason}"),
                         status=422, field=where or None, value=first.get("input"))
    return _error_response(error, 422)


async def _bug(request: Request, exc: Exception) -> Response:
    """A bug: 500 with the request id to quote, never the traceback (it goes to the server's log)."""
    request_id = getattr(request.state, "request_id", "")
    error = RequestError(Text(f"服务内部错误；请将请求编号 {request_id} 告知管理员",
                              f"internal error; give the administrator the request id {request_id}"), status=500)
    return _error_response(error, 500)


HANDLERS = {ShuangyongError: _shuangyong_error, Unreadable: _unreadable, HTTPException: _http_error,
            RequestValidationError: _invalid, Exception: _bug}
