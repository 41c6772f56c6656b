"""Replies prepared while the caller pauses: dropped when the caller goes on, never a
booking or a message for words that were not the turn, committed when they were.

Real builtin dialogue on nlu/, real SQLite store, real eSpeak NG (the synthesiser's cache);
the clock is fixed (Thursday 2026-11-26 10:00, Paris).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.call.speculate import Speculator
from agi.config import settings_from_dict
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinConversation
from agi.speech.tts import split_sentences

HOURS = {d: ["09:00-12:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
TENANT = settings_from_dict({"tenants": [{
    "id": "fr", "name": "Cabinet Test", "language": "fr", "timezone": "Europe/Paris",
    "transfer_target": "PJSIP/desk", "opening_hours": HOURS,
    "services": [{"name": "consultation", "duration_min": 30}]}]}).tenants[0]
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
CALLER = "+33612345678"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.sqlite3")
    s.start_call(CallRecord("call-1", TENANT.id, CALLER, NOW))
    yield s
    s.close()


@pytest.fixture
def conversation(shared: object, store: SqliteStore) -> BuiltinConversation:
    engine = shared.engine  # type: ignore[attr-defined]
    return engine.conversation(CallContext("call-1", TENANT, store, CALLER, lambda: NOW))


def speculator(conversation: BuiltinConversation, shared: object) -> Speculator:
    return Speculator(conversation, shared.synthesizer, "fr")  # type: ignore[attr-defined]


def appointments(store: SqliteStore) -> list[object]:
    return list(store.appointments(TENANT.id, datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
                                   datetime(2028, 1, 1, tzinfo=ZoneInfo("UTC"))))


async def settle() -> None:
    """Let a prepared reply finish (dialogue and first sentence run in threads)."""
    for _ in range(200):
        await asyncio.sleep(0.01)
        if not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            return


def test_a_reply_prepared_in_a_pause_is_dropped_when_the_caller_goes_on(
        conversation: BuiltinConversation, shared: object, store: SqliteStore) -> None:
    async def call() -> None:
        spec = speculator(conversation, shared)
        conversation.respond("je voudrais un rendez-vous jeudi à dix heures")
        spec.paused("c'est jean")  # the caller pauses after half their name...
        await settle()
        spec.resumed()  # ...and goes on
        assert spec.dropped == 1
        assert conversation.slots.get("name") in (None, "")  # the prepared reply changed nothing
        assert await spec.take("c'est jean dupont") is None
        reply = conversation.respond("c'est jean dupont")  # the real turn
        assert "au nom de Jean Dupont" in " ".join(reply.say)
    asyncio.run(call())


def test_no_booking_is_written_for_a_confirmation_the_caller_continued(
        conversation: BuiltinConversation, shared: object, store: SqliteStore) -> None:
    async def call() -> None:
        spec = speculator(conversation, shared)
        conversation.respond("je voudrais un rendez-vous jeudi à dix heures")
        conversation.respond("c'est jean dupont")  # read back: "oui" books
        spec.paused("oui")
        await settle()
        assert spec.refused == 1  # booking is a write: nothing prepared...
        assert appointments(store) == []  # ...and nothing written
        spec.resumed()  # "oui... mais plutôt à onze heures"
        assert await spec.take("oui mais plutôt à onze heures") is None
        reply = conversation.respond("non plutôt à onze heures")
        assert reply.outcome != "booked" and appointments(store) == []
        reply = conversation.respond("oui")
        assert reply.outcome == "booked"
        [appt] = appointments(store)  # exactly one, written by the real turn
        assert appt.starts_at.astimezone(TENANT.tz).hour == 11  # type: ignore[attr-defined]
    asyncio.run(call())


def test_no_message_is_written_for_a_turn_the_caller_continued(
        conversation: BuiltinConversation, shared: object, store: SqliteStore) -> None:
    async def call() -> None:
        spec = speculator(conversation, shared)
        conversation.respond("je voudrais laisser un message")
        conversation.respond("marie martin")
        spec.paused("pouvez-vous me rappeler")
        await settle()
        spec.resumed()
        assert store.messages(TENANT.id) == []
        text = "pouvez-vous me rappeler pour les résultats de ma prise de sang"
        assert await spec.take(text) is None
        assert conversation.respond(text).request == "confirm_message"  # read back first
        assert store.messages(TENANT.id) == []
        assert conversation.respond("oui").outcome == "message"
        [msg] = store.messages(TENANT.id)
        assert msg.text == text
    asyncio.run(call())


def test_a_reply_prepared_for_the_final_words_is_used_and_its_state_committed(
        conversation: BuiltinConversation, shared: object, store: SqliteStore) -> None:
    async def call() -> None:
        spec = speculator(conversation, shared)
        words = "je voudrais un rendez-vous jeudi à dix heures"
        spec.paused(words)
        await settle()
        reply = await spec.take(words)
        assert reply is not None and reply.expecting == "name" and spec.used == 1
        synth = shared.synthesizer  # type: ignore[attr-defined]
        renders = synth.renders
        synth.synthesize(split_sentences(reply.say[0])[0], "fr")
        assert synth.renders == renders  # its first sentence was rendered during the pause
        live = spec.conversation  # the fork is now the call's conversation, writing again
        assert live is not conversation and live.slots["time"] == "10:00"
        live.respond("c'est jean dupont")
        assert live.respond("oui").outcome == "booked"
        assert len(appointments(store)) == 1
    asyncio.run(call())


def test_words_that_differ_from_the_final_result_are_not_used(
        conversation: BuiltinConversation, shared: object) -> None:
    async def call() -> None:
        spec = speculator(conversation, shared)
        spec.paused("je voudrais un rendez-vous")
        await settle()
        assert await spec.take("je voudrais annuler mon rendez-vous") is None
        assert spec.missed == 1 and spec.conversation is conversation
    asyncio.run(call())


@pytest.mark.parametrize(("partial", "unsure"), [
    ("bonjour", True),  # only a greeting so far: the request is still coming
    ("allô oui bonjour", True),
    ("bonsoir madame", True),
    ("zorglub patati flonflon", True),  # nothing the dialogue understands: wait before saying so
    ("je voudrais un rendez-vous jeudi à dix heures", False),
    ("allô bonjour je voudrais annuler mon rendez-vous", False),
    ("bonjour c'est pour laisser un message au docteur", False),
])
def test_a_pause_after_words_that_ask_for_nothing_yet_is_reported_unsure(
        conversation: BuiltinConversation, shared: object, partial: str, unsure: bool) -> None:
    async def call() -> list[str]:
        spec = speculator(conversation, shared)
        reported: list[str] = []
        spec.on_unsure = reported.append
        spec.paused(partial)
        await settle()
        return reported

    assert asyncio.run(call()) == ([partial] if unsure else [])


def test_a_caller_who_went_on_is_not_reported_unsure(conversation: BuiltinConversation, shared: object) -> None:
    async def call() -> list[str]:
        spec = speculator(conversation, shared)
        reported: list[str] = []
        spec.on_unsure = reported.append
        spec.paused("bonjour")
        spec.resumed()  # before the reply to "bonjour" was ready
        await settle()
        return reported

    assert asyncio.run(call()) == []
