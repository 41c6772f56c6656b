"""Whole dialogues through the builtin engine: real nlu/ project, real classifier, real
SqliteStore (tmp_path), real availability rules; only the clock is fixed
(Thursday 2026-11-26 10:00 in the tenant's zone)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agi.booking import availability
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import DialogueSettings, Tenant, settings_from_dict
from agi.dialogue.base import BotReply, CallContext
from agi.dialogue.builtin import BuiltinConversation, BuiltinEngine

HOURS = {d: ["09:00-12:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
CALLER = "+33612345678"


def make_tenant(tid: str, lang: str, tz: str, transfer: str = "PJSIP/desk") -> Tenant:
    return settings_from_dict({"tenants": [{
        "id": tid, "name": "Cabinet Test", "language": lang, "timezone": tz,
        "transfer_target": transfer, "opening_hours": HOURS,
        "services": [{"name": "consultation", "duration_min": 30}]}]}).tenants[0]


FR = make_tenant("fr", "fr", "Europe/Paris")
EN = make_tenant("en", "en", "Europe/London")


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(DialogueSettings().project_dir)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.sqlite3")
    yield s
    s.close()


def now_in(tenant: Tenant) -> datetime:
    return datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(tenant.timezone))


def talk(engine: BuiltinEngine, store: SqliteStore, tenant: Tenant = FR,
         caller: str = CALLER, call_id: str = "call-1") -> BuiltinConversation:
    if store.get_call(call_id) is None:
        store.start_call(CallRecord(call_id, tenant.id, caller, now_in(tenant)))
    return engine.conversation(CallContext(call_id, tenant, store, caller, lambda: now_in(tenant)))


def said(reply: BotReply) -> str:
    return " ".join(reply.say)


def booked(store: SqliteStore, tenant: Tenant = FR) -> list[Any]:
    return list(store.appointments(tenant.id, datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
                                   datetime(2028, 1, 1, tzinfo=ZoneInfo("UTC"))))


def at(tenant: Tenant, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tenant.timezone))  # type: ignore[misc]


def test_french_booking_read_back_then_confirmed(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("euh bonjour")
    assert "Que puis-je faire" in said(r)
    r = c.respond("je voudrais un rendez-vous jeudi à dix heures")
    assert r.expecting == "name" and r.dictation
    assert dict(r.data) == {"date": "2026-12-03", "time": "10:00", "service": "consultation"}  # skip what was already said
    r = c.respond("c'est jean dupont")
    assert "jeudi 3 décembre à 10 heures au nom de Jean Dupont" in said(r)
    assert r.expecting is None and r.data["name"] == "Jean Dupont"
    assert booked(store) == []  # read back, nothing written yet
    r = c.respond("oui c'est ça")
    assert r.outcome == "booked"
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 12, 3, 10, 0)
    assert appt.customer_name == "Jean Dupont" and appt.customer_phone == CALLER
    assert appt.call_id == "call-1"
    r = c.respond("non merci")
    assert r.hangup and "au revoir" in said(r)


def test_form_asks_each_missing_slot_in_order(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("je voudrais prendre rendez-vous")
    assert r.expecting == "name" and r.data == {"service": "consultation"}
    r = c.respond("marie martin")
    assert r.expecting == "date" and r.data == {"name": "Marie Martin", "service": "consultation"}
    r = c.respond("mardi prochain")
    assert r.expecting == "time" and r.data["date"] == "2026-12-01"
    r = c.respond("quinze heures trente")
    assert "mardi 1er décembre à 15 heures 30" in said(r)
    c.respond("oui")
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 12, 1, 15, 30)


def test_correction_changes_the_slot_and_reads_back_again(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous jeudi à dix heures au nom de pierre durand")
    r = c.respond("non plutôt à onze heures")
    assert "jeudi 3 décembre à 11 heures" in said(r)
    assert booked(store) == []
    c.respond("oui")
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 12, 3, 11, 0)
    assert appt.customer_name == "Pierre Durand"


def test_no_never_writes_and_hang_up_keeps_partial_data(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous jeudi à dix heures")
    c.respond("jean dupont")
    r = c.respond("non")
    assert r.expecting == "date" and booked(store) == []
    r = c.respond("vendredi à quatorze heures")
    assert "vendredi 27 novembre à 14 heures" in said(r)
    assert booked(store) == []  # the caller hangs up here
    assert dict(c.data) == {"name": "Jean Dupont", "date": "2026-11-27", "time": "14:00",
                            "service": "consultation"}


def test_taken_slot_offers_alternatives_and_caller_picks_the_first(engine: BuiltinEngine,
                                                                  store: SqliteStore) -> None:
    availability.book_slot(store, FR, FR.service(None), at(FR, 2026, 12, 3, 10, 0), name="X",
                           phone="+33100000000", call_id="", now=now_in(FR))
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous jeudi à dix heures")
    r = c.respond("jean dupont")
    assert "Je n'ai pas ce créneau" in said(r)
    assert "jeudi 3 décembre à 9 heures 15, jeudi 3 décembre à 9 heures 30 ou jeudi 3 décembre à 10 heures 30" in said(r)
    assert len(booked(store)) == 1
    r = c.respond("le premier")
    assert "jeudi 3 décembre à 9 heures 15 au nom de Jean Dupont" in said(r)
    c.respond("oui")
    mine = [a for a in booked(store) if a.call_id == "call-1"]
    assert [a.starts_at for a in mine] == [at(FR, 2026, 12, 3, 9, 15)]


def test_outside_opening_hours_offers_alternatives_picked_by_time(engine: BuiltinEngine,
                                                                 store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("bonjour je voudrais un rendez-vous samedi à dix heures au nom de sophie bernard")
    r = c.respond("")  # silence re-prompts the last question
    assert r.say[0] == "Je ne vous ai pas entendu."
    c2 = talk(engine, store, call_id="call-2")
    r = c2.respond("je voudrais un rendez-vous samedi à dix heures au nom de sophie bernard")
    assert "Nous sommes fermés" in said(r) and "vendredi 27 novembre à 17 heures 30" in said(r)
    r = c2.respond("euh à dix-sept heures trente")
    assert "vendredi 27 novembre à 17 heures 30 au nom de Sophie Bernard" in said(r)
    c2.respond("oui")
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 11, 27, 17, 30)


def test_english_booking(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store, EN, "+447911123456")
    assert "How can I help" in said(c.respond("hello"))
    r = c.respond("uh i'd like an appointment next tuesday at half past three")
    assert r.expecting == "name"
    r = c.respond("my name is john smith")
    assert "Tuesday 1 December at 3:30 pm under the name John Smith" in said(r)
    assert booked(store, EN) == []
    r = c.respond("yes that's right")
    assert r.outcome == "booked"
    [appt] = booked(store, EN)
    assert appt.starts_at == at(EN, 2026, 12, 1, 15, 30)
    assert appt.starts_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert c.respond("no thanks").hangup


def test_english_correction(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store, EN)
    c.respond("i'd like an appointment tomorrow at ten am")
    c.respond("it's mary jones")
    r = c.respond("no rather at eleven am")
    assert "Friday 27 November at 11 am" in said(r)
    c.respond("yes")
    [appt] = booked(store, EN)
    assert appt.starts_at == at(EN, 2026, 11, 27, 11, 0)


def test_cancel_flow(engine: BuiltinEngine, store: SqliteStore) -> None:
    appt = availability.book_slot(store, FR, FR.service(None), at(FR, 2026, 12, 2, 9, 0), name="Jean",
                                  phone=CALLER, call_id="", now=now_in(FR))
    c = talk(engine, store)
    r = c.respond("je voudrais annuler mon rendez-vous")
    assert "mercredi 2 décembre à 9 heures" in said(r)
    r = c.respond("non")
    assert "je garde votre rendez-vous" in said(r) and store.appointments_for_caller(FR.id, CALLER)
    c.respond("en fait je dois annuler mon rendez-vous")
    r = c.respond("oui")
    assert r.outcome == "cancelled"
    assert store.appointments_for_caller(FR.id, CALLER) == []
    assert r.data["appointment_id"] == appt.id


def test_cancel_without_appointment_offers_a_message(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("je voudrais annuler mon rendez-vous")
    assert "Je ne trouve pas de rendez-vous" in said(r)
    r = c.respond("oui")
    assert r.expecting == "name"


def test_message_flow(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("je voudrais laisser un message")
    assert r.expecting == "name"
    r = c.respond("marie martin")
    assert r.expecting == "message" and r.dictation
    r = c.respond("pouvez-vous me rappeler pour les résultats de ma prise de sang")
    assert r.outcome == "message" and "Merci Marie Martin" in said(r)
    [msg] = store.messages(FR.id)
    assert msg.name == "Marie Martin" and msg.caller == CALLER
    assert msg.text == "pouvez-vous me rappeler pour les résultats de ma prise de sang"


def test_transfer_and_no_target_takes_a_message(engine: BuiltinEngine, store: SqliteStore) -> None:
    r = talk(engine, store).respond("je voudrais parler à quelqu'un")
    assert r.transfer == "PJSIP/desk" and r.outcome == "transfer"
    lonely = make_tenant("solo", "fr", "Europe/Paris", transfer="")
    r = talk(engine, store, lonely).respond("passez-moi la secrétaire")
    assert r.transfer is None and r.expecting == "name" and "prendre un message" in said(r)


def test_human_interrupts_the_booking_form(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous")
    r = c.respond("non je veux parler à une vraie personne")
    assert r.transfer == "PJSIP/desk"


def test_goodbye_hangs_up(engine: BuiltinEngine, store: SqliteStore) -> None:
    r = talk(engine, store).respond("merci au revoir")
    assert r.hangup and r.say == ("Merci de votre appel, au revoir !",)


def test_out_of_scope_twice_offers_a_human(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("je voudrais commander une pizza")
    assert "reformuler" in said(r) and r.transfer is None
    r = c.respond("qui a gagné le match hier")
    assert "Voulez-vous que je vous passe un collaborateur" in said(r)
    r = c.respond("oui")
    assert r.transfer == "PJSIP/desk"


def test_opening_hours(engine: BuiltinEngine, store: SqliteStore) -> None:
    r = talk(engine, store).respond("euh c'est quoi vos horaires d'ouverture")
    assert said(r).startswith("Nous sommes ouverts du lundi au vendredi de 9 heures à midi")


def test_silence_reprompts_then_gives_up(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous")
    r = c.no_input()
    assert r.say == ("Je ne vous ai pas entendu.", "À quel nom dois-je noter le rendez-vous ?")
    assert r.expecting == "name"
    c.no_input()
    assert c.no_input().hangup


def test_chat_runs_the_same_dialogue_in_text(tmp_path: Path) -> None:
    from io import StringIO

    from agi.dialogue.chat import run_chat
    settings = settings_from_dict({"tenants": [{
        "id": "fr", "name": "Cabinet Test", "transfer_target": "PJSIP/desk", "opening_hours": HOURS,
        "greeting": "Bonjour, que puis-je faire ?",
        "services": [{"name": "consultation", "duration_min": 30}]}]})
    out = StringIO()
    lines = "je voudrais un rendez-vous jeudi à dix heures\njean dupont\noui\nnon merci\n"
    db = tmp_path / "chat.sqlite3"
    outcome = run_chat(settings, "fr", StringIO(lines), out, lambda: now_in(FR), debug=True,
                       caller=CALLER, db_path=db)
    text = out.getvalue()
    assert outcome == "booked"
    assert text.index("assistant automatique") < text.index("Bonjour, que puis-je faire")
    assert "[intent book" in text and "[hang up]" in text
    s = SqliteStore(db)
    [call] = s.list_calls("fr")
    assert call.outcome == "booked" and call.data["name"] == "Jean Dupont"
    assert len(s.transcript(call.call_id)) == 4 + 4 + 3  # caller + agent + opening lines
    s.close()
