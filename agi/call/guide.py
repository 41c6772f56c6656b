"""What a caller gets besides the dialogue: the notice on request, the keypad, recovery
from silence and misunderstanding, and the close at the tenant's longest call.

The session (:mod:`agi.call.session`) hands each caller event to one :class:`CallGuide`
per call; the guide answers it itself (the full privacy notice, a re-asked question, the
keypad menu, a keyed entry's read-back) or asks the dialogue, and gives back the
:class:`agi.dialogue.base.BotReply` to speak (None: nothing to say). The dialogue never
sees these turns, so both backends behave alike and the conversation suites are untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from agi.call import opening
from agi.call.keypad import KEYED_SLOTS, BadEntry, Human, Keyed, Keypad, KeyResult, MenuChoice, Notice
from agi.call.recovery import Recovery
from agi.call.staffed import staffed_hours_sentence
from agi.config import Tenant
from agi.dialogue import phrases
from agi.dialogue.base import BotReply, Conversation

__all__ = ["CallGuide", "WORDS_NOT_CHECKED"]

# While the caller dictates a message, "mes données" is part of what they say, not a
# request for the notice (key 9 still works).
WORDS_NOT_CHECKED = frozenset({"message"})

Ask = Callable[[Callable[[str], BotReply], str], Awaitable[BotReply]]
StoreTurn = Callable[[str], Awaitable[None]]


class CallGuide:
    """One call's keypad, recovery count and last question."""

    def __init__(self, tenant: Tenant, *, can_transfer: Callable[[], bool], ask: Ask,
                 store_turn: StoreTurn) -> None:
        self.tenant = tenant
        self.language = tenant.language
        self._can_transfer = can_transfer
        self._ask = ask
        self._store_turn = store_turn
        self.keypad = Keypad(tenant.language, can_transfer=can_transfer())
        self.recovery = Recovery(tenant.language, self.keypad)
        self.question = ""  # the last question asked: re-asked after a silence or the notice
        self.at_opening = True  # the question is the greeting: the dialogue has not answered
        # the greeting, when a key pressed in the opening went first: said if that key
        # turns out to mean nothing
        self.greeting_pending = ""
        self.notices_read = 0

    # caller events ---------------------------------------------------------
    async def words(self, conversation: Conversation, text: str, previous: BotReply | None, *,
                    prepared: Callable[[], Awaitable[BotReply | None]] | None = None) -> BotReply:
        """The caller said ``text`` (already stored): the notice, or the dialogue's answer
        (``prepared``: the one made while the caller paused, agi/call/speculate.py, if any)."""
        expecting = previous.expecting if previous is not None else None
        if expecting not in WORDS_NOT_CHECKED and opening.asks_for_notice(text, self.language):
            return self._notice(conversation, previous)
        reply = await prepared() if prepared is not None else None
        return self._heard(reply or await self._ask(conversation.respond, text))

    async def digit(self, conversation: Conversation, digit: str,
                    previous: BotReply | None) -> BotReply | None:
        """A key; None when it needs no answer (a key of an entry under way, a free key)."""
        expecting = previous.expecting if previous is not None else None
        self.keypad.can_transfer = self._can_transfer()  # transfers may depend on the hour
        reply = await self._key(conversation, self.keypad.press(digit, expecting), digit, previous)
        greeting, self.greeting_pending = self.greeting_pending, ""
        if reply is None and greeting:
            return BotReply(say=(greeting,))
        return reply

    async def nobody_there(self, conversation: Conversation, digit: str) -> BotReply:
        """The human key when no human can take the call: the dialogue's own request for a
        human, which takes a message. Pressed in the opening, before the after-hours
        greeting was said, the answer also says when the team answers."""
        await self._store_turn(digit)
        reply = await self._ask(conversation.respond, phrases.phrase(phrases.HUMAN_REQUEST, self.language))
        skipped, self.greeting_pending = self.greeting_pending, ""
        if not skipped:
            return reply
        hours = staffed_hours_sentence(self.tenant)
        if not hours or any(hours in text for text in reply.say):
            return reply
        # after the answer's first sentence ("nobody is available..."), before its question
        say = (*reply.say[:1], hours, *reply.say[1:]) if len(reply.say) > 1 else (hours, *reply.say)
        return replace(reply, say=say)

    async def silence(self, conversation: Conversation, previous: BotReply | None) -> BotReply:
        """Nothing heard: a keyed entry left without '#' ends here; else re-ask, or more."""
        expecting = previous.expecting if previous is not None else None
        if self.keypad.keyed and expecting in KEYED_SLOTS:
            reply = await self._key(conversation, self.keypad.finish(expecting), "", previous)
            if reply is not None:
                return reply
        return self.recovery.silence(previous, self.question, dict(conversation.data),
                                     opening=self.at_opening)

    def time_limit(self, conversation: Conversation, outcome: str) -> BotReply:
        """The tenant's longest call is reached: a polite close, everything kept."""
        return BotReply(say=(phrases.phrase(phrases.TIME_LIMIT, self.language),), hangup=True,
                        outcome="time_limit" if outcome == "hangup" else outcome,
                        data=dict(conversation.data))

    # helpers -----------------------------------------------------------------
    def _heard(self, reply: BotReply) -> BotReply:
        """A dialogue answer: remember its question, count it understood or not."""
        self.at_opening = False
        if reply.say and not (reply.hangup or reply.transfer):
            self.question = reply.say[-1]
        if reply.misunderstood:
            return self.recovery.misunderstood(reply)
        self.recovery.understood()
        return reply

    def _notice(self, conversation: Conversation, previous: BotReply | None) -> BotReply:
        self.notices_read += 1
        return BotReply(say=opening.notice_reply_texts(self.tenant, self.question),
                        expecting=previous.expecting if previous is not None else None,
                        data=dict(conversation.data))

    async def _key(self, conversation: Conversation, result: KeyResult, digit: str,
                   previous: BotReply | None) -> BotReply | None:
        if isinstance(result, Keyed):
            await self._store_turn(result.text)
            reply = self._heard(await self._ask(conversation.respond, result.text))
            return replace(reply, say=(*result.say, *reply.say))
        if isinstance(result, MenuChoice):
            await self._store_turn(digit)
            return self._heard(await self._ask(conversation.respond, result.text))
        if isinstance(result, BadEntry):
            return BotReply(say=(result.say,), expecting=previous.expecting if previous else None,
                            data=dict(conversation.data))
        if isinstance(result, Notice):
            return self._notice(conversation, previous)
        if isinstance(result, Human):
            return BotReply(say=(phrases.phrase(phrases.TRANSFERRING, self.language),),
                            transfer=self.tenant.transfer_target, outcome="transfer",
                            data=dict(conversation.data))
        return None
