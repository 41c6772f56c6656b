"""What ``/health`` says about the store, the spool, the outbox, the privacy register and
Rasa, measured off the call path and off the health path.

A probe runs every few seconds in a worker thread (a read that needs the database, the
count of dead notifications, the open privacy requests, each Rasa server's ``/status``)
and keeps its last answer, so ``/health`` answers from memory in microseconds and never
waits on a database or a Rasa that hangs. The snapshot carries its age; a probe stuck
past ``STALE_AFTER_S`` on one step is itself a problem naming that step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.errors import StoreError

log = logging.getLogger(__name__)

# Often enough that a monitoring check sees an outage within one of its own periods.
PROBE_EVERY_S: Final = 5.0
# A step taking longer than this is stuck (a hung database, a Rasa that never answers):
# several probe periods, well above Rasa's 0.5 s per-language status timeout.
STALE_AFTER_S: Final = 15.0
_PROBE_CALL_ID: Final = "__permanence_health_probe__"


@dataclass(frozen=True)
class StoreHealth:
    """The last probe: ``store_error`` is "" when the database answered; ``at`` is its
    ``time.monotonic()`` (0 before the first)."""

    store_error: str = ""
    dead_notifications: int = 0
    privacy: Mapping[str, Any] = field(default_factory=dict)
    rasa: Mapping[str, bool] | None = None
    at: float = 0.0


class StoreProbe:
    """Probes ``store`` (and ``privacy()``, ``rasa()`` when given) every ``every`` seconds;
    ``problems()`` names what is wrong now."""

    def __init__(self, store: Store, spool: Spool | None, backend: str,
                 every: float = PROBE_EVERY_S, *,
                 privacy: Callable[[], Mapping[str, Any]] | None = None,
                 rasa: Callable[[], Mapping[str, bool] | None] | None = None,
                 stale_after: float = STALE_AFTER_S) -> None:
        self._store = store
        self._spool = spool
        self._backend = backend
        self._privacy = privacy
        self._rasa = rasa
        self.every = every
        self.stale_after = stale_after
        self.last = StoreHealth()
        self._step: tuple[str, float] | None = None  # what the running probe waits on, since

    def _doing(self, what: str) -> None:
        self._step = (what, time.monotonic())

    def probe(self) -> StoreHealth:
        """One probe, in the calling (worker) thread."""
        try:
            self._doing(f"database ({self._backend})")
            try:
                self._store.get_call(_PROBE_CALL_ID)
                dead = len(self._store.outbox(status="dead"))
            except StoreError as exc:
                error, dead = str(exc), 0
            else:
                error = ""
            self._doing(f"database ({self._backend}) privacy register")
            privacy = dict(self._privacy()) if self._privacy is not None else {}
            self._doing("Rasa")
            rasa = self._rasa() if self._rasa is not None else None
            self.last = StoreHealth(store_error=error, dead_notifications=dead, privacy=privacy,
                                    rasa=dict(rasa) if rasa is not None else None,
                                    at=time.monotonic())
        finally:
            self._step = None
        return self.last

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.probe)
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                continue

    def age(self) -> float | None:
        """Seconds since the last finished probe, None before the first."""
        return round(time.monotonic() - self.last.at, 1) if self.last.at else None

    def stuck(self) -> str:
        """What the running probe has waited on for more than ``stale_after``, else ""."""
        step = self._step
        if step is not None and time.monotonic() - step[1] > self.stale_after:
            return step[0]
        return ""

    def spooled(self) -> int:
        return self._spool.pending() if self._spool is not None else 0

    def problems(self) -> list[str]:
        """Each sentence names the store and the backlog."""
        found = []
        last, spooled = self.last, self.spooled()
        stuck = self.stuck()
        if stuck:
            found.append(f"health probe stuck on {stuck} for more than {self.stale_after:g} s: "
                         f"figures below are {self.age()} s old")
        if last.store_error:
            found.append(f"database ({self._backend}) unreachable or refusing writes: {last.store_error}")
        if spooled:
            where = self._spool.path if self._spool is not None else "?"
            found.append(f"database ({self._backend}) not accepting writes: {spooled} write(s) "
                         f"waiting in the spool {where}")
        lost = self._spool.lost if self._spool is not None else 0
        if lost:
            found.append(f"{lost} write(s) lost since start: the database and the spool both refused them")
        if last.dead_notifications:
            found.append(f"{last.dead_notifications} notification(s) to the business failed for good "
                         f"(status 'dead' in the outbox table)")
        found += [f"Rasa ({lang}) unreachable: calls use the builtin dialogue"
                  for lang, up in (last.rasa or {}).items() if not up]
        return found
