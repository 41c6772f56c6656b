"""The keypad, recovery from silence and misunderstanding, and the call guide that joins
them to the dialogue: here with the real builtin dialogue on nlu/ and a real SQLite store,
turn by turn without audio (the emulated calls in test_keypad_calls.py carry the keys over
the PBX protocols)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.call.guide import CallGuide
from agi.call.keypad import (
    BadEntry,
    Collecting,
    Human,
    Ignored,
    Keyed,
    Keypad,
    MenuChoice,
    Notice,
    keyed_date,
)
from agi.call.recovery import Recovery, reask
from agi.call.staffed import after_hours_greeting, is_staffed, staffed_hours_sentence
from agi.config import Tenant
from agi.dialogue import phrases
from agi.dialogue.base import BotReply, CallContext, Conversation

from conftest import Shared, make_settings


@pytest.mark.parametrize(("keys", "language", "spoken"), [
    ("2512", "fr", "25 décembre"), ("0103", "fr", "1 mars"), ("2902", "fr", "29 février"),
    ("14072027", "fr", "14 juillet 2027"), ("2512", "en", "25 December"),
    ("3108", "en", "31 August"),
])
def test_keyed_dates_are_read_as_said(keys: str, language: str, spoken: str) -> None:
    assert keyed_date(keys, language) == spoken


@pytest.mark.parametrize("keys", ["", "1", "251", "25123", "3102", "0013", "1300", "3002", "2902202",
                                  "29022027", "ab12"])
def test_keys_that_make_no_date_are_refused(keys: str) -> None:
    assert keyed_date(keys, "fr") is None


def test_a_keyed_entry_collects_up_to_hash_and_a_date_is_read_back() -> None:
    pad = Keypad("fr", can_transfer=True)
    assert [pad.press(d, "callback") for d in "0612"] == [Collecting()] * 4
    assert pad.press("9", "callback") == Collecting()  # 9 and 0 are digits of the number here
    assert pad.press("#", "callback") == Keyed("06129")
    for d in "2512":
        pad.press(d, "date")
    assert pad.press("#", "date") == Keyed("le 25 décembre", ("Vous avez tapé le 25 décembre.",))
    for d in "3102":
        pad.press(d, "date")
    result = pad.press("#", "date")
    assert isinstance(result, BadEntry) and "dièse" in result.say
    assert pad.press("#", "date") == Ignored()  # nothing keyed
    for d in "1" * 30:
        pad.press(d, "callback")
    assert pad.press("#", "callback") == Keyed("1" * 20)  # bounded


def test_keys_outside_an_entry() -> None:
    pad = Keypad("en", can_transfer=False)
    assert pad.press("9", None) == Notice()
    assert pad.press("0", None) == Ignored()  # nobody to transfer to
    assert pad.press("1", None) == MenuChoice("i'd like to make an appointment")
    assert pad.press("2", "time") == Ignored()  # in a form the menu keys wait for the menu
    assert "0 to speak" not in pad.menu()
    assert pad.press("2", "time") == MenuChoice("i need to cancel my appointment")
    pad.can_transfer = True
    assert pad.press("0", "time") == Human() and "0 to speak to someone" in pad.menu()
    assert pad.press("5", None) == Ignored() and pad.press("*", None) == Ignored()


def test_silences_re_ask_in_other_words_then_offer_the_menu_then_end() -> None:
    pad = Keypad("fr", can_transfer=True)
    recovery = Recovery("fr", pad)
    greeting = "Que puis-je faire pour vous ?"
    first = recovery.silence(None, greeting, {}, opening=True)
    assert first.say == (phrases.DIDNT_HEAR["fr"], phrases.REASK[""]["fr"]) and not first.hangup
    second = recovery.silence(None, greeting, {})
    assert second.say[-1].startswith("Vous pouvez aussi utiliser le clavier") and "0 pour parler" in second.say[-1]
    assert pad.menu_offered
    third = recovery.silence(None, greeting, {"name": "Jean"})
    assert third.hangup and third.outcome == "no_input" and third.data == {"name": "Jean"}
    recovery.understood()
    asked_date = BotReply(say=("Pour quel jour souhaitez-vous le rendez-vous ?",), expecting="date")
    again = recovery.silence(asked_date, asked_date.say[-1], {})
    assert again.expecting == "date" and "tapez le jour puis le mois" in again.say[-1]


def test_the_re_asked_question_is_never_the_same_words() -> None:
    for language in ("fr", "en"):
        for expecting in ("date", "time", "name", "message", "callback"):
            assert reask("X ?", expecting, language, opening=False) == phrases.REASK[expecting][language]
        assert reask("Autre chose ?", None, language, opening=False) != "Autre chose ?"
        assert "Autre chose ?" in reask("Autre chose ?", None, language, opening=False)


# --------------------------------------------------------------------------- the guide

PARIS = ZoneInfo("Europe/Paris")


class GuidedCall:
    """One conversation of the real builtin dialogue, driven through a CallGuide."""

    def __init__(self, shared: Shared, tenant: Tenant, store: SqliteStore,
                 can_transfer: Callable[[], bool] = lambda: True,
                 at: datetime = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)) -> None:
        self.conversation: Conversation = shared.engine.conversation(CallContext(
            call_id="guided", tenant=tenant, store=store, now=lambda: at))
        self.stored: list[str] = []
        self.guide = CallGuide(tenant, can_transfer=can_transfer, ask=self._ask,
                               store_turn=self._store)
        self.guide.question = tenant.greeting
        self.reply: BotReply | None = None

    async def _ask(self, method: Callable[[str], BotReply], text: str) -> BotReply:
        return method(text)

    async def _store(self, text: str) -> None:
        self.stored.append(text)

    def say(self, text: str) -> BotReply:
        return self._keep(asyncio.run(self.guide.words(self.conversation, text, self.reply)))

    def key(self, digit: str) -> BotReply | None:
        reply = asyncio.run(self.guide.digit(self.conversation, digit, self.reply))
        return self._keep(reply) if reply is not None else None

    def silent(self) -> BotReply:
        return self._keep(asyncio.run(self.guide.silence(self.conversation, self.reply)))

    def _keep(self, reply: BotReply) -> BotReply:
        self.reply = reply
        return reply


@pytest.fixture
def fr(tmp_path: Path) -> tuple[Tenant, SqliteStore]:
    return make_settings(tmp_path).tenant("demo"), SqliteStore(tmp_path / "guide.sqlite3")


def test_the_notice_asked_in_words_mid_form_then_the_form_goes_on(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    asked = call.say("je voudrais prendre rendez-vous")
    assert asked.expecting == "name"
    notice = call.say("attendez, qu'est-ce que vous faites de mes données personnelles ?")
    assert notice.say[0].startswith(tenant.privacy_notice) and "CNIL" in notice.say[0]
    assert notice.say[1] == f"Reprenons : {asked.say[-1]}" and notice.expecting == "name"
    after = call.say("je m'appelle sophie bernard")
    assert call.conversation.data["name"] == "Sophie Bernard" and after.expecting == "date"


def test_words_about_data_inside_a_dictated_message_are_the_message(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    call.say("je voudrais laisser un message")
    call.say("sophie bernard")
    assert call.reply is not None and call.reply.expecting == "message"
    dictated = call.say("mes données de remboursement sont fausses")
    assert "CNIL" not in " ".join(dictated.say)
    assert call.conversation.data["message"] == "mes données de remboursement sont fausses"


def test_key_9_reads_the_notice_and_a_keyed_date_is_read_back_and_used(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    notice = call.key("9")
    assert notice is not None and notice.say[1] == f"Reprenons : {tenant.greeting}"
    call.say("je voudrais prendre rendez-vous")
    call.say("je m'appelle sophie bernard")
    assert call.reply is not None and call.reply.expecting == "date"
    assert [call.key(d) for d in "0312"] == [None] * 4
    answer = call.key("#")
    assert answer is not None and answer.say[0] == "Vous avez tapé le 3 décembre."
    assert call.conversation.data["date"] == "2026-12-03"
    assert call.stored[-1] == "le 3 décembre"  # the keyed date is a caller turn


def test_a_meaningless_key_pressed_in_the_opening_gets_the_greeting(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    call.guide.greeting_pending = tenant.greeting
    greeted = call.key("5")
    assert greeted is not None and greeted.say == (tenant.greeting,)
    assert call.key("5") is None  # only once


@pytest.mark.parametrize("in_the_opening", [True, False])
def test_the_0_key_with_nobody_there_takes_a_message_and_says_when_the_team_answers(
        shared: Shared, fr, in_the_opening: bool) -> None:
    """Pressed before the after-hours greeting (which gives the hours) was said, the answer
    says the hours itself; pressed after it, not again."""
    tenant, store = fr
    night = datetime(2026, 11, 26, 22, 0, tzinfo=PARIS)  # a Thursday, after hours
    assert not is_staffed(tenant, night)
    call = GuidedCall(shared, tenant, store, can_transfer=lambda: False, at=night)
    greeting = after_hours_greeting(tenant)
    hours = staffed_hours_sentence(tenant)
    assert hours and hours in greeting
    if in_the_opening:
        call.guide.greeting_pending = greeting
    answer = asyncio.run(call.guide.nobody_there(call.conversation, "0"))
    assert call.stored == ["0"] and answer.expecting in ("name", "message")
    assert answer.say.count(hours) == (1 if in_the_opening else 0)
    if in_the_opening:  # after "nobody is available", before the question
        assert answer.say.index(hours) == 1 and answer.say[-1].endswith("?")
    assert call.guide.greeting_pending == ""


def test_two_misunderstandings_offer_the_menu_and_a_menu_key_books(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    first = call.say("la brouette de ma tante est verte")
    assert first.misunderstood and not any("clavier" in s for s in first.say)
    second = call.say("pastèque girafe trombone")
    assert second.say[-1].startswith("Vous pouvez aussi utiliser le clavier") and "0 pour parler" in second.say[-1]
    booked = call.key("1")
    assert booked is not None and booked.expecting == "name" and call.stored[-1] == "1"
    assert call.guide.recovery.troubles == 0


def test_the_menu_offers_no_human_when_the_tenant_cannot_transfer(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store, can_transfer=lambda: False)
    call.silent()
    menu = call.silent().say[-1]
    assert "clavier" in menu and "0 pour" not in menu
    assert call.key("0") is None  # nothing happens: nobody to hand over to
    message = call.key("4")
    assert message is not None and message.expecting in ("name", "message")


def test_three_misunderstandings_end_the_call_politely(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    for words in ("la brouette de ma tante est verte", "pastèque girafe trombone"):
        assert not call.say(words).hangup
    end = call.say("la brouette de ma tante est verte")
    assert end.hangup and end.outcome == "not_understood"
    assert end.say == (phrases.NOT_UNDERSTOOD_END["fr"],)


def test_the_longest_call_keeps_an_outcome_already_reached(shared: Shared, fr) -> None:
    tenant, store = fr
    call = GuidedCall(shared, tenant, store)
    call.say("je voudrais prendre rendez-vous")
    call.say("je m'appelle sophie bernard")
    close = call.guide.time_limit(call.conversation, "hangup")
    assert close.hangup and close.outcome == "time_limit" and close.data["name"] == "Sophie Bernard"
    assert call.guide.time_limit(call.conversation, "booked").outcome == "booked"
