"""A call on Saturday night: nobody is promised a transfer, the caller hears the staffed
hours, "0" leads to a message, and the emergency sentence is said when the words call for it.

No French Vosk model can exist here, so only the recogniser is replaced, by
:class:`conftest.ScriptedRecognizerFactory` (scripted words come out when real caller audio,
spoken by eSpeak NG, reaches the end of a turn). Transport, DTMF, dialogue and store are real.
One front only (Asterisk): the staffed-hours logic is the session's, the same on both.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

SATURDAY_NIGHT = datetime(2026, 12, 5, 23, 10, tzinfo=ZoneInfo("Europe/Paris"))
EMERGENCY = "En cas d'urgence, composez le 15."
SPOKEN = ["jean dupont", "c'est urgent, mon fils a beaucoup de fièvre, rappelez-moi", "non merci"]


def test_after_hours_the_0_key_takes_a_message_and_never_a_transfer(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, tenants=[{"staffed": {
        "emergency": EMERGENCY, "hours": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}}])
    turns = [CallerTurn(b"", digits="0"), *(CallerTurn(speak(t, voice="fr")) for t in SPOKEN)]

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(SPOKEN),
                           now=lambda: SATURDAY_NIGHT) as server:
            return await Pbx("asterisk").call(server, path="demo", turns=turns, max_duration=90)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "agent"]
    assert not any("transf" in t.lower() or "collaborateur" in t.lower() for t in said)
    assert any("Notre équipe répond au téléphone du lundi au vendredi de 9 heures à 18 heures" in t for t in said)  # the hours
    assert said.count(EMERGENCY) == 1
    [message] = store.messages("demo")
    assert message.call_id == call.uniqueid and message.name == "Jean Dupont"
    assert "fièvre" in message.text
    assert store.get_call(call.uniqueid).outcome == "message"
    assert call.variables["PERMANENCE_RESULT"] == "hangup" and "PERMANENCE_TRANSFER" not in call.variables
