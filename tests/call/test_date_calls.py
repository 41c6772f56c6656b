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

from agi.booking.sqlite import SqliteStore
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


def test_a_past_day_is_refused_then_a_day_number_after_a_number_word_is_booked(
        tmp_path: Path, shared: Shared) -> None:
    script = [HELLO_FR, NAME_FR, "hier à dix heures", "le mercredi neuf décembre à neuf heures",
              "oui", BYE_FR]
    c, store = call(tmp_path, shared, "demo", script, "fr")
    starts, said = booked_and_said(store, "demo", c)
    assert "déjà passée" in said[said.index(("caller", script[2])) + 1][1]
    expected = datetime(2026, 12, 9, 9, 0, tzinfo=PARIS)
    assert starts == [expected]  # the same instant, and the same wall clock in Paris:
    assert starts[0].astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 12, 9, 9, 0)
    read_back = said[said.index(("caller", "oui")) - 1]
    assert read_back[0] == "agent" and "mercredi 9 décembre à 9 heures" in read_back[1]
    assert store.get_call(c.uniqueid).outcome == "booked"


def test_a_part_of_day_read_back_refused_then_a_range_offered_inside_it(
        tmp_path: Path, shared: Shared) -> None:
    script = [HELLO_FR, NAME_FR, "demain après-midi à quinze heures", "non",
              "demain plutôt en fin de matinée", "le premier", "oui", BYE_FR]
    c, store = call(tmp_path, shared, "demo", script, "fr")
    starts, said = booked_and_said(store, "demo", c)
    assert "mardi 1er décembre à 15 heures" in said[said.index(("caller", script[2])) + 1][1]
    offer = said[said.index(("caller", script[4])) + 1][1]
    assert offer.startswith("Je peux vous proposer mardi 1er décembre à 10 heures")
    assert "9 heures" not in offer and "14 heures" not in offer  # inside 10:00-12:00 only
    assert starts == [datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)]  # only after the yes


def test_thursday_week_is_booked_in_london(tmp_path: Path, shared: Shared) -> None:
    script = ["hi i'd like to book an appointment", "john smith", "thursday week at ten am", "yes",
              "no thanks goodbye"]
    c, store = call(tmp_path, shared, "demo-en", script, "en")
    starts, said = booked_and_said(store, "demo-en", c)
    assert starts == [datetime(2026, 12, 10, 10, 0, tzinfo=LONDON)]
    assert "Thursday 10 December at 10 am" in said[said.index(("caller", "yes")) - 1][1]
