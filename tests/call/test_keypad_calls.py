"""Emulated calls for the opening, the keypad and recovery, through the PBX protocols.

Everything is real (FastAGI + AudioSocket with DTMF as kind 0x03 frames, outbound ESL +
unicast with DTMF as ESL events, the WebRTC VAD, eSpeak NG, the builtin dialogue, SQLite)
except the recogniser: no French Vosk model can exist here, so
:class:`conftest.ScriptedRecognizerFactory` gives the scripted words when real caller
audio ends a turn. Two short calls only (they run in real time); the turn-by-turn logic is
tested without audio in test_keypad.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.dialogue import phrases
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

# A Monday morning: staff are there, so the normal greeting plays (after hours has its own).
STAFFED = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))

# A shorter first layer than the default keeps these calls short (the default's length is
# measured in test_opening.py); it still names key 9.
SHORT_LAYER = "Pour vos données, tapez 9."


def agent_said(store: SqliteStore, call: EmulatedCall) -> list[str]:
    return [t.text for t in store.transcript(call.uniqueid) if t.speaker == "agent"]


def test_key_9_in_the_opening_reads_the_notice_and_a_silence_re_asks_the_question(
        tmp_path: Path, shared: Shared) -> None:
    # FreeSWITCH: the key travels as an ESL DTMF event. The caller hangs up 18 s in: the
    # re-asked question starts ~15 s in, a second silence could come ~22 s in.
    settings = make_settings(tmp_path, speech={"no_input_timeout_s": 2.0},
                             tenants=[{"privacy_first_layer": SHORT_LAYER}])
    tenant = settings.tenant("demo")

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory([]),
                           now=lambda: STAFFED) as server:
            # the key is pressed half a second into the AI statement
            return await Pbx("freeswitch").call(server, turns=[CallerTurn(b"", start=0.5, digits="9")],
                                                max_duration=18)

    call = run(scenario())
    assert [e.detail for e in call.events if e.kind == "dtmf"] == ["9"]
    store = SqliteStore(settings.store.sqlite_path)
    # the statement and first layer played whole (they are not in the transcript: nothing
    # is stored before them); the key was acted on right after them, before any greeting;
    # the silence got the opening question in other words
    assert agent_said(store, call) == [
        phrases.full_notice(tenant), f"Reprenons : {tenant.greeting}",
        phrases.DIDNT_HEAR["fr"], phrases.REASK[""]["fr"]]
    record = store.get_call(call.uniqueid)
    assert record is not None and record.ended_at is not None


def test_two_misunderstandings_offer_the_keypad_menu_and_the_longest_call_ends_politely(
        tmp_path: Path, shared: Shared) -> None:
    # The call's limit (22 s) falls while the menu plays (the second answer starts ~16 s
    # in, the menu ends ~29 s in): the close follows it.
    words = ["la brouette de ma tante est verte", "pastèque girafe trombone"]
    settings = make_settings(tmp_path, tenants=[{"privacy_first_layer": SHORT_LAYER, "max_call_s": 22}])
    turns = [CallerTurn(speak(text, voice="fr")) for text in words]

    async def scenario() -> EmulatedCall:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(words),
                           now=lambda: STAFFED) as server:
            return await Pbx("asterisk").call(server, turns=turns, max_duration=60)

    call = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = agent_said(store, call)
    assert said[:2] == [settings.tenant("demo").greeting,
                        "Pardon, je n'ai pas bien compris. Pouvez-vous reformuler ?"]
    assert said[-2].startswith("Vous pouvez aussi utiliser le clavier") and "0 pour parler à quelqu'un" in said[-2]
    assert said[-1] == phrases.TIME_LIMIT["fr"]
    assert [t.text for t in store.transcript(call.uniqueid) if t.speaker == "caller"] == words
    record = store.get_call(call.uniqueid)
    assert record is not None and record.outcome == "time_limit" and record.ended_at is not None
    assert call.hung_up_by == "agent"
