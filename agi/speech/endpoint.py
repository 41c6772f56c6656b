"""The endpointer: decides from the caller's audio and the clock when a turn starts and ends.

Sans-IO and clock-free: the caller passes audio with :meth:`Endpointer.feed` and the current
time with :meth:`Endpointer.tick`; events come back as small frozen dataclasses. Nothing
here sleeps, reads a clock or touches a socket, so tests drive it with literal times.

Why the clock matters: Asterisk does not always send frames while the caller is silent
(Local channels, silence suppression / DTX), so a turn must end after ``window`` seconds of
*time* without voice, not after ``window`` seconds of silent frames. The recogniser's own
endpoint rules are not used: they wait for 1.4-2.9 s of trailing silence on a real line,
while a VAD can end the turn a few hundred milliseconds after the caller stops.

Voice decisions combine Google's WebRTC VAD (``webrtcvad``, aggressiveness from settings)
with an energy gate above an adaptive noise floor, so steady line noise that the VAD alone
calls speech does not start turns or cut the agent's prompts (barge-in).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from agi.config import SpeechSettings
from agi.errors import ConfigError, ModelNotFound
from agi.speech.audio import (
    FRAME_BYTES,
    FRAME_MS,
    FRAME_S,
    SAMPLE_RATE,
    FrameBuffer,
    rms,
    silence,
)
from agi.speech.echo import EchoGuard

# Voiced audio needed inside START_WINDOW_MS before a turn (or a barge-in) starts: a click,
# a cough or a burst of line noise is shorter than this; a syllable is longer.
START_SPEECH_MS = 120
START_WINDOW_MS = 200
# Audio kept from before the detected start so the recogniser hears the onset of the first
# word (the VAD needs START_SPEECH_MS to be sure, and soft onsets are missed by it anyway).
PREROLL_MS = 300
# Inside a turn, the silence clock restarts only when RESUME_VOICED of the last RESUME_WINDOW
# frames are voiced: one stray voiced frame in the pause does not delay the end of turn.
RESUME_WINDOW = 5
RESUME_VOICED = 3
# Energy gate: a frame counts as voice only when the VAD says so AND its RMS is at least
# NOISE_SNR times the line's noise floor (6 dB) and at least MIN_SPEECH_RMS (about -56 dBFS).
NOISE_SNR = 2.0
MIN_SPEECH_RMS = 50.0
# The noise floor is a low percentile of the levels of the last NOISE_WINDOW_MS: steady line
# noise sets it within a fraction of a second, while continuous speech, whose pauses between
# words stay in the lowest decile, barely moves it.
NOISE_WINDOW_MS = 1500
NOISE_PERCENTILE = 10
NOISE_FLOOR_MIN = 1.0
# Frames arriving up to this many frame-times late are network jitter, not missing audio:
# only longer gaps are filled with silence in the start window and the pre-roll.
JITTER_FRAMES = 3

log = logging.getLogger(__name__)

_START_FRAMES = START_WINDOW_MS // FRAME_MS
_START_VOICED = -(-START_SPEECH_MS // FRAME_MS)
_NOISE_FRAMES = NOISE_WINDOW_MS // FRAME_MS
_RING_FRAMES = (PREROLL_MS + START_WINDOW_MS) // FRAME_MS
# The end-of-turn model hears at most the last 8 s of a turn (smart-turn's input length).
TURN_AUDIO_MS = 8000
_TURN_FRAMES = TURN_AUDIO_MS // FRAME_MS


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started speaking (at least START_SPEECH_MS of voice); ``at`` is when this was known."""

    at: float


@dataclass(frozen=True)
class SpeechEnded:
    """The caller's turn is over: silence reached the window after speech.

    ``speech_ms`` spans the speech from its onset to the last voiced frame;
    ``silence_waited_ms`` is the endpointing wait (part of the voice-to-voice latency).
    """

    at: float
    speech_ms: int
    silence_waited_ms: int


@dataclass(frozen=True)
class SpeechPaused:
    """The caller has been silent for ``pause_ms`` inside a turn: they may have finished.

    The turn is not over yet: an end-of-turn check may end it now or give this pause a
    window of its own (:meth:`Endpointer.judge`), and a reply may be prepared; the silence
    window still ends it otherwise.
    """

    at: float


@dataclass(frozen=True)
class SpeechResumed:
    """The caller spoke again after :class:`SpeechPaused`: it was only a pause."""

    at: float


@dataclass(frozen=True)
class NoInput:
    """Nothing was said for ``no_input_timeout_s`` since :meth:`Endpointer.reset`."""

    at: float


@dataclass(frozen=True)
class MaxTurn:
    """The caller has spoken for ``max_turn_s``: the turn is cut and understood as is."""

    at: float


EndpointEvent = SpeechStarted | SpeechPaused | SpeechResumed | SpeechEnded | NoInput | MaxTurn


