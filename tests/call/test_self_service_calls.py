"""Moving an appointment by phone, end to end over TCP, in French and English.

No French or English Vosk model can exist here, so these calls replace only the
recogniser, with :class:`conftest.ScriptedRecognizerFactory` (the scripted words come out
when real caller audio, spoken by eSpeak NG, reaches the end of a turn by the real VAD).
Transport, endpointing, synthesis, dialogue and storage are all real. The caller is
identified by the caller ID the emulator presents (+33612345678).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking import availability
from agi.booking.sqlite import SqliteStore
from agi.booking.store import Appointment, CallRecord
from agi.config import Settings
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak
from agi.speech.audio import silence

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

CALLER = "+33612345678"  # the emulator's caller ID
FR_SCRIPT = ["bonjour je voudrais déplacer mon rendez-vous", "oui c'est bien ça",
             "jeudi trois décembre", "à quinze heures", "oui", "non merci au revoir"]
EN_SCRIPT = ["hello can i move my appointment please", "yes that's right",
             "the third of december", "at three pm", "yes", "no thanks goodbye"]


def clock(tz: str):
    """Thursday 26 November 2026, 10:00 in the tenant's zone."""
    return lambda: datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(tz))


def book_before_the_call(settings: Settings, tenant_id: str) -> Appointment:
    """The caller's appointment, booked by an earlier call: Tuesday 1 December, 10:00."""
    tenant = settings.tenant(tenant_id)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(tenant.timezone))
    store = SqliteStore(settings.store.sqlite_path)
    try:
        store.start_call(CallRecord("earlier", tenant.id, CALLER, start - timedelta(days=20)))
        return availability.book_slot(store, tenant, tenant.service(None), start, name="Jean Dupont",
                                      phone=CALLER, call_id="earlier", now=start - timedelta(days=20))
    finally:
        store.close()


@pytest.mark.parametrize("tenant, script, voice, read_backs, expected", [
    ("demo", FR_SCRIPT, "fr", ("mardi 1er décembre à 10 heures", "jeudi 3 décembre à 15 heures"),
     datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))),
    ("demo-en", EN_SCRIPT, "en", ("Tuesday 1 December at 10 am", "Thursday 3 December at 3 pm"),
     datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Europe/London"))),
])
def test_a_caller_moves_their_appointment_after_two_read_backs(pbx: Pbx,
        tmp_path: Path, shared: Shared, tenant: str, script: list[str], voice: str,
        read_backs: tuple[str, str], expected: datetime) -> None:
    settings = make_settings(tmp_path)
    before = book_before_the_call(settings, tenant)

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(script),
                           now=clock(settings.tenant(tenant).timezone)) as server:
            return await pbx.call(server, path=tenant, caller=CALLER,
                                      turns=[CallerTurn(speak(t, voice=voice)) for t in script],
                                      max_duration=150)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    [moved] = store.appointments_for_caller(tenant, CALLER)
    assert (moved.id, moved.status, moved.moved_by_call, moved.call_id) == (
        before.id, "moved", call.uniqueid, "earlier")
    assert moved.starts_at == expected and moved.ends_at == expected + timedelta(minutes=30)
    assert store.appointments(tenant, before.starts_at, before.ends_at) == []
    record = store.get_call(call.uniqueid)
    assert record.outcome == "moved" and record.ended_at is not None
    assert call.variables["PERMANENCE_OUTCOME"] == "moved" and call.hung_up_by == "agent"
    said = [(t.speaker, t.text) for t in store.transcript(call.uniqueid)]
    assert [text for speaker, text in said if speaker == "caller"] == script
    # the current appointment is read back before the first yes, the new time before the second
    for yes, read_back in zip((script[1], script[4]), read_backs, strict=True):
        speaker, text = said[said.index(("caller", yes)) - 1]
        assert speaker == "agent" and read_back in text


def test_a_caller_who_hangs_up_mid_move_keeps_the_appointment_and_what_they_said(pbx: Pbx,
        tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    before = book_before_the_call(settings, "demo")
    turns = [CallerTurn(speak(t, voice="fr")) for t in FR_SCRIPT[:4]]
    # 1.5 s of silence after the new time: the agent starts reading it back, and the
    # caller hangs up in the middle of that read-back, before any yes.
    turns[-1] = CallerTurn(turns[-1].audio + silence(1500))

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(FR_SCRIPT),
                           now=clock("Europe/Paris")) as server:
            return await pbx.call(server, path="demo", caller=CALLER,
                                      turns=turns, hangup_after=4, max_duration=120)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    assert call.hung_up_by == "caller"
    [kept] = store.appointments_for_caller("demo", CALLER)
    assert (kept.id, kept.status, kept.starts_at, kept.moved_by_call) == (
        before.id, "booked", before.starts_at, "")
    record = store.get_call(call.uniqueid)
    assert record.outcome == "hangup" and record.ended_at is not None
    assert {"date": "2026-12-03", "time": "15:00"}.items() <= dict(record.data).items()
    assert [t.text for t in store.transcript(call.uniqueid) if t.speaker == "caller"] == FR_SCRIPT[:4]
