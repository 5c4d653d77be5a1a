"""The office pages running for real, with sample data: what the browser tests drive and what
``scripts/screenshots.py`` photographs, built one way for both.

:func:`sample_app` is a FastAPI app with the pages, ``examples/dossier.yaml`` imported, and a
SQLite ledger holding ``examples/visits.jsonl`` as the engine decided and posted it.
:func:`running` serves an app with uvicorn on a free loopback port, in a thread, until the block ends.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from shuangyong import plugins
from shuangyong.compliance.standards import StandardsSet
from shuangyong.engine import Engine
from shuangyong.interchange import visit_from_json
from shuangyong.ledger import requests_for
from shuangyong_server.office.dossiers import DossierStore
from shuangyong_server.office.pages import office_router
from shuangyong_server.service import LedgerPool

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI

#: token → (name, role): the people of the sample server
TOKENS: dict[str, tuple[str, str]] = {
    "sy-office": ("王芳", "office"),
    "sy-auditor": ("李审计", "auditor"),
    "sy-admin": ("张管理", "admin"),
    "sy-his": ("HIS", "his"),
}
#: the day the sample server lives on: the end of November of the example dossier's year
TODAY = dt.date(2026, 11, 30)
UNIT, YEAR = "H-450300-001", 2026


def posted_ledger(path: Path, engine: Engine, visits: Path) -> None:
    """A SQLite ledger at ``path`` with what ``engine`` grants the visits of a JSON Lines file."""
    ledger = plugins.open_ledger(f"sqlite:///{path}", create=True)
    with ledger:
        for line in visits.read_text(encoding="utf-8").splitlines():
            visit = visit_from_json(line)
            ledger.post(requests_for(visit, engine.evaluate(visit), engine.policy))


def sample_app(folder: Path, examples: Path, *, today: dt.date = TODAY) -> FastAPI:
    """The pages over a fresh database in ``folder``, with the sample dossier and ledger."""
    from fastapi import FastAPI

    store = DossierStore.sqlite(folder / "office.db")
    store.import_text((examples / "dossier.yaml").read_text(encoding="utf-8"), "dossier.yaml", "示例导入")
    engine = Engine.from_packs("seed-example", registry=plugins.registry())
    posted_ledger(folder / "ledger.db", engine, examples / "visits.jsonl")
    ledgers = LedgerPool(f"sqlite:///{folder / 'ledger.db'}")  # as the server holds its ledger: one per thread
    standards = StandardsSet.load(["seed-standards"], named=plugins.collect("register_standards"),
                                  kinds=plugins.check_kinds())
    app = FastAPI()
    app.include_router(office_router(lambda: store, TOKENS.get, standards, engine.policy, ledger=ledgers.get,
                                     today=lambda: today))
    return app


@contextmanager
def running(app: FastAPI, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port while the block runs; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
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
