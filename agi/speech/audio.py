"""Shared PCM helpers: the telephone frame format, levels, resampling and WAV files.

Everything in Permanence's audio path is signed 16-bit little-endian mono at 8 kHz in
20 ms frames, which is what Asterisk's AudioSocket carries (``slin``, 320-byte payloads,
see https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/). These helpers
keep that format in one place so the endpointer, recogniser, synthesiser, media pacing
and the emulator agree on it.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from agi.errors import SpeechError

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2  # bytes per sample: signed 16-bit little-endian
CHANNELS = 1
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH  # 320
FRAME_S = FRAME_MS / 1000
SILENCE_FRAME = bytes(FRAME_BYTES)

# RMS (on the 16-bit scale) under which a frame counts as silent for level checks:
# about -50 dBFS, well below telephone speech (typically -20 to -35 dBFS) and above the
# dither and comfort noise that codecs leave on an idle line.
SILENCE_RMS = 100.0

WavSource = str | Path | BinaryIO


def samples(pcm: bytes) -> np.ndarray:
    """The int16 samples of ``pcm``; a trailing odd byte (half a sample) is ignored."""
    usable = len(pcm) - len(pcm) % SAMPLE_WIDTH
    return np.frombuffer(pcm[:usable], dtype="<i2")


def rms(pcm: bytes) -> float:
    """Root mean square level of s16le audio on the 0..32768 scale (0.0 for no audio)."""
    data = samples(pcm)
    if data.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))


def is_silent(pcm: bytes, threshold: float = SILENCE_RMS) -> bool:
    """True when the RMS level of ``pcm`` is below ``threshold`` (default about -50 dBFS)."""
    return rms(pcm) < threshold


def duration_s(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Duration in seconds of mono s16le audio at ``rate``."""
    return len(pcm) // SAMPLE_WIDTH / rate


def resample(pcm: bytes, from_rate: int, to_rate: int = SAMPLE_RATE) -> bytes:
    """Resample mono s16le audio with soxr (band-limited, no aliasing into the phone band)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    data = samples(pcm)
    if from_rate == to_rate or data.size == 0:
        return data.tobytes()
    import soxr  # type: ignore[import-untyped]

    out: np.ndarray = soxr.resample(data.astype(np.float32), from_rate, to_rate)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def pad_to_frames(pcm: bytes) -> bytes:
    """Pad with silence to a whole number of 20 ms frames (what the pacer sends)."""
    rest = len(pcm) % FRAME_BYTES
    return pcm if rest == 0 else pcm + bytes(FRAME_BYTES - rest)


def split_frames(pcm: bytes) -> Iterator[bytes]:
    """Yield ``pcm`` as 20 ms frames; the last one is padded with silence."""
    padded = pad_to_frames(pcm)
    for start in range(0, len(padded), FRAME_BYTES):
        yield padded[start:start + FRAME_BYTES]


def silence(ms: int) -> bytes:
    """``ms`` milliseconds of digital silence at 8 kHz."""
    return bytes(SAMPLE_RATE * ms // 1000 * SAMPLE_WIDTH)


def trim_silence(pcm: bytes, rate: int = SAMPLE_RATE, keep_ms: int = 50,
                 threshold: float = SILENCE_RMS) -> bytes:
    """Cut leading and trailing silence, keeping ``keep_ms`` around the sound.

    Synthesisers pad their output; every millisecond of leading silence is added to the
    voice-to-voice latency, so prompts are trimmed once when rendered. Silence is judged
    in 10 ms windows; audio that is silent throughout comes back empty.
    """
    data = samples(pcm)
    window = max(1, rate // 100)
    count = data.size // window
    if count == 0:
        return b""
    blocks = data[:count * window].astype(np.float64).reshape(count, window)
    loud = np.flatnonzero(np.sqrt(np.mean(blocks ** 2, axis=1)) >= threshold)
    if loud.size == 0:
        return b""
    keep = rate * keep_ms // 1000
    start = max(0, int(loud[0]) * window - keep)
    end = min(data.size, (int(loud[-1]) + 1) * window + keep)
    return data[start:end].tobytes()


class FrameBuffer:
    """Re-chunks a byte stream of arbitrary pieces into whole 20 ms frames.

    Network reads and callers do not respect frame boundaries (a TCP read may hold one
    and a half frames, an odd byte count splits a sample); this keeps the remainder.
    """

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._frame_bytes = frame_bytes
        self._pending = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the complete frames now available, oldest first."""
        self._pending += data
        size = self._frame_bytes
        whole = len(self._pending) - len(self._pending) % size
        frames = [bytes(self._pending[i:i + size]) for i in range(0, whole, size)]
        del self._pending[:whole]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of their frame."""
        return len(self._pending)

    def clear(self) -> None:
        """Drop any partial frame."""
        self._pending.clear()


class StreamResampler:
    """Resamples a continuous s16le mono stream piece by piece (soxr's streaming mode keeps
    its filter state across pieces, so 20 ms frames join without clicks) and hands back
    whole frames of ``frame_bytes`` at ``to_rate``. Same rate in and out: frames pass as
    they are (re-chunked only)."""

    def __init__(self, from_rate: int, to_rate: int, frame_bytes: int) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
        self._stream: Any = None
        if from_rate != to_rate:
            import soxr  # type: ignore[import-untyped]

            # LQ holds ~25 ms back (HQ ~70 ms, measured 8<->16 kHz): every ms is voice-to-voice
            # latency, and LQ's filter is still band-limited well past the phone band.
            self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality="LQ")
        self._frames = FrameBuffer(frame_bytes)

    def push(self, pcm: bytes) -> list[bytes]:
        """Add ``pcm``; return the whole output frames now available, oldest first."""
        if self._stream is None:
            return self._frames.push(pcm)
        out = self._stream.resample_chunk(samples(pcm).astype(np.int16))
        return self._frames.push(np.asarray(out, dtype="<i2").tobytes())


def read_wav(source: WavSource) -> tuple[bytes, int]:
    """Read a 16-bit PCM WAV as mono s16le; return ``(pcm, sample_rate)``.

    Several channels are averaged to mono. Other sample widths, compressed WAVs and
    unreadable files raise :class:`SpeechError` naming the file and the problem.
    """
    name = getattr(source, "name", source)
    try:
        with wave.open(source if not isinstance(source, Path) else str(source), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise SpeechError(f"cannot read WAV {name}: {exc}") from exc
    if width != SAMPLE_WIDTH:
        raise SpeechError(f"WAV {name} has {8 * width}-bit samples; 16-bit PCM is required "
                          "(convert with: sox in.wav -b 16 out.wav)")
    if channels > 1:
        data = samples(raw)
        data = data[:data.size - data.size % channels].reshape(-1, channels)
        raw = data.mean(axis=1).round().astype("<i2").tobytes()
    return raw, rate


def read_wav_8k(source: WavSource) -> bytes:
    """Read a 16-bit WAV and return it as 8 kHz mono s16le, resampling when needed."""
    pcm, rate = read_wav(source)
    return resample(pcm, rate, SAMPLE_RATE)


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """A complete mono 16-bit WAV file holding ``pcm``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(CHANNELS)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm[:len(pcm) - len(pcm) % SAMPLE_WIDTH])
    return out.getvalue()


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Write mono s16le ``pcm`` to ``path`` as a WAV file."""
    try:
        Path(path).write_bytes(wav_bytes(pcm, rate))
    except OSError as exc:
        raise SpeechError(f"cannot write WAV {path}: {exc}") from exc
