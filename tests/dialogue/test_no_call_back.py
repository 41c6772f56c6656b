"""Objection and restriction (GDPR art. 21, 18) in the dialogue: a caller who may not be
contacted is never promised a call-back, and what they say is still kept, as a message.
The actions called directly on a real SqliteStore, then whole calls on the builtin engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_actions import NOW, slots_of, tenant, tracker, utters
from test_builtin import FR, engine, said, talk  # noqa: F401 (engine: the fixture)

from agi.booking.privacy_register import Flag
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.dialogue import actions as a
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinEngine

CALLER = "+33612345678"  # the caller ID of test_actions' tracker
OTHER = "+33698765432"
DICTATED_OTHER = "zéro six quatre-vingt-dix-huit soixante-seize cinquante-quatre trente-deux"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "a.sqlite3")
    s.start_call(CallRecord("c1", "t", CALLER, NOW))
    yield s
    s.close()


@pytest.mark.parametrize("flag", ["objected", "restricted"])
def test_a_message_is_kept_without_a_call_back_promise(store: SqliteStore, flag: Flag) -> None:
    store.privacy().set_flag("t", CALLER, flag, NOW)
    ev = a.action_store_message(tracker(store, name="Marie", message="la facture est fausse"))
    assert utters(ev) == ["utter_message_stored_no_callback"] and a.Outcome("message") in ev
    [msg] = store.messages("t")
    assert (msg.name, msg.text, msg.caller) == ("Marie", "la facture est fausse", CALLER)


def test_a_flag_at_another_tenant_or_lifted_changes_nothing(store: SqliteStore) -> None:
    store.privacy().set_flag("other-tenant", CALLER, "objected", NOW)
    assert utters(a.action_store_message(tracker(store, name="M", message="x"))) == [
        "utter_message_stored"]
    store.privacy().set_flag("t", CALLER, "objected", NOW)
    store.privacy().set_flag("t", CALLER, "objected", None)
    assert utters(a.action_store_message(tracker(store, name="M", message="y"))) == [
        "utter_message_stored"]


@pytest.mark.parametrize("flagged", [CALLER, OTHER])
def test_a_number_said_after_a_request_is_no_call_back_lead_when_flagged(
        store: SqliteStore, flagged: str) -> None:
    """Flagged caller ID, or the dictated number flagged: no lead, the words kept."""
    store.privacy().set_flag("t", flagged, "objected", NOW)
    ev = a.action_inform_after_request(tracker(store, text=DICTATED_OTHER, intent="inform",
                                               appointment_id=7, pending="anything_else"))
    assert utters(ev) == ["utter_message_stored_no_callback"]
    assert slots_of(ev) == {"phone": OTHER, "pending": "anything_else"}
    assert store.leads("t") == []
    [msg] = store.messages("t")
    assert (msg.caller, msg.text) == (OTHER, DICTATED_OTHER)


def test_an_unflagged_number_is_still_a_call_back_lead(store: SqliteStore) -> None:
    store.privacy().set_flag("t", CALLER, "restricted", NOW)
    store.privacy().set_flag("t", CALLER, "restricted", None)
    ev = a.action_inform_after_request(tracker(store, text=DICTATED_OTHER, intent="inform"))
    assert utters(ev) == ["utter_callback_noted"]
    [lead] = store.leads("t")
    assert lead.details["phone"] == OTHER and store.messages("t") == []


def test_the_withheld_number_a_caller_gives_is_checked_too(store: SqliteStore) -> None:
    store.privacy().set_flag("t", OTHER, "objected", NOW)
    withheld = CallContext("c1", tenant(), store, "", lambda: NOW)
    ev = a.action_store_message(a.Tracker(
        withheld, {"name": "Marie", "message": "rappel", "callback": OTHER}, None, (), ""))
    assert utters(ev) == ["utter_message_stored_no_callback"]
    assert store.messages("t")[0].caller == OTHER


@pytest.mark.parametrize("flag", ["objected", "restricted"])
def test_a_whole_call_takes_the_message_and_says_no_call_back_will_come(
        engine: BuiltinEngine, store: SqliteStore, flag: Flag) -> None:  # noqa: F811
    store.privacy().set_flag(FR.id, CALLER, flag, NOW)
    c = talk(engine, store)
    c.respond("je voudrais laisser un message")
    c.respond("marie martin")
    c.respond("pouvez-vous me rappeler pour les résultats de ma prise de sang")  # read back
    r = c.respond("oui")
    assert r.outcome == "message" and "nous ne vous rappellerons pas" in said(r)
    [msg] = store.messages(FR.id)
    assert msg.text == "pouvez-vous me rappeler pour les résultats de ma prise de sang"
    # a number said afterwards is no call-back promise either
    r = c.respond(DICTATED_OTHER)
    assert "nous ne vous rappellerons pas" in said(r) and "rappellerons au" not in said(r)
    assert store.leads(FR.id) == [] and len(store.messages(FR.id)) == 2
