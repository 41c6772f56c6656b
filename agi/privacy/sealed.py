"""A store whose transcripts and free text are encrypted at rest (GDPR art. 32).

:class:`SealedStore` wraps the SQLite or PostgreSQL store: what callers say (transcript
turns, messages, the data a call collected, lead details) is sealed with the
:class:`~agi.privacy.crypto.Keyring` before it reaches the database and opened on the
way out, so every reader (the call controller, the CLI, the console, the export, the
outbox worker) gets clear text through the same :class:`~agi.booking.store.Store` API and
a copy of the database alone reveals no conversation. It is also where restriction and
objection stop notifications: :meth:`SealedStore.claim_outbox` holds or suppresses the
items about such a person before any worker sees them. Notification payloads copy the
sealed values and are opened when claimed, so the outbox table holds no clear text
either. Names and numbers stay clear: erasure, search and the booking checks need them.

Every store method not handled here (those other parts of Permanence add) passes through
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from agi.booking.ledger import Ledger
from agi.booking.privacy_register import PrivacyRegister
from agi.booking.store import (
    Appointment,
    Caller,
    CallRecord,
    Lead,
    Message,
    NewAppointment,
    OutboxItem,
    OutboxStatus,
    PurgeCutoffs,
    PurgeReport,
    Speaker,
    Store,
    Turn,
)
from agi.booking.usage import Statement, UsagePolicy
from agi.privacy.crypto import Keyring
from agi.privacy.rights import held_back, settle_erasure


class SealedStore(Store):
    """``inner`` with sealed free text; see the module docstring."""

    def __init__(self, inner: Store, keyring: Keyring) -> None:
        self.inner = inner
        self.keyring = keyring
        # erasure notices claimed here -> their request (closed once all are sent)
        self._erasures: dict[int, int] = {}

    def __getattr__(self, name: str) -> Any:  # methods the wrapper does not know
        return getattr(self.inner, name)

    @property
    def usage_policy(self) -> UsagePolicy:  # the inner store's, which counts the calls
        return self.inner.usage_policy

    @usage_policy.setter
    def usage_policy(self, policy: UsagePolicy) -> None:
        self.inner.usage_policy = policy

    @property
    def owner(self) -> str:  # the inner store's, which records it on each call
        return self.inner.owner

    @owner.setter
    def owner(self, controller: str) -> None:
        self.inner.owner = controller

    def _ledger_run(self, action: str,
                    statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        return self.inner._ledger_run(action, statements)

    # calls -------------------------------------------------------------------------
    def _open_call(self, call: CallRecord | None) -> CallRecord | None:
        return None if call is None else replace(call, data=self.keyring.open_doc(call.data))

    def start_call(self, call: CallRecord) -> None:
        self.inner.start_call(replace(call, data=self.keyring.seal_doc(call.data)))

    def add_turn(self, call_id: str, speaker: Speaker, text: str, at: datetime) -> Turn:
        turn = self.inner.add_turn(call_id, speaker, self.keyring.seal(text), at)
        return replace(turn, text=text)

    def update_call_data(self, call_id: str, data: Mapping[str, Any]) -> None:
        self.inner.update_call_data(call_id, self.keyring.seal_doc(data))

    def end_call(self, call_id: str, ended_at: datetime, outcome: str,
                 data: Mapping[str, Any] | None = None) -> None:
        sealed = None if data is None else self.keyring.seal_doc(data)
        self.inner.end_call(call_id, ended_at, outcome, sealed)

    def get_call(self, call_id: str) -> CallRecord | None:
        return self._open_call(self.inner.get_call(call_id))

    def list_calls(self, tenant_id: str | None = None, limit: int = 100) -> Sequence[CallRecord]:
        return [replace(c, data=self.keyring.open_doc(c.data))
                for c in self.inner.list_calls(tenant_id, limit)]

    def open_call_ids(self, owner: str | None = None, limit: int = 10_000) -> Sequence[str]:
        return self.inner.open_call_ids(owner, limit)

    def transcript(self, call_id: str) -> Sequence[Turn]:
        return [replace(t, text=self.keyring.open(t.text)) for t in self.inner.transcript(call_id)]

    # messages and leads ---------------------------------------------------------------
    def add_message(self, tenant_id: str, call_id: str, caller: str, name: str, text: str,
                    at: datetime) -> Message:
        message = self.inner.add_message(tenant_id, call_id, caller, name,
                                         self.keyring.seal(text), at)
        return replace(message, text=text)

    def messages(self, tenant_id: str) -> Sequence[Message]:
        return [replace(m, text=self.keyring.open(m.text)) for m in self.inner.messages(tenant_id)]

    def add_lead(self, tenant_id: str, call_id: str, caller: str, kind: str,
                 details: Mapping[str, Any], at: datetime) -> Lead:
        lead = self.inner.add_lead(tenant_id, call_id, caller, kind,
                                   self.keyring.seal_doc(details), at)
        return replace(lead, details=dict(details))

    def leads(self, tenant_id: str) -> Sequence[Lead]:
        return [replace(lead, details=self.keyring.open_doc(lead.details))
                for lead in self.inner.leads(tenant_id)]

    # outbox ---------------------------------------------------------------------------
    def _open_items(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        return [replace(i, payload=self.keyring.open_any(i.payload)) for i in items]

    def claim_outbox(self, now: datetime, limit: int, lease_s: float) -> Sequence[OutboxItem]:
        """Claimed items, opened; those about a restricted or objecting person are held
        or suppressed here, so no worker ever sends them (agi.privacy.rights.held_back)."""
        items = held_back(self, self._open_items(self.inner.claim_outbox(now, limit, lease_s)), now)
        self._erasures.update({i.id: int(i.payload["request_id"]) for i in items
                               if i.kind == "erasure" and "request_id" in i.payload})
        return items

    def outbox(self, tenant_id: str | None = None,
               status: OutboxStatus | None = None) -> Sequence[OutboxItem]:
        return self._open_items(self.inner.outbox(tenant_id, status))

    # personal data ----------------------------------------------------------------------
    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        opened: dict[str, Any] = self.keyring.open_any(self.inner.personal_data(tenant_id, phone))
        return opened

    def reseal(self, transform: Callable[[str, Any], Any] | None = None) -> int:
        """Seal every free-text value with the current key: clear rows written before
        encryption, and rows of older keys (rotation). Returns the values changed."""
        return self.inner.reseal(transform or self._reseal)

    def _reseal(self, kind: str, value: Any) -> Any:
        ring = self.keyring
        if kind != "payload":
            return ring.reseal_any(value)
        payload = dict(value)
        if isinstance(payload.get("text"), str):  # a message
            payload["text"] = ring.reseal(payload["text"])
        if isinstance(payload.get("details"), Mapping):  # a lead
            payload["details"] = ring.reseal_any(payload["details"])
        return payload

    # names, numbers and times only: passed through as they are ---------------------------
    def set_caller(self, call_id: str, caller: str) -> None:
        self.inner.set_caller(call_id, caller)

    def touch_caller(self, tenant_id: str, phone: str, at: datetime, *, name: str | None = None,
                     new_call: bool = False) -> Caller:
        return self.inner.touch_caller(tenant_id, phone, at, name=name, new_call=new_call)

    def caller(self, tenant_id: str, phone: str) -> Caller | None:
        return self.inner.caller(tenant_id, phone)

    def book(self, appt: NewAppointment) -> Appointment:
        return self.inner.book(appt)

    def move(self, appointment_id: int, new_start: datetime, new_end: datetime, *,
             resource: str | None = None, buffer_min: int | None = None,
             call_id: str = "") -> Appointment:
        return self.inner.move(appointment_id, new_start, new_end, resource=resource,
                               buffer_min=buffer_min, call_id=call_id)

    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        return self.inner.appointments(tenant_id, start, end, resource)

    def appointments_for_caller(self, tenant_id: str, phone: str) -> Sequence[Appointment]:
        return self.inner.appointments_for_caller(tenant_id, phone)

    def cancel(self, appointment_id: int) -> Appointment:
        return self.inner.cancel(appointment_id)

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        self.inner.outbox_sent(item_id, at)
        request_id = self._erasures.pop(item_id, None)
        if request_id is not None:  # the last copy told closes the erasure request
            settle_erasure(self, request_id, at)

    def outbox_failed(self, item_id: int, error: str, next_attempt_at: datetime,
                      dead: bool = False, *, attempted: bool = True) -> None:
        self.inner.outbox_failed(item_id, error, next_attempt_at, dead, attempted=attempted)

    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        return self.inner.purge(before, dry_run=dry_run)

    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        return self.inner.erase_person(tenant_id, phone, now=now)

    def privacy(self) -> PrivacyRegister:
        return self.inner.privacy()

    def close(self) -> None:
        self.inner.close()


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: SealedStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``inner.{name}`` unchanged."
    return method


# A store method added to the interface after this class (by another part of Permanence)
# passes through unchanged rather than hitting the interface's empty abstract stub, and so
# do the usage and access-log methods (agi.booking.ledger), which run on the inner store's
# own database and policy; give a method an explicit one above if it carries free text.
_LEDGER = {n for n, v in vars(Ledger).items() if callable(v) and not n.startswith("__")}
for _name in sorted((Store.__abstractmethods__ | _LEDGER) - set(vars(SealedStore))):
    setattr(SealedStore, _name, _delegate(_name))
SealedStore.__abstractmethods__ = frozenset()
