"""A write waits for the rest of the turn: nothing is booked on words the caller went on from.

The silence window can end a turn while the caller is only pausing: "oui ... enfin non,
plutôt mercredi" at the read-back. When the reply to the words so far needs a write (that
"oui" books; the dry run of agi/call/speculate.py found it when it refused to prepare the
reply), writing at once would book what the caller is about to correct. So the session
first says ``phrases.NOTED`` ("Très bien.", rendered at start-up: the caller hears an answer
as soon as after any other turn), and the write waits until the caller's continuation
window (``turns.continuation_ms`` from the end of their speech, agi/call/continuation.py)
has passed with nothing said, or until what they said in it is known:

- nothing, or only thanks and agreement ("oui ... merci"): the turn is what it was, and the
  write goes ahead;
- words of their own: they are the rest of the turn, and the dialogue hears both parts as
  one ("oui enfin non plutôt mercredi"); nothing was written for the first part alone.

A key pressed or a hang-up in that moment is left for the session to read after the turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from agi.call.media import MediaSession
from agi.call.media_events import CallerTurn


async def whole_turn(media: MediaSession, turn: CallerTurn, writes: Callable[[str], Awaitable[bool]],
                     say: Callable[[], Awaitable[object]], keep: Callable[[str], Awaitable[None]],
                     timeout_s: float) -> str:
    """The words of ``turn``, with what the caller said next as the rest of it when the
    reply to them ``writes``.

    ``say`` speaks the holding phrase; ``keep`` stores the rest's words in the transcript;
    ``timeout_s`` bounds the wait for a rest once begun (the longest turn, and its words):
    past it the turn is answered as it was."""
    if not await writes(turn.text):
        return turn.text  # nothing written: a continuation is answered as its own turn
    deadline = turn.speech_ended_at + media.continuation.window_s
    if not media.continuation.window_s or (
            time.monotonic() >= deadline and not media.continuing and not len(media.events)):
        return turn.text  # no window, or it is over and nothing came: the turn is whole
    await say()  # interruptible: words of their own cut it, thanks do not
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    if not media.continuing and not len(media.events):
        return turn.text  # nothing more: the turn was finished
    try:
        event = await asyncio.wait_for(media.next_event(), timeout_s)
    except TimeoutError:
        return turn.text
    if not isinstance(event, CallerTurn):
        media.events.push_back(event)  # a key, a hang-up: the session's, after this turn
        return turn.text
    if event.text.strip():
        await keep(event.text)
    if event.acknowledgement or not event.text.strip():
        return turn.text
    return f"{turn.text} {event.text}"
