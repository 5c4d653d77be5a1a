"""Who may call what: ``Authorization: Bearer TOKEN``, checked against the store, and the roles an
endpoint admits. ``require_role("office")`` is the one dependency every route declares (the office
pages too), so that no route is open by omission: a test lists every route and its roles.

No ``from __future__ import annotations`` here: FastAPI reads the annotations at run time.
"""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shuangyong import Text
from shuangyong_server.errors import RequestError
from shuangyong_server.service import Service
from shuangyong_server.tokens import ROLES, Caller, authenticate, unauthorized

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token made with `shuangyong server token add --role ROLE --name NAME`.")


def service_of(request: Request) -> Service:
    """The service the app was built with."""
    service: Service = request.app.state.service
    return service


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller the request's bearer token stands for; none, or not a valid one, is 401."""
    if credentials is None:
        raise unauthorized(Text("需要令牌：Authorization: Bearer <令牌>",
                                "a token is needed: Authorization: Bearer <token>"))
    return authenticate(service_of(request).store, credentials.credentials)


def require_role(*roles: str) -> Any:
    """A dependency that admits a caller whose token has one of ROLES (403 otherwise) and gives
    the :class:`~shuangyong_server.tokens.Caller`: ``who: Annotated[Caller, require_role("office")]``."""
    unknown = [role for role in roles if role not in ROLES]
    assert roles and not unknown, f"unknown roles {unknown}"

    def admitted(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.role not in roles:
            allowed = ", ".join(roles)
            raise RequestError(Text(f"角色 {who.role} 无权访问此处（需要：{allowed}）",
                                    f"the role {who.role} may not do this (needs: {allowed})"),
                               status=403, field="Authorization", value=who.role)
        return who

    return Depends(admitted)


#: every role: the endpoints any token may call (policy, readiness, the OpenAPI document)
ANY_ROLE = tuple(ROLES)
