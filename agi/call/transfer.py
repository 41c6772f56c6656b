"""Transfers that come back: ring a human, screen them if asked, else bring the caller back.

:class:`Handover` runs one transfer over the front's :class:`agi.call.channel.Transfers`
while the caller stays on our media (hearing silence after "ne quittez pas"):

- blind: ring the target; answered, connect the caller at once;
- attended (``[tenants.staffed] transfer = "attended"``): the target first hears a short
  spoken summary (who is calling, what they asked), and presses 1 to take the call; any
  other key, hanging up, or no key within :data:`DECISION_S` refuses it.

Whatever the kind, when the target is busy, does not answer within the tenant's
``ring_s``, refuses, or the PBX fails, the caller comes back: hears why, a call-back
request is kept at once with everything the dialogue collected (a ``callback_request``
lead, notified to the business), and the dialogue's message form is opened so they can
add a message. Nothing collected is lost, whatever the caller does next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import phonenumbers

from agi.call.channel import CHANNEL_ERRORS, AnsweredLeg, DialFailed
from agi.call.media import MediaSession
from agi.call.media_events import CallerHungUp, DigitPressed, words_of
from agi.dialogue.base import BotReply, Conversation
from agi.dialogue.phones import speak_phone
from agi.errors import PermanenceError
from agi.speech.endpoint import Endpointer

if TYPE_CHECKING:
    from agi.call.session import CallSession

__all__ = ["Handover", "screening_summary", "ACCEPT_DIGIT", "DECISION_S"]

log = logging.getLogger(__name__)

ACCEPT_DIGIT: Final = "1"
# After the summary, the target has this long to press 1; silence is a refusal (the
# caller must not wait on a human who put the phone down on the desk).
DECISION_S: Final = 10.0
# The PBX answers a dial within the ring time plus this (set-up, the answer to Originate).
DIAL_MARGIN_S: Final = 10.0
LEAD_KIND: Final = "callback_request"

SUMMARY = {
    "fr": "Appel {who}{number}. {what}Tapez 1 pour prendre l'appel, ou raccrochez pour le refuser.",
    "en": "Call from {who}{number}. {what}Press 1 to take the call, or hang up to refuse it.",
}
WHO = {"fr": "de {}", "en": "{}"}
UNKNOWN_CALLER = {"fr": "d'un correspondant", "en": "a caller"}
NUMBER = {"fr": ", au {}", "en": ", on {}"}
REQUEST = {"fr": "Sa demande : « {} ». ", "en": "They said: \"{}\". "}
# Why the caller is back, then what was kept for them.
WHY = {
    "busy": {"fr": "La ligne de notre équipe est occupée.", "en": "Our team's line is busy."},
    "no_answer": {"fr": "Personne n'a pu répondre.", "en": "Nobody was able to answer."},
    "refused": {"fr": "Personne ne peut vous répondre pour le moment.",
                "en": "Nobody can take your call just now."},
    "failed": {"fr": "Le transfert n'a pas pu aboutir.", "en": "The transfer could not be completed."},
}
KEPT = {
    "fr": "J'ai noté votre demande de rappel, nous vous rappellerons dès que possible.",
    "en": "I have noted your call-back request; we will call you back as soon as we can.",
}
# The dialogue's own words for "take a message": its message form, with what it knows.
MESSAGE_REQUEST = {"fr": "je voudrais laisser un message", "en": "I would like to leave a message"}
# Longest caller words quoted to the target: a summary is a sentence, not the transcript.
MAX_QUOTED_CHARS: Final = 160


def screening_summary(language: str, name: str, caller: str, words: str) -> str:
    """What the target of an attended transfer hears: who, what they asked, which key."""
    lang = language if language in SUMMARY else "fr"
    number = ""
    if caller:
        try:
            number = NUMBER[lang].format(speak_phone(caller, lang))
        except phonenumbers.NumberParseException:
            number = ""
    quoted = " ".join(words.split())[:MAX_QUOTED_CHARS]
    who = WHO[lang].format(name) if name else UNKNOWN_CALLER[lang]
    return SUMMARY[lang].format(who=who, number=number,
                                what=REQUEST[lang].format(quoted) if quoted else "")


class Handover:
    """One transfer of one call; :meth:`run` returns None once the caller is with a human,
    else the dialogue's next reply (the message form) for the turn loop to speak."""

    def __init__(self, session: CallSession, conversation: Conversation) -> None:
        self.session = session
        self.conversation = conversation
        self.tenant = session.tenant
        self.staffed = session.tenant.staffed

    async def run(self, target: str) -> BotReply | None:
        s = self.session
        transfers = s.channel.transfers
        assert transfers is not None
        kind = "attended" if self.staffed.attended else "blind"
        log.info("call %s: %s transfer, ringing for %d s", s.call_id, kind, self.staffed.ring_s)
        result = await self._dial(target)
        if isinstance(result, DialFailed):
            return await self._come_back(result.reason, result.detail, kind)
        if self.staffed.attended and not await self._screen(result):
            await self._drop(result)
            return await self._come_back("refused", "the target did not press 1", kind)
        try:
            await result.connect()
        except (*CHANNEL_ERRORS, PermanenceError) as exc:
            log.error("call %s: connecting the target failed: %s", s.call_id, exc)
            await self._drop(result)
            return await self._come_back("failed", str(exc), kind)
        s.bridged = True
        s.outcome = "transfer"
        s.transfer_to = None  # done here, not by the dialplan
        log.info("call %s: %s transfer connected", s.call_id, kind)
        return None

    async def _dial(self, target: str) -> AnsweredLeg | DialFailed:
        s = self.session
        transfers = s.channel.transfers
        assert transfers is not None and s.media is not None
        dial = asyncio.create_task(transfers.dial(target, float(self.staffed.ring_s)))
        gone = asyncio.create_task(s.media.ended.wait())
        try:
            async with asyncio.timeout(self.staffed.ring_s + DIAL_MARGIN_S):
                await asyncio.wait({dial, gone}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            pass
        finally:
            gone.cancel()
        if not dial.done():
            dial.cancel()
            await asyncio.gather(dial, return_exceptions=True)
            return DialFailed("failed", "the caller hung up" if s.media.ended.is_set()
                              else "the PBX did not answer the dial")
        try:
            return dial.result()
        except (*CHANNEL_ERRORS, PermanenceError) as exc:
            log.error("call %s: dialling the target failed: %s", s.call_id, exc)
            return DialFailed("failed", str(exc))

    async def _screen(self, leg: AnsweredLeg) -> bool:
        """Play the summary to the target; True once it pressed 1."""
        s = self.session
        if leg.media is None:  # this front cannot give the target's audio: it takes the call
            return True
        media = MediaSession(leg.media, Endpointer(s.settings.speech), None, f"{s.call_id}-target")
        media.start()
        text = screening_summary(self.tenant.language, str(s.data.get("name") or ""),
                                 s.caller, s.last_words)
        try:
            await s._store("add_turn", s.call_id, "agent", f"[to the transfer target] {text}", _utcnow())
            await media.play(s._synthesize(text, None, time.monotonic()), interruptible=False)
            media.listen()
            async with asyncio.timeout(DECISION_S):
                while True:
                    event = await media.next_event()
                    if isinstance(event, DigitPressed):
                        return event.digit == ACCEPT_DIGIT
                    if isinstance(event, CallerHungUp):
                        return False
        except TimeoutError:
            return False
        finally:
            # the leg is connected or dropped by the front, never hung up from here
            await media.close(hang_up=False)

    async def _drop(self, leg: AnsweredLeg) -> None:
        try:
            await leg.drop()
        except (*CHANNEL_ERRORS, PermanenceError) as exc:
            log.info("call %s: target leg already gone (%s)", self.session.call_id, type(exc).__name__)

    async def _come_back(self, reason: str, detail: str, kind: str) -> BotReply | None:
        s = self.session
        lang = self.tenant.language
        log.info("call %s: transfer came back: %s (%s)", s.call_id, reason, detail)
        s.transfer_to = None
        s.outcome = f"transfer_{reason}"
        s.sm.fire("came_back")
        # what the caller did while it rang is answered by nobody now; their words are kept
        rang = s.media.events.discard_input() if s.media is not None else []
        while_ringing = words_of(rang)
        if rang:
            log.info("call %s: %d key(s) or turn(s) from the ring time not answered", s.call_id, len(rang))
        for text in while_ringing:
            await s._store_caller_turn(text)
        details: dict[str, Any] = {"reason": reason, "transfer": kind, "detail": detail[:200],
                                   "collected": dict(s.data), "said": s.last_words,
                                   "said_while_ringing": while_ringing}
        await s._store("add_lead", self.tenant.id, s.call_id, s.caller, LEAD_KIND, details, _utcnow())
        await s._store("update_call_data", s.call_id, {**s.data, "transfer": reason})
        if s.media is None or s.media.ended.is_set():
            return None  # the caller left while it rang: the call-back request is kept
        await s._say_all((WHY[reason][lang] if lang in WHY[reason] else WHY[reason]["fr"],
                          KEPT.get(lang, KEPT["fr"])), interruptible=False, record=True)
        return await s._ask(self.conversation.respond, MESSAGE_REQUEST.get(lang, MESSAGE_REQUEST["fr"]))


def _utcnow() -> datetime:
    return datetime.now(UTC)
