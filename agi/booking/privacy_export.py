"""What both stores answer to a right-of-access request (GDPR article 15): the records
held about one phone number, as plain JSON-serialisable data.

The stores select the rows (:mod:`agi.booking.sqlite_privacy`,
:mod:`agi.booking.postgres_privacy`); this module only shapes them, so both backends give
the same document for the same data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from agi.booking.store import (
    Appointment,
    Caller,
    CallRecord,
    Lead,
    Message,
    OutboxItem,
    Turn,
)


def quoted(phone: str) -> str:
    """The LIKE pattern of ``phone`` as a JSON string value anywhere in a JSON text.

    Payloads hold the number as a JSON string: matching it with its quotes finds
    "+33612345678" but never a longer number that merely starts with it.
    """
    return f'%"{phone}"%'


def plain(value: Any) -> Any:
    """``value`` with datetimes as ISO-8601 text and dataclasses, mappings and sequences
    as dicts and lists: what :func:`json.dumps` accepts."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def person_export(tenant_id: str, phone: str, caller: Caller | None,
                  calls: Sequence[tuple[CallRecord, Sequence[Turn]]],
                  appointments: Sequence[Appointment], messages: Sequence[Message],
                  leads: Sequence[Lead], outbox: Sequence[OutboxItem]) -> dict[str, Any]:
    """The access document: one key per kind of record, oldest first within each."""
    return {
        "tenant_id": tenant_id,
        "phone": phone,
        "caller": plain(caller),
        "calls": [{**plain(call), "transcript": [
            {"seq": t.seq, "speaker": t.speaker, "text": t.text, "at": t.at.isoformat()}
            for t in turns]} for call, turns in calls],
        "appointments": [plain(a) for a in appointments],
        "messages": [plain(m) for m in messages],
        "leads": [plain(lead) for lead in leads],
        "outbox": [plain(item) for item in outbox],
    }


@dataclasses.dataclass(frozen=True)
class OutboxCandidate:
    """An outbox row whose payload holds the number being erased."""

    id: int
    status: str
    kind: str
    payload: Mapping[str, Any]
    leased_until: datetime | None


def outbox_to_erase(rows: Sequence[OutboxCandidate], kept_appointments: set[int],
                    now: datetime) -> list[int]:
    """Ids of the rows an erasure deletes.

    Sent and dead rows go. A pending row goes too (delivered later, it would hand the
    erased data to the business again), unless it notifies an appointment the erasure
    keeps (the business must still learn of it) or a worker is delivering it right now
    (deleting it under the worker would fail its delivery; the outbox purge removes it
    once sent).
    """
    doomed = []
    for row in rows:
        if row.status == "pending":
            if row.leased_until is not None and row.leased_until > now:
                continue
            if row.kind.startswith("appointment_") and \
                    row.payload.get("appointment_id") in kept_appointments:
                continue
        doomed.append(row.id)
    return doomed
