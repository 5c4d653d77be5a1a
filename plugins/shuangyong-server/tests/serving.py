"""A real ``shuangyong serve`` for the API's tests: a subprocess listening on a free loopback port,
with its own store and ledger in a temporary folder and one token per role, spoken to over a
socket with httpx (no in-process test client: what a hospital system meets is what is tested).
The fixtures that start them are in conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from shuangyong_server.store import ServerStore
from shuangyong_server.tokens import ROLES, Actor, add_token

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SHUANGYONG = str(Path(sys.executable).with_name("shuangyong"))
SETUP = Actor(name="tests", role=None, request_id="setup")


def environment() -> dict[str, str]:
    """The tests' environment without the caller's shuangyong settings (a ledger, a store, a language)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHUANGYONG_")}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8")
    return env


def cli(*args: str, stdin: bytes | None = None, check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """``shuangyong ARGS``, its output as bytes."""
    return subprocess.run([SHUANGYONG, *args], input=stdin, capture_output=True, env=environment(), check=check,
                          cwd=ROOT)


class Server:
    """A running ``shuangyong serve``: its URL, folder, ledger and store URLs, and a token per role."""

    def __init__(self, folder: Path, *options: str, ledger: bool | str = True) -> None:
        """``ledger``: a SQLite file of its own (True), none (False), or this URL."""
        self.folder = folder
        self.store_url = f"sqlite:///{folder / 'server.sqlite3'}"
        self.ledger_url = ledger if isinstance(ledger, str) else f"sqlite:///{folder / 'ledger.db'}" if ledger else None
        store = ServerStore(self.store_url)
        self.tokens = {role: add_token(store, f"tests-{role}", role, SETUP)[1] for role in ROLES}
        self.log = folder / "serve.log"
        command = [SHUANGYONG, "serve", "--port", "0", "--store", self.store_url, *options]
        if self.ledger_url:
            command += ["--ledger", self.ledger_url]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment(),
                                            cwd=ROOT)
        self.url = self._wait_for_port()
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def _wait_for_port(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if line.startswith("listening on "):
                    return line.removeprefix("listening on ").strip()
            if self.process.poll() is not None:
                raise AssertionError(f"shuangyong serve exited {self.process.returncode}:\n{text}")
            time.sleep(0.05)
        raise AssertionError(f"shuangyong serve did not start:\n{self.log.read_text(encoding='utf-8')}")

    def headers(self, role: str | None, **more: str) -> dict[str, str]:
        """The Authorization header of ROLE's token (none for None), and MORE."""
        return {**({"Authorization": f"Bearer {self.tokens[role]}"} if role else {}), **more}

    def request(self, method: str, path: str, role: str | None = "his", *, headers: dict[str, str] | None = None,
                **options: Any) -> httpx.Response:
        """One request as ROLE."""
        return self.client.request(method, path, headers=self.headers(role, **(headers or {})), **options)

    def rows(self) -> int:
        """The number of ledger rows, read as an auditor would."""
        head = self.request("GET", "/v1/ledger/head", "auditor")
        assert 200 == head.status_code, head.text
        seq: int = head.json()["seq"]
        return seq

    def audit(self) -> list[dict[str, Any]]:
        """The audit log, read as an admin would."""
        answer = self.request("GET", "/v1/audit", "admin")
        assert 200 == answer.status_code, answer.text
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries

    def stop(self) -> None:
        """Stop the server (the process this fixture started, by its handle) and close the client."""
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def unique(prefix: str = "T") -> str:
    """An id no other test uses (the shared ledger outlives each test)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"
