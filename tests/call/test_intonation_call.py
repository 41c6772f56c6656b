"""The intonation check in whole calls (agi/speech/intonation.py, agi/call/pauses.py), on
both fronts, with the embedded defaults (``turns.end_of_turn = "intonation"``):

- a request said in one breath, its voice falling at the end, ends at the pause: the turn
  is over after about 200 ms of silence, well before the 500 ms window;
- "oui ... merci" at the read-back, with a 650 ms pause after a "oui" whose voice stays up,
  is one turn: the silence window alone ends it at the pause (test_acknowledgement_call.py),
  the held voice keeps it open, and the booking follows the whole answer.

Everything is real (emulated PBX, WebRTC VAD, eSpeak NG speech with a real SSML pause, the
pitch tracker, the builtin dialogue, SQLite) except the recogniser, a double because no
French Vosk model can exist here: the latency bench's (bench/latency.py), which gives as
words the groups the caller has finished saying by the clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn
from agi.speech.audio import silence
from bench.latency import Script, ScriptedVoskFactory, Utterance, render

from conftest import Pbx, Shared, make_settings, run, serving

PARIS = ZoneInfo("Europe/Paris")
REQUEST = "bonjour je voudrais prendre un rendez-vous mardi prochain à dix heures"


def place(pbx: Pbx, tmp_path: Path, shared: Shared, utterances: list[Utterance]
          ) -> tuple[list[str], list[float], int]:
    """The caller's transcript lines, the server's endpoint waits (ms) of the undictated
    turns, and the appointments booked."""
    settings = make_settings(tmp_path)
    assert settings.turns.end_of_turn == "intonation"  # the default
    rendered = [render(u, "fr") for u in utterances]
    script = Script()

    waits: list[float] = []

    async def scenario() -> str:
        async with serving(settings, shared, recognizers=ScriptedVoskFactory(None, script),
                           now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)) as server:
            turns = [CallerTurn(pcm) for pcm, _ in rendered[:-1]]
            turns.append(CallerTurn(rendered[-1][0] + silence(3000)))  # then hangs up
            call = await pbx.call(server, turns=turns, hangup_after=len(turns), max_duration=90,
                                  on_event=script.follow(utterances, rendered))
            waits.extend(t.endpoint_wait_ms for t in server.turns if t.endpoint_wait_ms < 900)
            return call.uniqueid

    uniqueid = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    said = [t.text for t in store.transcript(uniqueid) if t.speaker == "caller"]
    booked = store.appointments("demo", datetime(2026, 12, 1, tzinfo=PARIS), datetime(2026, 12, 4, tzinfo=PARIS))
    return said, waits, len(booked)


def test_a_falling_request_ends_at_the_pause_not_after_the_window(pbx: Pbx, tmp_path: Path,
                                                                 shared: Shared) -> None:
    said, waits, _ = place(pbx, tmp_path, shared, [Utterance((REQUEST,), ())])
    assert said[:1] == [REQUEST]
    assert waits and waits[0] < 400, waits  # ended by the fall (the window is 500 ms)


def test_oui_then_a_pause_with_the_voice_held_up_then_merci_is_one_turn(pbx: Pbx, tmp_path: Path,
                                                                       shared: Shared) -> None:
    said, _, booked = place(pbx, tmp_path, shared, [
        Utterance((REQUEST,), ()), Utterance(("jean dupont",), (), dictated=True),
        Utterance(("oui", "merci"), (650,))])
    assert said == [REQUEST, "jean dupont", "oui merci"]
    assert booked == 1
