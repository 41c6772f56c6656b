"""Nothing the caller said is lost when understanding fails (issue #8): the words are in the
transcript and in the call's collected data (the ``unclear`` slot), end to end.

No French Vosk model can exist here, so only the recogniser is replaced, by
:class:`conftest.ScriptedRecognizerFactory` (the scripted words come out when real caller
audio, spoken by eSpeak NG, reaches the end of a turn); the PBX is the emulator over real
FastAGI/AudioSocket, dialogue and storage are real. The same call through Rasa is in
tests/rasa/test_rasa_dialogue.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

SPOKEN = ["grmbl pff", "non merci au revoir"]


def test_words_not_understood_are_in_the_transcript_and_the_calls_data(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    turns = [CallerTurn(speak(t, voice="fr")) for t in SPOKEN]

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(SPOKEN),
                           now=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))) as server:
            return await Pbx("asterisk").call(server, path="demo", caller="+33612000040",
                                              turns=turns, max_duration=60)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = [(t.speaker, t.text) for t in store.transcript(call.uniqueid)]
    assert ("caller", "grmbl pff") in said
    record = store.get_call(call.uniqueid)
    assert record is not None and record.data["unclear"] == ["grmbl pff"]
