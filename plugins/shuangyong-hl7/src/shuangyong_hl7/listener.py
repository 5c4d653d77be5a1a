"""An MLLP listener on asyncio: each framed message gets exactly one framed reply, in order.

Each connection is read frame by frame; a frame larger than ``max_frame`` bytes closes that
connection (a sender that never ends a frame cannot make the listener hold unbounded memory).
Bytes before a frame's start byte are dropped; a frame with no start byte is answered as a
malformed message, so a sender always hears back.

Decoding and deciding run off the event loop, in worker threads: hl7apy takes seconds for a
message of a thousand segments, and on the loop that stalled every other client (a 1 MiB message
held them 22 s). Messages up to ``small_message`` bytes have their own workers, large ones one
worker of their own, so that however many large messages are queued a small one (a registration,
a visit of a few lines) is answered at once. A connection has one message in work at a time: its
replies stay in order, and a sender cannot make the listener queue more than its own message.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from shuangyong_hl7 import codec

if TYPE_CHECKING:
    from shuangyong_hl7.service import Hl7Service

MAX_FRAME = 1 << 20
#: Messages up to this many bytes (a visit of some hundred lines) go to the small-message workers.
SMALL_MESSAGE = 16 * 1024
#: Threads deciding small messages; large ones have one thread of their own.
WORKERS = 4


class MllpListener:
    """``await listener.start()`` then ``listener.port``; ``handled`` counts replies sent."""

    def __init__(self, service: Hl7Service, host: str = "127.0.0.1", port: int = 2575,
                 max_frame: int = MAX_FRAME, max_messages: int | None = None, *, workers: int = WORKERS,
                 small_message: int = SMALL_MESSAGE) -> None:
        self.service, self.host, self.port, self.max_frame = service, host, port, max_frame
        self.max_messages, self.small_message = max_messages, small_message
        self._small = ThreadPoolExecutor(workers, thread_name_prefix="hl7-small")
        self._large = ThreadPoolExecutor(1, thread_name_prefix="hl7-large")
        self.handled = 0
        self.done = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen; with port 0, ``port`` is the one the system chose once this returns."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port, limit=self.max_frame)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end the open connections (each has answered what it read)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for pool in (self._small, self._large):  # a message being decided finishes; queued ones are dropped
            pool.shutdown(wait=False, cancel_futures=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while not self.done.is_set():
                try:
                    chunk = await reader.readuntil(codec.END)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                body = chunk[:-len(codec.END)]
                body = body.split(codec.START, 1)[1] if codec.START in body else body
                pool = self._small if len(body) <= self.small_message else self._large
                reply = await asyncio.get_running_loop().run_in_executor(pool, self.service.handle, body)
                writer.write(codec.frame(reply))
                await writer.drain()
                self.handled += 1
                if self.max_messages is not None and self.handled >= self.max_messages:
                    self.done.set()
        except asyncio.CancelledError:
            pass  # close() ends idle connections; asyncio 3.11 would log a cancelled handler as an error
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):  # close() may cancel us here too
                await writer.wait_closed()
            self._connections.discard(task)


async def send(host: str, port: int, messages: list[bytes]) -> list[bytes]:
    """A minimal MLLP client: send each message framed on one connection, return the replies."""
    reader, writer = await asyncio.open_connection(host, port)
    replies = []
    try:
        for message in messages:
            writer.write(codec.frame(message))
            await writer.drain()
            replies.append((await reader.readuntil(codec.END))[1:-len(codec.END)])
    finally:
        writer.close()
        await writer.wait_closed()
    return replies
