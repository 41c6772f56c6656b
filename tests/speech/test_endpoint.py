"""The VAD endpointer, driven with real eSpeak NG speech and a literal clock."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from agi.config import SpeechSettings
from agi.errors import ConfigError
from agi.speech import audio
from agi.speech.endpoint import (
    PREROLL_MS,
    Endpointer,
    EndpointEvent,
    MaxTurn,
    NoInput,
    SpeechEnded,
    SpeechStarted,
)

SETTINGS = SpeechSettings()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """About two seconds of real English speech at 8 kHz, trimmed of its own silence."""
    path: Path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(path),
                    "I would like to book an appointment for tomorrow morning please"], check=True)
    return audio.trim_silence(audio.read_wav_8k(path), keep_ms=0)


def stream(ep: Endpointer, pcm: bytes, start: float) -> tuple[list[tuple[float, EndpointEvent]], float]:
    """Feed ``pcm`` frame by frame in real time from ``start``; return dated events and the end."""
    now = start
    events = []
    for frame in audio.split_frames(pcm):
        now += audio.FRAME_S
        events += [(now, e) for e in ep.feed(frame, now)]
    return events, now


def kinds(events: list[tuple[float, EndpointEvent]]) -> list[type]:
    return [type(e) for _, e in events]


def test_one_turn_starts_and_ends_after_the_silence_window(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    events, end = stream(ep, audio.silence(400) + speech + audio.silence(1000), 0.0)
    assert kinds(events) == [SpeechStarted, SpeechEnded]
    started, ended = events[0][1], events[1][1]
    assert isinstance(ended, SpeechEnded)
    assert 0.4 < started.at < 0.4 + 0.5  # found early in the speech, which starts at 0.4 s
    assert SETTINGS.endpoint_silence_ms <= ended.silence_waited_ms < SETTINGS.endpoint_silence_ms + 100
    speech_ms = audio.duration_s(speech) * 1000
    assert 0.7 * speech_ms < ended.speech_ms < speech_ms + 100
    assert not ep.in_speech
    assert ep.tick(end + 20) == []  # speech was heard: no NoInput for this turn


def test_missing_audio_counts_as_silence_by_the_clock(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    events, end = stream(ep, speech, 0.0)
    assert kinds(events) == [SpeechStarted]
    assert ep.in_speech
    # Asterisk sends nothing more (Local channel, silence suppression): only ticks come.
    assert ep.tick(end + 0.3) == []
    ended = ep.tick(end + 0.6)
    assert len(ended) == 1 and isinstance(ended[0], SpeechEnded)
    assert ended[0].silence_waited_ms >= SETTINGS.endpoint_silence_ms


def test_dictation_waits_longer(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.dictation = True
    assert ep.window_ms == SETTINGS.dictation_silence_ms
    ep.reset(0.0)
    _, end = stream(ep, speech, 0.0)
    assert ep.tick(end + 0.6) == []
    assert ep.in_speech
    ended = ep.tick(end + 1.3)
    assert isinstance(ended[0], SpeechEnded)
    assert ended[0].silence_waited_ms >= SETTINGS.dictation_silence_ms


def test_no_input_once_per_turn() -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(10.0)
    events, _ = stream(ep, audio.silence(2000), 10.0)
    assert events == []
    assert ep.tick(10.0 + SETTINGS.no_input_timeout_s - 0.1) == []
    assert ep.tick(10.0 + SETTINGS.no_input_timeout_s) == [NoInput(at=10.0 + SETTINGS.no_input_timeout_s)]
    assert ep.tick(30.0) == []
    ep.reset(40.0)
    assert ep.tick(40.0 + SETTINGS.no_input_timeout_s) == [NoInput(at=40.0 + SETTINGS.no_input_timeout_s)]


def test_no_input_is_not_reported_before_any_reset() -> None:
    ep = Endpointer(SETTINGS)
    assert ep.tick(1000.0) == []


def test_max_turn_cuts_a_long_turn(speech: bytes) -> None:
    ep = Endpointer(replace(SETTINGS, max_turn_s=1.0))
    ep.reset(0.0)
    events, _ = stream(ep, speech, 0.0)
    assert kinds(events)[:2] == [SpeechStarted, MaxTurn]
    started, cut = events[0][1], events[1][1]
    assert cut.at - started.at < 1.0  # measured from the onset, before the start was confirmed
    assert SpeechEnded not in kinds(events)[:2]


def test_preroll_holds_the_onset_and_the_rest_of_the_chunk(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    lead = audio.silence(600)
    chunk = lead + speech[:16000]  # one second of speech in a single read
    events = ep.feed(chunk, 1.6)
    assert kinds([(0.0, e) for e in events]) == [SpeechStarted]
    pre = ep.preroll()
    assert pre.endswith(speech[:16000])
    silence_before = len(pre) - 16000
    assert silence_before >= PREROLL_MS * 16 - audio.FRAME_BYTES
    # The next chunk goes to the recogniser directly: the pre-roll does not grow with it.
    ep.feed(speech[16000:16320], 1.62)
    assert ep.preroll() == pre
    ep.reset(2.0)
    assert ep.preroll() == b""


def test_a_whole_turn_in_one_chunk_keeps_its_preroll(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    pcm = audio.silence(600) + speech + audio.silence(800)
    events = ep.feed(pcm, audio.duration_s(pcm))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert speech in ep.preroll()


def test_odd_sized_pieces_give_the_same_events(speech: bytes) -> None:
    pcm = audio.silence(300) + speech + audio.silence(800)
    whole = Endpointer(SETTINGS)
    whole.reset(0.0)
    expected, _ = stream(whole, pcm, 0.0)
    pieces = Endpointer(SETTINGS)
    pieces.reset(0.0)
    got: list[EndpointEvent] = []
    for start in range(0, len(pcm), 7):  # 7 bytes: frames and even samples split across reads
        end_byte = min(start + 7, len(pcm))
        got += pieces.feed(pcm[start:end_byte], end_byte // audio.FRAME_BYTES * audio.FRAME_S)
    assert [type(e) for e in got] == kinds(expected)
    last, expected_last = got[-1], expected[-1][1]
    assert isinstance(last, SpeechEnded) and isinstance(expected_last, SpeechEnded)
    assert (last.speech_ms, last.silence_waited_ms) == (expected_last.speech_ms, expected_last.silence_waited_ms)
    assert last.at == pytest.approx(expected_last.at)


def test_clicks_do_not_start_a_turn() -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    rng = np.random.default_rng(1)
    click = (rng.standard_normal(2 * 160) * 12000).clip(-32768, 32767).astype("<i2").tobytes()
    pcm = (audio.silence(300) + click) * 8  # 40 ms bursts every 340 ms
    events, _ = stream(ep, pcm, 0.0)
    assert events == []


def test_steady_line_noise_does_not_start_a_turn_but_speech_over_it_does(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(8000 * 4) * 300  # about -40 dBFS of hiss, four seconds
    events, end = stream(ep, noise.astype("<i2").tobytes(), 0.0)
    assert events == []
    voice = np.frombuffer(speech, "<i2").astype(np.float64)
    noisy = (voice + rng.standard_normal(voice.size) * 300).clip(-32768, 32767).astype("<i2")
    events, _ = stream(ep, noisy.tobytes(), end)
    assert kinds(events)[:1] == [SpeechStarted]


def test_speech_is_detected_again_after_a_turn_ends(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    pcm = speech + audio.silence(700)
    first, end = stream(ep, pcm, 0.0)
    second, _ = stream(ep, pcm, end)
    assert kinds(first) == kinds(second) == [SpeechStarted, SpeechEnded]


def test_gaps_in_the_stream_are_silence_for_the_start_window(speech: bytes) -> None:
    ep = Endpointer(SETTINGS)
    ep.reset(0.0)
    events, end = stream(ep, speech[:9600], 0.0)  # 600 ms of speech: the turn starts
    assert kinds(events) == [SpeechStarted]
    # Then the stream stops for two seconds and resumes with silence: the turn ended meanwhile.
    later = ep.feed(audio.silence(20), end + 2.0)
    assert len(later) == 1 and isinstance(later[0], SpeechEnded)
    assert later[0].silence_waited_ms >= 1900


def test_invalid_aggressiveness_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="speech.vad_aggressiveness"):
        Endpointer(replace(SETTINGS, vad_aggressiveness=5))
