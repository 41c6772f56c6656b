"""One inbound call, from the PBX's first word to its last, whichever PBX it is.

:func:`handle_call` runs one call over a :class:`agi.call.channel.CallChannel` (FastAGI +
AudioSocket on Asterisk, outbound ESL + unicast on FreeSWITCH). It picks the tenant,
answers, starts media, plays the automated-assistant statement and the privacy notice
before anything from the caller is stored, then runs the turn loop (listen → understand →
answer) until the dialogue hangs up or hands over. Control then returns to the PBX:
variables for the dialplan (``PERMANENCE_RESULT``, ``PERMANENCE_TRANSFER``,
``PERMANENCE_OUTCOME``, ``PERMANENCE_CALL_ID``; see dialplans/) and a hang-up, or a return
to the dialplan for a transfer. Every call leaves a record, including calls that end early.
Logs carry call ids, never phone numbers or what was said.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

from agi.booking.store import CallRecord
from agi.call import ending, speculate
from agi.call.caller import caller_e164
from agi.call.channel import CHANNEL_ERRORS, MEDIA_CONNECT_TIMEOUT_S, CallChannel
from agi.call.continuation import Continuation
from agi.call.guide import CallGuide
from agi.call.keypad import HUMAN_DIGIT, KEYED_SLOTS
from agi.call.media import FINAL_TIMEOUT_S, MediaSession
from agi.call.media_events import CallerHungUp, CallerSilent, CallerTurn, DigitPressed, MediaEvent
from agi.call.recording import CallConsent
from agi.call.rest_of_turn import whole_turn
from agi.call.services import CallServices, TurnTiming
from agi.call.staffed import after_hours_greeting, is_staffed, may_transfer
from agi.call.state import CallState, CallStateMachine
from agi.call.transfer import Handover
from agi.dialogue import phrases
from agi.dialogue.base import BotReply, CallContext, Conversation
from agi.dialogue.urgency import calls_for_emergency
from agi.errors import PeerTimeout, PermanenceError, SpeechError, StoreError, UnknownTenant
from agi.speech import backchannel, unfinished
from agi.speech.endpoint import Endpointer

log = logging.getLogger(__name__)


async def handle_call(channel: CallChannel, services: CallServices) -> tuple[str, str]:
    """One inbound call on any PBX, start to end; returns (tenant id, outcome)."""
    session = CallSession(channel, services)
    await session.run()
    return session.tenant_id, session.outcome


class CallSession:
    """The state and turn loop of one call."""

    def __init__(self, channel: CallChannel, services: CallServices) -> None:
        self.channel = channel
        self.services = services
        self.settings = services.settings
        self.call_id = channel.info.call_id or uuid.uuid4().hex
        self.sm = CallStateMachine()
        self.outcome = "hangup"
        self.transfer_to: str | None = None
        self.request: str | None = None  # the request the dialogue had open (agi.notify.summary)
        self.data: dict[str, Any] = {}
        self.media: MediaSession | None = None
        self._turn = 0
        self.guide: CallGuide | None = None  # notice on request, keypad, recovery (agi.call.guide)
        self._deadline = float("inf")  # loop time of the tenant's longest call
        self._recorded = False
        self.tenant_id = ""
        self.consent: CallConsent | None = None  # tenants that record calls, with consent
        self._emergency_said = False  # the tenant's emergency sentence is said once a call
        self.caller = ""  # E.164 once known ("" when withheld)
        self.last_words = ""  # the caller's last words: what a transfer target hears
        self.bridged = False  # a transfer connected the caller: the PBX owns the call now

    # the whole call --------------------------------------------------------
    async def run(self) -> None:
        info = self.channel.info
        try:
            # First thing: the dialplan tells "could not connect" from "failed mid-call" by it.
            await self.channel.set_variable("PERMANENCE_CALL_ID", self.call_id)
        except CHANNEL_ERRORS as exc:
            log.info("call %s: channel gone before start (%s)", self.call_id, type(exc).__name__)
            if isinstance(exc, PeerTimeout):  # out of step from the first command: the record says so
                self.outcome = "peer_timeout"
        try:
            tenant = self.settings.tenant(info.route, info.dialled)
        except UnknownTenant:
            await ending.unknown_tenant(self)
            return
        self.tenant = tenant
        self.tenant_id = tenant.id
        self.services.active_calls.add(self.call_id)
        log.info("call %s: start tenant=%s", self.call_id, tenant.id)
        await self._store("start_call", CallRecord(
            call_id=self.call_id, tenant_id=tenant.id, caller="", started_at=_utcnow(),
            language=tenant.language, channel=info.channel_name))
        self._recorded = True
        try:
            await self.channel.answer()
            await self._start_media()
            await self._converse()
        except CHANNEL_ERRORS as exc:
            log.info("call %s: ended by the other side (%s)", self.call_id, type(exc).__name__)
            if isinstance(exc, PeerTimeout):  # the PBX stopped answering: say so in the record
                self.outcome = "peer_timeout"
        except PermanenceError as exc:
            log.error("call %s: %s", self.call_id, exc)
            self.outcome = "error"
        finally:
            await ending.finish(self)

    async def _start_media(self) -> None:
        stream = await self.channel.start_media(MEDIA_CONNECT_TIMEOUT_S)
        turns = self.settings.turns
        endpointer = Endpointer(self.settings.speech, pause_ms=turns.pause_ms, vad=turns.vad)
        recognizer = None
        if self.services.recognizers is not None:
            try:
                recognizer = await asyncio.to_thread(self.services.recognizers.new, self.tenant.language)
            except SpeechError as exc:
                self.services.speech_problem = str(exc)
                log.error("call %s: no recogniser for %s: %s", self.call_id, self.tenant.language, exc)
        self.media = MediaSession(stream, endpointer, recognizer, self.call_id,
                                  decoder=self.services.workers.lane())
        pauses = self.media.pauses
        pauses.check, pauses.timeout_s = self.services.turn_check, turns.model_timeout_ms / 1000
        pauses.left_open = functools.partial(unfinished.left_open, language=self.tenant.language)
        self.media.continuation = Continuation(
            turns.continuation_ms / 1000,
            functools.partial(backchannel.acknowledges, language=self.tenant.language))
        self.media.start()
        self.sm.fire("media")

    async def _converse(self) -> None:
        media = self.media
        assert media is not None
        tenant = self.tenant
        # The AI statement and the first layer of the privacy notice come first and cannot
        # be interrupted (EU AI Act Art. 50; GDPR Art. 13, the rest on request: key 9).
        # Nothing the caller says is stored before.
        self._deadline = asyncio.get_running_loop().time() + min(
            tenant.call.max_call_s, self.settings.limits.max_call_s)
        statement, notice, greeting = phrases.opening(tenant)
        if not await self._say_all((statement, notice), interruptible=False, record=True):
            self.outcome = "hangup_during_disclosure"
            return
        self.sm.fire("disclosed")
        if self.services.recordings is not None and tenant.privacy.recording.enabled:
            self.consent = CallConsent(self.services.recordings, tenant, self.call_id)
            if not await self._say_all((self.consent.notice,), interruptible=False, record=True):
                return  # hung up during the notice: nothing was recorded
            if (recorder := self.consent.begin()) is not None:
                media.on_caller_audio = recorder.feed
        caller = caller_e164(self.channel.info.caller, tenant)
        await self._store("set_caller", self.call_id, caller)
        self.caller = caller
        if not media.can_hear:
            log.error("call %s: no speech model, handing over: %s", self.call_id,
                      self.services.speech_problem)
            await self._technical_fallback()
            return
        conversation = await self._off_loop(self.services.workers.dialogue,
                                            self.services.dialogue.conversation, CallContext(
            call_id=self.call_id, tenant=tenant, store=self.services.store,
            caller=caller, now=self.services.clock,
            spool=self.services.spool))
        if not is_staffed(tenant, self.services.clock()):  # nobody there: never promise a human
            greeting = after_hours_greeting(tenant)
        self.guide = CallGuide(tenant, can_transfer=self._may_transfer,
                               ask=self._ask, store_turn=self._store_caller_turn)
        self.guide.question = greeting
        if media.digits_received:  # a key pressed during the opening is acted on at once
            self.guide.greeting_pending = greeting
        else:
            await self._say_all((greeting,), interruptible=True, record=True)
        await self._turn_loop(media, conversation)
        for text in media.events.take_words():  # said as the call ended, never read: kept
            await self._store_caller_turn(text)

    async def _turn_loop(self, media: MediaSession, conversation: Conversation) -> None:
        guide = self.guide
        assert guide is not None
        reply: BotReply | None = None
        speculator = speculate.attach(media, conversation, self.services.synthesizer,
                                      self.tenant.language, enabled=self.settings.turns.speculate)
        while True:
            if self.sm.state is CallState.SPEAKING:
                self.sm.fire("spoken")
            speculator.release()
            media.listen(dictation=bool(reply and reply.dictation))
            event = await self._next_event(media)
            speculator.hold()
            if event is None:  # the tenant's longest call: a polite close, the record kept
                speculator.close()
                self.sm.fire("heard")
                await self._apply(guide.time_limit(conversation, self.outcome), None, 0.0, 0.0)
                return
            if isinstance(event, CallerHungUp):
                speculator.close()
                self.sm.fire("hangup")
                return
            if isinstance(event, CallerTurn) and (event.caller_gone or event.acknowledgement):
                if event.text.strip():
                    await self._store("add_turn", self.call_id, "caller",
                                      event.text, _utcnow())
                continue  # the CallerHungUp that follows ends the loop; "merci" asks nothing
            if self.consent is not None and self.consent.refused_by(
                    getattr(event, "text", ""), getattr(event, "digit", ""),
                    keyed=reply is not None and reply.expecting in KEYED_SLOTS):
                await self._say_all((self.consent.stopped,), interruptible=False, record=True)
                continue  # recording stopped and deleted; the conversation goes on
            self.sm.fire("heard")
            started = time.monotonic()
            store_ms = 0.0
            new: BotReply | None
            if isinstance(event, CallerTurn) and event.text.strip():
                self.last_words = event.text
                t0 = time.monotonic()
                await self._store_caller_turn(event.text)
                store_ms = (time.monotonic() - t0) * 1000
                t0 = time.monotonic()
                noted = (phrases.phrase(phrases.NOTED, self.tenant.language),)
                text = await whole_turn(media, event, speculator.writes, functools.partial(
                    self._say_all, noted, interruptible=True, record=True), self._store_caller_turn,
                    self.settings.speech.max_turn_s + FINAL_TIMEOUT_S)
                started += time.monotonic() - t0  # the wait for the rest is not the dialogue's
                # a reply prepared during the pause is used if the words are the same
                new = self._emergency_first(await guide.words(
                    conversation, text, reply, prepared=functools.partial(speculator.take, text)), text)
                conversation = speculator.conversation
            elif isinstance(event, DigitPressed) and self._after_hours_zero(event.digit, reply):
                new = await guide.nobody_there(conversation, event.digit)  # a message, and when
            elif isinstance(event, DigitPressed):
                new = await guide.digit(conversation, event.digit, reply)
            elif isinstance(event, (CallerSilent, CallerTurn)):
                new = await guide.silence(conversation, reply)
            else:
                new = None
            if new is None:
                self.sm.fire("reply")
                continue
            reply = new
            dialogue_ms = (time.monotonic() - started) * 1000 - store_ms
            await self._apply(reply, event, dialogue_ms, store_ms)
            if reply.transfer and self.channel.transfers is not None and not media.ended.is_set():
                back = await Handover(self, conversation).run(reply.transfer)  # may come back
                if back is None:
                    return
                reply = back
                await self._apply(reply, event, 0.0, 0.0)
            if reply.transfer or reply.hangup or media.ended.is_set():
                speculator.close()
                return

    async def _next_event(self, media: MediaSession) -> MediaEvent | None:
        """The next caller event; None once the tenant's longest call is reached."""
        remaining = self._deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return None
        try:
            return await asyncio.wait_for(media.next_event(), remaining)
        except TimeoutError:
            return None

    async def _store_caller_turn(self, text: str) -> None:
        await self._store("add_turn", self.call_id, "caller", text, _utcnow())

    async def _ask(self, method: Callable[[str], BotReply], text: str) -> BotReply:
        """Run the dialogue off the event loop; a failing backend hands the caller over."""
        try:
            return await self._off_loop(self.services.workers.dialogue, method, text)
        except PermanenceError as exc:
            log.error("call %s: dialogue failed: %s", self.call_id, exc)
            lang = self.tenant.language
            if self._may_transfer():
                return BotReply(say=(phrases.phrase(phrases.TECHNICAL_TRANSFER, lang),),
                                transfer=self.tenant.transfer_target, outcome="error", data=self.data)
            return BotReply(say=(phrases.phrase(phrases.TECHNICAL_MESSAGE, lang),), hangup=True,
                            outcome="error", data=self.data)

    async def _apply(self, reply: BotReply, event: object, dialogue_ms: float, store_ms: float) -> None:
        self.sm.fire("transfer" if reply.transfer else "reply")
        if reply.data:
            self.data = dict(reply.data)
            t0 = time.monotonic()
            await self._store("update_call_data", self.call_id, self.data)
            store_ms += (time.monotonic() - t0) * 1000
        if reply.outcome:
            self.outcome = reply.outcome
        self.request = reply.request
        if reply.transfer:
            self.transfer_to = reply.transfer
            self.outcome = reply.outcome or "transfer"
        timing: dict[str, float] = {}
        await self._say_all(reply.say, interruptible=not (reply.transfer or reply.hangup),
                            record=True, timing=timing)
        self._turn += 1
        if isinstance(event, CallerTurn) and self.services.on_turn is not None:
            self.services.on_turn(TurnTiming(
                call_id=self.call_id, turn=self._turn, speech_ended_at=event.speech_ended_at,
                endpoint_wait_ms=event.endpoint_wait_ms, final_ms=event.final_ms,
                dialogue_ms=dialogue_ms, store_ms=store_ms,
                tts_first_ms=timing.get("tts_first_ms", 0.0),
                first_frame_at=timing.get("first_frame_at")))
        if reply.hangup and self.sm.state is CallState.SPEAKING:
            self.sm.fire("finish")

    def _after_hours_zero(self, digit: str, reply: BotReply | None) -> bool:
        """The human key, outside an entry, when no human can take the call."""
        entry = reply is not None and reply.expecting in KEYED_SLOTS
        return digit == HUMAN_DIGIT and not entry and not self._may_transfer()

    def _may_transfer(self) -> bool:
        """Every transfer path asks this first: a target, and a human there now."""
        return may_transfer(self.tenant, self.services.clock())

    def _emergency_first(self, reply: BotReply, text: str) -> BotReply:
        """The tenant's emergency sentence before the reply, once, when the words call for it."""
        sentence = self.tenant.staffed.emergency
        if not sentence or self._emergency_said or not calls_for_emergency(text):
            return reply
        self._emergency_said = True
        return dataclasses.replace(reply, say=(sentence, *reply.say))

    # speaking --------------------------------------------------------------
    async def _say_all(self, texts: tuple[str, ...] | list[str], *, interruptible: bool,
                       record: bool, timing: dict[str, float] | None = None) -> bool:
        """Speak each text in turn; False if the caller barged in or hung up."""
        media = self.media
        assert media is not None
        for text in texts:
            if not text:
                continue
            if record and self.sm.state is not CallState.DISCLOSING:
                await self._store("add_turn", self.call_id, "agent", text, _utcnow())
            started = time.monotonic()
            chunks = self._synthesize(text, timing, started)
            completed = await media.play(chunks, interruptible=interruptible)
            if timing is not None and "first_frame_at" not in timing and media.last_first_frame_at:
                timing["first_frame_at"] = media.last_first_frame_at
            if not completed:
                return False
        return True

    async def _synthesize(self, text: str, timing: dict[str, float] | None,
                          started: float) -> AsyncIterator[bytes]:
        language = self.tenant.language  # set before anything is said, even for unknown tenants
        async for chunk in self.services.synthesizer.stream_async(text, language):
            if timing is not None and "tts_first_ms" not in timing:
                timing["tts_first_ms"] = (time.monotonic() - started) * 1000
            yield chunk

    async def _technical_fallback(self) -> None:
        lang = self.tenant.language
        if self._may_transfer():
            await self._say_all((phrases.phrase(phrases.TECHNICAL_TRANSFER, lang),), interruptible=False, record=True)
            self.transfer_to = self.tenant.transfer_target
            self.sm.fire("transfer")
        else:
            await self._say_all((phrases.phrase(phrases.TECHNICAL_MESSAGE, lang),), interruptible=False, record=True)
            self.sm.fire("finish")
        self.outcome = "error"

    async def _store(self, method: str, *args: Any) -> Any:
        """One store write, off the loop. An unreachable database sends it to the local
        spool (replayed in order later); any other store failure is logged, and the call
        goes on either way."""
        store, spool = self.services.store, self.services.spool
        try:
            pool = self.services.workers.store
            if spool is None:
                return await self._off_loop(pool, getattr(store, method), *args)
            return await self._off_loop(pool, functools.partial(spool.write, key=self.call_id),
                                        store, method, *args)
        except StoreError as exc:
            log.error("call %s: store failed in %s: %s", self.call_id, method, exc)
            return None

    @staticmethod
    async def _off_loop(pool: Executor, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on one stage's own executor (agi.workers), never the default pool."""
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


def _utcnow() -> datetime:
    return datetime.now(UTC)
