"""The outbox worker: delivers what the stores queued, with retries and back-off.

The guarantee is built from three parts (docs/notifications.md says it for operators):

1. **Nothing lost**: a notification is an outbox row committed with the booking,
   cancellation or message itself (:mod:`agi.booking.outbox`). A row leaves ``pending``
   only when a receiver acknowledged it (``sent``) or after :attr:`RetryPolicy.max_attempts`
   failures or a permanent refusal (``dead``, logged at ERROR, kept for inspection).
2. **At least once**: a row is marked sent only after the receiver's acknowledgement; a
   crash in between (ours or the connection's) means it is sent again.
3. **Exactly once at the receiver**: every attempt of one row carries the same
   idempotency key (web hook ``Idempotency-Key`` header, CalDAV UID, e-mail Message-ID),
   so the receiver recognises and drops a repeat.

Claims are leased (:meth:`Store.claim_outbox`), so several workers, in one process or
on several hosts, share the work without sending one row twice at the same time.
Within one batch, once a target fails with a transient error its remaining rows are not
tried (they would fail the same way, each after a timeout) and keep their order.

Logs name the outbox row, its kind and target and the error, never its payload: the
payload holds callers' names, numbers and messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agi.booking.store import OutboxItem, OutboxKind, Store, TargetsFor
from agi.config import NotifyTarget, Settings, Tenant
from agi.errors import DeliveryError, StoreError
from agi.notify.render import redacted

log = logging.getLogger(__name__)

# What each kind of target is told about. A calendar holds appointments, not messages.
KINDS_BY_TARGET: Mapping[str, frozenset[OutboxKind]] = {
    "email": frozenset({"appointment_booked", "appointment_moved", "appointment_cancelled",
                        "message", "lead", "call_summary"}),
    "webhook": frozenset({"appointment_booked", "appointment_moved", "appointment_cancelled",
                          "message", "lead", "erasure", "call_summary"}),
    "caldav": frozenset({"appointment_booked", "appointment_moved", "appointment_cancelled",
                         "erasure"}),
}
# (an erasure is queued by agi.privacy.rights only: the stores never write that kind; an
# e-mail already sent cannot be recalled, so e-mail targets are not told)
# Kept in the outbox row and the log; long enough for any of our errors, short enough
# that a receiver's error page cannot flood the table.
MAX_ERROR_CHARS = 300


class Sender(Protocol):
    """Delivers one outbox item to one target; raises :class:`DeliveryError` when it did not.

    Returning normally means the receiver acknowledged it. ``kind`` is the target kind
    served ("email", "webhook", "caldav").
    """

    kind: str

    def send(self, item: OutboxItem, target: NotifyTarget, tenant: Tenant) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and when to give up.

    The defaults ride out a receiver down for a night: 30 s doubling up to an hour between
    attempts, 20 attempts (about 15 hours) before the row is dead-lettered.
    """

    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    max_attempts: int = 20
    # +/- this fraction of the delay, so rows that failed together do not retry together
    jitter: float = 0.25
    # The lease outlives a batch: per target at most one attempt times out (see above).
    lease_s: float = 300.0
    batch_size: int = 20
    poll_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.base_delay_s <= self.max_delay_s and self.max_attempts >= 1
                and 0 <= self.jitter < 1 and self.lease_s > 0 and self.batch_size >= 1
                and self.poll_interval_s > 0):
            raise ValueError(f"inconsistent retry policy {self}")

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempts + 1``, after ``attempts`` failures."""
        base = min(self.base_delay_s * 2 ** (attempts - 1), self.max_delay_s)
        if retry_after is not None:  # the receiver said when; never sooner, never past the cap
            base = min(max(base, retry_after), self.max_delay_s)
        return base * rng.uniform(1 - self.jitter, 1 + self.jitter)


def targets_for(settings: Settings) -> TargetsFor:
    """The stores' ``targets_for``: which configured targets hear of each kind of event."""
    table = {t.id: t.notify for t in settings.tenants}

    def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
        return tuple(t.key for t in table.get(tenant_id, ()) if kind in KINDS_BY_TARGET[t.kind])

    return targets


def default_senders() -> dict[str, Sender]:
    """One sender per target kind (imports httpx and caldav, hence not at module load)."""
    from agi.notify.caldav import CalDavSender
    from agi.notify.email import EmailSender
    from agi.notify.webhook import WebhookSender

    return {"email": EmailSender(), "webhook": WebhookSender(), "caldav": CalDavSender()}


