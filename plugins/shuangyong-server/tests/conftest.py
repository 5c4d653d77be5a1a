"""The API tests' fixtures: a shared ``shuangyong serve``, and servers of a test's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from serving import Server


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server most tests share: a ledger, a 256 KiB body bound. Tests that post count rows
    before and after rather than assume an empty ledger."""
    running = Server(tmp_path_factory.mktemp("server"), "--max-body", "256K")
    yield running
    running.stop()


@pytest.fixture
def start_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start servers of one's own (an empty ledger, other options); each is stopped afterwards."""
    started: list[Server] = []

    def start(*options: str, ledger: bool | str = True) -> Server:
        started.append(Server(tmp_path_factory.mktemp("fresh"), *options, ledger=ledger))
        return started[-1]

    yield start
    for running in started:
        running.stop()
