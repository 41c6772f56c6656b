"""A pause after words that ask for nothing yet waits, in a whole call (agi/call/speculate.py,
``MediaSession.hold_pause``): "bonjour madame ... je voudrais prendre un rendez-vous" with a
700 ms hesitation is one turn, and the agent answers the request, not the greeting.

Everything is real (emulated PBX on both fronts, WebRTC VAD, eSpeak NG speech with a real
SSML pause, the builtin dialogue) except the recogniser, a double because no French Vosk
model can exist here: it gives, as partial and final words, the word groups the caller has
finished saying by the clock (the latency bench's own double, bench/latency.py), so a turn
ended during the hesitation gets only "bonjour madame", as a real recogniser would give.
The same call with speculation off shows the pause is long enough to end the turn."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, CallEvent
from agi.speech.audio import silence
from bench.latency import Script, ScriptedVosk, ScriptedVoskFactory, Utterance, render

from conftest import Pbx, Shared, make_settings, run, serving

PREROLL_S = 0.3  # the endpointer feeds the recogniser from 300 ms before detected speech
BYTES_PER_S = 16000

GREETING_THEN_PAUSE = {
    "demo": Utterance(("bonjour madame", "je voudrais prendre un rendez-vous"), (700,)),
    "demo-en": Utterance(("hello there", "i would like to book an appointment"), (700,)),
}


class LateScript(Script):
    """The words reach the session 300 ms after they were said (a decoder behind, as real
    Vosk is when calls crowd it): at the pause (200 ms of silence) there are none yet."""

    def start(self, utterance: Utterance, ends: list[float]) -> None:
        super().start(utterance, [end + 0.3 for end in ends])


def caller_lines(pbx: Pbx, tmp_path: Path, shared: Shared, tenant: str, *, speculate: bool,
                 script: Script | None = None, utterance: Utterance | None = None,
                 recognizers: ScriptedVoskFactory | None = None, listen_ms: int = 3000) -> list[str]:
    # endpoint window 500 ms < the 700 ms pause < the 900 ms dictation window; the window
    # alone, without the intonation check (which holds these pauses too, by the voice)
    settings = make_settings(tmp_path, turns={"speculate": speculate, "end_of_turn": "silence"})
    utterance = utterance or GREETING_THEN_PAUSE[tenant]
    pcm, ends = render(utterance, "fr" if tenant == "demo" else "en")
    script = script or Script()

    def on_event(event: CallEvent) -> None:
        if event.kind == "turn_start":
            script.start(utterance, ends)

    async def scenario() -> str:
        async with serving(settings, shared, recognizers=recognizers or ScriptedVoskFactory(None, script)) as server:
            # the caller hears the answer, then hangs up
            call = await pbx.call(server, path=tenant, turns=[CallerTurn(pcm + silence(listen_ms))],
                                  hangup_after=1, max_duration=40, on_event=on_event)
            return call.uniqueid

    uniqueid = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    return [t.text for t in store.transcript(uniqueid) if t.speaker == "caller"]


@pytest.mark.parametrize("tenant", ["demo", "demo-en"])
def test_a_greeting_then_a_pause_waits_for_the_request(pbx: Pbx, tmp_path: Path, shared: Shared,
                                                       tenant: str) -> None:
    said = caller_lines(pbx, tmp_path, shared, tenant, speculate=True)
    assert said[:1] == [GREETING_THEN_PAUSE[tenant].text]


def test_without_speculation_the_same_pause_ends_the_turn(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    said = caller_lines(pbx, tmp_path, shared, "demo", speculate=False)
    assert said[:1] == ["bonjour madame"]


@pytest.mark.parametrize("words", [("bonjour", "je voudrais un rendez-vous"),
                                   ("bonjour madame je", "voudrais prendre un rendez-vous")])
def test_words_that_arrive_after_the_pause_began_still_hold_it(pbx: Pbx, tmp_path: Path, shared: Shared,
                                                               words: tuple[str, str]) -> None:
    """The pause is judged again when late words come in: "bonjour" (a greeting, held by the
    speculative reply) or "... je" (left open), not ended on the empty partial it began with."""
    utterance = Utterance(words, (700,))
    said = caller_lines(pbx, tmp_path, shared, "demo", speculate=True, script=LateScript(), utterance=utterance)
    assert said[:1] == [utterance.text]


class HeardScript(Script):
    """What the caller has said, by the audio the recogniser has decoded (not the clock)."""

    decoded_s = 0.0

    def start(self, utterance: Utterance, ends: list[float]) -> None:
        super().start(utterance, ends)
        self.decoded_s = 0.0

    def heard_s(self, started: float) -> float:
        return self.decoded_s - PREROLL_S


class Sluggish(ScriptedVosk):
    """A decoder that needs 1.5 s for each second of audio (more callers than cores), and
    knows only the words in the audio it has decoded."""

    def __init__(self, script: HeardScript) -> None:
        super().__init__(None, script)
        self._heard = script

    def accept(self, pcm: bytes) -> str | None:
        time.sleep(len(pcm) / BYTES_PER_S * 1.5)
        self._heard.decoded_s += len(pcm) / BYTES_PER_S
        return super().accept(pcm)


class SluggishFactory(ScriptedVoskFactory):
    def __init__(self, script: HeardScript) -> None:
        super().__init__(None, script)
        self._heard = script

    def new(self, language: str) -> Sluggish:
        return Sluggish(self._heard)


def test_a_pause_the_decoder_has_not_reached_waits_for_its_words(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    """Decoding behind the audio, the words before the pause are not known when it begins:
    the pause waits for them ("bonjour" then holds it), instead of ending on no words."""
    utterance = Utterance(("bonjour", "je voudrais un rendez-vous"), (700,))
    script = HeardScript()
    said = caller_lines(pbx, tmp_path, shared, "demo", speculate=True, script=script, utterance=utterance,
                        recognizers=SluggishFactory(script), listen_ms=8000)
    assert said[:1] == [utterance.text]


def test_words_still_being_decoded_when_the_caller_hangs_up_are_kept(pbx: Pbx, tmp_path: Path,
                                                                      shared: Shared) -> None:
    """The turn has ended but the busy decoder has not given its words yet when the caller
    hangs up: the hang-up waits for them, and the transcript keeps them."""
    utterance = Utterance(("je vous rappellerai demain matin merci au revoir",), ())
    script = HeardScript()
    said = caller_lines(pbx, tmp_path, shared, "demo", speculate=True, script=script, utterance=utterance,
                        recognizers=SluggishFactory(script), listen_ms=1200)
    assert said == [utterance.text]
