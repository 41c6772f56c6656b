"""Echo-safe barge-in: the agent's own voice coming back on the line is not the caller.

A phone line returns part of what the agent says (hybrid echo, acoustic echo of a handset
or speakerphone) 20-200 ms later and 20-35 dB down. Without a check, that echo passes the
VAD and the energy gate and cuts the agent's own prompt.

:class:`EchoGuard` is a double-talk detector in the manner of Geigel's (the classic one of
line echo cancellers, ITU-T G.168 practice), on 20 ms frame levels instead of samples: a
caller frame can be voice only when its level is above ``ECHO_MARGIN`` times the loudest
agent frame played within the echo tail (the last ``ECHO_TAIL_S``). Echo is at least
``ECHO_RETURN_LOSS_DB`` (20 dB) down, so it never reaches the margin (12 dB down); a caller
speaking at a normal level over the prompt is near the agent's own level and passes at
once. The cost: while the agent speaks, a caller more than 12 dB quieter than the agent
cannot cut it (they still can once it stops, and by pressing a key).

Sans-IO and clock-free like the endpointer: times are passed in, in seconds.
"""

from __future__ import annotations

from collections import deque

# The longest echo path we expect (200 ms) plus a frame of jitter on each side.
ECHO_TAIL_S = 0.26
# Echo comes back at least this far down (line hybrids: 20-35 dB; G.168 assumes >= 6 dB
# for its detector, telephone handsets give far more).
ECHO_RETURN_LOSS_DB = 20.0
# A caller frame within this many dB of the loudest recent agent frame is the caller.
ECHO_MARGIN_DB = 12.0
ECHO_MARGIN = 10 ** (-ECHO_MARGIN_DB / 20)
# Once the echo path is learned, the echo expected in each frame is known to a few dB: a
# caller frame this much above it is the caller.
LEARNED_MARGIN_DB = 8.0
LEARNED_MARGIN = 10 ** (LEARNED_MARGIN_DB / 20)
# Frames kept: the tail at 20 ms per frame, with room for a late send.
_KEPT = 32
FRAME_S = 0.02
# Echo-only frames heard before the learned echo path is trusted (half a second of prompt),
# and how fast old frames are forgotten (a time constant of about two seconds).
LEARN_FRAMES = 25
LEARN_DECAY = 0.99


class EchoGuard:
    """Remembers the agent's recent frame levels and tells echo from a caller.

    Until it has heard enough of the line, a caller frame must beat the loudest agent frame
    of the whole echo tail by the margin. Then it learns the echo path: for each delay of
    the tail (in frames), the least-squares gain from the agent's level to the level heard
    back, over the frames that can only be echo, and the delay whose levels match best
    (normalised correlation); the echo expected now is that delay's gain x the agent's level
    then, and a caller frame must beat *that* by LEARNED_MARGIN_DB.
    On a quiet line (no echo) the gains stay near zero and barge-in is as quick as with no
    agent speech at all.
    """

    def __init__(self, tail_s: float = ECHO_TAIL_S, margin: float = ECHO_MARGIN) -> None:
        self._tail_s = tail_s
        self._margin = margin
        self._played: deque[tuple[float, float]] = deque(maxlen=_KEPT)
        self._lags = round(tail_s / FRAME_S) + 1
        self._sxy = [0.0] * self._lags
        self._sxx = [0.0] * self._lags
        self._learned = 0

    def played(self, level: float, at: float) -> None:
        """The agent sent a frame of RMS ``level`` at ``at``."""
        if level > 0:
            self._played.append((at, level))

    def reference(self, at: float) -> float:
        """The loudest agent frame that can still be echoing at ``at`` (0: none)."""
        while self._played and self._played[0][0] < at - self._tail_s - FRAME_S:
            self._played.popleft()
        return max((level for t, level in self._played if t <= at), default=0.0)

    def _by_lag(self, at: float) -> list[float]:
        """The agent's level ``lag`` frames before ``at``, for each lag of the tail."""
        levels = [0.0] * self._lags
        for t, level in self._played:
            lag = round((at - t) / FRAME_S) - 1
            if 0 <= lag < self._lags:
                levels[lag] = max(levels[lag], level)
        return levels

    def is_echo(self, level: float, at: float) -> bool:
        """True when a caller frame of RMS ``level`` at ``at`` may be only our own echo."""
        reference = self.reference(at)
        if reference <= 0:
            return False
        if level >= reference * self._margin:
            return False  # louder than any echo could be: the caller
        agent = self._by_lag(at)
        self._learn(agent, level)
        if self._learned < LEARN_FRAMES:
            return True
        lag = self.delay_frames()
        near = agent[max(0, lag - 1):lag + 2]  # a frame of jitter either way
        return level < self._gain(lag) * max(near) * LEARNED_MARGIN

    def _learn(self, agent: list[float], level: float) -> None:
        """A frame that can only be echo (or silence): update each delay's gain."""
        for lag, x in enumerate(agent):
            self._sxy[lag] = self._sxy[lag] * LEARN_DECAY + x * level
            self._sxx[lag] = self._sxx[lag] * LEARN_DECAY + x * x
        self._learned += 1

    def delay_frames(self) -> int:
        """The echo path's delay, in frames: the lag whose levels best match what comes back."""
        return max(range(self._lags),
                   key=lambda lag: self._sxy[lag] / self._sxx[lag] ** 0.5 if self._sxx[lag] > 0 else 0.0)

    def _gain(self, lag: int) -> float:
        return self._sxy[lag] / self._sxx[lag] if self._sxx[lag] > 0 else 0.0
