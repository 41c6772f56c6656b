"""The caller's intonation at a pause: a finished sentence falls, an unfinished one holds up.

At the end of a statement the voice falls to the bottom of the speaker's range (final
lowering, in French as in English); in the middle of one it stays up or rises (in French
the *continuation rise* that announces more to come). So when the caller pauses, the pitch
of their last syllable against the turn's median pitch, in semitones, says which:

- ``fall_st`` or more below the median: a fall, the sentence is over: the turn ends now,
  without waiting the rest of the silence window;
- ``level_st`` or less below it (level, or a rise): the voice is held up, more is coming,
  or it is a question: the pause waits ``held_ms`` before it ends the turn;
- in between, or too little voiced speech to tell (a short "oui" on a noisy line): no
  verdict, the silence window decides as without this check.

Pitch comes from Praat's autocorrelation pitch tracker (Boersma 1993, the phoneticians'
reference) through ``parselmouth``; it finds the period from the harmonics, so it works on
telephone audio whose fundamental (below 300 Hz) the line has cut. Octave errors (a frame
read an octave off, common on short words) are dropped: a real fall within one turn is
far less than 9 semitones. About 1 ms of CPU per second of audio, once per pause, in a
small thread pool of its own, never on the event loop; a verdict later than the timeout is
no verdict.

Measured on eSpeak NG speech through a 300-3400 Hz telephone band (tests/speech/
test_intonation.py; docs/turns.md has the bench): 80-90 % of finished sentences fall 3
semitones or more, and almost no pause inside a sentence does. Words the check never
overrides: a pause after "pour", "zéro six" (agi/speech/unfinished.py) waits the dictation
window whatever the pitch, and dictation keeps its window.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from agi.config import TurnSettings
from agi.errors import ModelNotFound
from agi.speech.audio import SAMPLE_RATE
from agi.speech.verdict import FINISHED, Verdict, within

log = logging.getLogger(__name__)

PACKAGE = "praat-parselmouth"
INSTALL_HINT = f"install it with: pip install {PACKAGE}, or set turns.end_of_turn = \"silence\""
# Praat's pitch analysis: 10 ms steps over the range of adult voices
TIME_STEP_S = 0.01
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 400.0
MIN_VOICED = 8  # voiced frames (80 ms) a turn needs for a verdict
OCTAVE_ERROR_ST = 9.0  # farther than this from the median: the tracker's error, not the voice
# the last syllable: the last LAST_FRAMES frames of the last voiced stretch of at least
# STRETCH_FRAMES (a shorter one after it is a consonant's release or a click, not a syllable)
STRETCH_FRAMES = 6
LAST_FRAMES = 3
# The pause is cut off before judging (steady line noise, a hum, is periodic: no syllable),
# but for its first TAIL_MS: the soft end of the last syllable, where the voice falls
# lowest, is already silence to the VAD's energy gate (measured in whole calls: judged
# without it, a fall of 5 semitones read as 3).
TAIL_MS = 150


def final_pitch_st(pcm: bytes, rate: int = SAMPLE_RATE) -> float | None:
    """Semitones from the turn's median pitch to its last syllable (negative: lower), or
    None when the turn has too little voiced speech. ``pcm`` is s16le mono at ``rate``."""
    import numpy as np
    import parselmouth  # type: ignore[import-not-found]  # a compiled module without stubs

    pcm = pcm[:len(pcm) // 2 * 2]
    if len(pcm) < rate * TIME_STEP_S * MIN_VOICED * 2:
        return None
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768.0
    pitch = parselmouth.Sound(samples, sampling_frequency=rate).to_pitch_ac(
        time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    hz = pitch.selected_array["frequency"]
    voiced = hz > 0
    if voiced.sum() < MIN_VOICED:
        return None
    semitones = np.zeros_like(hz)
    semitones[voiced] = 12 * np.log2(hz[voiced] / np.median(hz[voiced]))
    frames = np.flatnonzero(voiced & (np.abs(semitones) < OCTAVE_ERROR_ST))
    if len(frames) < MIN_VOICED:
        return None
    stretches = np.split(frames, np.flatnonzero(np.diff(frames) > 1) + 1)
    last = next((s for s in reversed(stretches) if len(s) >= STRETCH_FRAMES), stretches[-1])
    return float(np.median(semitones[last[-LAST_FRAMES:]]))


class Intonation:
    """The intonation check; one instance serves every call.

    The last syllable ``fall_st`` or more under the turn's median: the turn ends at once;
    ``level_st`` or less under it (level, rising): after ``held_ms`` of silence; in between,
    no verdict (the usual window).
    """

    def __init__(self, *, fall_st: float = 3.0, level_st: float = 1.5, held_ms: int = 1000,
                 workers: int | None = None) -> None:
        try:
            import numpy  # noqa: F401
            import parselmouth  # noqa: F401
        except ImportError as exc:
            raise ModelNotFound(f"the intonation check needs the {PACKAGE} package ({exc.name} "
                                f"is missing): {INSTALL_HINT}") from exc
        self.fall_st, self.level_st, self.held_ms = fall_st, level_st, held_ms
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                        thread_name_prefix="intonation")

    def verdict(self, pcm: bytes) -> Verdict | None:
        """The verdict on a turn's voiced audio up to the pause (trailing silence cut)."""
        last = final_pitch_st(pcm)
        if last is None:
            return None
        if last <= -self.fall_st:
            return FINISHED
        if last >= -self.level_st:
            return Verdict(self.held_ms)
        return None

    async def judge(self, pcm: bytes, trailing_ms: float, timeout_s: float) -> Verdict | None:
        """:meth:`verdict` on ``pcm`` without the pause that ends it (``trailing_ms`` of
        silence by the VAD) but for its first TAIL_MS, off the event loop; None when it fails
        or is later than ``timeout_s``."""
        cut = max(0.0, trailing_ms - TAIL_MS)
        voiced = pcm[:max(0, len(pcm) - round(cut * SAMPLE_RATE / 1000) * 2)]
        return await within(self._pool, self.verdict, voiced, timeout_s, "intonation check")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_shared: dict[tuple[float, float, int], Intonation] = {}
_lock = threading.Lock()
_problem = ""


def intonation_for(turns: TurnSettings) -> Intonation | None:
    """The process's check for these thresholds (made on first use), or None when it cannot
    run (the silence window decides); the reason is logged once, naming the package."""
    global _problem
    key = (turns.fall_st, turns.level_st, turns.held_ms)
    with _lock:
        if key not in _shared and not _problem:
            try:
                _shared[key] = Intonation(fall_st=turns.fall_st, level_st=turns.level_st, held_ms=turns.held_ms)
            except ModelNotFound as exc:
                _problem = str(exc)
                log.error("end-of-turn check off, the silence window decides: %s", exc)
        return _shared.get(key)
