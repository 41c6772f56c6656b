"""Booking calls end to end over TCP, in French and English, with hang-ups and barge-in.

No French or English Vosk model can exist here, so these calls replace only the
recogniser, with :class:`conftest.ScriptedRecognizerFactory` (the scripted words come out
when real caller audio, spoken by eSpeak NG, reaches the end of a turn by the real VAD).
Transport, endpointing, synthesis, dialogue and storage are all real.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.dialogue import phrases
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak
from agi.speech.audio import FRAME_BYTES, silence

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

FR_SCRIPT = ["bonjour je voudrais prendre rendez-vous", "jean dupont", "mardi prochain",
             "à dix heures", "oui", "non merci au revoir"]
EN_SCRIPT = ["hi i'd like to book an appointment", "john smith", "next tuesday",
             "at half past three", "yes", "no thanks goodbye"]


def clock(tz: str):
    """Thursday 26 November 2026, 10:00 in the tenant's zone."""
    return lambda: datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(tz))


def caller_turns(script: list[str], voice: str) -> list[CallerTurn]:
    return [CallerTurn(speak(text, voice=voice)) for text in script]


@pytest.mark.parametrize("tenant, script, voice, expected", [
    ("demo", FR_SCRIPT, "fr", datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))),
    ("demo-en", EN_SCRIPT, "en", datetime(2026, 12, 1, 15, 30, tzinfo=ZoneInfo("Europe/London"))),
])
def test_a_complete_booking_call_writes_one_appointment_after_the_read_back(pbx: Pbx,
        tmp_path: Path, shared: Shared, tenant: str, script: list[str], voice: str,
        expected: datetime) -> None:
    settings = make_settings(tmp_path)
    tz = settings.tenant(tenant).timezone

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(script),
                           now=clock(tz)) as server:
            return await pbx.call(server, path=tenant,
                                      turns=caller_turns(script, voice), max_duration=150)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    appointments = store.appointments(tenant, expected.replace(hour=0), expected.replace(hour=23))
    assert [(a.starts_at, a.customer_phone) for a in appointments] == [(expected, "+33612345678")]
    assert appointments[0].call_id == call.uniqueid
    record = store.get_call(call.uniqueid)
    assert record.outcome == "booked" and record.ended_at is not None
    said = [(t.speaker, t.text) for t in store.transcript(call.uniqueid)]
    caller_said = [text for speaker, text in said if speaker == "caller"]
    assert caller_said == script
    # the read-back comes before the caller's yes, the confirmation after it
    yes = said.index(("caller", script[4]))
    assert expected.strftime("%-d") in said[yes - 1][1] and said[yes - 1][0] == "agent"
    assert call.hung_up_by == "agent" and call.variables["PERMANENCE_OUTCOME"] == "booked"


def test_caller_hangup_at_every_step_keeps_partial_data_and_books_only_when_confirmed(pbx: Pbx,
        tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    steps = range(1, 6)  # hang up while the agent answers turn 1, 2, ... 5 ("oui")
    turns = caller_turns(FR_SCRIPT[:5], "fr")
    # 1.5 s of silence after the last turn: the agent hears it and starts answering, then
    # the caller hangs up in the middle of that answer.
    heard = [CallerTurn(t.audio + silence(1500)) for t in turns]

    async def scenario() -> list[EmulatedCall]:
        factory = ScriptedRecognizerFactory(*[FR_SCRIPT] * (len(steps) + 1))
        async with serving(settings, shared, recognizers=factory, now=clock("Europe/Paris")) as server:
            return list(await asyncio.gather(
                *[pbx.call(server, path="demo",
                               turns=[*turns[:k - 1], heard[k - 1]], hangup_after=k,
                               max_duration=120) for k in steps],
                # and once mid-sentence: the caller's last words are kept all the same
                pbx.call(server, path="demo", turns=turns[:2],
                             hangup_after=2, max_duration=120)))

    *calls, mid_sentence = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    paris = ZoneInfo("Europe/Paris")
    booked = store.appointments("demo", datetime(2026, 11, 1, tzinfo=paris),
                                datetime(2027, 1, 1, tzinfo=paris))
    assert [a.call_id for a in booked] == [calls[4].uniqueid]  # only the call that said yes
    expected_data = [set(), {"name"}, {"name", "date"}, {"name", "date", "time"},
                     {"name", "date", "time", "appointment_id"}]
    for k, call, keys in zip(steps, calls, expected_data, strict=True):
        record = store.get_call(call.uniqueid)
        assert call.hung_up_by == "caller"
        assert record.ended_at is not None
        assert record.outcome == ("booked" if k == 5 else "hangup"), k
        assert keys <= {key for key, value in record.data.items() if value}, k
        caller_said = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "caller"]
        assert caller_said == FR_SCRIPT[:k], k
    caller_said = [t.text for t in store.transcript(mid_sentence.uniqueid) if t.speaker == "caller"]
    assert caller_said == FR_SCRIPT[:2]
    assert store.get_call(mid_sentence.uniqueid).outcome == "hangup"


def test_barge_in_cuts_a_long_prompt_and_the_words_are_the_next_turn(pbx: Pbx,
        tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    script = ["quels sont vos horaires d'ouverture", "je voudrais prendre rendez-vous"]
    # The second turn starts 1.5 s after the agent starts its (long) opening-hours answer.
    turns = [CallerTurn(speak(script[0], voice="fr")),
             CallerTurn(speak(script[1], voice="fr"), start=1.5)]

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(script),
                           now=clock("Europe/Paris")) as server:
            return await pbx.call(server, path="demo", turns=turns,
                                      hangup_after=None, max_duration=60)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = [(t.speaker, t.text) for t in store.transcript(call.uniqueid)]
    hours_answer = next(text for speaker, text in said if speaker == "agent" and "lundi" in text)
    assert ("caller", script[1]) in said
    after = said[said.index(("caller", script[1])) + 1]
    assert after[0] == "agent" and "nom" in after[1]  # the booking form asks the name next
    tenant = settings.tenant("demo")
    # everything the agent said, in full, against what the caller actually heard
    full = sum(len(shared.synthesizer.synthesize(text, "fr")) for text in
               [*phrases.opening(tenant), *(t for s, t in said if s == "agent")]) // FRAME_BYTES
    hours_frames = len(shared.synthesizer.synthesize(hours_answer, "fr")) // FRAME_BYTES
    assert hours_frames > 300  # a long prompt: several seconds
    assert call.agent_speech_frames < full - hours_frames // 2
