"""The console served by ``permanence serve``: uvicorn inside the server's event loop.

uvicorn's ``Server.serve()`` runs as one more task of the loop that answers calls, with
its signal capture switched off: SIGTERM, SIGINT and SIGHUP stay ``serve_forever``'s, and
stopping the server stops the console (``should_exit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import uvicorn

from agi.booking.store import Store
from agi.config import Settings
from agi.console.auth import ensure_admin
from agi.console.pages import build_app
from agi.console.web import Console

log = logging.getLogger(__name__)

# How long start() waits for the listener to be bound before it reports a failure.
START_TIMEOUT_S = 10.0


class _Embedded(uvicorn.Server):
    """A uvicorn server without signal handlers of its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ConsoleServer:
    def __init__(self, settings: Settings, store: Store, *,
                 clock: Callable[[], datetime] | None = None, secret: bytes | None = None) -> None:
        self.settings = settings
        self.store = store
        self.console = Console(settings, store, clock=clock, secret=secret)
        cs = settings.console
        config = uvicorn.Config(build_app(self.console), host=cs.host, port=cs.port,
                                lifespan="off", log_config=None, access_log=False,
                                server_header=False, proxy_headers=False)
        self._server = _Embedded(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def start(self) -> None:
        password = await asyncio.to_thread(ensure_admin, self.store, datetime.now(UTC))
        if password is not None:
            # printed once, on the console's first start; only its hash is stored
            log.warning("console: first start, created user 'admin' with the one-time "
                        "password %s (change it: permanence users passwd admin)", password)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(int(START_TIMEOUT_S / 0.02)):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.02)
        if not self._server.started:
            await self.stop()
            raise OSError(f"the console could not listen on {self.settings.console.host}:"
                          f"{self.settings.console.port}")
        log.info("console on http://%s:%d/", self.settings.console.host, self.port)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(SystemExit):
                await self._task
            self._task = None