class Endpointer:
    """VAD endpointer over 8 kHz s16le mono audio, driven by the caller's clock.

    ``feed(pcm, now)`` accepts any number of bytes (whole frames are processed, the rest is
    kept); ``now`` is when the last byte arrived, and earlier frames of the same chunk are
    dated backwards from it at 20 ms each. ``tick(now)`` lets time pass without audio.
    After :class:`SpeechEnded` or :class:`MaxTurn` the endpointer listens for the next
    start by itself; :meth:`reset` starts a new turn and re-arms :class:`NoInput`.
    """

    def __init__(self, settings: SpeechSettings, *, pause_ms: int = 0, vad: str = "webrtc") -> None:
        import webrtcvad  # type: ignore[import-untyped]

        if settings.vad_aggressiveness not in (0, 1, 2, 3):
            raise ConfigError("speech.vad_aggressiveness",
                              f"invalid value {settings.vad_aggressiveness!r}", "use 0, 1, 2 or 3")
        self._settings = settings
        # Silero (agi/speech/silero.py) is streaming: it hears every frame, and needs no
        # adaptive noise gate (it calls no line noise speech, bench/vad.py)
        self._silero = vad == "silero"
        self._pause_ms = pause_ms  # 0: no SpeechPaused events
        self.echo = EchoGuard()  # the agent's frames, fed by the media loop (barge-in)
        self._vad: Any = webrtcvad.Vad(settings.vad_aggressiveness)
        if self._silero:
            from agi.speech.silero import SileroVad

            try:
                self._vad = SileroVad()
            except ModelNotFound as exc:  # the WebRTC VAD and its noise gate do the work
                self._silero = False
                log.error("Silero VAD unavailable, using WebRTC VAD: %s", exc)
        self.dictation = False
        self._buffer = FrameBuffer()
        self._recent: deque[tuple[float, bool]] = deque(maxlen=_START_FRAMES)
        self._ring: deque[bytes] = deque(maxlen=_RING_FRAMES)
        self._capture: list[bytes] | None = None
        self._preroll = b""
        self._levels: deque[float] = deque(maxlen=_NOISE_FRAMES)
        self._last_end: float | None = None
        self._turn_start: float | None = None
        self._heard = False
        self._no_input_sent = False
        self._in_speech = False
        self._onset = 0.0
        self._last_voice_end = 0.0
        self._paused = False
        self._held = False  # this pause is a hesitation: wait the dictation window
        self._judged_ms: int | None = None  # this pause's window by an end-of-turn check
        self._turn_frames: deque[bytes] = deque(maxlen=_TURN_FRAMES)

    @property
    def window_ms(self) -> int:
        """The silence that ends a turn now: longer while the caller dictates, or holds a pause."""
        if self.dictation:
            return self._settings.dictation_silence_ms
        window = self._settings.endpoint_silence_ms if self._judged_ms is None else self._judged_ms
        return max(window, self._settings.dictation_silence_ms) if self._held else window

    @property
    def pausing(self) -> bool:
        """True while the caller is silent after a :class:`SpeechPaused`, the turn still open."""
        return self._in_speech and self._paused

    @property
    def in_speech(self) -> bool:
        """True between :class:`SpeechStarted` and the end of that turn."""
        return self._in_speech

    def reset(self, now: float) -> None:
        """Start a new turn at ``now``: forget any speech in progress, re-arm NoInput."""
        self._turn_start = now
        self._heard = False
        self._no_input_sent = False
        self._in_speech = False
        self._paused = self._held = False
        self._judged_ms = None
        self._recent.clear()
        self._capture = None
        self._preroll = b""

    def preroll(self) -> bytes:
        """The audio of the current turn from PREROLL_MS before its start.

        It runs up to the end of the chunk whose :meth:`feed` reported SpeechStarted, so the
        session hands it to the recogniser and then forwards later chunks as they come.
        """
        return self._preroll

    def turn_audio(self) -> bytes:
        """The current turn's audio so far (pre-roll included), at most TURN_AUDIO_MS."""
        return b"".join(self._turn_frames)

    def agent_frame(self, pcm: bytes, at: float) -> None:
        """The agent sent ``pcm`` at ``at``: its echo must not start a turn (barge-in)."""
        self.echo.played(rms(pcm), at)

    def hold(self) -> None:
        """The caller's words so far are left open: this pause waits the dictation window
        (or a check's longer window)."""
        if self._in_speech and self._paused:
            self._held = True

    def judge(self, window_ms: int) -> None:
        """An end-of-turn check's window for this pause, shorter or longer than the usual one
        (0: the turn is over); a held pause and dictation keep their own. The next
        :meth:`tick` ends the turn if the caller has been silent that long."""
        if self._in_speech and self._paused:
            self._judged_ms = window_ms

    def release(self) -> None:
        """Undo :meth:`hold`: this pause ends after the usual window again (at once if the
        caller has already been silent that long)."""
        self._held = False

    def silence_ms(self, now: float) -> float:
        """How long the caller has been silent in this pause (0 when not pausing)."""
        return (now - self._last_voice_end) * 1000 if self.pausing else 0.0

    def feed(self, pcm: bytes, now: float) -> list[EndpointEvent]:
        """Process the caller audio ``pcm`` that arrived by ``now``; return what happened."""
        self._capture = None  # the pre-roll of an earlier start is complete
        frames = self._buffer.push(pcm)
        events: list[EndpointEvent] = []
        count = len(frames)
        for index, frame in enumerate(frames):
            end = now - (count - 1 - index) * FRAME_S
            if self._last_end is not None:
                end = max(end, self._last_end)
                self._fill_gap(end - FRAME_S)
            self._last_end = end
            events.extend(self._frame(frame, end))
        if self._capture is not None:
            self._preroll = b"".join(self._capture)
        return events

    def tick(self, now: float) -> list[EndpointEvent]:
        """Let the clock run to ``now``: missing audio counts as silence."""
        return self._check_clock(now)

    def _fill_gap(self, frame_start: float) -> None:
        """Frames missing before ``frame_start`` were silence: let the start window see it."""
        assert self._last_end is not None
        missing = int((frame_start - self._last_end) / FRAME_S)
        if missing <= JITTER_FRAMES:
            return
        for step in range(min(missing, _RING_FRAMES)):
            self._recent.append((self._last_end + (step + 1) * FRAME_S, False))
            self._ring.append(silence(FRAME_MS))

    def noise_floor(self) -> float:
        """The line's current noise level (RMS), from the recent frames."""
        if not self._levels:
            return NOISE_FLOOR_MIN
        ordered = sorted(self._levels)
        return max(NOISE_FLOOR_MIN, ordered[len(ordered) * NOISE_PERCENTILE // 100])

    def _is_voice(self, frame: bytes, end: float) -> bool:
        level = rms(frame)
        gate = MIN_SPEECH_RMS if self._silero else max(MIN_SPEECH_RMS, self.noise_floor() * NOISE_SNR)
        self._levels.append(level)
        echo = self.echo.is_echo(level, end)  # asked for every frame: it learns the line
        speech = self._silero and self._vad.is_speech(frame, SAMPLE_RATE)  # hears every frame
        if level < gate or echo:
            return False
        return bool(speech or (not self._silero and self._vad.is_speech(frame, SAMPLE_RATE)))

    def _frame(self, frame: bytes, end: float) -> list[EndpointEvent]:
        assert len(frame) == FRAME_BYTES
        voiced = self._is_voice(frame, end)
        self._recent.append((end, voiced))
        self._ring.append(frame)
        if self._capture is not None:
            self._capture.append(frame)
        if self._in_speech:
            self._turn_frames.append(frame)
        if not self._in_speech:
            if sum(v for _, v in self._recent) >= _START_VOICED:
                return [self._start(end)]
        elif voiced and sum(v for _, v in list(self._recent)[-RESUME_WINDOW:]) >= RESUME_VOICED:
            self._last_voice_end = end
            if self._paused:
                self._paused = self._held = False
                self._judged_ms = None
                return [SpeechResumed(at=end), *self._check_clock(end)]
        return self._check_clock(end)

    def _start(self, end: float) -> SpeechStarted:
        first_voiced = next(t for t, v in self._recent if v)
        self._onset = first_voiced - FRAME_S
        self._in_speech = True
        self._heard = True
        self._last_voice_end = end
        self._paused = self._held = False
        self._judged_ms = None
        self._capture = list(self._ring)
        self._turn_frames.clear()
        self._turn_frames.extend(self._ring)
        return SpeechStarted(at=end)

    def _check_clock(self, now: float) -> list[EndpointEvent]:
        if self._in_speech:
            waited = now - self._last_voice_end
            if waited * 1000 >= self.window_ms:
                return [self._ended(now)]
            if now - self._onset >= self._settings.max_turn_s:
                self._end_speech()
                return [MaxTurn(at=now)]
            if self._pause_ms and not self._paused and waited * 1000 >= self._pause_ms:
                self._paused = True
                return [SpeechPaused(at=now)]
            return []
        if (self._turn_start is not None and not self._heard and not self._no_input_sent
                and now - self._turn_start >= self._settings.no_input_timeout_s):
            self._no_input_sent = True
            return [NoInput(at=now)]
        return []

    def _ended(self, now: float) -> SpeechEnded:
        waited = now - self._last_voice_end
        self._end_speech()
        return SpeechEnded(at=now, speech_ms=round((self._last_voice_end - self._onset) * 1000),
                           silence_waited_ms=round(waited * 1000))

    def _end_speech(self) -> None:
        self._in_speech = False
        self._paused = self._held = False
        self._judged_ms = None
        self._recent.clear()
