"""Start-up recovery: what a crashed process left behind is written and closed first.

A process killed mid-call (SIGKILL, power loss) leaves the call's record open: its turns
and data are in the database (each was written when it happened) but no end. Before new
calls are taken, the spool is replayed (so a call spooled during an outage gets its
writes), then the calls still open are closed with outcome ``interrupted``, keeping what
they collected.

Which calls: every call a store records carries its controller's id (:func:`controller_id`,
column ``owner``). A SQLite file belongs to one controller, so all its open calls are a
crash's leftovers. Several controllers may share one PostgreSQL database, and an open call
there may be live on another controller: a controller closes only the calls it started
itself, and none when it has no id.
"""

from __future__ import annotations

import hashlib
import logging
import socket
from datetime import datetime
from pathlib import Path
from typing import Final

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.errors import StoreError

log = logging.getLogger(__name__)

INTERRUPTED: Final = "interrupted"
# More open calls than this at start-up is not a crash of one process (a day of calls at
# most), and the rest are closed at the next start.
MAX_OPEN_CALLS: Final = 10_000
# An id names a host and a directory; both are cut so it fits store.controller_id's 64.
_HOST_CHARS: Final = 48


def controller_id(configured: str, data_dir: str | Path, host: str | None = None) -> str:
    """``configured``, else ``<host>:<12 hex of data_dir's absolute path>``.

    Stable across restarts of one installation (same host, same spool directory) and
    different for two controllers on one host with their own data directories."""
    if configured:
        return configured
    where = str(Path(data_dir).resolve())
    name = "".join(c for c in (host or socket.gethostname()) if c.isprintable() and not c.isspace())
    return f"{name[:_HOST_CHARS] or 'host'}:{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def recover(store: Store, spool: Spool | None, now: datetime, *, close_open: bool,
            owner: str | None = None) -> list[str]:
    """Replay the spool, then close open calls as interrupted; returns their ids.

    ``owner`` limits the closing to the calls that controller started (``None``: every
    open call, for a store no other controller uses)."""
    if spool is not None and spool.pending():
        done = spool.replay(store)
        log.info("start-up: %d spooled write(s) replayed, %d still waiting", done, spool.pending())
    if not close_open:
        return []
    closed = []
    for call_id in store.open_call_ids(owner, MAX_OPEN_CALLS):
        if spool is not None and spool.holds(call_id):
            continue
        try:
            store.end_call(call_id, now, INTERRUPTED)
        except StoreError as exc:
            log.error("start-up: call %s left open by a previous process not closed: %s", call_id, exc)
            continue
        closed.append(call_id)
    if closed:
        log.warning("start-up: %d call(s) left open by a previous process closed as %s: %s",
                    len(closed), INTERRUPTED, ", ".join(closed[:20]))
    return closed


def recovery_scope(backend: str, owner: str) -> tuple[bool, str | None]:
    """``(close_open, owner)`` for :func:`recover` on ``backend`` with this controller id."""
    if backend == "sqlite":
        return True, None
    if not owner:
        log.warning("start-up: this controller has no id; calls a crash left open stay open")
        return False, None
    return True, owner
