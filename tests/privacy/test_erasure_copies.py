"""Erasure that reaches every copy (GDPR art. 17, 19), on both stores, against real
receivers on loopback (tests/notify/receivers.py): a web hook that is down when the person
is erased gets the signed erasure event once it is back, the CalDAV calendar (Radicale)
loses the person's past and cancelled appointments' events at once, the e-mails already
sent are listed, and the request closes only when every copy confirmed."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from caldav.davclient import DAVClient

from agi.booking import NewAppointment
from agi.notify import OutboxWorker, targets_for
from agi.notify.caldav import CalDavSender
from agi.notify.email import EmailSender
from agi.notify.render import event_uid
from agi.notify.webhook import WebhookSender
from agi.privacy import PrivacyRights, SealedStore
from agi.privacy.crypto import Keyring, new_key_line

sys.path.insert(0, str(Path(__file__).parents[1] / "notify"))

from notify_helpers import FAST, SECRET, Clock, drain, settings_with  # noqa: E402
from receivers import Radicale, SmtpReceiver, WebhookReceiver  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import StoreFactory

ALICE, BOB = "+33612345678", "+33698765432"
USER = "alice"


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path / "radicale")
    server.start()
    with DAVClient(url=server.url(), username=USER, password="pw") as client:
        client.principal().make_calendar(name="Agenda", cal_id="agenda")
    yield server
    server.stop()


def uids(radicale: Radicale) -> set[str]:
    with DAVClient(url=radicale.url(), username=USER, password="pw") as client:
        cal = client.calendar(url=f"{radicale.url()}{USER}/agenda/")
        return {str(e.icalendar_component["uid"]) for e in cal.events()}


def booking(phone: str, name: str, start: datetime, resource: str = "A") -> NewAppointment:
    return NewAppointment(tenant_id="demo", resource=resource, service="consultation",
                          starts_at=start, ends_at=start + timedelta(minutes=30),
                          customer_name=name, customer_phone=phone)


def test_erasure_reaches_web_hook_calendar_and_lists_e_mails(
        make_store: StoreFactory, radicale: Radicale) -> None:
    hook, smtp = WebhookReceiver(SECRET), SmtpReceiver()
    hook.start()
    smtp.start()
    try:
        settings = settings_with(
            {"kind": "webhook", "name": "crm", "url": hook.url, "secret": SECRET},
            {"kind": "caldav", "name": "agenda", "url": radicale.url(), "calendar": "Agenda",
             "username": USER, "password": "pw"},
            {"kind": "email", "name": "desk", "to": ["desk@dupont.example"],
             "from": "permanence@dupont.example", "smtp_host": "127.0.0.1",
             "smtp_port": smtp.port, "smtp_starttls": False})
        store = SealedStore(make_store(targets_for=targets_for(settings)),
                            Keyring.parse(new_key_line("k1"), "t"))
        now = datetime.now(UTC)
        past = store.book(booking(ALICE, "Alice", now - timedelta(days=3)))
        cancelled = store.book(booking(ALICE, "Alice", now + timedelta(days=5)))
        store.cancel(cancelled.id)
        upcoming = store.book(booking(ALICE, "Alice", now + timedelta(days=6)))
        bob = store.book(booking(BOB, "Bob", now + timedelta(days=6), resource="B"))
        store.add_message("demo", "", ALICE, "Alice", "rappelez-moi", now)
        clock = Clock(now + timedelta(seconds=1))
        worker = OutboxWorker(store, settings, {"webhook": WebhookSender(), "caldav":
                                                CalDavSender(timeout=5), "email": EmailSender()},
                              clock, policy=FAST, rng=random.Random(3))
        drain(worker, store, clock)
        assert uids(radicale) == {event_uid("demo", a.id)
                                  for a in (past, cancelled, upcoming, bob)}
        mails_before = len(smtp.processed)

        hook.stop()  # the CRM is down when the person is erased
        rights = PrivacyRights(store, clock, settings)
        done = rights.erase("demo", ALICE, identity_check="ID card at the desk", by="anna")

        request = done.request
        assert request.is_open and len(request.details["copies"]) == 2
        assert sorted(m["kind"] for m in request.details["emails_sent"]) == [
            "appointment_booked", "appointment_booked", "appointment_booked",
            "appointment_cancelled", "message"]
        assert request.details["upcoming_kept"] == [upcoming.id]
        clock.advance()
        worker.run_once()
        # the calendar lost the erased events at once; the kept appointment and Bob's stay
        assert uids(radicale) == {event_uid("demo", upcoming.id), event_uid("demo", bob.id)}
        assert rights.register.request(request.id).is_open  # type: ignore[union-attr]
        assert len(smtp.processed) == mails_before  # e-mails are not told (cannot be recalled)

        back = WebhookReceiver(SECRET, port=hook.port)
        back.start()
        try:
            drain(worker, store, clock)
        finally:
            back.stop()
        [event] = [e for e in back.processed.values() if e["type"] == "erasure"]
        assert event["data"]["phone"] == ALICE and event["data"]["request_id"] == request.id
        assert sorted(event["data"]["appointment_ids"]) == sorted([past.id, cancelled.id])
        closed = rights.register.request(request.id)
        assert closed is not None and not closed.is_open
        assert closed.answered_by == "anna" and "copies_done_at" in closed.details
    finally:
        hook.stop()
        smtp.stop()


def test_the_erasure_event_is_signed_like_every_web_hook(make_store: StoreFactory) -> None:
    hook = WebhookReceiver(SECRET)
    hook.start()
    try:
        settings = settings_with({"kind": "webhook", "name": "crm", "url": hook.url,
                                  "secret": SECRET})
        store = SealedStore(make_store(targets_for=targets_for(settings)),
                            Keyring.parse(new_key_line("k1"), "t"))
        store.add_message("demo", "", ALICE, "Alice", "bonjour", datetime.now(UTC))
        clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
        worker = OutboxWorker(store, settings, {"webhook": WebhookSender()}, clock, policy=FAST)
        rights = PrivacyRights(store, clock, settings)
        request = rights.erase("demo", ALICE, identity_check="called back", by="cli").request
        drain(worker, store, clock)
        assert hook.bad_signatures == 0 and len(hook.processed) == 1
        # the receiver checks the HMAC of every body: none failed, and the event is there
        [(key, event)] = hook.processed.items()
        assert key == f"demo:erasure:{request.id}:webhook:crm" and event["type"] == "erasure"
        assert not rights.register.request(request.id).is_open  # type: ignore[union-attr]
    finally:
        hook.stop()
