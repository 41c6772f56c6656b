"""The intonation check, on real eSpeak NG speech through a telephone band (300-3400 Hz, the
fundamental of most voices cut, as on a real line): finished sentences fall, a sentence cut
by a pause holds up, a question is never taken for a finished statement, and what has no
voice gets no verdict. Sentences of our own, not the bench's corpus."""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agi.config import TurnSettings
from agi.errors import ModelNotFound
from agi.speech import audio, intonation
from agi.speech.intonation import Intonation, final_pitch_st, intonation_for
from agi.speech.unfinished import left_open
from agi.speech.verdict import FINISHED

VOICES = {"fr": ("fr", "fr+m3", "fr+f2"), "en": ("en", "en-us+m3", "en+f3")}
# (words before the pause | words after it); the words before it could end a sentence, so
# only the voice tells that more is coming
SENTENCES = {
    "fr": [
        "bonjour | je vous appelle pour ma fille", "oui | c'est exact", "merci beaucoup | bonne journée",
        "c'est madame leroy | pour le cabinet", "je voudrais annuler mon rendez-vous | de jeudi",
        "j'ai rendez-vous demain | mais je ne pourrai pas venir", "d'accord | ça me va",
        "le plus tôt possible | si vous avez", "mercredi | en fin de matinée",
        "non | plutôt la semaine prochaine", "c'est urgent | j'ai très mal au dos",
        "pour un contrôle | rien de grave", "je suis déjà venu | l'année dernière",
        "bonsoir | excusez-moi de l'heure", "mon mari | a pris rendez-vous hier",
        "c'est noté | je vous remercie", "parfait | à lundi alors", "je rappellerai | plus tard",
        "ça ira | merci", "bien sûr | aucun problème",
    ],
    "en": [
        "hello | i'm calling for my daughter", "yes | that's correct", "thanks a lot | have a nice day",
        "it's mrs leroy | from the bakery", "i'd like to cancel my appointment | on thursday",
        "i have an appointment tomorrow | but i can't come", "okay | that works for me",
        "as soon as possible | if you have anything", "wednesday | late in the morning",
        "no | rather next week", "it's urgent | my back hurts a lot",
        "just a checkup | nothing serious", "i came last year | in june",
        "good evening | sorry it's late", "my husband | booked yesterday",
        "noted | thank you very much", "perfect | see you monday then", "i'll call back | later",
        "that's it | nothing else", "of course | no problem",
    ],
}
QUESTIONS = {
    "fr": ["vous êtes ouverts samedi ?", "c'est possible demain ?", "il y a de la place jeudi ?",
           "le docteur est là cet après-midi ?", "je peux venir à dix heures ?"],
    "en": ["are you open on saturday?", "is tomorrow possible?", "do you have anything on thursday?",
           "is the doctor in this afternoon?", "can i come at ten?"],
}


