"""Web hook delivery to a real HTTP receiver on loopback that checks the HMAC signature and
dedups by Idempotency-Key: killed in mid-delivery (the request arrived, the answer never
left) and brought back on the same port, every notification is processed exactly once;
refusals become dead letters; logs carry no personal data."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from typing import TYPE_CHECKING

import pytest
from notify_helpers import FAST, SECRET, Clock, MakeStore, appointment, drain, settings_with
from receivers import WebhookReceiver

from agi.notify import OutboxWorker, targets_for
from agi.notify.webhook import WebhookSender, body, signature

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SECRET)
    r.start()
    yield r
    r.stop()


def hook(url: str) -> dict[str, str]:
    return {"kind": "webhook", "name": "crm", "url": url, "secret": SECRET}


def test_killed_mid_delivery_then_back_every_notification_once(
        make_store: MakeStore, receiver: WebhookReceiver, clock: Clock) -> None:
    settings = settings_with(hook(receiver.url))
    store = make_store(targets_for=targets_for(settings))
    booked = [store.book(appointment(h)) for h in range(3)]
    store.cancel(booked[1].id)
    store.add_message("demo", "", "+33612345678", "Bob", "Rappelez-moi", clock())
    expected = {r.idempotency_key for r in store.outbox()}
    assert len(expected) == 5

    receiver.die_at = 2  # the second request reaches the receiver, its answer never does
    sender = WebhookSender()
    worker = OutboxWorker(store, settings, {"webhook": sender}, clock, policy=FAST,
                          rng=random.Random(7))
    assert worker.run_once() == 5
    receiver.wait_dead()
    rows = store.outbox()
    assert [r.status for r in rows] == ["sent"] + ["pending"] * 4
    assert rows[1].attempts == 1 and "unreachable" in rows[1].last_error
    # the rest of the batch was not tried against a dead receiver, and not counted
    assert all(r.attempts == 0 and r.last_error.startswith("not tried") for r in rows[2:])

    clock.advance()
    worker.run_once()  # still down: connection refused, back off again
    assert store.outbox()[1].attempts == 2

    receiver.start()  # same port
    drain(worker, store, clock)
    sender.close()

    assert set(receiver.processed) == expected and len(receiver.processed) == 5
    assert len(receiver.arrivals) == 6  # one repeat, of the request whose answer was lost
    assert receiver.bad_signatures == 0
    assert all(r.status == "sent" and r.sent_at is not None for r in store.outbox())
    cancelled = receiver.processed[f"demo:appointment_cancelled:{booked[1].id}:webhook:crm"]
    assert cancelled["type"] == "appointment_cancelled" and cancelled["data"]["status"] == "cancelled"


def test_body_and_signature_are_stable_between_attempts(make_store: MakeStore, clock: Clock) -> None:
    settings = settings_with(hook("http://127.0.0.1:9/hook"))
    store = make_store(targets_for=targets_for(settings))
    store.book(appointment(0))
    item = store.outbox()[0]
    data = body(item)
    assert data == body(store.outbox()[0])
    assert signature(SECRET, data) == signature(SECRET, body(store.outbox()[0]))
    document = json.loads(data)
    assert document["id"] == item.idempotency_key and document["data"]["customer_name"] == "Alice Martin"


def test_refusals_are_dead_letters_and_logs_hold_no_personal_data(
        make_store: MakeStore, receiver: WebhookReceiver, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="agi.notify")
    settings = settings_with(hook(receiver.url))
    store = make_store(targets_for=targets_for(settings))
    store.book(appointment(0))
    receiver.answer = 410  # "gone": trying again cannot help
    worker = OutboxWorker(store, settings, {"webhook": WebhookSender()}, clock, policy=FAST)
    worker.run_once()
    dead = store.outbox(status="dead")
    assert len(dead) == 1 and "410" in dead[0].last_error and dead[0].attempts == 1

    store.book(appointment(1))
    receiver.answer = 503  # retried until the policy gives up
    drain(worker, store, clock)
    gave_up = store.outbox(status="dead")[-1]
    assert gave_up.attempts == FAST.max_attempts and "503" in gave_up.last_error
    assert len(receiver.arrivals) == 1 + FAST.max_attempts and len(receiver.processed) == 2
    assert "is dead" in caplog.text
    for personal in ("Alice", "Martin", "+33612345678", "612345678"):
        assert personal not in caplog.text


def test_run_forever_rides_out_a_restart(make_store: MakeStore, receiver: WebhookReceiver) -> None:
    settings = settings_with(hook(receiver.url))
    store = make_store(targets_for=targets_for(settings))
    for h in range(4):
        store.book(appointment(h))
    receiver.die_at = 3
    restarted = threading.Event()

    def restart() -> None:
        receiver.wait_dead()
        receiver.start()
        restarted.set()

    async def main() -> None:
        stop = asyncio.Event()
        worker = OutboxWorker(store, settings, {"webhook": WebhookSender()}, policy=FAST)
        task = asyncio.create_task(worker.run_forever(stop))
        while receiver.die_at is not None:  # until the receiver died in mid-delivery
            await asyncio.sleep(0.02)
        await asyncio.to_thread(restart)
        deadline = time.monotonic() + 20
        while store.outbox(status="pending") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(main())
    assert restarted.is_set()
    assert [r.status for r in store.outbox()] == ["sent"] * 4
    assert len(receiver.processed) == 4 and len(receiver.arrivals) == 5
