"""Who read, exported, rectified or erased whose data: one entry per access, in the
console's access log (:meth:`agi.booking.ledger.Ledger.log_access`), with the number masked;
also one log line with the privacy request it answers (never the data)."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

from agi.booking.access_log import AccessEntry, mask_phone
from agi.booking.store import Store

log = logging.getLogger(__name__)


def record_access(store: Store, actor: str, action: str, tenant_id: str, phone: str,
                  request_id: int | None) -> None:
    """Note that ``actor`` ("cli:<user>" or a console login) did ``action`` (export,
    erase, rectify, restriction, objection, lift ...) on ``phone``'s data at ``tenant_id``."""
    subject = mask_phone(phone)  # the console's subject of a person: the masked number
    cli = actor.startswith("cli:") or not actor
    store.log_access(AccessEntry(datetime.now(UTC), actor or "cli:?", action, tenant_id, subject,
                                 f"tty:{socket.gethostname()}" if cli else "",
                                 "cli" if cli else "console"))
    log.info("privacy %s by %s: tenant %s, %s, request %s", action, actor or "?", tenant_id,
             subject, request_id if request_id is not None else "-")
