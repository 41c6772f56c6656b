"""Booking calls whose dates and times are said the way callers say them (issue #8).

Real FastAGI + AudioSocket over TCP (the PBX emulator), real VAD, eSpeak NG, builtin dialogue
and SQLite. The recogniser alone is a test double (:class:`conftest.ScriptedRecognizerFactory`):
no French or English Vosk model can exist here, so the scripted words come out when real
caller audio reaches the end of a turn. Clock: Monday 30 November 2026, 09:00 local.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.dialogue.normalize import speak_date
from agi.pbx.emulator import CallerTurn, EmulatedCall, emulate_call, speak

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run, serving

PARIS, LONDON = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London")
HELLO_FR, NAME_FR, BYE_FR = "bonjour je voudrais prendre rendez-vous", "jean dupont", "non merci au revoir"


def call(tmp_path: Path, shared: Shared, tenant: str, script: list[str], voice: str
         ) -> tuple[EmulatedCall, SqliteStore]:
    settings = make_settings(tmp_path)
    tz = ZoneInfo(settings.tenant(tenant).timezone)

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(script),
                           now=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=tz)) as server:
            return await emulate_call("127.0.0.1", server.agi_port, path=tenant, max_duration=150,
                                      turns=[CallerTurn(speak(t, voice=voice)) for t in script])

    return run(scenario()), SqliteStore(settings.store.sqlite_path)


def booked_and_said(store: SqliteStore, tenant: str, c: EmulatedCall) -> tuple[list[datetime], list[tuple[str, str]]]:
    starts = [a.starts_at for a in store.appointments(
        tenant, datetime(2026, 11, 1, tzinfo=PARIS), datetime(2027, 2, 1, tzinfo=PARIS))]
    return starts, [(t.speaker, t.text) for t in store.transcript(c.uniqueid)]


@pytest.mark.parametrize("tenant, voice, when, expected", [
    ("demo", "fr", "demain après-midi à quinze heures", datetime(2026, 12, 1, 15, 0, tzinfo=PARIS)),
    ("demo", "fr", "le mercredi neuf décembre à neuf heures", datetime(2026, 12, 9, 9, 0, tzinfo=PARIS)),
    ("demo-en", "en", "thursday week at ten am", datetime(2026, 12, 10, 10, 0, tzinfo=LONDON)),
], ids=["part-of-day", "day-number-after-number-word", "thursday-week"])
def test_the_said_day_and_time_are_booked_after_the_yes(
        tmp_path: Path, shared: Shared, tenant: str, voice: str, when: str, expected: datetime) -> None:
    script = ([HELLO_FR, NAME_FR, when, "oui", BYE_FR] if voice == "fr" else
              ["hi i'd like to book an appointment", "john smith", when, "yes", "no thanks goodbye"])
    c, store = call(tmp_path, shared, tenant, script, voice)
    starts, said = booked_and_said(store, tenant, c)
    assert starts == [expected]  # the same instant ...
    local = starts[0].astimezone(expected.tzinfo)  # ... and the same wall clock in the tenant's zone
    assert (local.date(), local.time()) == (expected.date(), expected.time())
    yes = said.index(("caller", script[3]))
    read_back = said[yes - 1]
    assert read_back[0] == "agent" and speak_date(expected.date(), voice) in read_back[1]  # before the yes
    assert store.get_call(c.uniqueid).outcome == "booked"


def test_a_range_offers_slots_inside_it_and_books_the_chosen_one(tmp_path: Path, shared: Shared) -> None:
    script = [HELLO_FR, NAME_FR, "demain plutôt en fin de matinée", "le premier", "oui", BYE_FR]
    c, store = call(tmp_path, shared, "demo", script, "fr")
    starts, said = booked_and_said(store, "demo", c)
    offer = said[said.index(("caller", script[2])) + 1][1]
    assert offer.startswith("Je peux vous proposer mardi 1er décembre à 10 heures")
    assert "11 heures" not in offer.split("ou")[0] and "9 heures" not in offer  # inside 10-12
    assert starts == [datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)]


def test_a_past_day_is_refused_and_asked_again_nothing_booked_before_yes(
        tmp_path: Path, shared: Shared) -> None:
    script = [HELLO_FR, NAME_FR, "hier à dix heures", "vendredi à dix heures", "non", BYE_FR]
    c, store = call(tmp_path, shared, "demo", script, "fr")
    starts, said = booked_and_said(store, "demo", c)
    assert "déjà passée" in said[said.index(("caller", script[2])) + 1][1]
    assert "vendredi 4 décembre à 10 heures" in said[said.index(("caller", script[3])) + 1][1]
    assert starts == []  # the caller said no to the read-back
