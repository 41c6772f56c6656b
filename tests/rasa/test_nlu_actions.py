"""nlu/actions/ (the Rasa SDK action server) without a Rasa server: how a Rasa tracker
becomes ours. Real rasa_sdk trackers, real settings (agi/defaults.toml), a real store.

Why: Rasa's DIET tags only part of a spoken time ("dix neuf heures" -> "neuf heures"); the
action server re-derives date and time from the whole message with our normaliser, so both
backends book the same hour.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker as SdkTracker

from agi.booking.sqlite import SqliteStore
from agi.config import load_settings
from agi.dialogue.base import CallContext

REPO = Path(__file__).resolve().parents[2]
MONDAY_PARIS = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


def _load_actions() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "permanence_nlu_actions", REPO / "nlu" / "actions" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


actions = _load_actions()


@pytest.fixture
def ctx(tmp_path: Path) -> CallContext:
    settings = load_settings(REPO / "agi" / "defaults.toml", {})
    store = SqliteStore(tmp_path / "calls.sqlite3")
    return CallContext("call-1", settings.tenant("demo"), store, "+33600000000",
                       now=lambda: MONDAY_PARIS)


def sdk_tracker(text: str, entities: list[dict[str, Any]], slots: dict[str, Any],
                after_user: list[dict[str, Any]] | None = None,
                requested_slot: str | None = None) -> SdkTracker:
    latest = {"text": text, "intent": {"name": "inform"}, "entities": entities}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": latest},
              *(after_user or [])]
    return SdkTracker("call-1", {**slots, "requested_slot": requested_slot}, latest, events,
                      False, None, {}, "action_listen")


def test_a_partly_tagged_spoken_time_is_read_again_from_the_whole_message(ctx: CallContext) -> None:
    sdk = sdk_tracker("demain à dix neuf heures", [{"entity": "time", "value": "neuf heures"}],
                      {"time": "neuf heures", "date": None})
    when = actions.spoken_when(sdk, ctx)
    assert when == {"date": "2026-12-01", "time": "19:00"}
    ours = actions.to_tracker(sdk, ctx, when)
    assert ours.get_slot("time") == "19:00" and ours.get_slot("date") == "2026-12-01"
    assert {(e.entity, e.value) for e in ours.entities} == {("time", "19:00"), ("date", "2026-12-01")}


def test_no_date_or_time_tagged_leaves_rasas_values_alone(ctx: CallContext) -> None:
    sdk = sdk_tracker("je m'appelle dix neuf", [{"entity": "name", "value": "dix neuf"}],
                      {"time": "15:00"})
    assert actions.spoken_when(sdk, ctx) == {}
    assert actions.to_tracker(sdk, ctx, {}).get_slot("time") == "15:00"


def test_a_later_action_of_the_turn_does_not_bring_the_said_time_back(ctx: CallContext) -> None:
    """After the form (or a follow-up) ran, the slots may hold a replaced or rejected value."""
    sdk = sdk_tracker("dix neuf heures", [{"entity": "time", "value": "neuf heures"}],
                      {"time": None}, after_user=[{"event": "action", "name": "action_extract_slots"},
                                                  {"event": "action", "name": "booking_form"}])
    assert actions.spoken_when(sdk, ctx) == {}


def test_the_form_validation_gets_the_normalised_time_as_rasa_slot_events(ctx: CallContext) -> None:
    """The validation the form calls right after slot extraction sets Rasa's own slot."""
    sdk = sdk_tracker("dix neuf heures", [{"entity": "time", "value": "neuf heures"}],
                      {"time": "neuf heures", "date": "2026-12-01", "name": "Martin"},
                      after_user=[{"event": "action", "name": "action_extract_slots"},
                                  {"event": "slot", "name": "time", "value": "neuf heures"},
                                  # Rasa's FormAction validates on a temporary tracker that
                                  # already ends with the form's ActionExecuted
                                  {"event": "action", "name": "booking_form"}],
                      requested_slot="time")
    assert actions.spoken_when(sdk, ctx, "action_check_availability") == {}
    when = actions.spoken_when(sdk, ctx, "validate_booking_form")
    assert when == {"time": "19:00"}
    events = actions.ACTIONS["validate_booking_form"](actions.to_tracker(sdk, ctx, when))
    # nothing left to fix for the action itself: the slot it saw is already normalised
    assert not [e for e in events if getattr(e, "name", None) == "time"]


