"""The store interface: calls, turns, callers, appointments, messages and leads.

The call controller and the dialogue actions depend on :class:`Store` only; SQLite
(:mod:`agi.booking.sqlite`) is the embedded default and PostgreSQL implements the same
interface. All datetimes are timezone-aware (stored as UTC, returned as UTC).
Implementations convert their driver's errors to :class:`agi.errors.StoreError`.
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from agi.booking.ledger import Ledger
from agi.booking.privacy_register import PrivacyRegister
from agi.errors import StoreError

Speaker = Literal["caller", "agent"]
AppointmentStatus = Literal["booked", "moved", "cancelled"]
OutboxKind = Literal["appointment_booked", "appointment_moved", "appointment_cancelled", "message",
                     "lead", "erasure"]
OutboxStatus = Literal["pending", "sent", "dead"]
# Who the business wants told of what: (tenant id, kind) -> target keys such as
# "email:office" (agi.notify.targets_for builds it from the tenants' [[tenants.notify]]).
# Stores call it inside the writing transaction.
TargetsFor = Callable[[str, OutboxKind], Sequence[str]]


@dataclass(frozen=True)
class CallRecord:
    """One call as the business reads it."""

    call_id: str
    tenant_id: str
    caller: str  # E.164 when it could be parsed, else as the PBX gave it ("" if withheld)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = ""  # booked, moved, cancelled, pending, message, transfer, hangup, error, ...
    data: Mapping[str, Any] = field(default_factory=dict)  # everything collected (slots)
    language: str = "fr"
    channel: str = ""  # PBX channel name / unique id


@dataclass(frozen=True)
class Turn:
    call_id: str
    seq: int
    speaker: Speaker
    text: str
    at: datetime


@dataclass(frozen=True)
class Appointment:
    id: int
    tenant_id: str
    resource: str
    service: str
    starts_at: datetime
    ends_at: datetime
    customer_name: str
    customer_phone: str
    status: AppointmentStatus = "booked"
    call_id: str = ""  # the call that booked it (kept across moves)
    # the resource stays blocked this long after ends_at (the service's buffer)
    buffer_min: int = 0
    # 0 when booked, +1 at each move and at the cancellation (the iCalendar SEQUENCE)
    revision: int = 0
    moved_by_call: str = ""  # the call that moved it last

    @property
    def blocked_until(self) -> datetime:
        """End of the time no other appointment may take on this resource."""
        return self.ends_at + timedelta(minutes=self.buffer_min)


@dataclass(frozen=True)
class NewAppointment:
    tenant_id: str
    resource: str
    service: str
    starts_at: datetime
    ends_at: datetime
    customer_name: str
    customer_phone: str
    call_id: str = ""
    buffer_min: int = 0


@dataclass(frozen=True)
class Message:
    id: int
    tenant_id: str
    call_id: str
    caller: str
    name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Caller:
    """A phone number that called a tenant (E.164), with the name it last gave."""

    tenant_id: str
    phone: str
    name: str
    first_seen: datetime
    last_seen: datetime
    calls: int


@dataclass(frozen=True)
class Lead:
    """A request that is not an appointment (a quote, a call-back about a product...):
    ``kind`` names it, ``details`` holds what the caller said, as the dialogue collected it."""

    id: int
    tenant_id: str
    call_id: str
    caller: str
    kind: str
    details: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class OutboxItem:
    """One notification owed to one target of the business (a row of the outbox).

    Written in the same transaction as the booking, cancellation or message it reports,
    so it exists if and only if that write committed. ``idempotency_key`` never changes
    between attempts: receivers use it to drop a repeated delivery.
    """

    id: int
    tenant_id: str
    kind: OutboxKind
    target: str  # "email:office", "webhook:crm", "caldav:agenda"
    payload: Mapping[str, Any]
    idempotency_key: str
    status: OutboxStatus
    attempts: int  # failed attempts so far
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True)
class PurgeCutoffs:
    """What :meth:`Store.purge` removes: everything strictly older than each instant.

    ``calls``: call records (started before), their transcripts and data, and caller rows
    last seen before. ``messages``: messages and leads (created before); failed ("dead")
    outbox rows created before as well. ``appointments``: appointments that ended before
    lose their customer's name and number. ``outbox``: sent outbox rows sent before.
    """

    calls: datetime
    messages: datetime
    appointments: datetime
    outbox: datetime


@dataclass(frozen=True)
class PurgeReport:
    """How many rows of each kind a purge or an erasure removed (or would, in a dry run).

    ``appointments`` counts rows anonymised, not deleted. ``upcoming`` lists appointments
    :meth:`Store.erase_person` kept because they are still to come: the business decides
    whether to cancel them with the person.
    """

    calls: int = 0
    turns: int = 0
    callers: int = 0
    messages: int = 0
    leads: int = 0
    appointments: int = 0
    outbox: int = 0
    upcoming: tuple[Appointment, ...] = ()

    @property
    def total(self) -> int:
        """Rows deleted or anonymised, all kinds together."""
        return (self.calls + self.turns + self.callers + self.messages + self.leads
                + self.appointments + self.outbox)

    def counts(self) -> dict[str, int]:
        """The counts by kind, in a fixed order (for logs and the CLI)."""
        return {"calls": self.calls, "turns": self.turns, "callers": self.callers,
                "messages": self.messages, "leads": self.leads,
                "appointments": self.appointments, "outbox": self.outbox}


class Store(Ledger, abc.ABC):
    """Where calls, turns, appointments, messages and the outbox are kept. Thread-safe.

    A store built with ``targets_for`` (tenant id -> target keys) writes one outbox row
    per target in the same transaction as :meth:`book`, :meth:`move`, :meth:`cancel`
    (when it changes the status), :meth:`add_message` and :meth:`add_lead`; without it,
    nothing is queued.

    Callers: :meth:`start_call` and :meth:`set_caller` keep the ``callers`` table up to
    date for E.164 numbers (first and last seen, number of calls); other numbers (withheld,
    internal extensions) are not tracked.
    """

    # calls ---------------------------------------------------------------
    @abc.abstractmethod
    def start_call(self, call: CallRecord) -> None:
        """Record a new call (before anything the caller says is stored)."""

    @abc.abstractmethod
    def set_caller(self, call_id: str, caller: str) -> None:
        """Attach the caller's number once the privacy notice has played (and count the
        call for that number in ``callers``)."""

    @abc.abstractmethod
    def add_turn(self, call_id: str, speaker: Speaker, text: str, at: datetime) -> Turn:
        """Append one utterance to the call's transcript."""

    @abc.abstractmethod
    def update_call_data(self, call_id: str, data: Mapping[str, Any]) -> None:
        """Replace what the call has collected so far (partial slots survive a hang-up)."""

    @abc.abstractmethod
    def end_call(self, call_id: str, ended_at: datetime, outcome: str,
                 data: Mapping[str, Any] | None = None) -> None:
        """Close the call record with its outcome."""

    @abc.abstractmethod
    def get_call(self, call_id: str) -> CallRecord | None: ...

    @abc.abstractmethod
    def list_calls(self, tenant_id: str | None = None, limit: int = 100) -> Sequence[CallRecord]: ...

    @abc.abstractmethod
    def transcript(self, call_id: str) -> Sequence[Turn]: ...

    # The controller recorded on the calls this store starts (agi.booking.recovery).
    owner: str = ""

    @abc.abstractmethod
    def open_call_ids(self, owner: str | None = None, limit: int = 10_000) -> Sequence[str]:
        """Calls without an end, oldest first: those ``owner`` started, or every owner's
        with ``None`` (a crash's leftovers, closed at start-up)."""

    # callers -------------------------------------------------------------
    @abc.abstractmethod
    def touch_caller(self, tenant_id: str, phone: str, at: datetime, *, name: str | None = None,
                     new_call: bool = False) -> Caller:
        """Record that ``phone`` was seen at ``at`` (a name given replaces the one known;
        ``new_call`` counts one more call). :class:`ValueError` if not E.164."""

    @abc.abstractmethod
    def caller(self, tenant_id: str, phone: str) -> Caller | None: ...

    # appointments --------------------------------------------------------
    @abc.abstractmethod
    def book(self, appt: NewAppointment) -> Appointment:
        """Write an appointment; raise :class:`agi.errors.SlotTaken` if its blocked time
        [start, end + buffer) overlaps that of another non-cancelled one for the same
        tenant and resource (checked atomically)."""

    @abc.abstractmethod
    def move(self, appointment_id: int, new_start: datetime, new_end: datetime, *,
             resource: str | None = None, buffer_min: int | None = None,
             call_id: str = "") -> Appointment:
        """Give the appointment a new time (and resource): the same row, status "moved",
        revision + 1, the old time freed, an ``appointment_moved`` notification queued, all
        in one transaction. :class:`agi.errors.SlotTaken` under the same overlap rule as
        :meth:`book` (the appointment never conflicts with itself); :class:`StoreError` if
        it is unknown or cancelled. ``resource``/``buffer_min`` ``None`` keep the current
        ones; ``call_id`` is recorded as ``moved_by_call``."""

    @abc.abstractmethod
    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        """Non-cancelled appointments whose blocked time [start, blocked_until) overlaps
        [start, end)."""

    @abc.abstractmethod
    def appointments_for_caller(self, tenant_id: str, phone: str) -> Sequence[Appointment]:
        """Upcoming and past non-cancelled appointments booked under this phone number."""

    @abc.abstractmethod
    def cancel(self, appointment_id: int) -> Appointment: ...

    # messages ------------------------------------------------------------
    @abc.abstractmethod
    def add_message(self, tenant_id: str, call_id: str, caller: str, name: str, text: str,
                    at: datetime) -> Message: ...

    @abc.abstractmethod
    def messages(self, tenant_id: str) -> Sequence[Message]: ...

    # leads -----------------------------------------------------------------
    @abc.abstractmethod
    def add_lead(self, tenant_id: str, call_id: str, caller: str, kind: str,
                 details: Mapping[str, Any], at: datetime) -> Lead:
        """Keep a request that is not an appointment (queues a ``lead`` notification)."""

    @abc.abstractmethod
    def leads(self, tenant_id: str) -> Sequence[Lead]:
        """The tenant's leads, oldest first."""

    # outbox ---------------------------------------------------------------
    @abc.abstractmethod
    def claim_outbox(self, now: datetime, limit: int, lease_s: float) -> Sequence[OutboxItem]:
        """Lease up to ``limit`` pending items due at ``now`` (oldest due first).

        A leased item is invisible to other claimers for ``lease_s`` seconds, so several
        workers (threads, processes, hosts) never send one item at the same time; an item
        whose worker died is claimed again once its lease has run out.
        """

    @abc.abstractmethod
    def outbox_sent(self, item_id: int, at: datetime) -> None:
        """Mark the item delivered (it is never claimed again)."""

    @abc.abstractmethod
    def outbox_failed(self, item_id: int, error: str, next_attempt_at: datetime,
                      dead: bool = False, *, attempted: bool = True) -> None:
        """Record a failed delivery: retry at ``next_attempt_at``, or never when ``dead``.

        ``attempted=False`` releases an item that was not tried (its target was failing
        already) without counting an attempt against it.
        """

    @abc.abstractmethod
    def outbox(self, tenant_id: str | None = None,
               status: OutboxStatus | None = None) -> Sequence[OutboxItem]:
        """Outbox rows, oldest first, for inspection (``permanence``, tests)."""

    # personal data (GDPR articles 5(1)(e), 15 and 17; agi.privacy) ------------------
    @abc.abstractmethod
    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        """Delete or anonymise what is older than the cut-offs, one transaction per kind.

        Pending outbox rows are never touched (the business is still owed them).
        Idempotent: a second run with the same cut-offs reports zeros. ``dry_run`` runs
        the same statements and rolls them back, so its counts are the real ones.
        """

    @abc.abstractmethod
    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        """Right to erasure for one E.164 number of one tenant, in one transaction.

        Deleted: the calls it made (with transcripts and data), its messages, leads and
        caller row, and outbox rows whose payload holds the number (sent, dead, and
        pending ones not being delivered at this moment), except pending notifications
        of the appointments kept. Appointments booked under the number that ended
        before ``now`` (or were cancelled) lose name and number; upcoming live ones are
        kept and listed in ``upcoming``: the business has to honour or cancel them with
        the person, the store cannot decide that. Other numbers are untouched.
        """

    @abc.abstractmethod
    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        """Right of access: everything held about the number, as JSON-serialisable data
        (``caller``, ``calls`` with their ``transcript``, ``appointments`` of every status,
        ``messages``, ``leads``, ``outbox``)."""

    def privacy(self) -> PrivacyRegister:
        """The register of privacy requests, flags and rectification on this store's database."""
        raise StoreError(f"{type(self).__name__} keeps no privacy register")

    def reseal(self, transform: Callable[[str, Any], Any]) -> int:
        """Rewrite every stored free-text value (turn and message ``"text"``, call data and
        lead details ``"doc"``, outbox ``"payload"``) as ``transform(kind, value)`` returns
        it, one transaction per table; the number of values changed. What
        :mod:`agi.privacy.sealed` encrypts existing rows and rotates keys with."""
        raise StoreError(f"{type(self).__name__} cannot re-encrypt its rows")

    def close(self) -> None:  # noqa: B027 - optional hook: stores without resources keep it
        """Release connections."""


def dump_call_data(data: Mapping[str, Any]) -> str:
    """Call data as JSON text; dates and times the dialogue collected stay readable (ISO)."""

    def default(value: object) -> str:
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    try:
        return json.dumps(dict(data), ensure_ascii=False, default=default)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"call data cannot be stored as JSON: {exc}") from exc


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def is_e164(phone: str) -> bool:
    """True for a number in E.164 form (what :mod:`agi.dialogue.normalize` produces)."""
    return bool(_E164.fullmatch(phone or ""))
