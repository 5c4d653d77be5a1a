"""The bounds every request is held to before any endpoint sees it, as plain ASGI middleware:
a request id, a body of at most ``max_body`` bytes (413) that arrives within ``timeout``
seconds (408). A body announced too long (``Content-Length``) is refused before the app runs; one
sent in chunks as soon as it passes the bound; so no request makes the server hold more than
``max_body`` bytes of it. What still arrives of a refused body is read and thrown away (up to
:data:`DRAIN_FACTOR` times the bound, within the deadline) before the answer: a connection
closed with unread bytes is reset, and the client would never see its 413.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import anyio
from starlette.exceptions import HTTPException

from shuangyong import Text
from shuangyong_server.errors import JSON, RequestError, error_json

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    App = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = "X-Request-ID"
DRAIN_FACTOR = 4  #: how much of a refused body, in multiples of the bound, is read and dropped
#: a request id a proxy or caller sends is kept when it is this tame (nginx's $request_id is 32 hex digits)
_TAME_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BodyRefused(HTTPException):
    """A body refused while an endpoint reads it. An ``HTTPException``, so that FastAPI passes it
    on as it is rather than as 'error parsing the body'; answered with its ``RequestError``."""

    def __init__(self, error: RequestError) -> None:
        super().__init__(error.status, str(error), error.headers)
        self.error = error


def too_large(limit: int) -> RequestError:
    """413, naming the bound."""
    return RequestError(Text(f"请求体超过 {limit} 字节；大量就诊请分批发送",
                             f"the request body is longer than {limit} bytes; send many visits in batches"),
                        status=413, field="body", value=limit)


class Guard:
    """ASGI middleware: the request id (kept from ``X-Request-ID`` when tame, else a new one, and
    sent back), the body bound and the body deadline."""

    def __init__(self, app: App, *, max_body: int, timeout: float) -> None:
        self.app, self.max_body, self.timeout = app, max_body, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Bound one HTTP request; pass every other scope (lifespan) through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        sent_id = headers.get(REQUEST_ID.lower(), "")
        request_id = sent_id if _TAME_ID.fullmatch(sent_id) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (REQUEST_ID.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await self._drain(receive, anyio.current_time() + self.timeout)
            await _refuse(too_large(self.max_body), send_with_id)
            return
        await self.app(scope, self._bounded(receive), send_with_id)

    async def _drain(self, receive: Receive, deadline: float) -> None:
        """Read and drop what arrives of a refused body, up to ``DRAIN_FACTOR`` times the bound and
        until the deadline; beyond either the connection is closed with the rest unread."""
        left = DRAIN_FACTOR * self.max_body
        with anyio.move_on_after(max(deadline - anyio.current_time(), 0)):
            while left > 0:
                message = await receive()
                if message["type"] != "http.request":
                    return
                left -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return

    def _bounded(self, receive: Receive) -> Receive:
        """``receive`` that counts the body and holds it to the deadline until it is complete;
        after that (the wait for a disconnect while an answer streams) it is left alone."""
        received = 0
        complete = False
        deadline = anyio.current_time() + self.timeout

        async def bounded() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                    message = await receive()
            except TimeoutError:
                raise BodyRefused(RequestError(Text(f"请求体未在 {self.timeout:g} 秒内送达",
                                                    f"the request body did not arrive within {self.timeout:g} seconds"),
                                               status=408, field="body", headers={"Connection": "close"})) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_body:
                    if not complete:
                        await self._drain(receive, deadline)
                    complete = True
                    raise BodyRefused(too_large(self.max_body))
            else:
                complete = True
            return message

        return bounded


async def _refuse(error: RequestError, send: Send) -> None:
    """Answer with the error before the app runs (the connection is then closed)."""
    body = error_json(error)
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                            *((name.lower().encode(), value.encode()) for name, value in error.headers.items())]})
    await send({"type": "http.response.body", "body": body})
