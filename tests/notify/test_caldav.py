"""CalDAV delivery to a real Radicale server on loopback: the answer to a PUT cut on its
way back (Radicale stored the event, we could not know), then Radicale killed and started
again on the same port and storage; every appointment is in the calendar exactly once, a
cancellation marks its event CANCELLED, and a late booking never revives it."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from caldav.davclient import DAVClient
from notify_helpers import FAST, Clock, MakeStore, appointment, drain, settings_with
from receivers import CuttingProxy, Radicale

from agi.notify import OutboxWorker, targets_for
from agi.notify.caldav import CalDavSender
from agi.notify.render import event_uid

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


USER = "alice"


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path / "radicale")
    server.start()
    with DAVClient(url=server.url(), username=USER, password="pw") as client:
        client.principal().make_calendar(name="Agenda", cal_id="agenda")
    yield server
    server.stop()


@pytest.fixture
def proxy(radicale: Radicale) -> Iterator[CuttingProxy]:
    p = CuttingProxy(radicale.port)
    yield p
    p.close()


def calendar_target(port: int) -> dict[str, str]:
    return {"kind": "caldav", "name": "agenda", "url": f"http://127.0.0.1:{port}/",
            "calendar": "Agenda", "username": USER, "password": "pw"}


def statuses(radicale: Radicale) -> dict[str, str]:
    with DAVClient(url=radicale.url(), username=USER, password="pw") as client:
        cal = client.calendar(url=f"{radicale.url()}{USER}/agenda/")
        found = {}
        for event in cal.events():
            component = event.icalendar_component
            found[str(component["uid"])] = str(component.get("status", ""))
        return found


def test_cut_answer_and_killed_server_still_one_event_each(
        make_store: MakeStore, radicale: Radicale, proxy: CuttingProxy, clock: Clock) -> None:
    settings = settings_with(calendar_target(proxy.port))
    store = make_store(targets_for=targets_for(settings))
    booked = [store.book(appointment(h)) for h in range(3)]
    store.cancel(booked[2].id)
    store.add_message("demo", "", "+33612345678", "Bob", "no calendar for this", clock())
    assert len(store.outbox()) == 4  # messages are not queued for calendars

    proxy.cut_method = b"PUT"  # Radicale stores the first event; its answer is lost
    worker = OutboxWorker(store, settings, {"caldav": CalDavSender(timeout=5)}, clock,
                          policy=FAST, rng=random.Random(5))
    worker.run_once()
    assert proxy.cuts == 1
    assert len(radicale.event_files(USER, "agenda")) == 1
    assert [r.status for r in store.outbox()] == ["pending"] * 4
    assert store.outbox()[0].attempts == 1

    radicale.kill()
    clock.advance()
    worker.run_once()
    assert store.outbox()[0].attempts == 2 and "unreachable" in store.outbox()[0].last_error

    radicale.start()  # same port, same storage
    drain(worker, store, clock)
    assert all(r.status == "sent" for r in store.outbox())
    assert len(radicale.event_files(USER, "agenda")) == 3
    assert statuses(radicale) == {event_uid("demo", booked[0].id): "CONFIRMED",
                                  event_uid("demo", booked[1].id): "CONFIRMED",
                                  event_uid("demo", booked[2].id): "CANCELLED"}


def test_a_late_booking_does_not_revive_a_cancelled_event(
        make_store: MakeStore, radicale: Radicale, clock: Clock) -> None:
    settings = settings_with(calendar_target(radicale.port))
    store = make_store(targets_for=targets_for(settings))
    booked = store.book(appointment(0))
    store.cancel(booked.id)
    booking_row, cancel_row = store.outbox()
    sender = CalDavSender(timeout=5)
    tenant, target = settings.tenants[0], settings.tenants[0].notify[0]
    sender.send(cancel_row, target, tenant)  # the cancellation got through first
    sender.send(booking_row, target, tenant)  # the booking's retry comes after it
    sender.send(booking_row, target, tenant)
    assert statuses(radicale) == {event_uid("demo", booked.id): "CANCELLED"}
    assert len(radicale.event_files(USER, "agenda")) == 1
