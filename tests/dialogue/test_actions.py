"""Custom actions called directly, as a Rasa action server will: a Tracker in, events out.
Real SqliteStore and availability rules; fixed clock (Thursday 2026-11-26 10:00, Paris)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agi.booking import availability
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import Tenant, settings_from_dict
from agi.dialogue import actions as a
from agi.dialogue.base import CallContext

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)


def tenant(transfer: str = "PJSIP/desk") -> Tenant:
    return settings_from_dict({"tenants": [{
        "id": "t", "name": "T", "transfer_target": transfer,
        "opening_hours": {d: ["09:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "services": [{"name": "consultation", "duration_min": 30}]}]}).tenants[0]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "a.sqlite3")
    s.start_call(CallRecord("c1", "t", "+33612345678", NOW))
    yield s
    s.close()


def tracker(store: SqliteStore, t: Tenant | None = None, text: str = "", intent: str | None = None,
            entities: tuple[a.Entity, ...] = (), **slots: Any) -> a.Tracker:
    ctx = CallContext("c1", t or tenant(), store, "+33612345678", lambda: NOW)
    return a.Tracker(ctx, dict(slots), intent, entities, text)


def slots_of(events: list[a.Event]) -> dict[str, Any]:
    return {e.name: e.value for e in events if isinstance(e, a.SlotSet)}


def utters(events: list[a.Event]) -> list[str]:
    return [e.response for e in events if isinstance(e, a.Utter)]


def test_validate_normalises_spoken_values(store: SqliteStore) -> None:
    ev = a.validate_booking_form(tracker(store, date="mardi prochain", time="dix heures et quart",
                                         name="euh c'est jean dupont"))
    assert slots_of(ev) == {"date": "2026-12-01", "time": "10:15", "name": "Jean Dupont",
                            "service": "consultation"}  # the default: no request started it
    ev = a.validate_booking_form(tracker(store, date="2026-11-20"))
    assert slots_of(ev) == {"date": None, "service": "consultation"} and utters(ev) == ["utter_past_date"]
    ev = a.validate_booking_form(tracker(store, date="le machin"))
    assert utters(ev) == ["utter_invalid_date"]


def test_free_slot_is_read_back(store: SqliteStore) -> None:
    ev = a.action_check_availability(tracker(store, name="Jean", date="2026-12-03", time="10:00"))
    assert slots_of(ev) == {"date_spoken": "jeudi 3 décembre", "time_spoken": "10 heures",
                            "pending": "confirm_booking"}
    assert utters(ev) == ["utter_confirm_appointment"]


def test_taken_slot_offers_nearest_in_order(store: SqliteStore) -> None:
    t = tenant()
    availability.book_slot(store, t, t.service(None), datetime(2026, 12, 3, 10, 0, tzinfo=PARIS),
                           name="X", phone="", call_id="", now=NOW)
    ev = a.action_check_availability(tracker(store, t, date="2026-12-03", time="10:00"))
    s = slots_of(ev)
    assert s["pending"] == "choose_slot" and utters(ev) == ["utter_offer_slots"]
    assert s["offered"] == ["2026-12-03T09:15:00+01:00", "2026-12-03T09:30:00+01:00",
                            "2026-12-03T10:30:00+01:00"]
    ev = a.action_choose_slot(tracker(store, t, text="le deuxième", intent="inform", **s))
    assert slots_of(ev) == {"date": "2026-12-03", "time": "09:30", "pending": None}
    assert ev[-1] == a.FollowupAction("action_check_availability")
    ev = a.action_choose_slot(tracker(store, t, text="à dix heures trente", intent="inform", **s))
    assert slots_of(ev)["time"] == "10:30"
    ev = a.action_choose_slot(tracker(store, t, text="euh", intent="inform", **s))
    assert utters(ev) == ["utter_which_slot"]


def test_closed_time_says_so(store: SqliteStore) -> None:
    ev = a.action_check_availability(tracker(store, date="2026-12-03", time="15:00"))
    assert utters(ev) == ["utter_outside_hours"]


def test_booking_writes_exactly_once(store: SqliteStore) -> None:
    ev = a.action_book_appointment(tracker(store, name="Jean", date="2026-12-03", time="10:00"))
    assert a.Outcome("booked") in ev
    ev = a.action_book_appointment(tracker(store, name="Paul", date="2026-12-03", time="10:00"))
    assert a.Outcome("booked") not in ev and utters(ev) == ["utter_slot_just_taken"]
    assert len(store.appointments_for_caller("t", "+33612345678")) == 1


def test_the_same_yes_acted_on_twice_confirms_the_one_appointment(store: SqliteStore) -> None:
    # Rasa booked after the controller stopped waiting; the builtin engine replays the yes
    first = a.action_book_appointment(tracker(store, name="Jean", date="2026-12-03", time="10:00"))
    again = a.action_book_appointment(tracker(store, name="Jean", date="2026-12-03", time="10:00"))
    assert a.Outcome("booked") in again and utters(again) == ["utter_booked"]
    assert slots_of(again)["appointment_id"] == slots_of(first)["appointment_id"]
    assert len(store.appointments_for_caller("t", "+33612345678")) == 1


def test_correction_with_a_new_time_is_checked(store: SqliteStore) -> None:
    ev = a.action_correct_booking(tracker(store, intent="deny", entities=(a.Entity("time", "11:00"),),
                                          date="2026-12-03", time="11:00"))
    assert ev[-1] == a.FollowupAction("action_check_availability")
    ev = a.action_correct_booking(tracker(store, intent="deny", date="2026-12-03", time="11:00"))
    assert slots_of(ev) == {"pending": None, "date": None, "time": None}
    assert ev[-1] == a.FollowupAction("booking_form")


def test_fallback_counts_then_offers_a_human(store: SqliteStore) -> None:
    ev = a.action_fallback(tracker(store))
    assert utters(ev) == ["utter_please_rephrase"] and slots_of(ev)["misunderstood"] == 1
    ev = a.action_fallback(tracker(store, misunderstood=1))
    assert utters(ev) == ["utter_offer_transfer"] and slots_of(ev)["pending"] == "offer_transfer"


def test_what_was_not_understood_is_kept_in_order_in_the_calls_data(store: SqliteStore) -> None:
    ev = a.action_fallback(tracker(store, text="grmbl pff"))
    assert slots_of(ev)["unclear"] == ["grmbl pff"]
    ev = a.action_fallback(tracker(store, text=" la tarte aux prunes ", misunderstood=1, unclear=["grmbl pff"]))
    assert slots_of(ev)["unclear"] == ["grmbl pff", "la tarte aux prunes"]
    assert "unclear" not in slots_of(a.action_fallback(tracker(store, text="  ")))
    many = [f"mot {i}" for i in range(a.MAX_UNCLEAR)]
    assert slots_of(a.action_fallback(tracker(store, text="encore", unclear=many)))["unclear"] == [*many[1:], "encore"]


def test_the_call_back_form_keeps_the_requests_slots_normalised(store: SqliteStore) -> None:
    """Rasa refills date/time/phone with DIET's words ("onze heures", the dictated digits)
    during callback_form; the builtin engine's values are already normalised (a no-op)."""
    said = "zéro six douze trente quatre cinquante six soixante dix huit"
    ev = a.ACTIONS["validate_callback_form"](tracker(
        store, date="jeudi prochain", time="onze heures", phone=said, callback=said))
    assert slots_of(ev) == {"date": "2026-12-03", "time": "11:00", "phone": "+33612345678",
                            "callback": "+33612345678"}
    ev = a.ACTIONS["validate_callback_form"](tracker(
        store, date="2026-12-03", time="11:00", phone="+33612345678", callback="+33612345678"))
    assert ev == []
    # a range or window, an ambiguous value being asked: left as they are; no number: none
    ev = a.ACTIONS["validate_callback_form"](tracker(
        store, date="2026-12-01/2026-12-04", time="?neuf", phone="le truc"))
    assert slots_of(ev) == {"phone": None}


