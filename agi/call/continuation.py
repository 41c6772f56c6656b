"""The caller goes on just after their turn ended: the rest of that turn, or a new one?

The silence window sometimes ends a turn while the caller is only pausing ("oui ...
merci": the words alone cannot tell that pause from a finished "oui"). The agent has then
begun its answer when the rest comes, 100-500 ms into it. Cutting that answer for "merci"
is what a person would not do: the caller would miss "votre rendez-vous est confirmé ...",
and the dialogue would take the thanks for a goodbye.

So speech that starts within ``window_s`` of the end of the caller's previous speech (too
soon to be an answer to what the agent is saying: it has barely begun) does not cut the
agent at once. Its words decide: as soon as they are anything but an acknowledgement
(agi/speech/backchannel.py) the answer is cut and the words are a turn of their own, as
any barge-in; when all of them only agree or thank (or there are none: a breath, a click),
the answer plays on and the words are kept in the transcript as the end of the turn that
is being answered, with no reply of their own. Later speech cuts at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable


class Continuation:
    """Per call: whether the speech now going on may be the rest of the previous turn."""

    def __init__(self, window_s: float, acknowledges: Callable[[str], bool] | None = None) -> None:
        self.window_s = window_s
        self.acknowledges = acknowledges
        self._last_end: float | None = None  # when the caller's previous speech ended
        self.pending = False  # this speech may be the rest: its words decide

    def turn_ended(self, speech_ended_at: float) -> None:
        self._last_end = speech_ended_at

    def begin(self, now: float) -> bool:
        """Speech started at ``now``; True when it must cut the agent at once."""
        self.pending = (self.acknowledges is not None and self._last_end is not None
                        and now - self._last_end <= self.window_s)
        return not self.pending

    def cuts(self, words: str) -> bool:
        """The recogniser's words so far: True when they cut the agent (not only thanks)."""
        if not self.pending:
            return True
        assert self.acknowledges is not None
        if words.strip() and not self.acknowledges(words):
            self.pending = False  # a turn of its own
        return not self.pending

    def end(self) -> bool:
        """The speech ended: True when it was still undecided (then its final words decide,
        :meth:`only_acknowledges`); the next speech starts afresh."""
        undecided, self.pending = self.pending, False
        return undecided

    def only_acknowledges(self, final: str) -> bool:
        """Whether the final words of undecided speech are no turn of their own."""
        return not final.strip() or (self.acknowledges is not None and self.acknowledges(final))
