"""What a notification says: the summary text in the tenant's language and the iCalendar
event of an appointment. Pure functions of an outbox item, so every attempt of one item
produces the same bytes (a receiver comparing two deliveries sees the same thing).

The event's UID comes from the tenant and the appointment id, not from the outbox row:
the booking, its moves and its cancellation, sent by e-mail or put into a CalDAV
calendar, are the same event (RFC 5545 section 3.8.4.7), and a retried PUT overwrites
instead of adding. Its SEQUENCE is the appointment's revision (0 booked, +1 per move and
at the cancellation), so a calendar keeps the latest version (RFC 5546 section 2.1.4).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from agi.booking.store import OutboxItem
from agi.config import Tenant
from agi.notify import summary as call_summary

PRODID = "-//Permanence//Permanence receptionist//EN"

_TITLES = {
    "fr": {"appointment_booked": "Nouveau rendez-vous", "appointment_cancelled": "Rendez-vous annulé",
           "appointment_moved": "Rendez-vous déplacé", "message": "Nouveau message",
           "lead": "Nouvelle demande"},
    "en": {"appointment_booked": "New appointment", "appointment_cancelled": "Appointment cancelled",
           "appointment_moved": "Appointment moved", "message": "New message",
           "lead": "New request"},
}
_LABELS = {
    "fr": {"when": "Quand", "service": "Prestation", "resource": "Avec", "name": "Nom",
           "phone": "Téléphone", "call": "Appel", "text": "Message", "caller": "Appelant",
           "at": "Reçu le", "ref": "Référence", "previous": "Avant", "kind": "Demande"},
    "en": {"when": "When", "service": "Service", "resource": "With", "name": "Name",
           "phone": "Phone", "call": "Call", "text": "Message", "caller": "Caller",
           "at": "Received", "ref": "Reference", "previous": "Was", "kind": "Request"},
}


_WAITING = {
    "fr": "Un message vous attend : lisez-le dans la console Permanence.",
    "en": "A message is waiting: read it in the Permanence console.",
}


def redacted(item: OutboxItem, tenant: Tenant) -> OutboxItem:
    """``item`` as a tenant in health-data mode lets it leave (GDPR art. 9): no free text
    (the message, the caller's name, lead details, what a call collected), only that
    something is waiting and where to read it. Other tenants' items are unchanged."""
    if not tenant.privacy.health_data:
        return item
    p = dict(item.payload)
    if "text" in p:
        p["text"] = _WAITING[tenant.language]
    for key in ("name", "customer_name"):
        if key in p:
            p[key] = ""
    if "details" in p:
        p["details"] = {}
    return replace(item, payload=p)


def event_uid(tenant_id: str, appointment_id: int) -> str:
    """The iCalendar UID of an appointment, the same for every message about it."""
    return f"permanence-{tenant_id}-appointment-{appointment_id}@permanence"


def event_sequence(item: OutboxItem) -> int:
    """The iCalendar SEQUENCE of the event this item describes (the appointment's revision)."""
    revision = item.payload.get("revision")
    if isinstance(revision, int):
        return revision
    return 1 if item.kind == "appointment_cancelled" else 0


def _local(tenant: Tenant, iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(tenant.tz)


def subject(item: OutboxItem, tenant: Tenant) -> str:
    """One line: what happened, for whom, when (in the tenant's time zone)."""
    if item.kind == "call_summary":
        return call_summary.subject(item, tenant)
    title = _TITLES[tenant.language][item.kind]
    p = item.payload
    if item.kind == "message":
        who = p.get("name") or p.get("caller") or "?"
        return f"{title} – {who}"
    if item.kind == "lead":
        return f"{title} – {p.get('kind')} – {p.get('caller') or '?'}"
    return f"{title} – {_local(tenant, p['starts_at']):%Y-%m-%d %H:%M} – {p['customer_name']}"


def summary(item: OutboxItem, tenant: Tenant) -> str:
    """The plain-text body: one labelled line per fact, then the idempotency key."""
    if item.kind == "call_summary":
        return call_summary.body(item, tenant)
    labels = _LABELS[tenant.language]
    p = item.payload
    lines = [f"{tenant.name}: {_TITLES[tenant.language][item.kind]}", ""]
    if item.kind == "message":
        rows: list[tuple[str, Any]] = [
            ("name", p.get("name")), ("caller", p.get("caller")),
            ("at", f"{_local(tenant, p['created_at']):%Y-%m-%d %H:%M} ({tenant.timezone})"),
            ("call", p.get("call_id")), ("text", p.get("text"))]
    elif item.kind == "lead":
        rows = [("kind", p.get("kind")), ("caller", p.get("caller")),
                ("at", f"{_local(tenant, p['created_at']):%Y-%m-%d %H:%M} ({tenant.timezone})"),
                ("call", p.get("call_id"))]
        rows += [(str(k), v) for k, v in sorted(dict(p.get("details") or {}).items())]
    else:
        rows = [("when", _span(tenant, p)), ("service", p.get("service")),
                ("resource", p.get("resource")), ("name", p.get("customer_name")),
                ("phone", p.get("customer_phone")), ("call", p.get("call_id"))]
        if item.kind == "appointment_moved" and p.get("previous"):
            before = p["previous"]
            rows.insert(1, ("previous", f"{_span(tenant, before)}, {before.get('resource')}"))
    lines += [f"{labels.get(key, key)}: {value}" for key, value in rows if value]
    lines += ["", f"{labels['ref']}: {item.idempotency_key}"]
    return "\n".join(lines) + "\n"


def _span(tenant: Tenant, p: Any) -> str:
    start, end = _local(tenant, p["starts_at"]), _local(tenant, p["ends_at"])
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({tenant.timezone})"


def calendar_bytes(item: OutboxItem, tenant: Tenant, *, method: str | None) -> bytes:
    """A VCALENDAR holding the appointment's VEVENT.

    ``method`` is ``None`` for a CalDAV resource (RFC 4791 section 4.1 forbids METHOD
    there) and PUBLISH or CANCEL for an e-mail attachment (RFC 5546).
    """
    from icalendar import Calendar, Event  # only the notification adapters need it

    p = item.payload
    cancelled = item.kind == "appointment_cancelled"
    event = Event()
    event.add("uid", event_uid(item.tenant_id, int(p["appointment_id"])))
    event.add("dtstamp", item.created_at)
    event.add("dtstart", datetime.fromisoformat(p["starts_at"]))
    event.add("dtend", datetime.fromisoformat(p["ends_at"]))
    event.add("summary", f"{p['service']} – {p['customer_name']}")
    event.add("description", summary(item, tenant))
    # A later SEQUENCE supersedes an earlier one in calendar clients (RFC 5546 2.1.4).
    # Payloads queued before revisions existed have none: booked 0, cancelled 1.
    event.add("sequence", event_sequence(item))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
