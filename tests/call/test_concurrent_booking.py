"""Ten callers ask for the same free slot at the same time, end to end over TCP.

Exactly one gets it; the nine others hear that the slot has just been taken and are
offered the nearest free ones. The recogniser is the scripted double (no French Vosk
model exists here, see conftest.py); everything else is real.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, speak
from agi.speech.audio import silence

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

CALLERS = 10
SCRIPT = ["je voudrais prendre rendez-vous", "{name}", "mardi prochain", "à dix heures", "oui"]
NAMES = ["jean dupont", "marie curie", "paul martin", "anne morel", "luc petit",
         "julie robert", "marc durand", "emma leroy", "hugo moreau", "lea simon"]
PARIS = ZoneInfo("Europe/Paris")


def test_ten_concurrent_calls_for_one_slot_book_it_once(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    scripts = [[line.format(name=name) for line in SCRIPT] for name in NAMES[:CALLERS]]
    audio = {text: speak(text, voice="fr") for script in scripts for text in script}

    async def scenario():
        factory = ScriptedRecognizerFactory(*scripts)
        async with serving(settings, shared, recognizers=factory,
                           now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)) as server:
            calls = []
            for i, script in enumerate(scripts):
                turns = [CallerTurn(audio[text]) for text in script]
                # the "oui" is followed by silence so it is heard before the caller hangs up
                turns[-1] = CallerTurn(audio[script[-1]] + silence(4000))
                calls.append(pbx.call(server, path="demo",
                                          caller=f"+3361234560{i}", turns=turns,
                                          hangup_after=len(turns), max_duration=150))
            return await asyncio.gather(*calls)

    calls = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    ten = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    booked = store.appointments("demo", ten, ten.replace(hour=11))
    assert len([a for a in booked if a.starts_at == ten]) == 1
    winners, offered = 0, 0
    for call in calls:
        agent = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "agent"]
        winners += any("confirmé" in text for text in agent)
        offered += any("vient d'être pris" in text for text in agent)
    assert (winners, offered) == (1, CALLERS - 1)

