"""Appointments into the business's calendar over CalDAV (the ``caldav`` library).

Each appointment is one calendar object resource whose UID comes from the appointment id
(:func:`agi.notify.render.event_uid`); the library PUTs it at ``<calendar>/<uid>.ics``.
A retried PUT therefore overwrites the same resource and the calendar never shows the
appointment twice (RFC 4791 section 5.3.2: a resource is identified by its URL, and a
calendar holds one resource per UID). A cancellation PUTs the same event with
``STATUS:CANCELLED`` rather than deleting it: the business sees what was cancelled, and
a repeated cancellation is as harmless as a repeated booking.

Order: a booking or move retried after a later change went through must not bring the
old version back, so an event is not written over one that is cancelled or has a higher
SEQUENCE (a move PUTs the same UID with the new times and the next SEQUENCE).

An erasure (``kind = "erasure"``) deletes the events of the person's appointments.

Messages are not calendar entries: :func:`agi.notify.outbox.targets_for` never queues
them for CalDAV targets.
"""

from __future__ import annotations

from collections.abc import Coroutine

from agi.booking.store import OutboxItem
from agi.config import CalDavTarget, NotifyTarget, Tenant
from agi.errors import DeliveryError
from agi.notify.render import calendar_bytes, event_sequence, event_uid

try:
    from caldav.collection import Calendar
    from caldav.davclient import DAVClient
    from caldav.lib import error as dav_error
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise DeliveryError("CalDAV notifications need the caldav library: pip install caldav",
                        permanent=True) from exc

# Per HTTP request (the library's timeout is whole seconds).
CALDAV_TIMEOUT_S = 15
# Statuses that mean "this request will never be accepted" (others may pass later: 401 and
# 403 once the operator fixes the credentials, 404 once the calendar exists, 408, 429).
_PERMANENT = frozenset({400, 405, 409, 410, 411, 412, 413, 415, 422})


class CalDavSender:
    """PUT appointment events into :class:`CalDavTarget` calendars."""

    kind = "caldav"

    def __init__(self, *, timeout: int = CALDAV_TIMEOUT_S) -> None:
        self._timeout = timeout

    def send(self, item: OutboxItem, target: NotifyTarget, tenant: Tenant) -> None:
        if not isinstance(target, CalDavTarget):
            raise TypeError(f"CalDavSender cannot send to {target.key}")
        if not item.kind.startswith("appointment_") and item.kind != "erasure":
            return  # messages and leads are not calendar entries (never queued; tolerated)
        try:
            with DAVClient(url=target.url, username=target.username or None,
                                  password=target.password or None, timeout=self._timeout,
                                  require_tls=False) as client:
                calendar = self._calendar(client, target)
                if item.kind == "erasure":
                    self._erase(calendar, item)
                    return
                uid = event_uid(item.tenant_id, int(item.payload["appointment_id"]))
                if item.kind != "appointment_cancelled" and self._superseded(
                        calendar, uid, event_sequence(item)):
                    return
                calendar.add_event(calendar_bytes(item, tenant, method=None).decode(),
                                   increase_seqno=False)
        except dav_error.DAVError as exc:
            status = exc.status
            raise DeliveryError(f"CalDAV {target.key}: {type(exc).__name__} (HTTP {status})",
                                permanent=status in _PERMANENT) from exc
        except OSError as exc:  # connection refused or reset, timeout, TLS
            raise DeliveryError(f"CalDAV {target.key} unreachable: {type(exc).__name__}") from exc

    @staticmethod
    def _calendar(client: DAVClient, target: CalDavTarget) -> Calendar:
        if not target.calendar:
            return client.calendar(url=target.url)
        if "://" in target.calendar:
            return client.calendar(url=target.calendar)
        for calendar in client.principal().calendars():
            if calendar.get_display_name() == target.calendar:
                return calendar
        raise DeliveryError(f"CalDAV {target.key}: no calendar named {target.calendar!r} for "
                            "this user (create it, or give its URL as calendar)")

    @staticmethod
    def _erase(calendar: Calendar, item: OutboxItem) -> None:
        """Delete the events of the erased person's appointments (GDPR art. 17, 19); one
        already gone is fine, so a retried erasure is harmless."""
        for appointment_id in item.payload.get("appointment_ids", []):
            try:
                event = calendar.event_by_uid(event_uid(item.tenant_id, int(appointment_id)))
            except dav_error.NotFoundError:
                continue
            assert not isinstance(event, Coroutine)
            event.delete()

    @staticmethod
    def _superseded(calendar: Calendar, uid: str, sequence: int) -> bool:
        try:
            existing = calendar.event_by_uid(uid)
        except dav_error.NotFoundError:
            return False
        # The library types its methods for sync and async clients; ours is synchronous.
        assert not isinstance(existing, Coroutine)
        component = existing.icalendar_component
        if str(component.get("status", "")).upper() == "CANCELLED":
            return True
        return int(component.get("sequence", 0)) > sequence
