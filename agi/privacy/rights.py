"""The data subject's rights as operations a business runs (GDPR art. 12 to 21).

:class:`PrivacyRights` is what the CLI (``permanence privacy rectify|restrict|...``) and
the web console call: each operation records the request in the register
(:class:`~agi.booking.privacy_register.PrivacyRegister`) with how the person's identity
was checked and when the answer is due, does what the right asks, and records the answer.

* Rectification (art. 16): the number or name on calls, appointments, messages, leads and
  the caller row; the old value is kept only in the request entry.
* Restriction (art. 18): the data stays but is not used: notifications about the person
  are held (:func:`held_back`), the console shows it to admins only, until lifted.
* Objection (art. 21): "do not contact": notifications about the person are suppressed,
  and :func:`may_contact` says no to any call-back offer.
* Access and portability (art. 15, 20): the export, a versioned JSON document
  (docs/privacy-export.schema.json).
* Erasure (art. 17): :meth:`agi.booking.store.Store.erase_person`.

Due dates follow art. 12(3): one month from receipt, extendable by two further months
with a reason; "one month" is the calendar rule (the same day number of the next month,
or its last day when it has no such day: 31 January -> 28 or 29 February).
Times come from an injected clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agi.booking.privacy_register import (
    Flag,
    PersonFlags,
    PrivacyRegister,
    PrivacyRequest,
    RequestKind,
)
from agi.booking.store import OutboxItem, PurgeReport, Store, is_e164
from agi.config import Settings
from agi.errors import StoreError
from agi.privacy.access import record_access

# art. 12(3): one month, extendable "by two further months where necessary"
ANSWER_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
# A held notification (restricted person) is looked at again this often until lifted.
HOLD_S = 3600.0
EXPORT_VERSION = 1


def add_months(when: datetime, months: int) -> datetime:
    """``when`` plus calendar months: the same day number, or the month's last day."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def due_date(received_at: datetime) -> datetime:
    """When the answer to a request received at ``received_at`` is due (art. 12(3))."""
    return add_months(received_at, ANSWER_MONTHS)


def days_left(request: PrivacyRequest, now: datetime) -> int:
    """Whole days until the deadline (negative once overdue)."""
    return (request.deadline - now) // timedelta(days=1)


def overdue(register: PrivacyRegister, now: datetime) -> list[PrivacyRequest]:
    """Open requests past their deadline."""
    return [r for r in register.requests(open_only=True) if r.deadline < now]


def health_fields(store: Store, now: datetime) -> dict[str, Any]:
    """What ``/health`` reports about requests: counts and one warning if any is overdue."""
    register = store.privacy()
    open_ = register.requests(open_only=True)
    late = [r for r in open_ if r.deadline < now]
    warnings = [f"{len(late)} privacy request(s) overdue (GDPR art. 12(3)): "
                "permanence privacy requests --open"] if late else []
    return {"privacy_requests_open": len(open_), "privacy_requests_overdue": len(late),
            "warnings": warnings}


def privacy_status(store: Store | None, now: datetime | None = None) -> dict[str, Any]:
    """:func:`health_fields` for the server's ``status()``; nothing without a store, and
    ``privacy_requests: "unknown"`` while the database does not answer (the store's own
    health says why)."""
    if store is None:
        return {}
    try:
        return health_fields(store, now or datetime.now(UTC))
    except StoreError:
        return {"privacy_requests": "unknown"}


@dataclass(frozen=True)
class Answered:
    """A request and what answering it produced (an export, an erasure report...)."""

    request: PrivacyRequest
    result: Any = None


