"""The call's media: paced playback, caller audio, endpointing, recognition, barge-in.

One :class:`MediaSession` per call sits on a :class:`agi.call.channel.MediaStream`
(AudioSocket on Asterisk, unicast UDP on FreeSWITCH). It

- sends exactly one 20 ms frame every 20 ms (agent speech, else silence) on a drift-free
  schedule of its own clock: Asterisk's AudioSocket application drops a call after ~2 s
  with no audio either way, and FreeSWITCH's unicast writes each datagram the moment it
  arrives (no jitter buffer), so a burst would be heard as one frame;
- runs the endpointer, recogniser and synthesiser at 8 kHz and resamples a leg of another
  rate (16 kHz: G.722 on FreeSWITCH, slin16 on Asterisk) both ways at the stream's edge;
- feeds caller audio to the endpointer (VAD) and, while the caller speaks, to the
  recogniser, on the call's serial lane of the shared decoder threads (agi/workers.py),
  so decoding never blocks the event loop nor waits for another call;
- ticks the endpointer by the clock, so missing audio counts as silence (Asterisk sends no
  frames on some channels while the caller is silent);
- cuts playback as soon as the caller speaks over an interruptible prompt (barge-in),
  except by words that only finish the turn being answered (agi/call/continuation.py).

Everything the session needs comes out of :meth:`next_event` as small frozen events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor

from agi.call.channel import AudioIn, DigitIn, MediaHangup, MediaStream, frame_bytes
from agi.call.continuation import Continuation
from agi.call.feed import RecognizerFeed
from agi.call.media_events import CallerHungUp, CallerSilent, CallerTurn, DigitPressed, EventQueue, MediaEvent
from agi.call.pauses import PauseJudge
from agi.call.playback import Playback
from agi.dialogue.text import same_words
from agi.errors import CallEnded
from agi.speech.asr import Recognizer
from agi.speech.audio import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, StreamResampler
from agi.speech.endpoint import (
    Endpointer,
    MaxTurn,
    NoInput,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)

log = logging.getLogger(__name__)

FRAME_S = FRAME_MS / 1000
# How long a hang-up waits for the words of a turn that ended just before it (the decoders
# may be behind); what is not decoded by then is lost with the call.
FINAL_TIMEOUT_S = 10.0
SILENCE = bytes(FRAME_BYTES)
# Pacing falls behind when the loop is starved; beyond this we resynchronise instead of
# bursting frames, which Asterisk would queue as latency.
MAX_PACING_LAG_S = 0.2


class MediaSession:
    """Both directions of one call's audio over a PBX media stream.

    ``clock`` and ``sleep`` pace the send loop (the event loop's by default); tests pass
    their own to check the schedule without waiting for it.
    """

    def __init__(self, stream: MediaStream, endpointer: Endpointer, recognizer: Recognizer | None,
                 call_id: str, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 decoder: Executor | None = None) -> None:
        self._stream = stream
        rate = stream.sample_rate
        self._inbound = StreamResampler(rate, SAMPLE_RATE, FRAME_BYTES)
        self._outbound = StreamResampler(SAMPLE_RATE, rate, frame_bytes(rate))
        self._leg_silence = bytes(frame_bytes(rate))
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._endpointer = endpointer
        self._recognizer = recognizer
        self._call_id = call_id
        self.events = EventQueue()  # what happened on the line, for the session
        self._playback: Playback | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # serial, in order: the call's lane on the shared decoders (agi.workers), else its own thread
        self._asr = decoder or ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"asr-{call_id}")
        self._feed = (RecognizerFeed(recognizer, self._asr, self._on_partial, self._on_decoded)
                      if recognizer is not None else None)
        self._listening = False
        self._in_turn = False
        self._barged = False
        self.ended = asyncio.Event()
        self.frames_sent = 0
        self.speech_frames_sent = 0
        self.frames_received = 0
        self.digits_received = 0  # keys pressed so far (one pressed in the opening is acted on)
        self.last_first_frame_at: float | None = None  # when the last prompt began to sound
        # every caller frame (8 kHz) also goes here: the consented recording
        self.on_caller_audio: Callable[[bytes], None] | None = None
        # turn-taking: what each pause is (the end-of-turn check, the speculation hooks)
        self.pauses = PauseJudge(endpointer, self._handle, time.monotonic)
        # speech just after a turn ended: its words decide whether it cuts the answer
        self.continuation = Continuation(0.0)
        self._partial = ""
        self._finishing: set[asyncio.Task[None]] = set()  # turns ended, their words coming
        self._undecided = 0  # of those, speech just after a turn whose final words decide
        self._gone = False  # the caller hung up

    @property
    def continuing(self) -> bool:
        """Speech just after the caller's turn whose words are still to decide (continuation.py)."""
        return (self._in_turn and self.continuation.pending) or self._undecided > 0

    @property
    def can_hear(self) -> bool:
        """False when no recogniser could be made for this call's language."""
        return self._recognizer is not None

    # lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._send_loop(), name=f"send-{self._call_id}"),
                       asyncio.create_task(self._receive_loop(), name=f"recv-{self._call_id}")]

    async def close(self, *, hang_up: bool = True) -> None:
        """Stop both loops, hang up the stream (unless the PBX now owns the leg: a transfer
        target's leg once bridged), release the recogniser thread."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, self.pauses.close(), return_exceptions=True)
        self._tasks.clear()  # each task's coroutine refers back to self: break the cycle
        try:
            if hang_up:
                await self._stream.hangup()
        except (OSError, CallEnded):
            pass  # already closed by the other side: nothing left to release
        recognizer, self._recognizer = self._recognizer, None
        self._feed = None  # it holds the recogniser and a bound method of this session
        if recognizer is not None:  # freed in the call's ASR thread, never in a GC pause here
            await asyncio.get_running_loop().run_in_executor(self._asr, recognizer.close)
            del recognizer
        self._asr.shutdown(wait=False, cancel_futures=True)
        self.ended.set()

    # playback ------------------------------------------------------------
    async def play(self, chunks: Iterable[bytes] | AsyncIterator[bytes], *,
                   interruptible: bool = True) -> bool:
        """Speak ``chunks`` of PCM; return False when the caller barged in or hung up."""
        if self.ended.is_set():
            return False
        playback = Playback(interruptible)
        self._playback = playback
        self._barged = False
        # Silence is counted only while we wait for the caller: from the next listen(), not
        # while we speak (a key press leaves listening on, and a long answer to it would
        # otherwise be followed at once by a stale "didn't hear you").
        self._listening = False
        rest = b""
        try:
            if isinstance(chunks, AsyncIterator):
                async for chunk in chunks:
                    rest = playback.queue(rest + chunk)
                    if playback.interrupted or self.ended.is_set():
                        break
            else:
                for chunk in chunks:
                    rest = playback.queue(rest + chunk)
            if rest:
                playback.frames.append(rest.ljust(FRAME_BYTES, b"\0"))
        finally:
            playback.feeding = False
            playback.finish_if_drained()
        ended = asyncio.create_task(self.ended.wait())
        done = asyncio.create_task(playback.done.wait())
        await asyncio.wait({ended, done}, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        done.cancel()
        if self._playback is playback:
            self._playback = None
        self.last_first_frame_at = playback.first_frame_at
        return not playback.interrupted and not self.ended.is_set()

    def _interrupt(self) -> None:
        playback = self._playback
        if playback is not None and playback.interruptible and not playback.interrupted:
            playback.interrupted = True
            playback.frames.clear()
            playback.done.set()
            self._barged = True
            log.info("call %s: barge-in, prompt cut", self._call_id)

    # listening -----------------------------------------------------------
    def listen(self, *, dictation: bool = False) -> None:
        """Open a caller turn: endpointing restarts with the right silence window."""
        self._endpointer.dictation = dictation
        if not self._in_turn:
            self._endpointer.reset(time.monotonic())
        self._listening = True

    async def next_event(self) -> MediaEvent:
        return await self.events.get()

    # loops ---------------------------------------------------------------
    async def _send_loop(self) -> None:
        clock = self._clock or asyncio.get_running_loop().time
        deadline = clock()
        try:
            while True:
                frames = self._outbound.push(self._next_frame())
                # the resampler holds a few ms back at first: silence until it gives a frame
                await self._stream.send_audio(frames[0] if frames else self._leg_silence)
                self.frames_sent += 1
                self._handle(self._endpointer.tick(time.monotonic()))
                # the n-th frame leaves at start + n x 20 ms, whatever each send cost
                deadline += FRAME_S
                delay = deadline - clock()
                if delay < -MAX_PACING_LAG_S:
                    deadline = clock()
                    delay = 0
                await self._sleep(max(delay, 0))
        except (CallEnded, OSError, ConnectionError):
            # The receive loop sees the same end of stream; it reports the hang-up once it
            # has kept any words the caller was still saying.
            return

    def _next_frame(self) -> bytes:
        playback = self._playback
        if playback is None or not playback.frames:
            if playback is not None:
                playback.finish_if_drained()
            return SILENCE
        frame = playback.frames.popleft()
        self._endpointer.agent_frame(frame, time.monotonic())  # its echo is not the caller
        if playback.first_frame_at is None:
            playback.first_frame_at = time.monotonic()
        self.speech_frames_sent += 1
        playback.finish_if_drained()
        return frame

    async def _receive_loop(self) -> None:
        try:
            while True:
                event = await self._stream.receive()
                if isinstance(event, AudioIn):
                    self.frames_received += 1
                    for pcm in self._inbound.push(event.pcm):
                        self._on_audio(pcm)
                elif isinstance(event, DigitIn):
                    self.digits_received += 1
                    self.events.put(DigitPressed(event.digit))
                elif isinstance(event, MediaHangup):
                    break
        except CallEnded:
            pass
        self._gone = True
        if self._finishing:  # a turn ended just before: its words are still being decoded
            await asyncio.wait(set(self._finishing), timeout=FINAL_TIMEOUT_S)
        if self._in_turn:  # hung up while speaking: what was said is still kept
            self._in_turn = False
            await self._finish_turn(time.monotonic(), 0.0, self._undecided_end(), caller_gone=True)
        self._hung_up()

    def _hung_up(self) -> None:
        if not self.ended.is_set():
            self.ended.set()
            if self._playback is not None:
                self._playback.done.set()
            self.events.put(CallerHungUp())

    def _on_audio(self, pcm: bytes) -> None:
        if self.on_caller_audio is not None:
            self.on_caller_audio(pcm)
        events = self._endpointer.feed(pcm, time.monotonic())
        started = any(isinstance(e, SpeechStarted) for e in events)
        if started:
            self._begin_turn()
        elif self._in_turn and self._feed is not None:
            self._feed.feed(pcm)
        self._handle([e for e in events if not isinstance(e, SpeechStarted)])

    def _begin_turn(self) -> None:
        self._in_turn = True
        self._partial = ""
        self.pauses.awaiting_words = False
        if self.continuation.begin(time.monotonic()):
            self._interrupt()
        if self._feed is not None:
            self._feed.feed(self._endpointer.preroll())

    def _on_partial(self, text: str) -> None:
        self._partial = text
        if self.continuation.cuts(text):
            self._interrupt()  # words recognised: certainly the caller, not line noise
        if self._in_turn and self._endpointer.pausing and not self.pauses.awaiting_words:
            # words that came after the pause began (Vosk's partials come every 100 ms of
            # audio): the pause is judged again on them
            self.pauses.judge(text, self._caught_up())

    def _on_decoded(self) -> None:
        if self._in_turn and self._endpointer.pausing:
            self.pauses.words_came(self._partial, self._caught_up())

    def _caught_up(self) -> bool:
        """Whether the recogniser has decoded the caller's speech up to this pause."""
        behind = self._feed.behind_ms if self._feed is not None else 0.0
        return behind <= self._endpointer.silence_ms(time.monotonic()) + FRAME_MS

    def _handle(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self._begin_turn()
            elif isinstance(event, (SpeechEnded, MaxTurn)) and self._in_turn:
                self._in_turn = False
                waited = getattr(event, "silence_waited_ms", 0.0)
                self.continuation.turn_ended(event.at - waited / 1000)
                task = asyncio.get_running_loop().create_task(
                    self._finish_turn(event.at, waited, self._undecided_end()))
                self._finishing.add(task)
                task.add_done_callback(self._finishing.discard)
            elif isinstance(event, SpeechPaused) and self._in_turn:
                self.pauses.judge(self._partial, self._caught_up())
            elif isinstance(event, SpeechResumed):
                self.pauses.resumed()
            elif isinstance(event, NoInput) and self._listening and not self._in_turn:
                self._listening = False
                self.events.put(CallerSilent())

    def hold_pause(self, words: str) -> None:
        """The dialogue cannot make sense of ``words`` yet: if they are still the caller's
        last and the caller is still paused, this pause waits the dictation window."""
        if self._in_turn and same_words(words, self._partial):
            self._endpointer.hold()  # and no end-of-turn check may end it early

    def _undecided_end(self) -> bool:
        """The speech ended; True (and counted until its words are known) if they decide."""
        undecided = self.continuation.end()
        self._undecided += undecided
        return undecided

    async def _finish_turn(self, at: float, waited_ms: float, undecided: bool, *,
                           caller_gone: bool = False) -> None:
        barged = self._barged
        self._barged = False
        started = time.monotonic()
        text, confidence = "", None
        try:
            if self._feed is not None:
                transcript = await self._feed.final()
                text, confidence = transcript.text, transcript.confidence
        except RuntimeError:
            return  # executor shut down: the call is closing
        finally:
            self._undecided -= undecided
        acknowledged = undecided and self.continuation.only_acknowledges(text)
        if undecided and not acknowledged:
            self._interrupt()  # the rest came with words of its own: a barge-in after all
            barged, self._barged = barged or self._barged, False
        self._listening = False
        self.events.put(CallerTurn(
            text=text, confidence=confidence, speech_ended_at=at - waited_ms / 1000,
            endpoint_wait_ms=waited_ms, final_ms=(time.monotonic() - started) * 1000,
            barged_in=barged, caller_gone=caller_gone or self._gone, acknowledgement=acknowledged))
