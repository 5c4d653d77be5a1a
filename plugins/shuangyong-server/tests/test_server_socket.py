"""``serve``'s listening socket: its connections answer without Nagle's delay, and a port that
cannot be had is refused in words, with exit status 2, before anything listens."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from serving import cli

from shuangyong_server.hooks import listening_socket


def test_connections_of_the_listening_socket_have_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only on connections of a socket whose protocol says TCP: with
    ``socket.create_server``'s (protocol 0) every answer's body waited 40 ms for a delayed ACK."""
    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listening = listening_socket("127.0.0.1", 0)
        server = await asyncio.start_server(on_connection, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
            nodelay = await asyncio.wait_for(seen, 10)
            writer.close()
        return nodelay

    assert 0 != asyncio.run(accepted_nodelay())


def test_a_port_in_use_is_refused_in_words_with_status_2(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    with listening_socket("127.0.0.1", 0) as taken:
        port = str(taken.getsockname()[1])
        done = cli("--lang", "en", "serve", "--port", port, "--store", store)
        zh = cli("--lang", "zh", "serve", "--port", port, "--store", store)
    assert (2, 2) == (done.returncode, zh.returncode), done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr.decode()
    assert f"无法在 127.0.0.1:{port} 上监听" in zh.stderr.decode()
