"""E-mail delivery to a real SMTP server (aiosmtpd) on loopback: killed after taking a
message but before its "250" left, then back on the same port, every notification is
accepted exactly once by Message-ID; the summary is in the tenant's language and
appointments carry an iCalendar attachment with a stable UID."""

from __future__ import annotations

import random
from email.message import Message
from typing import TYPE_CHECKING

import pytest
from icalendar import Calendar
from notify_helpers import FAST, Clock, MakeStore, appointment, drain, settings_with
from receivers import SmtpReceiver

from agi.notify import OutboxWorker, targets_for
from agi.notify.email import EmailSender, message_id
from agi.notify.render import event_uid

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    r.start()
    yield r
    r.stop()


def part(msg: Message, content_type: str) -> bytes:
    found = next(p for p in msg.walk() if p.get_content_type() == content_type)
    data = found.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def mail_target(port: int) -> dict[str, object]:
    return {"kind": "email", "name": "desk", "to": ["desk@dupont.example"],
            "from": "permanence@dupont.example", "smtp_host": "127.0.0.1", "smtp_port": port,
            "smtp_starttls": False}


def test_killed_after_data_then_back_every_message_once(
        make_store: MakeStore, smtp: SmtpReceiver, clock: Clock) -> None:
    settings = settings_with(mail_target(smtp.port))
    store = make_store(targets_for=targets_for(settings))
    booked = [store.book(appointment(h)) for h in range(3)]
    store.cancel(booked[0].id)
    store.add_message("demo", "", "+33612345678", "Bob", "Rappelez-moi demain", clock())
    rows = store.outbox()
    expected = {message_id(r.idempotency_key, "permanence@dupont.example") for r in rows}
    assert len(expected) == 5

    smtp.die_at = 2
    worker = OutboxWorker(store, settings, {"email": EmailSender(timeout=5)}, clock,
                          policy=FAST, rng=random.Random(3))
    worker.run_once()
    smtp.wait_dead()
    assert [r.status for r in store.outbox()] == ["sent"] + ["pending"] * 4
    clock.advance()
    worker.run_once()  # refused: nobody listens
    assert store.outbox()[1].attempts == 2

    smtp.start()
    drain(worker, store, clock)
    assert set(smtp.processed) == expected and len(smtp.processed) == 5
    assert len(smtp.arrivals) == 6  # the message whose "250" was lost came twice, same Message-ID
    assert all(r.status == "sent" for r in store.outbox())

    first = smtp.processed[message_id(rows[0].idempotency_key, "permanence@dupont.example")]
    assert first["Subject"].startswith("Nouveau rendez-vous – 2030-03-12 10:00 – Alice Martin")
    assert first["Idempotency-Key"] == rows[0].idempotency_key
    text = part(first, "text/plain").decode()
    assert "Prestation: consultation" in text and "Europe/Paris" in text
    event = Calendar.from_ical(part(first, "text/calendar")).walk("VEVENT")[0]
    assert str(event["uid"]) == event_uid("demo", booked[0].id) and str(event["status"]) == "CONFIRMED"

    cancel = smtp.processed[message_id(rows[3].idempotency_key, "permanence@dupont.example")]
    assert cancel["Subject"].startswith("Rendez-vous annulé")
    cal = Calendar.from_ical(part(cancel, "text/calendar"))
    assert str(cal["method"]) == "CANCEL"
    assert str(cal.walk("VEVENT")[0]["uid"]) == event_uid("demo", booked[0].id)
    note = smtp.processed[message_id(rows[4].idempotency_key, "permanence@dupont.example")]
    assert note["Subject"] == "Nouveau message – Bob"
    assert not any(p.get_content_type() == "text/calendar" for p in note.walk())


def test_english_tenant_and_permanent_refusal(make_store: MakeStore, smtp: SmtpReceiver,
                                              clock: Clock) -> None:
    settings = settings_with(mail_target(smtp.port), language="en")
    store = make_store(targets_for=targets_for(settings))
    store.book(appointment(0))
    worker = OutboxWorker(store, settings, {"email": EmailSender(timeout=5)}, clock, policy=FAST)
    worker.run_once()
    (mail,) = smtp.processed.values()
    assert mail["Subject"].startswith("New appointment – 2030-03-12 10:00")

    # A 5xx reply means this message will never be taken: a dead letter at once.
    original = smtp.handle_DATA

    async def refuse(server: object, session: object, envelope: object) -> str:
        return "554 5.6.0 rejected"

    smtp.handle_DATA = refuse  # type: ignore[method-assign]
    store.book(appointment(1))
    worker.run_once()
    smtp.handle_DATA = original  # type: ignore[method-assign]
    dead = store.outbox(status="dead")
    assert len(dead) == 1 and "554" in dead[0].last_error and dead[0].attempts == 1
