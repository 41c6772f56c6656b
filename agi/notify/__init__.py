"""Transmission to the business: the outbox worker and its senders (e-mail, web hook,
CalDAV). See docs/notifications.md for the delivery guarantee.

Only the worker is imported here; the senders import their libraries (httpx, caldav,
icalendar) when :func:`default_senders` or their own module is imported.
"""

from agi.notify.outbox import (
    KINDS_BY_TARGET,
    OutboxWorker,
    RetryPolicy,
    Sender,
    default_senders,
    targets_for,
)

__all__ = [
    "KINDS_BY_TARGET",
    "OutboxWorker",
    "RetryPolicy",
    "Sender",
    "default_senders",
    "targets_for",
]
