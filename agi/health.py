"""``/health`` (JSON, for IT teams and systemd checks) and ``/metrics`` (Prometheus).

A small asyncio HTTP/1.1 server on its own event loop in a daemon thread: a busy call
loop never makes the health check lie about liveness, and no client can block it. Each
connection gets one request (``Connection: close``); the request head must arrive whole
within ``read_timeout`` seconds and fit in ``MAX_HEAD_BYTES``; at most ``max_connections``
are open at once: one more evicts the connection that has waited longest for its request
head (a real probe sends it at once). So idle, half-open or slow clients cost a socket
each for a few seconds and never delay another answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agi.metrics import Metrics

log = logging.getLogger(__name__)

# A health probe's request is one short line and a few headers; 8 KiB is what common
# servers allow for a whole head and bounds what a client can make us buffer.
MAX_HEAD_BYTES: Final = 8 * 1024
# A monitoring client sends its request at once; one that has not within this is idle.
READ_TIMEOUT_S: Final = 2.0
# Probes are short-lived: more than this many at once is a flood, not monitoring.
MAX_CONNECTIONS: Final = 64
_REASONS: Final = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                   408: "Request Timeout", 431: "Request Header Fields Too Large",
                   503: "Service Unavailable"}


class HealthServer:
    """Serves ``/health`` from ``status()`` and ``/metrics`` from ``metrics``."""

    def __init__(self, host: str, port: int, status: Callable[[], Mapping[str, Any]],
                 metrics: Metrics, *, max_connections: int = MAX_CONNECTIONS,
                 read_timeout: float = READ_TIMEOUT_S) -> None:
        self.host = host
        self._port = port
        self._status = status
        self._metrics = metrics
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.open_connections = 0
        self.evicted = 0  # idle connections closed to make room for a new one
        self._reading: dict[asyncio.StreamWriter, None] = {}  # oldest first
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    def start(self) -> None:
        """Bind and serve; raises what binding raised (address in use ...)."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(asyncio.start_server(
                self._serve, self.host, self._port, limit=MAX_HEAD_BYTES))
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open_connections >= self.max_connections:
            if not self._reading:
                await self._respond(writer, 503, b"too many health connections\n", "text/plain")
                return
            oldest = next(iter(self._reading))
            del self._reading[oldest]
            oldest.transport.abort()
            self.evicted += 1
        self.open_connections += 1
        self._reading[writer] = None
        try:
            code, body, kind = await self._request(reader)
            self._reading.pop(writer, None)
            await self._respond(writer, code, body, kind)
        except (ConnectionError, OSError) as exc:
            log.debug("health client gone: %s", exc)
        finally:
            self._reading.pop(writer, None)
            self.open_connections -= 1

    async def _request(self, reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
        try:
            async with asyncio.timeout(self.read_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return 408, b"request not received in time\n", "text/plain"
        except asyncio.LimitOverrunError:
            return 431, b"request head too large\n", "text/plain"
        except asyncio.IncompleteReadError:
            raise ConnectionResetError("closed before the end of the request head") from None
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return 400, b"bad request line\n", "text/plain"
        if parts[0] != b"GET":
            return 405, b"only GET\n", "text/plain"
        return self._route(parts[1].split(b"?", 1)[0])

    def _route(self, path: bytes) -> tuple[int, bytes, str]:
        if path == b"/metrics":
            return 200, generate_latest(self._metrics.registry), CONTENT_TYPE_LATEST
        if path in (b"/health", b"/"):
            status = dict(self._status())
            body = json.dumps(status, ensure_ascii=False, indent=2).encode()
            return (200 if status.get("status") == "ok" else 503), body, "application/json; charset=utf-8"
        return 404, b"not found: try /health or /metrics\n", "text/plain"

    async def _respond(self, writer: asyncio.StreamWriter, code: int, body: bytes, kind: str) -> None:
        head = (f"HTTP/1.1 {code} {_REASONS[code]}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            writer.write(head + body)
            async with asyncio.timeout(self.read_timeout):
                await writer.drain()
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.debug("health answer not delivered: %s", exc)
        finally:
            writer.close()