def telephone(pcm: bytes) -> bytes:
    """The 300-3400 Hz band of an 8 kHz signal, as a telephone line passes it."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    spectrum = np.fft.rfft(samples)
    hz = np.fft.rfftfreq(len(samples), 1 / audio.SAMPLE_RATE)
    spectrum[(hz < 300) | (hz > 3400)] = 0
    return np.clip(np.fft.irfft(spectrum, len(samples)), -32768, 32767).astype(np.int16).tobytes()


def speak(ssml: str, voice: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-m", "-w", str(path), f"<speak>{ssml}</speak>"],
                       check=True, capture_output=True, timeout=60)
        return telephone(audio.trim_silence(audio.read_wav_8k(path), keep_ms=0))


def up_to_pause(pcm: bytes) -> bytes:
    """The audio before the first run of 240 ms of quiet (the caller's pause)."""
    quiet = 0
    for index, frame in enumerate(audio.split_frames(pcm)):
        quiet = quiet + 1 if audio.rms(frame) < 200 else 0
        if quiet == 12:
            return pcm[:(index - 11) * audio.FRAME_BYTES]
    raise AssertionError("no pause in the rendered speech")


def cases(lang: str) -> list[tuple[str, str]]:
    return [(sentence, voice) for index, sentence in enumerate(SENTENCES[lang])
            for voice in (VOICES[lang][index % 3], VOICES[lang][(index + 1) % 3])]


@pytest.fixture(scope="module")
def check() -> Intonation:
    return Intonation()


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_the_words_before_each_pause_could_end_a_sentence(lang: str) -> None:
    """So these cases test the voice: the words alone do not hold the pause."""
    assert [s for s in SENTENCES[lang] if left_open(s.split(" | ")[0], lang)] == []


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_a_pause_inside_a_sentence_is_never_taken_for_its_end(lang: str, check: Intonation) -> None:
    verdicts = {}
    for sentence, voice in cases(lang):
        before, after = sentence.split(" | ")
        pcm = speak(f'{before} <break time="600ms"/> {after}.', voice)
        verdicts[(before, voice)] = check.verdict(up_to_pause(pcm))
    # a synthetic voice now and then falls at a comma as at a full stop (eSpeak NG's en+f3
    # does): two in forty at most
    assert len([k for k, v in verdicts.items() if v is not None and v.finished]) <= 2, verdicts
    # most wait longer than the usual 500 ms window: longer than most hesitations
    waiting = sum(v is not None and v.window_ms >= 700 for v in verdicts.values())
    assert waiting >= 0.6 * len(verdicts), verdicts


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_a_finished_sentence_falls_and_ends_the_turn(lang: str, check: Intonation) -> None:
    verdicts = {}
    for sentence, voice in cases(lang):
        verdicts[(sentence, voice)] = check.verdict(speak(sentence.replace(" | ", " ") + ".", voice))
    finished = sum(v is not None and v.finished for v in verdicts.values())
    assert finished >= 0.75 * len(verdicts), verdicts
    # the rest is left to the usual window; hardly any waits longer
    assert sum(v is not None and v.window_ms > 500 for v in verdicts.values()) <= 0.1 * len(verdicts), verdicts


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
def test_a_question_s_rise_is_not_taken_for_a_fall(lang: str, check: Intonation) -> None:
    for question in QUESTIONS[lang]:
        for voice in VOICES[lang]:
            verdict = check.verdict(speak(question, voice))
            assert verdict is None or not verdict.finished, (question, voice)


def test_no_voice_gives_no_verdict(check: Intonation) -> None:
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 300, audio.SAMPLE_RATE * 2).astype(np.int16).tobytes()
    assert final_pitch_st(audio.silence(2000)) is None
    assert check.verdict(audio.silence(1500)) is None
    assert check.verdict(telephone(hiss)) is None
    assert check.verdict(b"") is None and check.verdict(b"\x01") is None  # odd byte count too


def test_the_pause_is_cut_before_judging_and_a_late_verdict_is_none(check: Intonation) -> None:
    statement = speak("non, plutôt la semaine prochaine.", "fr")
    assert check.verdict(statement) == FINISHED
    # the turn audio the endpointer gives runs into the pause: line noise there is cut off
    noisy = statement + telephone(np.random.default_rng(1).normal(0, 400, 1600).astype(np.int16).tobytes())
    assert asyncio.run(check.judge(noisy, 200, timeout_s=5.0)) == FINISHED
    assert asyncio.run(check.judge(statement, 0, timeout_s=1e-6)) is None  # late: the window decides


def test_a_missing_package_is_a_clear_error_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    real = builtins.__import__

    def without_parselmouth(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "parselmouth":
            raise ImportError("No module named 'parselmouth'", name="parselmouth")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_parselmouth)
    with pytest.raises(ModelNotFound, match="praat-parselmouth") as caught:
        Intonation()
    assert 'end_of_turn = "silence"' in str(caught.value)
    # in a call: no check, the silence window decides, and the reason is logged once
    monkeypatch.setattr(intonation, "_shared", {})
    monkeypatch.setattr(intonation, "_problem", "")
    assert intonation_for(TurnSettings(end_of_turn="intonation")) is None
    assert intonation_for(TurnSettings(end_of_turn="intonation")) is None
    assert [r.message for r in caplog.records].count(
        next(r.message for r in caplog.records if "praat-parselmouth" in r.message)) == 1
