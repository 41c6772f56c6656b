"""A withheld caller books with a call-back number keyed on the phone's keypad, end to end.

No French Vosk model can exist here, so only the recogniser is replaced, by
:class:`conftest.ScriptedRecognizerFactory` (the scripted words come out when real caller
audio, spoken by eSpeak NG, reaches the end of a turn). The keyed number travels as real
AudioSocket DTMF frames from the PBX emulator; transport, dialogue and storage are real.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

SPOKEN = ["je voudrais prendre rendez-vous", "je m'appelle sophie bernard", "le jeudi trois décembre",
          "à quinze heures", "oui", "oui", "non merci au revoir"]
KEYED_AFTER = 4  # the call-back number is asked after the time


def test_a_withheld_caller_keys_a_call_back_number_and_books_under_it(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    paris = ZoneInfo("Europe/Paris")
    turns = [CallerTurn(speak(t, voice="fr")) for t in SPOKEN]
    turns.insert(KEYED_AFTER, CallerTurn(b"", digits="0612345678#"))

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(SPOKEN),
                           now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=paris)) as server:
            return await pbx.call(server, path="demo", caller="",
                                      turns=turns, max_duration=150)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    [appt] = store.appointments_for_caller("demo", "+33612345678")
    assert appt.starts_at == datetime(2026, 12, 3, 15, 0, tzinfo=paris)
    assert appt.customer_name == "Sophie Bernard"
    said = [t.text for t in store.transcript(call.uniqueid)]
    assert "0612345678" in said  # the keyed number is in the transcript as a caller turn
    assert any("zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit" in t for t in said)
    assert store.get_call(call.uniqueid).outcome == "booked"
