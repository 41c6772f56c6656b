"""Floods cost a counter, not a log line each: refusals and accept errors, rate-limited.

At the descriptor limit asyncio's accept loop reports every failed ``accept()`` (EMFILE,
ENFILE) through the loop's exception handler ("socket.accept() out of system resource",
``selector_events._accept_connection``) and retries a second later; a flood of idle
clients then writes thousands of identical lines. :func:`install_exception_handler`
folds those into one line per interval with a count, and turns an ordinary peer reset
(ConnectionResetError, BrokenPipeError reaching the handler) into one INFO line instead
of a traceback. :class:`RefusalLog` does the same for connections a listener refuses and
datagrams a media socket drops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger(__name__)

# One summary line per this many seconds, whatever the rate of the flood.
INTERVAL_S: Final = 60.0
_RESETS: Final = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class RefusalLog:
    """Logs the first event at once, then at most one line per ``interval`` with a count."""

    def __init__(self, what: str, interval: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, level: int = logging.WARNING,
                 item: str = "connection") -> None:
        self.what = what
        self.item = item  # what is refused: a connection, a datagram
        self.interval = interval
        self.total = 0
        self._clock = clock
        self._level = level
        self._unlogged = 0
        self._last: float | None = None

    def refused(self, peer: str, reason: str) -> None:
        self.total += 1
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._unlogged += 1
            return
        more = f" (and {self._unlogged} more in the last {self.interval:.0f} s)" if self._unlogged else ""
        log.log(self._level, "%s: %s from %s refused: %s%s", self.what, self.item, peer, reason, more)
        self._last, self._unlogged = now, 0


def install_exception_handler(loop: asyncio.AbstractEventLoop, interval: float = INTERVAL_S,
                              clock: Callable[[], float] = time.monotonic) -> RefusalLog:
    """Rate-limit accept errors and quieten peer resets on ``loop``; returns the counter."""
    accept_errors = RefusalLog("listener", interval, clock, logging.ERROR)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message", ""))
        if "out of system resource" in message or (isinstance(exc, OSError) and exc.errno in (23, 24)):
            accept_errors.refused("?", f"accept() failed: {exc} (raise LimitNOFILE or lower [limits])")
            return
        if isinstance(exc, _RESETS):
            log.info("peer reset the connection: %s", exc)
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return accept_errors