def test_transfer_or_message(store: SqliteStore) -> None:
    assert a.Transfer("PJSIP/desk") in a.action_transfer(tracker(store))
    ev = a.action_transfer(tracker(store, tenant(transfer="")))
    assert ev[-1] == a.FollowupAction("message_form") and not any(isinstance(e, a.Transfer) for e in ev)


def test_message_is_stored(store: SqliteStore) -> None:
    ev = a.action_store_message(tracker(store, name="Marie", message="rappelez-moi"))
    assert a.Outcome("message") in ev
    [msg] = store.messages("t")
    assert (msg.name, msg.text, msg.call_id) == ("Marie", "rappelez-moi", "c1")


def test_a_phone_said_after_a_request_is_kept_as_a_call_back_lead(store: SqliteStore) -> None:
    ev = a.action_inform_after_request(tracker(
        store, text="zéro six douze trente quatre cinquante six soixante dix huit",
        intent="inform", appointment_id=7, pending="anything_else"))
    assert slots_of(ev) == {"phone": "+33612345678", "pending": "anything_else"}
    assert utters(ev) == ["utter_callback_noted"]
    assert ev[-1].params == {"phone_spoken": "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"}
    [lead] = store.leads("t")
    assert lead.kind == "callback_number" and lead.details["phone"] == "+33612345678"
    assert lead.details["appointment_id"] == 7


def test_a_date_said_after_a_request_starts_a_clean_booking(store: SqliteStore) -> None:
    ev = a.action_inform_after_request(tracker(
        store, text="et jeudi prochain", intent="inform", entities=(a.Entity("date", "2026-12-03"),),
        name="Jean Dupont", date="2026-12-01", time="10:00", pending="anything_else"))
    assert slots_of(ev) == {"name": None, "date": "2026-12-03", "time": None, "phone": None,
                            "message": None, "appointment_id": None, "service": "consultation",
                            "practitioner": None, "services_spoken": "consultation"}
    assert ev[-1] == a.FollowupAction("booking_form")


def test_a_withheld_caller_is_asked_a_call_back_number_before_the_message_is_stored(
        store: SqliteStore) -> None:
    t = tracker(store, name="Luc Girard", message="rappelez-moi")
    t.ctx = CallContext("c1", tenant(), store, "", lambda: NOW)
    ev = a.action_store_message(t)
    assert ev == [a.SlotSet("callback", None), a.FollowupAction("callback_form")]
    assert store.messages("t") == []
    t.slots["callback"] = "+33612345678"
    a.action_store_message(t)
    [msg] = store.messages("t")
    assert (msg.caller, msg.name, msg.text) == ("+33612345678", "Luc Girard", "rappelez-moi")
