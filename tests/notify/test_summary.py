"""The call summary for the business (agi.notify.summary, agi.booking.call_summary).

Which calls owe one is decided from what the real builtin dialogue leaves at the end of
the call (outcome, collected data, the request it had open), turn by turn as the call
session keeps them; delivery goes through the real stores (SQLite and PostgreSQL), sealed
as in production, and the real outbox worker to the real SMTP and web hook receivers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from notify_helpers import FAST, SECRET, Clock, MakeStore, drain
from receivers import SmtpReceiver, WebhookReceiver

from agi.booking.call_summary import KIND
from agi.booking.recovery import INTERRUPTED, recover
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord, NewAppointment, Store
from agi.config import Settings, SummarySettings, Tenant, settings_from_dict
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinEngine
from agi.errors import ConfigError
from agi.notify import OutboxWorker, targets_for
from agi.notify.email import EmailSender
from agi.notify.summary import ENDINGS, call_summary, ending_for, interrupted_summary
from agi.notify.webhook import WebhookSender
from agi.privacy.crypto import Keyring, new_key_line
from agi.privacy.sealed import SealedStore

NLU = Path(__file__).resolve().parents[2] / "nlu"
CALLER = "+33612345678"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # a Thursday


def tenant_raw(tid: str = "demo", *, health: bool = False, notify: list[Any] | None = None,
               language: str = "fr") -> dict[str, Any]:
    return {"id": tid, "name": "Cabinet Dupont", "language": language,
            "timezone": "Europe/Paris", "resources": ["A"], "health_data": health,
            "services": [{"name": "consultation", "duration_min": 30}],
            "opening_hours": {d: ["09:00-12:00", "14:00-18:00"]
                              for d in ("mon", "tue", "wed", "thu", "fri")},
            "transfer_target": "PJSIP/secretariat", "notify": notify or []}


def settings_for(*tenants: dict[str, Any], console_url: str = "") -> Settings:
    return settings_from_dict({"tenants": list(tenants),
                               "summaries": {"console_url": console_url}})


# which calls owe a summary, from the real dialogue ------------------------------------------
@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(NLU, ("fr",))


def after(engine: BuiltinEngine, tmp_path: Path, words: list[str],
          caller: str = CALLER) -> dict[str, Any] | None:
    """Run the caller's turns through the dialogue, keeping what the call session keeps
    (the last outcome reached, the data, the open request), then hang up."""
    tenant = settings_for(tenant_raw()).tenants[0]
    store = SqliteStore(tmp_path / f"dialogue-{len(list(tmp_path.iterdir()))}.sqlite3")
    store.start_call(CallRecord(call_id="c1", tenant_id="demo", caller=caller, started_at=NOW))
    conversation = engine.conversation(CallContext(call_id="c1", tenant=tenant, store=store,
                                                   caller=caller, now=lambda: NOW))
    outcome, request, transfer, data = "hangup", None, None, {}
    for text in words:
        reply = conversation.respond(text)
        outcome = reply.outcome or outcome
        request, transfer, data = reply.request, reply.transfer or transfer, dict(reply.data)
    store.close()
    return call_summary(call_id="c1", tenant=tenant, outcome=outcome, data=data,
                        request=request, transfer_to=transfer, said=words)


BOOK = ["bonjour je voudrais prendre rendez-vous", "jean dupont", "mardi prochain", "à dix heures"]


@pytest.mark.parametrize(("words", "ending", "asked"), [
    ([], None, None),  # hung up during the greeting
    (["quels sont vos horaires d'ouverture"], None, None),  # answered, nothing asked
    (["bonjour je voudrais prendre rendez-vous"], "hangup_mid_request", "booking"),
    (BOOK[:3], "hangup_mid_request", "booking"),
    (BOOK, "hangup_mid_request", "booking"),  # hung up at the read-back
    ([*BOOK, "oui"], None, None),  # booked: the booking's own notification says it
    ([*BOOK, "oui", "non merci au revoir"], None, None),
    ([*BOOK, "oui", "je voudrais laisser un message"], "hangup_mid_request", "message"),
    (["je voudrais laisser un message", "jean dupont"], "hangup_mid_request", "message"),
    (["je voudrais laisser un message", "jean dupont", "rappelez-moi pour les résultats"],
     "hangup_mid_request", "message"),  # hung up at the message's read-back: not kept
    (["je voudrais laisser un message", "jean dupont", "rappelez-moi pour les résultats", "oui"],
     "message", "message"),
    (["je voudrais parler à quelqu'un"], "transfer", "human"),
    (["je voudrais annuler mon rendez-vous"], "hangup_mid_request", "message"),  # none found
])
def test_which_calls_the_dialogue_leaves_owing_a_summary(
        engine: BuiltinEngine, tmp_path: Path, words: list[str], ending: str | None,
        asked: str | None) -> None:
    summary = after(engine, tmp_path, words)
    if ending is None:
        assert summary is None
        return
    assert summary is not None
    assert (summary["ending"], summary["asked"]) == (ending, asked)
    assert summary["details"]["said"] == words


def test_the_summary_carries_what_was_collected(engine: BuiltinEngine, tmp_path: Path) -> None:
    at_read_back = after(engine, tmp_path, BOOK)
    assert at_read_back is not None
    assert (at_read_back["name"], at_read_back["date"], at_read_back["time"]) == \
        ("Jean Dupont", "2026-12-01", "10:00")
    assert at_read_back["open_request"] == "confirm_booking"
    message = after(engine, tmp_path, ["je voudrais laisser un message", "jean dupont",
                                       "rappelez-moi pour les résultats", "oui"])
    assert message is not None and message["text"] == "rappelez-moi pour les résultats"


def test_misunderstood_twice_with_nothing_asked_is_no_request(engine: BuiltinEngine,
                                                              tmp_path: Path) -> None:
    assert after(engine, tmp_path, ["blorg zxq", "flup wibble"]) is None


@pytest.mark.parametrize(("outcome", "data", "ending"), [
    ("transfer_answered", {}, "transfer_answered"),
    ("transfer_refused", {"name": "Jean"}, "transfer_refused"),
    ("transfer_no_answer", {}, "transfer_no_answer"),
    ("transfer_busy", {}, "transfer_busy"),
    ("transfer_screened_out", {}, "transfer_screened_out"),  # a new transfer outcome
    ("callback", {"phone": CALLER}, "callback"),
    ("after_hours_message", {"message": "x"}, "message"),
    ("pending", {"date": "2026-12-01", "time": "10:00", "name": "Jean"}, "booking_noted"),
    ("error", {"date": "2026-12-01", "time": "10:00", "name": "Jean"}, "booking_failed"),
    ("error", {"message": "x"}, "failed"),
    (INTERRUPTED, {"name": "Jean"}, "failed"),
    ("no_input", {"name": "Jean"}, "hangup_mid_request"),
    ("a_future_outcome", {"name": "Jean"}, "hangup_mid_request"),
    ("error", {}, None), ("no_input", {}, None), ("hangup_during_disclosure", {"name": "x"}, None),
    ("moved", {"date": "2026-12-01"}, None), ("cancelled", {"appointment_id": 3}, None),
])
def test_every_outcome_string_maps_in_one_table(outcome: str, data: Mapping[str, Any],
                                                ending: str | None) -> None:
    tenant = settings_for(tenant_raw()).tenants[0]
    summary = call_summary(call_id="c1", tenant=tenant, outcome=outcome, data=data)
    assert (summary or {}).get("ending") == ending
    assert ending_for("transfer_whatever") == "transfer_whatever"
    assert set(ENDINGS) >= {"booked", "message", "transfer", "hangup", "pending", "error"}


def test_health_data_tenants_get_no_words_and_summaries_can_be_off() -> None:
    tenant = settings_for(tenant_raw(health=True)).tenants[0]
    summary = call_summary(call_id="c1", tenant=tenant, outcome="message",
                           data={"message": "x"}, said=["ma migraine"])
    assert summary is not None and "said" not in summary["details"]
    assert call_summary(call_id="c1", tenant=tenant, outcome="message", data={},
                        settings=SummarySettings(enabled=False)) is None


@pytest.mark.parametrize("url", ["accueil.example", "https://accueil.example/", "ftp://x",
                                 "https://a b"])
def test_a_console_url_that_is_no_base_address_is_refused_naming_the_key(url: str) -> None:
    with pytest.raises(ConfigError, match="summaries.console_url"):
        settings_for(tenant_raw(), console_url=url)


# delivery -------------------------------------------------------------------------------------
@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SECRET)
    r.start()
    yield r
    r.stop()


def targets(smtp: SmtpReceiver, hook: WebhookReceiver) -> list[dict[str, Any]]:
    return [{"kind": "email", "name": "desk", "to": ["desk@dupont.example"],
             "from": "permanence@dupont.example", "smtp_host": "127.0.0.1",
             "smtp_port": smtp.port, "smtp_starttls": False},
            {"kind": "webhook", "name": "crm", "url": hook.url, "secret": SECRET}]


def sealed(make_store: MakeStore, settings: Settings) -> Store:
    return SealedStore(make_store(targets_for=targets_for(settings)),
                       Keyring.parse(new_key_line("k1"), "t"))


def end(store: Store, tenant: Tenant, call_id: str, outcome: str, data: Mapping[str, Any],
        settings: Settings, said: Sequence[str] = ()) -> None:
    started = datetime.now(UTC) - timedelta(minutes=2)
    if store.get_call(call_id) is None:
        store.start_call(CallRecord(call_id=call_id, tenant_id=tenant.id, caller=CALLER,
                                    started_at=started))
    summary = call_summary(call_id=call_id, tenant=tenant, outcome=outcome, data=data,
                           request=None, transfer_to=tenant.transfer_target or None, said=said,
                           settings=settings.summaries)
    store.end_call(call_id, datetime.now(UTC), outcome, dict(data), summary)


def deliver(store: Store, settings: Settings) -> None:
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    worker = OutboxWorker(store, settings, {"email": EmailSender(timeout=5),
                                            "webhook": WebhookSender(timeout=5)},
                          clock, policy=FAST, rng=random.Random(7))
    drain(worker, store, clock)


def text_of(msg: Message) -> str:
    data = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(data, bytes)
    return f"{msg['Subject']}\n{data.decode()}"


def test_each_ending_sends_exactly_one_summary_with_the_collected_data(
        make_store: MakeStore, smtp: SmtpReceiver, hook: WebhookReceiver) -> None:
    settings = settings_for(tenant_raw(notify=targets(smtp, hook)),
                            console_url="https://accueil.dupont.example")
    tenant = settings.tenants[0]
    store = sealed(make_store, settings)
    endings = {
        "msg": ("message", {"name": "Jean Dupont", "message": "rappelez-moi pour Zanzibar"}),
        "cb": ("callback", {"phone": "+33698765432"}),
        "tr": ("transfer_no_answer", {"name": "Jean Dupont"}),
        "noted": ("pending", {"name": "Jean Dupont", "date": "2026-12-01", "time": "10:00"}),
        "failed": ("error", {"name": "Jean Dupont", "date": "2026-12-01", "time": "10:00"}),
        "mid": ("hangup", {"name": "Jean Dupont"}),
        "greeting": ("hangup", {}),  # nothing asked: no summary
    }
    for call_id, (outcome, data) in endings.items():
        end(store, tenant, call_id, outcome, data, settings, said=["bonjour", "Zanzibar"])
        end(store, tenant, call_id, outcome, data, settings)  # replayed: still one
    deliver(store, settings)
    summaries = [i for i in store.outbox() if i.kind == KIND]
    assert len(summaries) == 2 * 6 and all(i.status == "sent" for i in summaries)
    by_call = {d["data"]["call_id"]: d["data"] for d in hook.processed.values()}
    assert set(by_call) == set(endings) - {"greeting"}
    assert len(hook.arrivals) == 6 and len(smtp.processed) == len(smtp.arrivals) == 6
    assert by_call["cb"]["callback"] == "+33698765432" and by_call["cb"]["caller"] == CALLER
    assert by_call["msg"]["text"] == "rappelez-moi pour Zanzibar"
    assert (by_call["noted"]["ending"], by_call["failed"]["ending"]) == \
        ("booking_noted", "booking_failed")
    assert by_call["mid"]["link"] == "https://accueil.dupont.example/calls/mid"
    mails = {m["Idempotency-Key"].split(":")[2]: text_of(m) for m in smtp.processed.values()}
    assert "Message laissé – Jean Dupont (+33612345678)" in mails["msg"]
    assert "Message: rappelez-moi pour Zanzibar" in mails["msg"]
    assert "L'appelant a dit: bonjour / Zanzibar" in mails["msg"]
    assert "Rappeler au: +33698765432" in mails["cb"]
    assert "Le transfert vers PJSIP/secretariat est resté sans réponse" in mails["tr"]
    assert "Souhaité: 2026-12-01 10:00" in mails["noted"]
    assert "Transcription: https://accueil.dupont.example/calls/mid" in mails["mid"]
    assert "Appel: mid" in mails["mid"]


def test_a_completed_booking_sends_its_notification_and_no_summary(
        make_store: MakeStore, smtp: SmtpReceiver, hook: WebhookReceiver) -> None:
    settings = settings_for(tenant_raw(notify=targets(smtp, hook)))
    tenant = settings.tenants[0]
    store = sealed(make_store, settings)
    store.start_call(CallRecord(call_id="b1", tenant_id="demo", caller=CALLER,
                                started_at=datetime.now(UTC)))
    start = datetime(2030, 3, 12, 9, tzinfo=UTC)
    store.book(NewAppointment(tenant_id="demo", resource="A", service="consultation",
                              starts_at=start, ends_at=start + timedelta(minutes=30),
                              customer_name="Jean Dupont", customer_phone=CALLER, call_id="b1"))
    end(store, tenant, "b1", "booked", {"name": "Jean Dupont", "date": "2030-03-12"}, settings)
    deliver(store, settings)
    assert [d["type"] for d in hook.processed.values()] == ["appointment_booked"]
    assert len(smtp.processed) == 1


def test_health_data_e_mails_hold_no_free_text_and_an_objection_drops_the_summary(
        make_store: MakeStore, smtp: SmtpReceiver, hook: WebhookReceiver) -> None:
    hook_https = targets(smtp, hook)[:1]  # health data: web hooks must be https, mail only
    settings = settings_for(tenant_raw(health=True, notify=hook_https),
                            tenant_raw("shop", notify=hook_https))
    med, shop = settings.tenants
    store = sealed(make_store, settings)
    data = {"name": "Jean Dupont", "message": "ma migraine revient, ordonnance"}
    end(store, med, "m1", "message", data, settings, said=["ma migraine"])
    end(store, shop, "s1", "message", data, settings, said=["ma migraine"])
    store.start_call(CallRecord(call_id="o1", tenant_id="shop", caller="+33611111111",
                                started_at=datetime.now(UTC)))
    store.privacy().set_flag("shop", "+33611111111", "objected", datetime.now(UTC))
    store.end_call("o1", datetime.now(UTC), "message", data, call_summary(
        call_id="o1", tenant=shop, outcome="message", data=data))
    raw = [r.payload for r in store.inner.outbox()]  # type: ignore[attr-defined]
    assert not any("migraine" in str(p) for p in raw)  # sealed at rest
    deliver(store, settings)
    mails = {m["Idempotency-Key"].split(":")[0]: text_of(m) for m in smtp.processed.values()}
    assert set(mails) == {"demo", "shop"} and len(smtp.processed) == 2  # o1: suppressed
    assert "migraine" not in mails["demo"] and "Jean" not in mails["demo"]
    assert "lisez-le dans la console" in mails["demo"] and CALLER in mails["demo"]
    assert "migraine" in mails["shop"]
    [dropped] = [i for i in store.outbox() if "o1" in i.idempotency_key]
    assert dropped.status == "dead"


def test_english_tenant_summary_is_in_english(make_store: MakeStore, smtp: SmtpReceiver,
                                              hook: WebhookReceiver) -> None:
    settings = settings_for(tenant_raw(language="en", notify=targets(smtp, hook)[:1]))
    store = sealed(make_store, settings)
    end(store, settings.tenants[0], "e1", "transfer_busy", {"name": "John Smith"}, settings)
    deliver(store, settings)
    [mail] = [text_of(m) for m in smtp.processed.values()]
    assert "Call summary – Transfer: busy – John Smith (+33612345678)" in mail
    assert "The line to PJSIP/secretariat was busy" in mail


def test_a_call_a_crash_left_open_mid_request_is_summarised_once_at_start_up(
        make_store: MakeStore) -> None:
    settings = settings_for(tenant_raw(notify=[{"kind": "webhook", "name": "crm",
                                                "url": "http://127.0.0.1:9/hook",
                                                "secret": SECRET}]))
    store = sealed(make_store, settings)
    now = datetime.now(UTC)
    for call_id, data in (("asked", {"name": "Jean Dupont", "date": "2026-12-01"}),
                          ("silent", {})):
        store.start_call(CallRecord(call_id=call_id, tenant_id="demo", caller=CALLER,
                                    started_at=now))
        store.update_call_data(call_id, data)

    def summarize(call: CallRecord) -> dict[str, Any] | None:
        return interrupted_summary(call, settings)

    assert sorted(recover(store, None, now, close_open=True, summarize=summarize)) == \
        ["asked", "silent"]
    assert recover(store, None, now, close_open=True, summarize=summarize) == []
    [row] = [i for i in store.outbox() if i.kind == KIND]
    assert (row.payload["call_id"], row.payload["ending"], row.payload["outcome"]) == \
        ("asked", "failed", INTERRUPTED)
