"""Start-up recovery: what a crashed process left behind is written and closed first.

A process killed mid-call (SIGKILL, power loss) leaves the call's record open: its turns
and data are in the database (each was written when it happened) but no end. Before new
calls are taken, the spool is replayed (so a call spooled during an outage gets its
writes), then every call still open is closed with outcome ``interrupted``, keeping what
it collected.

Only with SQLite: its file belongs to this one controller. Several controllers may share
one PostgreSQL database, and an open call there may be live on another controller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from agi.booking.spool import Spool
from agi.booking.store import CallRecord, Store
from agi.errors import StoreError

log = logging.getLogger(__name__)

INTERRUPTED: Final = "interrupted"
# list_calls is newest first; more open calls than this at start-up is not a crash of one
# process (a day of calls at most), and the rest are closed at the next start.
MAX_OPEN_CALLS: Final = 10_000


def recover(store: Store, spool: Spool | None, now: datetime, *, close_open: bool,
            summarize: Callable[[CallRecord], Mapping[str, Any] | None] | None = None) -> list[str]:
    """Replay the spool, then close open calls as interrupted; returns their ids.
    ``summarize`` gives the summary a closed call owes the business (agi.notify.summary:
    one that was in the middle of a request), queued with its close."""
    if spool is not None and spool.pending():
        done = spool.replay(store)
        log.info("start-up: %d spooled write(s) replayed, %d still waiting", done, spool.pending())
    if not close_open:
        return []
    closed = []
    for call in store.list_calls(limit=MAX_OPEN_CALLS):
        if call.ended_at is not None or (spool is not None and spool.holds(call.call_id)):
            continue
        try:
            store.end_call(call.call_id, now, INTERRUPTED, None,
                           summarize(call) if summarize is not None else None)
        except StoreError as exc:
            log.error("start-up: call %s left open by a previous process not closed: %s", call.call_id, exc)
            continue
        closed.append(call.call_id)
    if closed:
        log.warning("start-up: %d call(s) left open by a previous process closed as %s: %s",
                    len(closed), INTERRUPTED, ", ".join(closed[:20]))
    return closed
