"""The end-of-turn check: the model comes from the installed pipecat-ai, a missing package
is a clear error naming it (and the silence window decides), and the endpointer's pauses:
a check may end a paused turn, never a dictated one."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from agi.config import SpeechSettings, TurnSettings, settings_from_dict
from agi.errors import ConfigError, ModelNotFound
from agi.speech import audio, turn_model
from agi.speech.endpoint import Endpointer, SpeechEnded, SpeechPaused, SpeechResumed, SpeechStarted
from agi.speech.turn_model import MODEL_FILE, TurnModel, package_dir, turn_model_for
from agi.speech.unfinished import left_open


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path: Path = tmp_path_factory.mktemp("turn") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-w", str(path),
                    "Je voudrais prendre rendez-vous pour demain matin."], check=True)
    return audio.trim_silence(audio.read_wav_8k(path), keep_ms=0)


def test_the_model_is_read_from_the_installed_pipecat_package(speech: bytes) -> None:
    root = package_dir()
    assert "pipecat" in str(root) and root.joinpath("data").joinpath(MODEL_FILE).is_file()
    model = TurnModel()
    try:
        p = model.probability(speech + audio.silence(200))
        assert 0.0 <= p <= 1.0
        done = asyncio.run(model.is_complete(speech + audio.silence(200), timeout_s=5.0))
        assert done is (p >= model.threshold)
    finally:
        model.close()


def test_a_missing_package_is_a_clear_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared environment has pipecat-ai installed; "not installed" is what find_spec
    # answers then, so that one answer is replaced.
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pipecat" else real(name, *a))
    with pytest.raises(ModelNotFound, match="pipecat-ai") as caught:
        TurnModel()
    assert "--no-deps" in str(caught.value) and 'end_of_turn = "silence"' in str(caught.value)
    # in a call: no model, the plain silence window decides, and the reason is logged once
    monkeypatch.setattr(turn_model, "_shared", None)
    monkeypatch.setattr(turn_model, "_problem", "")
    assert asyncio.run(turn_model_for(TurnSettings(end_of_turn="smart-turn"))) is None
    assert "pipecat-ai" in turn_model._problem


def test_silence_setting_asks_for_no_model() -> None:
    assert asyncio.run(turn_model_for(TurnSettings(end_of_turn="silence"))) is None


def feed(ep: Endpointer, pcm: bytes, start: float) -> tuple[list[object], float]:
    now, events = start, []
    for frame in audio.split_frames(pcm):
        now += audio.FRAME_S
        events += ep.feed(frame, now)
    return events, now


def test_a_pause_is_reported_and_a_check_may_end_the_turn_at_once(speech: bytes) -> None:
    ep = Endpointer(SpeechSettings(endpoint_silence_ms=800), pause_ms=200)
    ep.reset(0.0)
    events, now = feed(ep, speech + audio.silence(260), 0.0)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused]
    assert len(ep.turn_audio()) >= len(speech) - audio.FRAME_BYTES * 10  # the turn, for the model
    ep.judge(0)  # a check: the caller has finished
    ended = ep.tick(now)
    assert [type(e) for e in ended] == [SpeechEnded]
    assert isinstance(ended[0], SpeechEnded) and ended[0].silence_waited_ms < 800
    ep.judge(0)
    assert ep.tick(now) == []  # once


def test_speaking_again_resumes_the_turn_and_a_late_check_cannot_end_it(speech: bytes) -> None:
    ep = Endpointer(SpeechSettings(endpoint_silence_ms=800), pause_ms=200)
    ep.reset(0.0)
    events, now = feed(ep, speech + audio.silence(300) + speech, 0.0)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused, SpeechResumed]
    ep.judge(0)
    assert ep.tick(now) == []  # not paused any more: the caller is speaking
    events, _ = feed(ep, audio.silence(900), now)
    assert [type(e) for e in events] == [SpeechPaused, SpeechEnded]


def test_dictation_keeps_its_longer_window_whatever_a_check_says(speech: bytes) -> None:
    settings = SpeechSettings(endpoint_silence_ms=500, dictation_silence_ms=1200)
    ep = Endpointer(settings, pause_ms=200)
    ep.dictation = True
    ep.reset(0.0)
    events, now = feed(ep, speech + audio.silence(300), 0.0)
    assert SpeechPaused in [type(e) for e in events]
    ep.judge(0)
    assert ep.tick(now) == []  # a check's "finished" does not cut a dictated number
    events, now = feed(ep, audio.silence(600), now)
    assert events == []  # past the normal 500 ms window: still listening
    events, _ = feed(ep, audio.silence(400), now)
    assert [type(e) for e in events] == [SpeechEnded]
    assert isinstance(events[0], SpeechEnded) and events[0].silence_waited_ms >= 1200


def paused(speech: bytes) -> tuple[Endpointer, float]:
    """An endpointer (500 ms window, 1200 ms dictation) whose caller has just paused."""
    ep = Endpointer(SpeechSettings(endpoint_silence_ms=500, dictation_silence_ms=1200), pause_ms=200)
    ep.reset(0.0)
    events, now = feed(ep, speech + audio.silence(240), 0.0)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused]
    return ep, now


def test_a_held_pause_waits_the_dictation_window_and_no_check_ends_it(speech: bytes) -> None:
    ep, now = paused(speech)
    ep.hold()  # the words so far end on "pour": a hesitation
    ep.judge(0)
    assert ep.tick(now) == []
    events, now = feed(ep, audio.silence(700), now)
    assert events == []  # past the 500 ms window: still waiting
    events, _ = feed(ep, audio.silence(400), now)
    assert [type(e) for e in events] == [SpeechEnded]


def test_a_check_may_make_a_pause_shorter_or_longer_than_the_window(speech: bytes) -> None:
    ep, now = paused(speech)
    ep.judge(900)  # the voice held up: longer
    assert ep.window_ms == 900
    events, now = feed(ep, audio.silence(500), now)
    assert events == []  # past the usual 500 ms
    events, _ = feed(ep, audio.silence(200), now)
    assert [type(e) for e in events] == [SpeechEnded]
    ep, now = paused(speech)
    ep.judge(300)  # nearly fallen: shorter
    events, _ = feed(ep, audio.silence(100), now)
    assert [type(e) for e in events] == [SpeechEnded]
    assert isinstance(events[0], SpeechEnded) and 300 <= events[0].silence_waited_ms < 400
    ep, now = paused(speech)
    ep.judge(300)
    events, now = feed(ep, speech, now)  # the caller goes on: the next pause is judged afresh
    assert [type(e) for e in events] == [SpeechResumed] and ep.window_ms == 500


def test_a_released_pause_ends_after_the_usual_window_again(speech: bytes) -> None:
    """Held while the words were not known, released when they came and were complete."""
    ep, now = paused(speech)
    assert 200 <= ep.silence_ms(now) <= 280
    ep.hold()
    events, now = feed(ep, audio.silence(400), now)
    assert events == [] and ep.window_ms == 1200  # held: past 500 ms of silence, waiting
    ep.release()
    assert ep.window_ms == 500
    events, _ = feed(ep, audio.silence(40), now)
    assert [type(e) for e in events] == [SpeechEnded]  # the window had passed: it ends now
    assert ep.silence_ms(now) == 0.0  # no pause any more


UNFINISHED = {
    "fr": ["je voudrais un rendez-vous pour", "c'est au nom de", "mon numéro c'est le zéro six",
           "je voudrais prendre un rendez-vous avec le", "euh", "rappelez-moi au",
           "c'est pour ma", "jeudi à", "le trois décembre vers", "je m'appelle jean et",
           "oui mais", "trente-quatre cinquante-six", "c'est", "je suis"],
    "en": ["i would like an appointment for", "my number is", "call me back on oh seven",
           "it's for my", "on thursday at", "um", "book me in with the", "yes but",
           "thirty four fifty six", "my name is john and", "i'd like to"],
}
# (a pause after a bare number always waits: "at ten" may go on "... four five six")
FINISHED = {
    "fr": ["je voudrais un rendez-vous", "bonjour", "oui c'est ça", "jean dupont", "mardi prochain",
           "à dix heures", "non merci au revoir", "je voudrais laisser un message", "d'accord"],
    "en": ["i would like an appointment", "hello", "yes that's right", "john smith", "next tuesday",
           "at ten o'clock", "no thanks goodbye", "i'd like to leave a message", "okay"],
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_words_left_open_are_told_from_finished_ones(language: str) -> None:
    assert [t for t in UNFINISHED[language] if not left_open(t, language)] == []
    assert [t for t in FINISHED[language] if left_open(t, language)] == []
    assert not left_open("", language)


@pytest.mark.parametrize(("key", "value"), [("vad", "rnnoise"), ("end_of_turn", "llm"),
                                            ("pause_ms", 600), ("threshold", 1.5),
                                            ("model_timeout_ms", 5), ("continuation_ms", -1),
                                            ("continuation_ms", 5000)])
def test_bad_turn_settings_name_their_key(key: str, value: object) -> None:
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["turns"][key] = value
    with pytest.raises(ConfigError, match=f"turns.{key}"):
        settings_from_dict(raw, {})
