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
from collections.abc import Iterable
from pathlib import Path

# In its own module: the eSpeak processes unpickle it, and must not import a conftest.
from slow_render import WAIT_S, slow_render

from agi.config import SpeechSettings
from agi.pbx.emulator import CallerTurn, CallEvent, EmulatedCall, emulate_call, speak
from agi.speech import audio
from agi.speech.asr import Recognizer, RecognizerFactory
from agi.speech.endpoint import PREROLL_MS
from agi.speech.espeak import EspeakPool
from agi.speech.tts import EspeakSynthesizer

from conftest import ScriptedRecognizer, Shared, make_settings, run, serving

SAID = {"fr": "bonjour je voudrais prendre rendez-vous", "en": "hello i would like to book an appointment"}
BYE = {"fr": "non merci", "en": "no thanks"}


class Counting(ScriptedRecognizer):
    """Scripted words (no French/English Vosk model exists here); counts the audio fed."""

    def __init__(self, script: list[str]) -> None:
        super().__init__(script)
        self.fed = 0

    def accept(self, pcm: bytes) -> str | None:
        self.fed += len(pcm)
        return super().accept(pcm)


class ByLanguage(RecognizerFactory):
    def __init__(self) -> None:
        self.made: dict[str, Counting] = {}

    def new(self, language: str) -> Recognizer:
        self.made[language] = Counting([SAID[language], BYE[language]])
        return self.made[language]


def turns(language: str) -> list[CallerTurn]:
    return [CallerTurn(speak(SAID[language], voice=language)),
            CallerTurn(speak(BYE[language], voice=language))]


def answered(call: EmulatedCall) -> bool:
    return bool(call.turns) and call.turns[0].first_agent_speech is not None


class FrenchNotPinned(EspeakSynthesizer):
    """The real synthesiser, except that French phrases are not rendered at start-up: the
    French call's very first phrase then goes to an eSpeak process (and gets stuck)."""

    def pin(self, texts: Iterable[str], language: str) -> None:
        if language != "fr":
            super().pin(texts, language)


def test_a_call_is_answered_while_another_is_stuck_in_synthesis(tmp_path: Path, shared: Shared) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    pool = EspeakPool(2, renderer=functools.partial(slow_render, str(gate)))
    synthesizer = FrenchNotPinned(SpeechSettings(), pool=pool)
    settings = make_settings(tmp_path)
    english_events: list[CallEvent] = []
    blocked_when_answered: list[bool] = []  # at the English reply's first frame

    def watch(event: CallEvent) -> None:
        english_events.append(event)
        if (event.side, event.kind) == ("agent", "speech_start") and any(
                (e.side, e.kind) == ("caller", "turn_end") for e in english_events):
            blocked_when_answered.append((gate / "blocked").exists() and not (gate / "release").exists())
            (gate / "release").touch()  # now let the French call speak

    recognizers = ByLanguage()

    async def scenario() -> tuple[EmulatedCall, EmulatedCall]:
        async with serving(settings, Shared(shared.engine, synthesizer), recognizers=recognizers) as server:
            french = asyncio.create_task(emulate_call(
                "127.0.0.1", server.agi_port, path="demo", turns=turns("fr")[:1], hangup_after=1,
                max_duration=90))
            async with asyncio.timeout(WAIT_S):  # its first phrase is in an eSpeak process
                while not (gate / "blocked").exists():
                    await asyncio.sleep(0.05)
            english = await emulate_call("127.0.0.1", server.agi_port, path="demo-en",
                                         turns=turns("en"), hangup_after=2, max_duration=60,
                                         on_event=watch)
            return english, await french

    english, french = run(scenario())
    # English was answered while the French call's first phrase was still being synthesised...
    assert blocked_when_answered[:1] == [True]
    assert answered(english) and english.hung_up_by == "caller"
    # ...and the French caller heard the opening once synthesis went on.
    assert french.agent_speech_frames > 100 and french.turns and french.hung_up_by == "caller"
    # Decoding only what matters: the English recogniser heard the caller's two utterances
    # (each from its pre-roll to the end of its silence window), not the agent's prompts,
    # which took most of the call.
    spoken = sum(len(turn.audio) for turn in turns("en"))
    fed = recognizers.made["en"].fed
    per_turn_extra = (PREROLL_MS + settings.speech.endpoint_silence_ms + 200) * audio.SAMPLE_RATE * 2 // 1000
    assert spoken * 0.7 < fed <= spoken + 2 * per_turn_extra
    assert english.duration > 3 * audio.duration_s(bytes(spoken))