class PrivacyRights:
    """The rights on one store, with an injected clock; ``by`` names who acts (a login,
    "cli:<user>"), kept with the answer. Without ``settings`` an erasure reaches no
    receiver (tests, tools without notification targets)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings  # the notification targets an erasure is told to
        self.register = store.privacy()
        self._clock = clock or (lambda: datetime.now(UTC))

    # the register ------------------------------------------------------------------------
    def receive(self, tenant_id: str, phone: str, kind: RequestKind, identity_check: str,
                received_at: datetime | None = None) -> PrivacyRequest:
        """Record a request as received (the deadline runs from ``received_at``)."""
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        if not identity_check.strip():
            raise ValueError("say how the person's identity was checked (art. 12(6)), e.g. "
                             "'called back on the number', 'ID shown at the desk'")
        at = received_at or self._clock()
        return self.register.add_request(tenant_id, phone, kind, at, due_date(at),
                                         identity_check.strip())

    def extend(self, request_id: int, months: int, reason: str) -> PrivacyRequest:
        """Push the deadline by ``months`` (1 or 2) further months; a reason is required
        and must be told to the person within the first month."""
        request = self._open(request_id)
        if not 1 <= months <= MAX_EXTENSION_MONTHS:
            raise ValueError(f"an extension is 1 or {MAX_EXTENSION_MONTHS} months, not {months}")
        if not reason.strip():
            raise ValueError("an extension needs its reason (art. 12(3))")
        until = add_months(request.received_at, ANSWER_MONTHS + months)
        return self.register.extend_request(request_id, until, reason.strip())

    def answer(self, request_id: int, by: str, details: Mapping[str, Any] | None = None,
               *, done: bool = True) -> PrivacyRequest:
        """Record the answer (``done=False``: keep it open, only note the progress)."""
        request = self._open(request_id)
        merged = {**request.details, **(details or {})}
        return self.register.answer_request(request_id, self._clock() if done else None, by,
                                            merged)

    def _open(self, request_id: int) -> PrivacyRequest:
        request = self.register.request(request_id)
        if request is None:
            raise ValueError(f"no privacy request {request_id}")
        if not request.is_open:
            raise ValueError(f"privacy request {request_id} was answered on "
                             f"{request.answered_at.isoformat() if request.answered_at else ''}")
        return request

    # the rights ---------------------------------------------------------------------------
    def rectify(self, tenant_id: str, phone: str, *, identity_check: str, by: str,
                new_phone: str | None = None, new_name: str | None = None) -> Answered:
        if new_phone is None and new_name is None:
            raise ValueError("give the right number or the right name")
        if new_phone is not None and not is_e164(new_phone):
            raise ValueError(f"{new_phone!r} is not an E.164 number")
        request = self.receive(tenant_id, phone, "rectification", identity_check)
        old_names = _names(self.store.personal_data(tenant_id, phone)) if new_name is not None else []
        report = self.register.rectify(tenant_id, phone, new_phone=new_phone, new_name=new_name)
        change: dict[str, Any] = {"counts": report.counts()}
        if new_phone is not None:
            change["phone"] = {"old": phone, "new": new_phone}
        if new_name is not None:
            change["name"] = {"old": ", ".join(old_names), "new": new_name}
        record_access(self.store, by, "rectify", tenant_id, phone, request.id)
        return Answered(self.answer(request.id, by, change), report)

    def restrict(self, tenant_id: str, phone: str, *, identity_check: str, by: str) -> Answered:
        return self._flag(tenant_id, phone, "restriction", identity_check, by)

    def object(self, tenant_id: str, phone: str, *, identity_check: str, by: str) -> Answered:
        return self._flag(tenant_id, phone, "objection", identity_check, by)

    def _flag(self, tenant_id: str, phone: str, kind: RequestKind, identity_check: str,
              by: str) -> Answered:
        request = self.receive(tenant_id, phone, kind, identity_check)
        flag: Flag = "restricted" if kind == "restriction" else "objected"
        flags = self.register.set_flag(tenant_id, phone, flag, self._clock())
        record_access(self.store, by, "restrict" if kind == "restriction" else "object",
                      tenant_id, phone, request.id)
        return Answered(self.answer(request.id, by, {"flag": flag}), flags)

    def lift(self, tenant_id: str, phone: str, flag: Flag, *, by: str) -> PersonFlags:
        """Lift a restriction (art. 18(3): tell the person first) or an objection the
        person withdrew; noted on the request that set it."""
        if flag not in ("restricted", "objected"):
            raise ValueError(f"unknown flag {flag!r}")
        kind = "restriction" if flag == "restricted" else "objection"
        setting = next((r for r in reversed(self.register.requests(tenant_id))
                        if r.phone == phone and r.kind == kind), None)
        flags = self.register.set_flag(tenant_id, phone, flag, None)
        if setting is not None:
            self.register.answer_request(setting.id, setting.answered_at or self._clock(),
                                         setting.answered_by, {**setting.details,
                                                               "lifted_at": self._clock().isoformat(),
                                                               "lifted_by": by})
        record_access(self.store, by, f"lift_{kind}", tenant_id, phone,
                      setting.id if setting else None)
        return flags

    def access(self, tenant_id: str, phone: str, *, identity_check: str, by: str,
               kind: RequestKind = "access") -> Answered:
        """The export (art. 15; ``kind="portability"`` for art. 20), answered at once."""
        request = self.receive(tenant_id, phone, kind, identity_check)
        document = export_document(self.store, tenant_id, phone, self._clock())
        record_access(self.store, by, "export", tenant_id, phone, request.id)
        return Answered(self.answer(request.id, by, {"exported": True}), document)

    def erase(self, tenant_id: str, phone: str, *, identity_check: str, by: str) -> Answered:
        """Erasure (art. 17) in the store, then told to every copy (art. 19): a signed
        ``erasure`` event to the tenant's web hooks, the deletion of the person's
        appointment events from its CalDAV calendars (both retried through the outbox),
        and the list of e-mails already sent, which cannot be recalled. The request stays
        open until every copy confirmed (:func:`settle_erasure`)."""
        request = self.receive(tenant_id, phone, "erasure", identity_check)
        before = self.store.personal_data(tenant_id, phone)
        theirs = {c["call_id"] for c in before["calls"]}
        audio = [r for r in self.register.recordings(tenant_id) if r.call_id in theirs]
        now = self._clock()
        report: PurgeReport = self.store.erase_person(tenant_id, phone, now=now)
        for row in audio:  # the rows went with the calls; the files go now
            Path(row.path).unlink(missing_ok=True)
        record_access(self.store, by, "erase", tenant_id, phone, request.id)
        kept = {a.id for a in report.upcoming}
        copies = self._tell_copies(request, phone, [
            a["id"] for a in before["appointments"] if a["id"] not in kept], now)
        details = {"counts": report.counts(), "upcoming_kept": sorted(kept),
                   "recordings": len(audio),
                   "copies": copies, "erased_by": by,
                   "emails_sent": [{"target": i["target"], "kind": i["kind"],
                                    "sent_at": i["sent_at"]} for i in before["outbox"]
                                   if i["target"].startswith("email:") and i["sent_at"]]}
        return Answered(self.answer(request.id, by, details, done=not copies), report)

    def _tell_copies(self, request: PrivacyRequest, phone: str, appointment_ids: list[int],
                     now: datetime) -> list[str]:
        if self.settings is None:
            return []
        from agi.notify.outbox import targets_for  # notify is above privacy in the layers

        targets = targets_for(self.settings)(request.tenant_id, "erasure")
        payload = {"request_id": request.id, "tenant_id": request.tenant_id, "phone": phone,
                   "appointment_ids": appointment_ids, "erased_at": now.isoformat()}
        return self.register.queue_notice(request.tenant_id, "erasure", targets, request.id,
                                          payload)


def settle_erasure(store: Store, request_id: int, now: datetime) -> PrivacyRequest | None:
    """Close an erasure request once every copy it was told to reached its receiver
    (called when an erasure notice is marked sent); the request, or None if unknown."""
    register = store.privacy()
    request = register.request(request_id)
    if request is None or not request.is_open or request.kind != "erasure":
        return request
    keys = set(request.details.get("copies", []))
    sent = {i.idempotency_key for i in store.outbox(request.tenant_id, "sent")
            if i.kind == "erasure"}
    if not keys <= sent:
        return request
    return register.answer_request(request.id, now, str(request.details.get("erased_by", "")),
                                   {**request.details, "copies_done_at": now.isoformat()})


def may_contact(store: Store, tenant_id: str, phone: str) -> bool:
    """False when the person objected or restricted their data: no call-back offer, no
    lead sent about them (the dialogue asks this before offering one)."""
    return not is_e164(phone) or store.privacy().may_contact(tenant_id, phone)


def export_document(store: Store, tenant_id: str, phone: str, now: datetime) -> dict[str, Any]:
    """The versioned export (docs/privacy-export.schema.json) of one number."""
    data = store.personal_data(tenant_id, phone)
    flags = store.privacy().flags(tenant_id, phone)
    return {"format": "permanence-personal-data", "version": EXPORT_VERSION,
            "exported_at": now.isoformat(), **data,
            "restricted_since": _iso(flags.restricted_since),
            "objected_since": _iso(flags.objected_since)}


def _names(data: Mapping[str, Any]) -> list[str]:
    """The names the person is known by in an export, in order of first appearance."""
    found = [(data.get("caller") or {}).get("name", "")]
    found += [a["customer_name"] for a in data["appointments"]]
    found += [m["name"] for m in data["messages"]]
    return list(dict.fromkeys(n for n in found if n))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def item_person(item: OutboxItem) -> str:
    """The number an outbox item is about ("" if none)."""
    payload = item.payload
    return str(payload.get("customer_phone") or payload.get("caller") or "")


def held_back(store: Store, items: list[OutboxItem], now: datetime) -> list[OutboxItem]:
    """The claimed items that may go; the others are held (restriction: retried every
    HOLD_S until lifted) or dropped for good (objection: marked dead, never sent)."""
    register = store.privacy()
    free = []
    for item in items:
        phone = item_person(item)
        flags = register.flags(item.tenant_id, phone) if phone and item.kind != "erasure" \
            else PersonFlags(item.tenant_id, phone)
        if flags.objected:
            store.outbox_failed(item.id, "suppressed: the person objected (GDPR art. 21)", now,
                                dead=True, attempted=False)
        elif flags.restricted:
            store.outbox_failed(item.id, "held: the person's data is restricted (GDPR art. 18)",
                                now + timedelta(seconds=HOLD_S), attempted=False)
        else:
            free.append(item)
    return free