class OutboxWorker:
    """Claims due outbox rows and hands each to the sender of its target's kind."""

    def __init__(self, store: Store, settings: Settings,
                 senders: Mapping[str, Sender] | None = None,
                 clock: Callable[[], datetime] | None = None, *,
                 policy: RetryPolicy | None = None, rng: random.Random | None = None) -> None:
        self._store = store
        self._tenants = {t.id: t for t in settings.tenants}
        self._senders = dict(senders) if senders is not None else default_senders()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()

    def run_once(self) -> int:
        """Deliver one batch of due rows; the number of rows claimed (0: nothing was due).

        Raises :class:`StoreError` when the store cannot be reached.
        """
        items = self._store.claim_outbox(self._clock(), self.policy.batch_size, self.policy.lease_s)
        failing: dict[str, tuple[str, datetime]] = {}  # target key -> (error, retry at)
        for item in items:
            self._deliver(item, failing)
        return len(items)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a batch in progress is finished first.

        Store outages are logged and waited out (the rows are safe in the database).
        """
        while not stop.is_set():
            try:
                claimed = await asyncio.to_thread(self.run_once)
            except StoreError as exc:
                log.warning("outbox: store unavailable, retrying in %.0f s: %s",
                            self.policy.poll_interval_s, exc)
                claimed = 0
            if claimed < self.policy.batch_size:  # a full batch: more may be due at once
                try:
                    await asyncio.wait_for(stop.wait(), self.policy.poll_interval_s)
                except TimeoutError:
                    continue

    # one row ---------------------------------------------------------------------------
    def _deliver(self, item: OutboxItem, failing: dict[str, tuple[str, datetime]]) -> None:
        where = f"outbox item {item.id} ({item.kind}, tenant {item.tenant_id}, {item.target})"
        if item.target in failing:
            error, retry_at = failing[item.target]
            self._store.outbox_failed(item.id, f"not tried: {error}", retry_at, attempted=False)
            return
        tenant = self._tenants.get(item.tenant_id)
        target = next((t for t in tenant.notify if t.key == item.target), None) if tenant else None
        sender = self._senders.get(target.kind) if target else None
        if tenant is None or target is None or sender is None:
            reason = ("the tenant is no longer configured" if tenant is None else
                      "the target is no longer configured" if target is None else
                      f"no sender for {target.kind if target else '?'} targets")
            log.error("%s is dead: %s", where, reason)
            self._store.outbox_failed(item.id, reason, self._clock(), dead=True)
            return
        try:
            # a calendar is where the business reads its appointments; e-mails and web
            # hooks of a health-data tenant carry no free text (render.redacted)
            sender.send(item if target.kind == "caldav" else redacted(item, tenant), target, tenant)
        except DeliveryError as exc:
            self._failed(item, where, str(exc), exc.permanent, exc.retry_after, failing)
            return
        except Exception as exc:  # a sender's bug must not stop every other delivery
            log.exception("%s: unexpected %s in the %s sender", where, type(exc).__name__,
                          target.kind)
            self._failed(item, where, f"unexpected {type(exc).__name__}", False, None, failing)
            return
        self._store.outbox_sent(item.id, self._clock())
        log.info("%s delivered after %d failed attempt(s)", where, item.attempts)

    def _failed(self, item: OutboxItem, where: str, error: str, permanent: bool,
                retry_after: float | None, failing: dict[str, tuple[str, datetime]]) -> None:
        error = error[:MAX_ERROR_CHARS]
        attempts = item.attempts + 1
        now = self._clock()
        if permanent or attempts >= self.policy.max_attempts:
            why = "refused for good" if permanent else f"failed {attempts} times"
            log.error("%s is dead (%s): %s", where, why, error)
            self._store.outbox_failed(item.id, error, now, dead=True)
            return
        retry_at = now + timedelta(seconds=self.policy.delay(attempts, self._rng, retry_after))
        log.warning("%s failed (attempt %d of %d), next at %s: %s", where, attempts,
                    self.policy.max_attempts, retry_at.isoformat(timespec="seconds"), error)
        self._store.outbox_failed(item.id, error, retry_at)
        failing[item.target] = (error, retry_at)
