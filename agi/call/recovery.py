"""How a call recovers from silence and misunderstanding, and how it ends when it cannot.

Troubles are counted in a row (a turn the dialogue understood, or a menu key, starts the
count again); silences and turns the dialogue did not understand count alike:

1. a silence re-asks the last question in other words (:func:`reask`: a question about a
   day is asked with examples and the keyed form, the opening question lists what the
   agent can do); a misunderstanding gets the dialogue's own "please rephrase";
2. the second offers the keypad menu (book, cancel, move, message, and a human when the
   tenant can transfer) on top of what the dialogue says;
3. the third ends the call politely (outcome ``no_input`` or ``not_understood``); the
   call record keeps everything collected.
"""

from __future__ import annotations

from dataclasses import replace

from agi.call.keypad import Keypad
from agi.dialogue import phrases
from agi.dialogue.base import BotReply

__all__ = ["Recovery", "reask", "MAX_TROUBLES", "MENU_AFTER"]

MENU_AFTER = 2
MAX_TROUBLES = 3


def reask(question: str, expecting: str | None, language: str, *, opening: bool) -> str:
    """The last question again, in other words."""
    table = phrases.REASK.get(expecting or "") if (expecting or opening) else None
    if table is not None:
        return phrases.phrase(table, language)
    if not question:
        return phrases.phrase(phrases.REASK[""], language)
    return phrases.phrase(phrases.REASK_AGAIN, language, question=question)


class Recovery:
    """One call's count of troubles in a row, and what the next one gets."""

    def __init__(self, language: str, keypad: Keypad) -> None:
        self.language = language
        self.keypad = keypad
        self.troubles = 0

    def understood(self) -> None:
        self.troubles = 0

    def silence(self, previous: BotReply | None, question: str, data: dict[str, object], *,
                opening: bool = False) -> BotReply:
        """The caller said nothing (or nothing that could be heard); ``opening``: the
        question is still the opening one (the dialogue has not answered yet)."""
        self.troubles += 1
        lang = self.language
        expecting = previous.expecting if previous is not None else None
        if self.troubles >= MAX_TROUBLES:
            return BotReply(say=(phrases.phrase(phrases.STILL_THERE, lang),), hangup=True,
                            outcome="no_input", data=data)
        say = [phrases.phrase(phrases.DIDNT_HEAR, lang),
               reask(question, expecting, lang, opening=opening)]
        if self.troubles >= MENU_AFTER:
            say.append(self.keypad.menu())
        return BotReply(say=tuple(say), expecting=expecting, data=data)

    def misunderstood(self, reply: BotReply) -> BotReply:
        """The dialogue did not understand this turn: its answer, or more."""
        self.troubles += 1
        if self.troubles >= MAX_TROUBLES:
            return BotReply(say=(phrases.phrase(phrases.NOT_UNDERSTOOD_END, self.language),),
                            hangup=True, outcome="not_understood", data=reply.data)
        if self.troubles >= MENU_AFTER and not (reply.hangup or reply.transfer):
            return replace(reply, say=(*reply.say, self.keypad.menu()))
        return reply
