"""Helpers of the delivery tests: a clock the test moves forward (back-off waits without
sleeping), tenants whose targets point at loopback, and draining the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agi.booking import NewAppointment, Store
from agi.config import Settings, settings_from_dict
from agi.notify import OutboxWorker, RetryPolicy

# tests/conftest.py's make_store fixture: opens a store (SQLite or PostgreSQL) with
# the keyword arguments given, such as targets_for.
MakeStore = Callable[..., Store]
SECRET = "s3cret-for-the-tests-0123456789"
# Short waits for the tests that run on the real clock; the others move the clock.
FAST = RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, max_attempts=6, lease_s=30.0,
                   batch_size=50, poll_interval_s=0.05)


@dataclass
class Clock:
    """The worker's clock: the real time when the test starts, then moved by the test."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = timedelta(hours=1)) -> None:
        self.now += delta


def settings_with(*notify: dict[str, Any], language: str = "fr") -> Settings:
    return settings_from_dict({"tenants": [{
        "id": "demo", "name": "Cabinet Dupont", "language": language, "timezone": "Europe/Paris",
        "resources": ["A", "B"], "services": [{"name": "consultation", "duration_min": 30}],
        "notify": list(notify)}]})


def appointment(hours: int, resource: str = "A") -> NewAppointment:
    start = datetime(2030, 3, 12, 9, tzinfo=UTC) + timedelta(hours=hours)
    return NewAppointment(tenant_id="demo", resource=resource, service="consultation",
                          starts_at=start, ends_at=start + timedelta(minutes=30),
                          customer_name="Alice Martin", customer_phone="+33612345678")


def drain(worker: OutboxWorker, store: Store, clock: Clock, rounds: int = 20) -> None:
    """Run batches, moving the clock past every back-off, until nothing is pending."""
    for _ in range(rounds):
        if not store.outbox(status="pending"):
            return
        clock.advance()
        worker.run_once()
    raise AssertionError(f"still pending after {rounds} rounds: {store.outbox(status='pending')}")
