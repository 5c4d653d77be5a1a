"""The office pages running for real, with sample data: what the browser tests drive and what
``scripts/screenshots.py`` photographs, built one way for both.

:func:`sample_server` is the server ``shuangyong serve`` runs (:func:`~shuangyong_server.app.create_app`
with :func:`~shuangyong_server.office.server.office_for`) over fresh files in a folder: its
database with ``examples/dossier.yaml`` imported and a token per role, and a SQLite ledger
holding ``examples/visits.jsonl`` as the engine decided and posted it (one grant reversed).
:func:`running` serves an app with uvicorn on a free loopback port, in a thread, until the block ends.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs

from shuangyong import plugins, requests_for, visit_from_json
from shuangyong_server.app import create_app
from shuangyong_server.office.server import office_for
from shuangyong_server.service import Service
from shuangyong_server.settings import ServerSettings
from shuangyong_server.tokens import Actor, add_token

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI

    from shuangyong import Engine
    from shuangyong_server.office.dossiers import DossierStore

#: the people of the sample server: role → name
PEOPLE = {"office": "王芳", "auditor": "李审计", "admin": "张管理", "his": "HIS 接口"}
#: the day the sample server lives on: the end of November of the example dossier's year
TODAY = dt.date(2026, 11, 30)
UNIT, YEAR = "H-450300-001", 2026


@attrs.frozen(slots=True)
class Sample:
    """A sample server: the app, each role's token, and where its files are."""

    app: FastAPI
    tokens: dict[str, str]  #: role → token
    store: DossierStore
    ledger_url: str


def posted_ledger(url: str, engine: Engine, visits: Path) -> None:
    """Post what ``engine`` grants the visits of a JSON Lines file to the ledger at ``url``, and
    reverse the first grant (so that the month view has a reversal to show)."""
    with plugins.open_ledger(url, create=True) as ledger:
        for line in visits.read_text(encoding="utf-8").splitlines():
            visit = visit_from_json(line)
            ledger.post(requests_for(visit, engine.evaluate(visit), engine.policy, registry=engine.registry))
        ledger.reverse(1, "挂错号 / registered by mistake")


def sample_server(folder: Path, examples: Path, *, today: dt.date = TODAY) -> Sample:
    """The server over fresh files in ``folder``, with the sample dossier, ledger and tokens."""
    ledger_url = f"sqlite:///{folder / 'ledger.db'}"
    service = Service.start(ServerSettings(policies=("seed-example",), ledger=ledger_url,
                                           store=f"sqlite:///{folder / 'server.db'}"))
    posted_ledger(ledger_url, service.engine, examples / "visits.jsonl")
    setup = Actor("sample", "admin", "sample-setup")
    tokens = {role: add_token(service.store, name, role, setup)[1] for role, name in PEOPLE.items()}
    store = service.dossiers
    store.import_text((examples / "dossier.yaml").read_text(encoding="utf-8"), "dossier.yaml", "示例导入")
    app = create_app(service=service, routers=[office_for(service, today=lambda: today)])
    return Sample(app, tokens, store, ledger_url)


@contextmanager
def running(app: FastAPI, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port while the block runs; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="office-uvicorn")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
