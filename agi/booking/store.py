"""The store interface: calls, turns, appointments and messages.

The call controller and the dialogue actions depend on :class:`Store` only; SQLite
(:mod:`agi.booking.sqlite`) is the embedded default and PostgreSQL implements the same
interface. All datetimes are timezone-aware (stored as UTC, returned as UTC).
Implementations convert their driver's errors to :class:`agi.errors.StoreError`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Speaker = Literal["caller", "agent"]
AppointmentStatus = Literal["booked", "moved", "cancelled"]


@dataclass(frozen=True)
class CallRecord:
    """One call as the business reads it."""

    call_id: str
    tenant_id: str
    caller: str  # E.164 when it could be parsed, else as the PBX gave it ("" if withheld)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = ""  # booked, cancelled, message, transfer, hangup, error, ...
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
    call_id: str = ""


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


@dataclass(frozen=True)
class Message:
    id: int
    tenant_id: str
    call_id: str
    caller: str
    name: str
    text: str
    created_at: datetime


class Store(abc.ABC):
    """Where calls, turns, appointments and messages are kept. Thread-safe."""

    # calls ---------------------------------------------------------------
    @abc.abstractmethod
    def start_call(self, call: CallRecord) -> None:
        """Record a new call (before anything the caller says is stored)."""

    @abc.abstractmethod
    def set_caller(self, call_id: str, caller: str) -> None:
        """Attach the caller's number once the privacy notice has played."""

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

    # appointments --------------------------------------------------------
    @abc.abstractmethod
    def book(self, appt: NewAppointment) -> Appointment:
        """Write an appointment; raise :class:`agi.errors.SlotTaken` if it overlaps another
        non-cancelled one for the same tenant and resource (checked atomically)."""

    @abc.abstractmethod
    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        """Non-cancelled appointments overlapping [start, end)."""

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

    def close(self) -> None:  # noqa: B027 - optional hook: stores without resources keep it
        """Release connections."""
