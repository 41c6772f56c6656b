"""A call is never blocked because another call is synthesising.

Two calls run at once through the Asterisk emulator; one of them is held up on purpose
(a renderer double, in its eSpeak process, that stops until the test lets it go), and the
other must get its answer meanwhile. Everything else is real: eSpeak NG processes, the
VAD, the wire protocols, the builtin dialogue; the double stands in only for slowness,
which the real engine cannot produce on demand. (Decoding: tests/core/test_workers.py.)
"""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

from agi.config import SpeechSettings
from agi.pbx.emulator import CallerTurn, CallEvent, EmulatedCall, emulate_call, speak
from agi.speech.asr import Recognizer, RecognizerFactory
from agi.speech.audio import silence
from agi.speech.espeak import EspeakPool, render
from agi.speech.tts import EspeakSynthesizer

from conftest import ScriptedRecognizer, Shared, make_settings, run, serving

WAIT_S = 30.0  # the held-up call is always let go after this, so a failing test still ends
SAID = {"fr": "bonjour je voudrais prendre rendez-vous", "en": "hello i would like to book an appointment"}
BYE = {"fr": "non merci", "en": "no thanks"}
LATER = 4  # seconds: well after the other call's reply is stuck, before the no-input timeout


def slow_render(gate: str, text: str, voice: str, rate: int) -> bytes:
    """Runs in an eSpeak process: once ``armed``, French renders wait for ``release``."""
    folder = Path(gate)
    if voice.startswith("roa/fr") and (folder / "armed").exists():
        (folder / "blocked").touch()
        deadline = time.monotonic() + WAIT_S
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return render(text, voice, rate)


class ByLanguage(RecognizerFactory):
    """Scripted words per call language (no French/English Vosk model exists here)."""

    def new(self, language: str) -> Recognizer:
        return ScriptedRecognizer([SAID[language], BYE[language]])


def turns(language: str) -> list[CallerTurn]:
    return [CallerTurn(speak(SAID[language], voice=language)),
            CallerTurn(speak(BYE[language], voice=language))]


def answered(call: EmulatedCall) -> bool:
    return bool(call.turns) and call.turns[0].first_agent_speech is not None


def test_a_call_is_answered_while_another_is_stuck_in_synthesis(tmp_path: Path, shared: Shared) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    pool = EspeakPool(2, renderer=functools.partial(slow_render, str(gate)))
    synthesizer = EspeakSynthesizer(SpeechSettings(), pool=pool)
    settings = make_settings(tmp_path)
    french_turns = turns("fr")
    # The English caller starts speaking LATER seconds after its greeting, so its reply is
    # wanted while the French one is already stuck in its synthesis process.
    english_turns = turns("en")
    english_turns[0] = CallerTurn(silence(LATER * 1000) + english_turns[0].audio)
    english_events: list[CallEvent] = []
    blocked_when_answered: list[bool] = []  # at the English reply's first frame

    def watch(event: CallEvent) -> None:
        english_events.append(event)
        if (event.side, event.kind) == ("agent", "speech_start") and any(
                (e.side, e.kind) == ("caller", "turn_end") for e in english_events):
            blocked_when_answered.append((gate / "blocked").exists() and not (gate / "release").exists())

    async def scenario() -> tuple[EmulatedCall, EmulatedCall]:
        async with serving(settings, Shared(shared.engine, synthesizer), recognizers=ByLanguage()) as server:
            (gate / "armed").touch()  # the fixed phrases are rendered: only replies wait now
            french = asyncio.create_task(emulate_call(
                "127.0.0.1", server.agi_port, path="demo", turns=french_turns, hangup_after=2,
                max_duration=60))
            english = await emulate_call("127.0.0.1", server.agi_port, path="demo-en",
                                         turns=english_turns, hangup_after=2, max_duration=45,
                                         on_event=watch)
            (gate / "release").touch()
            return english, await french

    english, french = run(scenario())
    # English was answered while the French reply was still waiting for its synthesis...
    assert blocked_when_answered[:1] == [True]
    assert answered(english) and english.hung_up_by == "caller"
    assert answered(french)  # ...and the French caller got the answer once synthesis went on
