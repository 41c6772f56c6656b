"""Who read, exported, rectified or erased whose data: one call per access.

The console keeps its own access log in the database; until both land together,
:func:`record_access` writes one line to the ``agi.privacy.access`` logger (the number
shortened, never the data), and is the one place to wire to that access log.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def masked(phone: str) -> str:
    """"+336****5678": enough to tell entries apart, not to call the person."""
    return phone[:4] + "*" * max(0, len(phone) - 8) + phone[-4:] if len(phone) > 8 else "****"


def record_access(actor: str, action: str, tenant_id: str, phone: str,
                  request_id: int | None) -> None:
    """Note that ``actor`` did ``action`` on ``phone``'s data at ``tenant_id``."""
    log.info("privacy %s by %s: tenant %s, number %s, request %s", action, actor or "?",
             tenant_id, masked(phone), request_id if request_id is not None else "-")
