"""The store's side of the data subject's rights: the register of requests (GDPR art. 12(3),
5(2)), the restriction and objection flags (art. 18, 21) and rectification (art. 16).

:meth:`agi.booking.store.Store.privacy` gives a :class:`PrivacyRegister` for the store's
database; :mod:`agi.privacy.rights` builds the rules on it (due dates, what each right
does) and the CLI and the web console call those. Both backends implement it in
:mod:`agi.booking.sqlite_privacy` and :mod:`agi.booking.postgres_privacy`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # agi.booking.store imports this module
    from agi.booking.store import OutboxKind

RequestKind = Literal["access", "rectification", "erasure", "restriction", "objection",
                      "portability"]
REQUEST_KINDS: tuple[RequestKind, ...] = ("access", "rectification", "erasure", "restriction",
                                          "objection", "portability")
Flag = Literal["restricted", "objected"]


@dataclass(frozen=True)
class PrivacyRequest:
    """One request a person made about their data, and how it was answered.

    ``identity_check`` says how the business made sure the person is who they say
    (a call back on the number, an ID shown at the desk...). ``details`` keeps what the
    answer did (counts, the old value a rectification replaced, the copies an erasure
    still has to reach).
    """

    id: int
    tenant_id: str
    phone: str
    kind: RequestKind
    received_at: datetime
    identity_check: str
    due_at: datetime  # one calendar month after receipt (agi.privacy.rights.due_date)
    extended_to: datetime | None = None
    extension_reason: str = ""
    answered_at: datetime | None = None
    answered_by: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def deadline(self) -> datetime:
        return self.extended_to or self.due_at

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


@dataclass(frozen=True)
class PersonFlags:
    """Restriction and objection of one number at one tenant (None: not in force)."""

    tenant_id: str
    phone: str
    restricted_since: datetime | None = None
    objected_since: datetime | None = None

    @property
    def restricted(self) -> bool:
        return self.restricted_since is not None

    @property
    def objected(self) -> bool:
        return self.objected_since is not None


@dataclass(frozen=True)
class RectifyReport:
    """Rows a rectification changed, by table."""

    calls: int = 0
    appointments: int = 0
    messages: int = 0
    leads: int = 0
    callers: int = 0

    def counts(self) -> dict[str, int]:
        return {"calls": self.calls, "appointments": self.appointments,
                "messages": self.messages, "leads": self.leads, "callers": self.callers}


@dataclass(frozen=True)
class RecordingRow:
    """A call recording kept (agi.call.recording): the encrypted file and what it holds."""

    call_id: str
    tenant_id: str
    path: str
    key_id: str
    audio_bytes: int
    started_at: datetime
    ended_at: datetime


class PrivacyRegister(abc.ABC):
    """Requests, flags and rectification on one store's database. Thread-safe."""

    @abc.abstractmethod
    def add_request(self, tenant_id: str, phone: str, kind: RequestKind, received_at: datetime,
                    due_at: datetime, identity_check: str) -> PrivacyRequest: ...

    @abc.abstractmethod
    def request(self, request_id: int) -> PrivacyRequest | None: ...

    @abc.abstractmethod
    def requests(self, tenant_id: str | None = None, *,
                 open_only: bool = False) -> Sequence[PrivacyRequest]:
        """Requests, earliest deadline first."""

    @abc.abstractmethod
    def extend_request(self, request_id: int, until: datetime, reason: str) -> PrivacyRequest: ...

    @abc.abstractmethod
    def answer_request(self, request_id: int, at: datetime | None, by: str,
                       details: Mapping[str, Any]) -> PrivacyRequest:
        """Record the answer (``at`` None: keep it open and only update ``details``)."""

    @abc.abstractmethod
    def set_flag(self, tenant_id: str, phone: str, flag: Flag, since: datetime | None) -> PersonFlags:
        """Put ``flag`` in force since ``since``, or lift it (``None``)."""

    @abc.abstractmethod
    def flags(self, tenant_id: str, phone: str) -> PersonFlags: ...

    def may_contact(self, tenant_id: str, phone: str) -> bool:
        """False when the person at ``phone`` objected or restricted their data: no call-back
        offered or promised (the dialogue asks this; it lives here, not in agi.privacy,
        so the dialogue imports no privacy module). An empty number has no flags."""
        if not phone:
            return True
        flags = self.flags(tenant_id, phone)
        return not (flags.objected or flags.restricted)

    @abc.abstractmethod
    def flagged(self, tenant_id: str | None = None) -> Sequence[PersonFlags]:
        """Every number with a flag in force (the console hides restricted ones from staff)."""

    @abc.abstractmethod
    def drop_transcripts(self, tenant_id: str, since: datetime, before: datetime, *,
                         dry_run: bool = False) -> int:
        """Delete the transcript turns of the tenant's calls started in [since, before) (a
        shorter retention than the call records', whose purge takes the calls before
        ``since``); the turns deleted (or that would be)."""

    @abc.abstractmethod
    def queue_notice(self, tenant_id: str, kind: OutboxKind, targets: Sequence[str],
                     entity_id: int | str, payload: Mapping[str, Any]) -> list[str]:
        """Queue one outbox row per target (an erasure told to the receivers that got the
        data), due now; their idempotency keys. Queuing the same entity again adds nothing."""

    @abc.abstractmethod
    def add_recording(self, recording: RecordingRow) -> None:
        """Keep the row of a finished recording (its call must exist)."""

    @abc.abstractmethod
    def recordings(self, tenant_id: str | None = None) -> Sequence[RecordingRow]:
        """Recordings kept, oldest first."""

    @abc.abstractmethod
    def delete_recording(self, call_id: str) -> None: ...

    @abc.abstractmethod
    def rectify(self, tenant_id: str, phone: str, *, new_phone: str | None = None,
                new_name: str | None = None) -> RectifyReport:
        """Replace the number and/or the name on the person's calls, appointments,
        messages, leads and caller row, in one transaction."""
