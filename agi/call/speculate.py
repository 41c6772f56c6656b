"""Answering before the silence window closes: a reply prepared while the caller pauses.

When the endpointer reports a pause (``turns.pause_ms`` of silence inside a turn), the
media loop hands the recogniser's last partial words to :meth:`Speculator.paused`. The
speculator forks the conversation (a dry run: it reads the store, never writes; see
agi/dialogue/dry_run.py), computes the reply to those words off the event loop, and
renders its first sentence into the synthesiser's cache. When the turn is confirmed,
:meth:`Speculator.take` gives that reply, and the fork becomes the call's conversation, if
the final words are the words it was prepared from; the first frames then come from the
cache at once. If the caller goes on (:meth:`Speculator.resumed`), or the words differ, or
the reply needed a write, it is dropped and the turn is answered as without speculation.
Nothing a dropped reply did can be seen: it wrote nothing and its fork is discarded.

The prepared reply also says whether the caller has finished: when the words so far ask
for nothing yet (the dialogue would only greet back: "bonjour madame c'est pour ...", or
it cannot understand them and the fallback would run), the caller is most likely still
looking for their words, so that pause waits the dictation window
(:meth:`agi.call.media.MediaSession.hold_pause`) instead of answering "I did not
understand" after half a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from agi.call.media import MediaSession
from agi.dialogue.base import GREET_INTENT, BotReply, Conversation
from agi.dialogue.text import same_words
from agi.errors import DryRunWrite, PermanenceError
from agi.speech.tts import Synthesizer, split_sentences

log = logging.getLogger(__name__)

# How long a confirmed turn waits for a reply still being prepared before it is computed
# again for real (the dry run keeps running in its thread, and is discarded).
TAKE_TIMEOUT_S = 0.5
# Words so far that ask for nothing yet: a caller who paused after "bonjour madame c'est
# pour ..." (the classifier hears only the greeting) has not told their request.
NOT_DONE_INTENTS = frozenset({GREET_INTENT})


@dataclass
class _Guess:
    text: str
    fork: Conversation
    task: asyncio.Task[BotReply | None]
    writes: bool = False  # the reply needs a write (a booking, a message...): not prepared


class Speculator:
    """One call's speculative replies; counts what became of them (for the bench)."""

    def __init__(self, conversation: Conversation, synthesizer: Synthesizer, language: str) -> None:
        self.conversation = conversation
        self._synthesizer = synthesizer
        self._language = language
        self._guess: _Guess | None = None
        self._held = False
        self.used = self.dropped = self.missed = self.refused = self.unsure = 0
        # called with the words when they ask for nothing yet (the caller has probably not
        # finished: "bonjour je voudrais ...", "hello I'm calling about ...")
        self.on_unsure: Callable[[str], None] | None = None

    def hold(self) -> None:
        """The session is handling an event: the conversation may change, prepare nothing."""
        self._held = True

    def release(self) -> None:
        """The session listens again: what was prepared before is stale, new pauses count."""
        self._held = False
        self._drop()

    def paused(self, partial: str) -> None:
        """The caller paused after saying ``partial`` (so far): prepare the reply to it."""
        text = partial.strip()
        if self._held or not text or (self._guess is not None and same_words(self._guess.text, text)):
            return
        self._drop()
        fork = self.conversation.fork()  # on the loop: a consistent copy, cheap
        if fork is None:
            return  # this backend cannot dry-run: the turn is answered after it ends
        task = asyncio.get_running_loop().create_task(self._prepare(fork, text))
        self._guess = _Guess(text, fork, task)

    def resumed(self) -> None:
        """The caller went on: what was prepared answers words that are not the turn."""
        if self._guess is not None:
            self._drop()
            self.dropped += 1

    async def writes(self, text: str) -> bool:
        """Whether the reply to the final words ``text`` needs a write, as far as the dry run
        of the same words found (False when it is not known)."""
        guess = self._guess
        if guess is None or not same_words(guess.text, text):
            return False
        await asyncio.wait({guess.task}, timeout=TAKE_TIMEOUT_S)  # late or dropped: not known
        return guess.writes

    async def take(self, text: str) -> BotReply | None:
        """The reply prepared for the final words ``text``, committed; None if there is none."""
        guess, self._guess = self._guess, None
        if guess is None:
            return None
        if not same_words(guess.text, text):
            guess.task.cancel()
            self.missed += 1
            return None
        try:
            reply = await asyncio.wait_for(asyncio.shield(guess.task), TAKE_TIMEOUT_S)
        except TimeoutError:
            self.missed += 1
            return None
        if reply is None:
            return None
        guess.fork.commit()
        self.conversation = guess.fork
        self.used += 1
        return reply

    def close(self) -> None:
        self._held = True
        self._drop()

    def _drop(self) -> None:
        guess, self._guess = self._guess, None
        if guess is not None:
            guess.task.cancel()

    async def _prepare(self, fork: Conversation, text: str) -> BotReply | None:
        try:
            reply = await asyncio.to_thread(fork.respond, text)
        except DryRunWrite as exc:
            self.refused += 1
            if self._guess is not None and self._guess.fork is fork:
                self._guess.writes = True
            log.debug("no speculative reply: %s", exc)
            return None
        except PermanenceError:
            return None  # the real turn meets the same failure and handles it
        if (reply.misunderstood or reply.intent in NOT_DONE_INTENTS) and self.on_unsure is not None:
            self.unsure += 1
            self.on_unsure(text)  # still this pause: a resume would have cancelled this task
        first = [s for text in reply.say[:1] for s in split_sentences(text)[:1]]
        if first:
            try:
                await asyncio.to_thread(self._synthesizer.prepare, first, self._language)
            except PermanenceError:
                pass  # the real playback renders it again and reports the failure
        return reply


def attach(media: MediaSession, conversation: Conversation, synthesizer: Synthesizer,
           language: str, *, enabled: bool) -> Speculator:
    """A speculator for the call, fed by the media loop's pauses when ``enabled``."""
    speculator = Speculator(conversation, synthesizer, language)
    if enabled:
        media.pauses.on_pause, media.pauses.on_resume = speculator.paused, speculator.resumed
        speculator.on_unsure = media.hold_pause
    return speculator
