"""Synthesis with the real eSpeak NG through pyttsx3, rendered to 8 kHz telephone audio."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from agi.config import SpeechSettings
from agi.errors import SpeechError
from agi.speech import audio
from agi.speech.tts import EspeakSynthesizer, split_sentences

FRENCH = "Bonjour, vous êtes en ligne avec un assistant automatique."
ENGLISH = "Hello, you are speaking with an automated assistant."


@pytest.fixture
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer(SpeechSettings(), cache_size=8)


def assert_speech(pcm: bytes, min_s: float = 0.5, max_s: float = 10.0) -> None:
    assert len(pcm) % audio.FRAME_BYTES == 0  # whole 20 ms frames for the pacer
    assert min_s < audio.duration_s(pcm) < max_s
    assert audio.rms(pcm) > 1000  # real speech, not silence
    frames = list(audio.split_frames(pcm))
    assert not audio.is_silent(frames[0] + frames[1] + frames[2] + frames[3])  # trimmed lead-in


@pytest.mark.parametrize(("language", "text"), [("fr", FRENCH), ("en", ENGLISH)])
def test_real_speech_in_french_and_english(synth: EspeakSynthesizer, language: str, text: str) -> None:
    assert_speech(synth.synthesize(text, language))


def test_voices_are_the_french_and_english_espeak_voices(synth: EspeakSynthesizer) -> None:
    assert synth.voice_for("fr").startswith("roa/fr")
    assert synth.voice_for("en").startswith("gmw/en")
    assert synth.synthesize("Bonjour.", "fr") != synth.synthesize("Bonjour.", "en")


def test_unknown_language_names_the_package(synth: EspeakSynthesizer) -> None:
    with pytest.raises(SpeechError, match="apt-get install espeak-ng"):
        synth.synthesize("hello", "zz")


def test_cached_phrases_are_rendered_once(synth: EspeakSynthesizer) -> None:
    first = synth.synthesize(FRENCH, "fr")
    assert synth.renders == 1
    assert synth.synthesize(FRENCH, "fr") == first
    assert synth.synthesize("  " + FRENCH.replace(" ", "  ") + "\n", "fr") == first  # same words
    assert synth.renders == 1
    synth.prepare([ENGLISH, "Goodbye."], "en")
    assert synth.renders == 3
    synth.synthesize(ENGLISH, "en")
    assert synth.renders == 3


def test_the_cache_forgets_the_least_recently_used(synth: EspeakSynthesizer) -> None:
    for n in range(9):  # one more than cache_size, one at a time: renders finish in order
        synth.prepare([f"Phrase number {n}."], "en")
    assert synth.renders == 9
    synth.synthesize("Phrase number 8.", "en")
    assert synth.renders == 9
    synth.synthesize("Phrase number 0.", "en")
    assert synth.renders == 10


def test_empty_text_is_no_audio(synth: EspeakSynthesizer) -> None:
    assert synth.synthesize("", "fr") == b""
    assert synth.synthesize("  \n ", "en") == b""
    assert list(synth.synthesize_stream("", "fr")) == []
    assert synth.renders == 0


def test_concurrent_calls_from_several_threads(synth: EspeakSynthesizer) -> None:
    texts = [(f"Rendez-vous numéro {n}.", "fr") if n % 2 else (f"Appointment number {n}.", "en")
             for n in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: synth.synthesize(*job), texts * 2))
    for pcm in results:
        assert_speech(pcm, min_s=0.4)
    assert results[:8] == results[8:]
    assert synth.renders == 8  # a phrase asked twice at once is rendered once


def test_two_synthesizers_share_the_one_engine() -> None:
    a = EspeakSynthesizer(SpeechSettings())
    b = EspeakSynthesizer(SpeechSettings(tts_rate=300))
    slow, fast = a.synthesize(ENGLISH, "en"), b.synthesize(ENGLISH, "en")
    assert audio.duration_s(fast) < audio.duration_s(slow)  # each keeps its own rate


def test_async_synthesis(synth: EspeakSynthesizer) -> None:
    async def both() -> list[bytes]:
        return list(await asyncio.gather(synth.synthesize_async(FRENCH, "fr"),
                                         synth.synthesize_async(ENGLISH, "en")))

    french, english = asyncio.run(both())
    assert_speech(french)
    assert_speech(english)
    assert french == synth.synthesize(FRENCH, "fr")


def test_stream_yields_sentence_by_sentence(synth: EspeakSynthesizer) -> None:
    text = "Your appointment is booked. It is on Tuesday at three. Goodbye!"
    assert split_sentences(text) == ["Your appointment is booked.", "It is on Tuesday at three.",
                                     "Goodbye!"]
    parts = list(synth.synthesize_stream(text, "en"))
    assert len(parts) == 3
    for part in parts:
        assert_speech(part, min_s=0.3)
    assert parts[0].endswith(bytes(audio.FRAME_BYTES * 10))  # the pause between sentences
    assert parts[2] == synth.synthesize("Goodbye!", "en")
    # The first sentence alone is a fraction of the whole: playback can start sooner.
    assert audio.duration_s(parts[0]) < 0.6 * sum(audio.duration_s(p) for p in parts)


def test_rate_changes_never_leak_into_the_next_render() -> None:
    """eSpeak NG queues rate changes on its own thread: each render must use its own rate."""
    durations: dict[tuple[int, str], list[float]] = {}
    for rate, language in [(100, "fr"), (300, "en"), (300, "fr"), (100, "en"), (100, "fr"), (300, "fr")]:
        synth = EspeakSynthesizer(SpeechSettings(tts_rate=rate))  # fresh cache: a real render
        pcm = synth.synthesize("Un deux trois quatre cinq six sept huit.", language)
        durations.setdefault((rate, language), []).append(audio.duration_s(pcm))
    for language in ("fr", "en"):
        assert min(durations[(100, language)]) > 1.5 * max(durations[(300, language)])
    assert max(durations[(100, "fr")]) < 1.05 * min(durations[(100, "fr")])
    assert max(durations[(300, "fr")]) < 1.05 * min(durations[(300, "fr")])
