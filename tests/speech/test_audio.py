"""The shared PCM helpers: frame format, levels, resampling, trimming and WAV files."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from agi.errors import SpeechError
from agi.speech import audio


def tone(freq: float, seconds: float, rate: int = audio.SAMPLE_RATE, amplitude: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def test_frame_constants_match_asterisk_slin() -> None:
    assert audio.SAMPLE_RATE == 8000
    assert audio.FRAME_MS == 20
    assert audio.FRAME_SAMPLES == 160
    assert audio.FRAME_BYTES == 320
    assert audio.SILENCE_FRAME == bytes(320)


def test_rms_and_silence() -> None:
    assert audio.rms(b"") == 0.0
    assert audio.rms(bytes(320)) == 0.0
    assert audio.is_silent(bytes(320))
    loud = tone(440, 0.02)
    assert audio.rms(loud) == pytest.approx(8000 / np.sqrt(2), rel=0.02)
    assert not audio.is_silent(loud)
    assert audio.rms(b"\x01") == 0.0  # half a sample is no audio


def test_resample_22050_to_8000_keeps_duration_and_tone() -> None:
    src = tone(440, 1.0, rate=22050)
    out = audio.resample(src, 22050, 8000)
    assert len(out) == pytest.approx(16000, abs=4)
    assert audio.rms(out) == pytest.approx(audio.rms(src), rel=0.05)
    assert audio.resample(b"", 22050) == b""
    assert audio.resample(src, 22050, 22050) == src
    with pytest.raises(ValueError, match="sample rates must be positive"):
        audio.resample(src, 0, 8000)


def test_split_frames_pads_the_last_frame() -> None:
    frames = list(audio.split_frames(b"\x01" * 700))
    assert [len(f) for f in frames] == [320, 320, 320]
    assert frames[-1] == b"\x01" * 60 + bytes(260)
    assert list(audio.split_frames(b"")) == []
    assert audio.pad_to_frames(bytes(640)) == bytes(640)


def test_frame_buffer_rechunks_arbitrary_pieces() -> None:
    buffer = audio.FrameBuffer()
    data = bytes(range(256)) * 5  # 1280 bytes = 4 frames
    frames: list[bytes] = []
    for start in range(0, len(data), 7):
        frames += buffer.push(data[start:start + 7])
    assert b"".join(frames) == data
    assert all(len(f) == 320 for f in frames)
    assert buffer.push(b"\x00" * 3) == []
    assert buffer.pending == 3
    buffer.clear()
    assert buffer.pending == 0


def test_trim_silence_keeps_a_margin() -> None:
    pcm = audio.silence(500) + tone(300, 0.5) + audio.silence(700)
    trimmed = audio.trim_silence(pcm, keep_ms=50)
    assert audio.duration_s(trimmed) == pytest.approx(0.6, abs=0.02)
    assert audio.trim_silence(audio.silence(300)) == b""
    assert audio.trim_silence(b"") == b""


def test_wav_round_trip(tmp_path: Path) -> None:
    pcm = tone(440, 0.1)
    path = tmp_path / "a.wav"
    audio.write_wav(path, pcm)
    assert audio.read_wav(path) == (pcm, 8000)
    assert audio.read_wav(io.BytesIO(audio.wav_bytes(pcm, 16000))) == (pcm, 16000)
    assert len(audio.read_wav_8k(io.BytesIO(audio.wav_bytes(tone(440, 0.1, 16000), 16000)))) == 1600


def test_stereo_wav_is_mixed_to_mono() -> None:
    left = np.full(100, 1000, dtype="<i2")
    right = np.full(100, 3000, dtype="<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(np.column_stack([left, right]).tobytes())
    out.seek(0)
    pcm, rate = audio.read_wav(out)
    assert rate == 8000
    assert np.all(np.frombuffer(pcm, "<i2") == 2000)


def test_bad_wavs_raise_speech_error(tmp_path: Path) -> None:
    eight_bit = io.BytesIO()
    with wave.open(eight_bit, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(100))
    eight_bit.seek(0)
    with pytest.raises(SpeechError, match="8-bit samples; 16-bit PCM is required"):
        audio.read_wav(eight_bit)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not a wav at all")
    with pytest.raises(SpeechError, match="cannot read WAV"):
        audio.read_wav(garbage)
    with pytest.raises(SpeechError, match="cannot read WAV"):
        audio.read_wav(tmp_path / "missing.wav")
