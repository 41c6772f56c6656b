"""Booking a named service and practitioner through the builtin engine: the real nlu/
project and classifier, the demo tenants of agi/defaults.toml, a real SqliteStore; only the
clock is fixed (Monday 2026-11-30 09:00 in Paris)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking import availability
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import DialogueSettings, Settings, load_settings, settings_from_dict
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinConversation, BuiltinEngine
from agi.dialogue.choices import start_choices
from agi.dialogue.events import SlotSet, Tracker

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
THURSDAY_TEN = datetime(2026, 12, 3, 10, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(DialogueSettings().project_dir)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(None, {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.sqlite3")
    yield s
    s.close()


def talk(engine: BuiltinEngine, store: SqliteStore, settings: Settings, call_id: str,
         tenant_id: str = "demo") -> BuiltinConversation:
    tenant = settings.tenant(tenant_id)
    store.start_call(CallRecord(call_id, tenant.id, "+33612345678", NOW))
    return engine.conversation(CallContext(call_id, tenant, store, "+33612345678", lambda: NOW))


def test_a_named_service_is_booked_with_its_own_duration(
        engine: BuiltinEngine, store: SqliteStore, settings: Settings) -> None:
    conv = talk(engine, store, settings, "c1")
    conv.respond("je voudrais un bilan complet jeudi prochain à dix heures")
    read_back = conv.respond("paul girard").say[-1]
    assert read_back.startswith("Je récapitule : bilan de santé, le jeudi 3 décembre à 10 heures")
    assert conv.respond("oui").outcome == "booked"
    [appt] = store.appointments("demo", THURSDAY_TEN, THURSDAY_TEN + timedelta(hours=2))
    assert (appt.service, appt.ends_at - appt.starts_at) == ("bilan de santé", timedelta(minutes=45))


def test_a_named_practitioner_is_booked_in_her_own_diary(
        engine: BuiltinEngine, store: SqliteStore, settings: Settings) -> None:
    tenant = settings.tenant("demo")
    # Dre Leroy is busy at 10:00; Dr Martin is free then.
    store.start_call(CallRecord("before", tenant.id, "+33699999999", NOW))
    availability.book_slot(store, tenant, tenant.service(None), THURSDAY_TEN, name="Autre",
                           phone="+33699999999", call_id="before", now=NOW, resource="Dre Sophie Leroy")
    conv = talk(engine, store, settings, "c2")
    conv.respond("je voudrais un rendez-vous avec la docteure leroy jeudi prochain à dix heures")
    offer = conv.respond("marie dupont").say[-1]
    assert offer.startswith("Je n'ai pas ce créneau") and "10 heures 30" in offer
    picked = conv.respond("à dix heures trente").say[-1]
    assert "à 10 heures 30 avec la docteure Sophie Leroy au nom de Marie Dupont" in picked
    assert conv.respond("oui").outcome == "booked"
    booked = store.appointments("demo", THURSDAY_TEN, THURSDAY_TEN + timedelta(hours=2))
    assert sorted((a.starts_at.astimezone(PARIS).strftime("%H:%M"), a.resource) for a in booked) == [
        ("10:00", "Dre Sophie Leroy"), ("10:30", "Dre Sophie Leroy")]
    # without a name, the same 10:00 goes to whoever is free
    other = talk(engine, store, settings, "c3")
    other.respond("je voudrais un rendez-vous jeudi prochain à dix heures")
    assert "à 10 heures au nom de Luc Petit" in other.respond("luc petit").say[-1]


def test_a_tenant_without_default_asks_and_keeps_asking_until_a_service_is_named(
        engine: BuiltinEngine, store: SqliteStore, settings: Settings) -> None:
    conv = talk(engine, store, settings, "c4", "demo-dentaire")
    first = conv.respond("bonjour je voudrais un rendez-vous")
    assert first.say[-1] == "C'est pour quel type de rendez-vous : contrôle, détartrage ou soin ?"
    assert first.expecting == "service"
    assert conv.respond("euh je sais pas trop").expecting == "service"
    assert conv.respond("pour une carie").expecting == "name"
    assert conv.slots["service"] == "soin"


def test_a_practitioner_who_does_not_perform_the_service_is_not_booked_for_it() -> None:
    tenant = settings_from_dict({"tenants": [{
        "id": "t", "resource": [{"name": "Dr Martin"}, {"name": "Dre Sophie Leroy", "aliases": ["Sophie"]}],
        "services": [{"name": "consultation", "duration_min": 30, "default": True},
                     {"name": "vaccination", "duration_min": 15, "resources": ["Dr Martin"]}]}]}).tenants[0]
    ctx = CallContext("c", tenant, SqliteStore(":memory:"), "", lambda: NOW)
    events = start_choices(Tracker(ctx, {}, "book", (), "une vaccination chez sophie"))
    assert SlotSet("service", "vaccination") in events and SlotSet("practitioner", None) in events
    events = start_choices(Tracker(ctx, {}, "book", (), "une consultation chez sophie"))
    assert SlotSet("practitioner", "Dre Sophie Leroy") in events
    # a tagger that took "sophie" for the caller's name (Rasa's DIET can): not their name
    events = start_choices(Tracker(ctx, {"name": "sophie"}, "book", (), "une consultation chez sophie"))
    assert events[-1] == SlotSet("name", None)


def test_cancelling_names_the_appointment_by_its_service(
        engine: BuiltinEngine, store: SqliteStore, settings: Settings) -> None:
    tenant = settings.tenant("demo")
    conv = talk(engine, store, settings, "c5")
    friday_nine = datetime(2026, 12, 4, 9, 0, tzinfo=PARIS)
    for start, service in ((THURSDAY_TEN, "consultation"), (friday_nine, "bilan de santé")):
        availability.book_slot(store, tenant, tenant.service(service), start, name="Paul Girard",
                               phone="+33612345678", call_id="c5", now=NOW)
    read_back = conv.respond("je voudrais annuler mon bilan de santé").say[-1]
    assert "vendredi 4 décembre à 9 heures" in read_back and "jeudi" not in read_back
