"""The dialogue's own transfer paths ask the staffed hours: a request for a human and the
offer after two misunderstandings never promise an empty office (same actions on the
builtin engine and the Rasa action server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import Tenant, settings_from_dict
from agi.dialogue import actions as a
from agi.dialogue.base import CallContext

PARIS = ZoneInfo("Europe/Paris")
STAFFED = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # a Thursday morning
SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 10, tzinfo=PARIS)
CHRISTMAS_MORNING = datetime(2026, 12, 25, 10, 0, tzinfo=PARIS)  # a Friday, closed


def tenant() -> Tenant:
    return settings_from_dict({"tenants": [{
        "id": "t", "name": "T", "transfer_target": "PJSIP/desk", "closures": ["2026-12-25"],
        "opening_hours": {d: ["09:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "services": [{"name": "consultation", "duration_min": 30}]}]}).tenants[0]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "a.sqlite3")
    s.start_call(CallRecord("c1", "t", "+33612345678", STAFFED))
    yield s
    s.close()


def tracker(store: SqliteStore, now: datetime, **slots: object) -> a.Tracker:
    return a.Tracker(CallContext("c1", tenant(), store, "+33612345678", lambda: now), dict(slots), None, (), "")


def test_a_request_for_a_human_transfers_only_in_staffed_hours(store: SqliteStore) -> None:
    assert a.Transfer("PJSIP/desk") in a.action_transfer(tracker(store, STAFFED))
    for closed in (SATURDAY_NIGHT, CHRISTMAS_MORNING):
        events = a.action_transfer(tracker(store, closed))
        assert not any(isinstance(e, a.Transfer) for e in events)
        assert a.Utter("utter_no_transfer") in events and events[-1] == a.FollowupAction("message_form")


def test_after_two_misunderstandings_a_human_is_offered_only_in_staffed_hours(store: SqliteStore) -> None:
    staffed = a.action_fallback(tracker(store, STAFFED, misunderstood=1))
    assert a.Utter("utter_offer_transfer") in staffed
    closed = a.action_fallback(tracker(store, SATURDAY_NIGHT, misunderstood=1))
    assert a.Utter("utter_offer_transfer") not in closed
    assert a.SlotSet("pending", "offer_message") in closed and a.Utter("utter_no_transfer") in closed
