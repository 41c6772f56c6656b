"""Caller self-service: hearing and moving an appointment, identified by caller ID.

The actions are called directly (a Tracker in, events out, as the Rasa action server calls
them) and through the builtin dialogue, on both stores (SQLite and a real PostgreSQL, the
``store`` fixture of tests/conftest.py). Fixed clock: Thursday 2026-11-26 10:00, Paris.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agi.booking import availability
from agi.booking.spool import Spool
from agi.booking.store import Appointment, CallRecord, Store
from agi.config import Tenant, settings_from_dict
from agi.dialogue import actions as a
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinEngine

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
CALLER = "+33612345678"
OTHER = "+33698765432"
NLU = Path(__file__).resolve().parents[2] / "nlu"


def tenant() -> Tenant:
    return settings_from_dict({"tenants": [{
        "id": "t", "name": "T", "transfer_target": "PJSIP/desk",
        "opening_hours": {d: ["09:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "services": [{"name": "consultation", "duration_min": 30}]}]}).tenants[0]


def calls(store: Store) -> Store:
    """The call that booked the appointments, days ago, and this call."""
    store.start_call(CallRecord("earlier", "t", CALLER, NOW - timedelta(days=10)))
    store.start_call(CallRecord("c1", "t", CALLER, NOW))
    return store


@pytest.fixture
def db(store: Store) -> Store:
    return calls(store)


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(NLU, ("fr",))


def book(store: Store, start: datetime, phone: str = CALLER) -> Appointment:
    t = tenant()
    return availability.book_slot(store, t, t.service(None), start, name="Jean", phone=phone,
                                  call_id="earlier", now=NOW - timedelta(days=10))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS)


def tracker(store: Store, text: str = "", intent: str | None = None, caller: str = CALLER,
            entities: tuple[a.Entity, ...] = (), spool: Spool | None = None,
            **slots: Any) -> a.Tracker:
    ctx = CallContext("c1", tenant(), store, caller, lambda: NOW, spool)
    return a.Tracker(ctx, dict(slots), intent, entities, text)


def slots_of(events: list[a.Event]) -> dict[str, Any]:
    return {e.name: e.value for e in events if isinstance(e, a.SlotSet)}


def utters(events: list[a.Event]) -> list[str]:
    return [e.response for e in events if isinstance(e, a.Utter)]


def mine(store: Store, phone: str = CALLER) -> list[tuple[datetime, str]]:
    return [(x.starts_at, x.status) for x in store.appointments_for_caller("t", phone)]


# hearing --------------------------------------------------------------------------------
def test_the_next_appointment_is_said(db: Store) -> None:
    book(db, at(3, 10))
    ev = a.action_tell_appointment(tracker(db, intent="appointment_info"))
    assert utters(ev) == ["utter_next_appointment"]
    assert slots_of(ev) == {"date_spoken": "jeudi 3 décembre", "time_spoken": "10 heures",
                            "pending": "anything_else"}


def test_with_several_the_next_one_is_said_and_how_many_in_all(db: Store) -> None:
    book(db, at(10, 11))
    book(db, at(3, 9, 30))
    a.action_cancel_appointment(tracker(db, appointment_id=book(db, at(1, 9)).id))  # cancelled
    book(db, at(2, 9), phone=OTHER)  # someone else's
    [ev] = [e for e in a.action_tell_appointment(tracker(db)) if isinstance(e, a.Utter)]
    assert ev == a.Utter("utter_next_appointments", {"count": "2"})
    assert slots_of(a.action_tell_appointment(tracker(db)))["date_spoken"] == "jeudi 3 décembre"


def test_past_appointments_are_not_said_and_none_left_offers_a_message(db: Store) -> None:
    t = tenant()
    availability.book_slot(db, t, t.service(None), datetime(2026, 11, 20, 9, tzinfo=PARIS),
                           name="Jean", phone=CALLER, call_id="earlier", now=NOW - timedelta(days=30))
    ev = a.action_tell_appointment(tracker(db))
    assert utters(ev) == ["utter_no_appointment"] and slots_of(ev) == {"pending": "offer_message"}


def test_a_withheld_number_hears_nothing_even_with_a_dictated_number(db: Store) -> None:
    book(db, at(3, 10))
    ev = a.action_tell_appointment(tracker(db, caller="", phone=CALLER))
    assert utters(ev) == ["utter_no_caller_id"] and slots_of(ev)["pending"] == "offer_message"
    ev = a.action_find_appointment_to_move(tracker(db, caller="", phone=CALLER))
    assert utters(ev) == ["utter_no_caller_id"]
    ev = a.action_find_appointment(tracker(db, caller="", phone=CALLER))
    assert utters(ev) == ["utter_no_caller_id"]


def test_cancelling_reaches_only_the_callers_own_appointment(db: Store) -> None:
    theirs = book(db, at(1, 10), phone=OTHER)
    mine_ = book(db, at(3, 10))
    # a dictated number is not an identity: the caller's own appointment is read back
    ev = a.action_find_appointment(tracker(db, phone=OTHER))
    assert slots_of(ev)["appointment_id"] == mine_.id and utters(ev) == ["utter_confirm_cancel"]
    # an id of someone else's appointment left in the tracker cancels nothing
    ev = a.action_cancel_appointment(tracker(db, intent="affirm", appointment_id=theirs.id))
    assert utters(ev) == ["utter_no_appointment"] and a.Outcome("cancelled") not in ev
    ev = a.action_cancel_appointment(tracker(db, intent="affirm", appointment_id=float(mine_.id)))
    assert a.Outcome("cancelled") in ev
    assert mine(db, OTHER) == [(at(1, 10), "booked")] and mine(db, CALLER) == []


# moving -----------------------------------------------------------------------------------
def test_the_appointment_is_read_back_before_a_new_time_is_asked(db: Store) -> None:
    appt = book(db, at(1, 10))
    ev = a.action_find_appointment_to_move(tracker(
        db, "je voudrais décaler mon rendez-vous de mardi à jeudi", "move",
        date="2026-12-01", time="15:00"))  # a time left over from earlier in the call
    assert slots_of(ev) == {"appointment_id": appt.id, "date": "2026-12-03", "time": None,
                            "date_spoken": "mardi 1er décembre", "time_spoken": "10 heures",
                            "pending": "confirm_move"}
    assert utters(ev) == ["utter_confirm_move"]


def test_no_appointment_to_move_offers_a_message(db: Store) -> None:
    book(db, at(3, 10), phone=OTHER)
    ev = a.action_find_appointment_to_move(tracker(db, "je voudrais déplacer mon rendez-vous", "move"))
    assert utters(ev) == ["utter_no_appointment"] and slots_of(ev)["pending"] == "offer_message"


def test_a_free_new_time_is_read_back_its_own_time_counting_as_free(db: Store) -> None:
    appt = book(db, at(3, 10))
    # 10:15 overlaps the appointment itself: free for the move
    ev = a.action_check_move(tracker(db, appointment_id=appt.id, date="2026-12-03", time="10:15"))
    assert utters(ev) == ["utter_confirm_new_time"]
    assert slots_of(ev) == {"date_spoken": "jeudi 3 décembre", "time_spoken": "10 heures 15",
                            "pending": "confirm_new_time"}


def test_a_taken_new_time_offers_the_nearest_free_ones_then_the_pick_is_checked(db: Store) -> None:
    appt = book(db, at(1, 9))
    book(db, at(3, 10), phone=OTHER)
    ev = a.action_check_move(tracker(db, appointment_id=appt.id, date="2026-12-03", time="10:00"))
    s = slots_of(ev)
    assert utters(ev) == ["utter_offer_slots"] and s["pending"] == "choose_move_slot"
    assert s["offered"] == ["2026-12-03T09:15:00+01:00", "2026-12-03T09:30:00+01:00",
                            "2026-12-03T10:30:00+01:00"]
    ev = a.action_choose_move_slot(tracker(db, "le deuxième", "inform", **s))
    assert slots_of(ev) == {"date": "2026-12-03", "time": "09:30", "pending": None}
    assert ev[-1] == a.FollowupAction("action_check_move")
    ev = a.action_choose_move_slot(tracker(db, "non", "deny", **s))
    assert ev[-1] == a.FollowupAction("move_form")
    ev = a.action_check_move(tracker(db, appointment_id=appt.id, date="2026-12-03", time="15:00"))
    assert utters(ev) == ["utter_outside_hours"]


def test_yes_moves_the_appointment_once_at_the_right_time(db: Store) -> None:
    appt = book(db, at(1, 10))
    ev = a.action_move_appointment(tracker(db, intent="affirm", appointment_id=float(appt.id),
                                           date="2026-12-04", time="11:30"))
    assert a.Outcome("moved") in ev and utters(ev) == ["utter_moved"]
    assert slots_of(ev) == {"date_spoken": "vendredi 4 décembre", "time_spoken": "11 heures 30",
                            "pending": "anything_else"}
    [moved] = db.appointments_for_caller("t", CALLER)
    assert moved.id == appt.id and moved.status == "moved" and moved.moved_by_call == "c1"
    assert moved.starts_at == at(4, 11, 30) and moved.starts_at.utcoffset() is not None
    assert moved.ends_at - moved.starts_at == timedelta(minutes=30)
    assert db.appointments("t", at(1, 9), at(1, 12)) == []  # the old time is free again


def test_a_new_time_taken_before_the_yes_offers_others_and_changes_nothing(db: Store) -> None:
    appt = book(db, at(1, 10))
    book(db, at(4, 11), phone=OTHER)  # someone else was faster
    ev = a.action_move_appointment(tracker(db, intent="affirm", appointment_id=appt.id,
                                           date="2026-12-04", time="11:00"))
    assert a.Outcome("moved") not in ev and utters(ev) == ["utter_slot_just_taken"]
    assert slots_of(ev)["pending"] == "choose_move_slot"
    assert mine(db) == [(at(1, 10), "booked")]


def test_an_appointment_of_another_caller_is_never_moved(db: Store) -> None:
    theirs = book(db, at(1, 10), phone=OTHER)
    ev = a.action_move_appointment(tracker(db, intent="affirm", appointment_id=theirs.id,
                                           date="2026-12-04", time="11:00"))
    assert utters(ev) == ["utter_no_appointment"] and a.Outcome("moved") not in ev
    ev = a.action_check_move(tracker(db, appointment_id=theirs.id, date="2026-12-04", time="11:00"))
    assert utters(ev) == ["utter_no_appointment"]
    assert mine(db, OTHER) == [(at(1, 10), "booked")]


def test_a_correction_with_the_no_is_checked_else_the_day_is_asked_again(db: Store) -> None:
    ev = a.action_correct_move(tracker(db, intent="deny", entities=(a.Entity("time", "11:00"),),
                                       date="2026-12-03", time="11:00"))
    assert ev[-1] == a.FollowupAction("action_check_move")
    ev = a.action_correct_move(tracker(db, intent="deny", date="2026-12-03", time="11:00"))
    assert slots_of(ev) == {"pending": None, "date": None, "time": None}
    assert ev[-1] == a.FollowupAction("move_form")
    ev = a.validate_move_form(tracker(db, date="jeudi prochain", time="dix heures et quart"))
    assert slots_of(ev) == {"date": "2026-12-03", "time": "10:15"}


# the builtin dialogue ----------------------------------------------------------------------
def converse(engine: BuiltinEngine, store: Store, lines: list[str]) -> list[Any]:
    conv = engine.conversation(CallContext("c1", tenant(), store, CALLER, lambda: NOW))
    return [conv.respond(line) for line in lines]


def test_a_move_by_phone_on_the_builtin_dialogue(engine: BuiltinEngine, db: Store) -> None:
    book(db, at(1, 10))
    replies = converse(engine, db, ["bonjour je voudrais déplacer mon rendez-vous",
                                    "oui c'est bien ça", "vendredi quatre décembre",
                                    "à onze heures", "oui", "non merci au revoir"])
    assert "mardi 1er décembre à 10 heures" in replies[0].say[0]
    assert replies[1].expecting == "date" and replies[2].expecting == "time"
    assert "vendredi 4 décembre à 11 heures" in replies[3].say[0]
    assert replies[4].outcome == "moved" and replies[5].hangup
    assert mine(db) == [(at(4, 11), "moved")]


def test_hearing_then_declining_a_move_changes_nothing(engine: BuiltinEngine, db: Store) -> None:
    book(db, at(1, 10))
    replies = converse(engine, db, ["euh c'est quand mon rendez-vous", "oui",
                                    "je voudrais reporter mon rendez-vous", "non"])
    assert "mardi 1er décembre à 10 heures" in replies[0].say[0]
    assert replies[3].say == ("Très bien, je garde votre rendez-vous. Puis-je faire autre chose pour vous ?",)
    assert mine(db) == [(at(1, 10), "booked")]


# the database goes away between the read-back and the yes ------------------------------------
def test_postgres_down_at_the_yes_keeps_the_move_request_as_a_lead(
        pg_server: Any, postgres_dsn: str, pg_schema: str, tmp_path: Path) -> None:
    if pg_server is None:
        pytest.skip("needs the tests' own PostgreSQL: it stops and starts it")
    from agi.booking.postgres import PostgresStore

    store = PostgresStore(postgres_dsn, pg_schema, timeout=1.0)
    spool = Spool(tmp_path / "spool.sqlite3")
    try:
        appt = book(calls(store), at(1, 10))
        slots = {"appointment_id": appt.id, "date": "2026-12-04", "time": "11:00"}
        assert utters(a.action_check_move(tracker(store, spool=spool, **slots))) == [
            "utter_confirm_new_time"]
        pg_server.stop()
        try:
            ev = a.action_move_appointment(tracker(store, intent="affirm", spool=spool, **slots))
        finally:
            pg_server.start()
        assert a.Outcome("pending") in ev and utters(ev) == ["utter_move_noted"]
        deadline = time.monotonic() + 60  # the pool reconnects with its own back-off
        while spool.pending() and time.monotonic() < deadline:
            spool.replay(store)
            time.sleep(0.3)
        assert spool.pending() == 0
        [lead] = store.leads("t")
        assert (lead.kind, lead.call_id, lead.caller) == ("move_request", "c1", CALLER)
        assert lead.details["appointment_id"] == appt.id
        assert datetime.fromisoformat(lead.details["new_starts_at"]) == at(4, 11)
        assert mine(store) == [(at(1, 10), "booked")]  # unchanged until the business acts
    finally:
        spool.close()
        store.close()


# the Rasa action server (nlu/actions/) --------------------------------------------------
def test_the_rasa_action_server_runs_the_self_service_actions(db: Store) -> None:
    pytest.importorskip("rasa_sdk")
    import importlib.util

    from rasa_sdk import Tracker as SdkTracker
    from rasa_sdk.executor import CollectingDispatcher

    spec = importlib.util.spec_from_file_location("self_service_nlu_actions",
                                                  NLU / "actions" / "__init__.py")
    assert spec is not None and spec.loader is not None
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    names = {cls().name() for cls in server.ACTION_CLASSES}
    assert {"action_tell_appointment", "action_find_appointment_to_move", "validate_move_form",
            "action_check_move", "action_choose_move_slot", "action_correct_move",
            "action_move_appointment"} <= names

    book(db, at(1, 10))
    book(db, at(10, 9))
    ctx = CallContext("c1", tenant(), db, CALLER, lambda: NOW)
    text = "je voudrais déplacer mon rendez-vous de mardi à jeudi"
    latest = {"text": text, "intent": {"name": "move"},
              "entities": [{"entity": "date", "value": "mardi"}, {"entity": "date", "value": "jeudi"}]}
    sdk = SdkTracker("c1", {}, latest, [{"event": "user", "text": text, "parse_data": latest}],
                     False, None, {}, "action_listen")
    when = server.spoken_when(sdk, ctx, "action_find_appointment_to_move")
    dispatcher = CollectingDispatcher()
    events = server.translate(
        a.ACTIONS["action_find_appointment_to_move"](server.to_tracker(sdk, ctx, when)), dispatcher)
    # The whole sentence read as the days it spans is set first; the action's new day wins after it
    assert when == {"date": "2026-12-01/2026-12-03"}
    assert [e["value"] for e in events if e.get("name") == "date"] == ["2026-12-03"]
    assert dispatcher.messages[0]["response"] == "utter_confirm_move"
    assert dispatcher.messages[0]["date_spoken"] == "mardi 1er décembre"

    dispatcher = CollectingDispatcher()
    server.translate(a.action_tell_appointment(server.to_tracker(sdk, ctx)), dispatcher)
    [message] = dispatcher.messages
    assert (message["response"], message["count"]) == ("utter_next_appointments", "2")
