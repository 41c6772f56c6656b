"""What ``/health`` says about the store, the spool and the outbox, measured off the call path.

A probe runs every few seconds in a worker thread (a read that needs the database, the
count of dead notifications) and keeps its last answer, so ``/health`` answers from
memory in microseconds and never waits on a database that hangs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.errors import StoreError

log = logging.getLogger(__name__)

# Often enough that a monitoring check sees an outage within one of its own periods.
PROBE_EVERY_S: Final = 5.0
_PROBE_CALL_ID: Final = "__permanence_health_probe__"


@dataclass(frozen=True)
class StoreHealth:
    """The last probe: ``store_error`` is "" when the database answered."""

    store_error: str = ""
    dead_notifications: int = 0


class StoreProbe:
    """Probes ``store`` every ``every`` seconds; ``problems()`` names what is wrong now."""

    def __init__(self, store: Store, spool: Spool | None, backend: str,
                 every: float = PROBE_EVERY_S) -> None:
        self._store = store
        self._spool = spool
        self._backend = backend
        self.every = every
        self.last = StoreHealth()

    def probe(self) -> StoreHealth:
        """One probe, in the calling (worker) thread."""
        try:
            self._store.get_call(_PROBE_CALL_ID)
            dead = len(self._store.outbox(status="dead"))
        except StoreError as exc:
            self.last = StoreHealth(store_error=str(exc))
        else:
            self.last = StoreHealth(dead_notifications=dead)
        return self.last

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.probe)
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                continue

    def spooled(self) -> int:
        return self._spool.pending() if self._spool is not None else 0

    def problems(self) -> list[str]:
        """Each sentence names the store and the backlog."""
        found = []
        last, spooled = self.last, self.spooled()
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
        return found
