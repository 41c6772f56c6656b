"""A dialogue dry run: the context a speculative reply is computed in, which can read but
never write.

While the caller pauses, the call session prepares the next reply from the recogniser's
partial words (agi/call/speculate.py). The caller may go on, so that reply must change
nothing: it runs on a fork of the conversation whose store answers reads (availability,
the caller's appointments) and raises :class:`agi.errors.DryRunWrite` on anything else,
and whose spool raises on any use. A reply that needs a write (a booking, a move, a
cancellation, a message, a call-back request) is thus never prepared: it is computed for
real after the turn, exactly as without speculation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.dialogue.base import CallContext
from agi.errors import DryRunWrite

# What a dry run may call on the store: reads only. Everything else is refused, so a new
# write method is refused too until it is listed here as a read.
READS = frozenset({"get_call", "list_calls", "transcript", "caller", "appointments",
                   "appointments_for_caller", "messages", "leads", "outbox", "personal_data"})


class ReadOnlyStore:
    """The store, for reads only."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in READS:
            return getattr(self._store, name)
        raise DryRunWrite(f"dry run: store.{name} refused")


class RefusingSpool:
    """A spool that refuses to keep anything: a dry run must not leave a note behind."""

    def __getattr__(self, name: str) -> Any:
        raise DryRunWrite(f"dry run: spool.{name} refused")


def dry_run_context(ctx: CallContext) -> CallContext:
    """``ctx`` with a read-only store and a refusing spool."""
    spool = cast(Spool, RefusingSpool()) if ctx.spool is not None else None
    return dataclasses.replace(ctx, store=cast(Store, ReadOnlyStore(ctx.store)), spool=spool)