def test_the_action_server_sets_rasas_slot_to_the_normalised_time(
        ctx: CallContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the rasa_sdk Action itself: Rasa gets SlotSet(time, 19:00) first."""
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    settings = load_settings(REPO / "agi" / "defaults.toml", {})
    monkeypatch.setattr(actions._Process, "settings", settings)
    monkeypatch.setattr(actions._Process, "store", ctx.store)
    sdk = sdk_tracker("dix neuf heures", [{"entity": "time", "value": "neuf heures"}],
                      {"time": "neuf heures", "date": "2026-12-01", "name": "Martin"},
                      after_user=[{"event": "action", "name": "action_extract_slots"},
                                  {"event": "action", "name": "booking_form"}],
                      requested_slot="time")
    sdk.latest_message["metadata"] = {"tenant_id": "demo", "call_id": "call-1",
                                      "now": MONDAY_PARIS.isoformat()}
    action = next(c for c in actions.ACTION_CLASSES if c().name() == "validate_booking_form")()
    events = asyncio.run(action.run(CollectingDispatcher(), sdk, {}))
    assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [("time", "19:00")]


def test_a_dictated_number_is_a_phone_never_a_time(ctx: CallContext) -> None:
    """DIET keeps the words of the number and may tag a time among them ("dix huit"): the
    builtin engine's extractor reads one E.164 number, and the time keeps its value."""
    said = "zéro six douze trente quatre cinquante six soixante dix huit"
    sdk = sdk_tracker(said, [{"entity": "phone", "value": said}, {"entity": "time", "value": "dix huit"}],
                      {"phone": said, "time": "dix huit"},
                      after_user=[{"event": "action", "name": "action_extract_slots"},
                                  {"event": "slot", "name": "phone", "value": said},
                                  {"event": "slot", "name": "time", "value": "dix huit"}])
    sdk.events.insert(0, {"event": "slot", "name": "time", "value": "11:00"})  # the booking's, earlier
    when = actions.spoken_when(sdk, ctx, "validate_callback_form")
    assert when == {"phone": "+33612345678", "time": "11:00"}
    ours = actions.to_tracker(sdk, ctx, when)
    assert (ours.get_slot("phone"), ours.get_slot("time")) == ("+33612345678", "11:00")
    assert {(e.entity, e.value) for e in ours.entities} == {("phone", "+33612345678"), ("time", "11:00")}


def test_a_tagged_time_the_extractor_cannot_read_leaves_the_slot_as_before(ctx: CallContext) -> None:
    """"dupont d u p o n t": whatever DIET tags there, the builtin engine finds no time."""
    sdk = sdk_tracker("dupont d u p o n t", [{"entity": "time", "value": "d u"}], {"time": "d u"})
    assert actions.spoken_when(sdk, ctx) == {"time": None}
    ours = actions.to_tracker(sdk, ctx, actions.spoken_when(sdk, ctx))
    assert ours.get_slot("time") is None and [e for e in ours.entities if e.entity == "time"] == []


def test_an_asked_name_partly_tagged_is_the_whole_answer() -> None:
    """DIET tags "jones" in "anna jones": the form asked for the name, the answer is it."""
    sdk = sdk_tracker("anna jones", [{"entity": "name", "value": "jones"}], {"name": "jones"},
                      after_user=[{"event": "action", "name": "message_form"}],
                      requested_slot="name")
    assert actions.spoken_name(sdk, "validate_message_form") == {"name": "anna jones"}
    not_asked = sdk_tracker("anna jones", [{"entity": "name", "value": "jones"}], {"name": "jones"})
    assert actions.spoken_name(not_asked, "validate_message_form") == {}
