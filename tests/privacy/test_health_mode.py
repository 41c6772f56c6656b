"""Health-data mode (GDPR art. 9) and the tenant's privacy settings: the notification
e-mails of a medical tenant carry no word of what the caller said (real SMTP receiver),
its transcripts go after 30 days while another tenant's stay (both stores), plain-HTTP web
hooks and recordings without a purpose are refused with the key named."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from agi.booking import CallRecord
from agi.config import PrivacySettings, settings_from_dict
from agi.errors import ConfigError
from agi.notify import OutboxWorker, targets_for
from agi.notify.email import EmailSender
from agi.privacy import SealedStore, run_purge
from agi.privacy.crypto import Keyring, new_key_line

sys.path.insert(0, str(Path(__file__).parents[1] / "notify"))

from notify_helpers import FAST, Clock, appointment, drain  # noqa: E402
from receivers import SmtpReceiver  # noqa: E402

if TYPE_CHECKING:
    from conftest import StoreFactory

ALICE = "+33612345678"
SAID = ("migraine", "ordonnance", "Zanzibar", "Alice", "Martin")


def tenant(tid: str, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "name": f"Cabinet {tid}", "language": "fr", "resources": ["A"],
            "services": [{"name": "consultation", "duration_min": 30}], **extra}


def mail(port: int) -> dict[str, Any]:
    return {"kind": "email", "name": "desk", "to": ["desk@cabinet.example"],
            "from": "permanence@cabinet.example", "smtp_host": "127.0.0.1", "smtp_port": port,
            "smtp_starttls": False}


def text_of(msg: Message) -> str:
    parts = [msg["Subject"]]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            parts.append(data.decode())
    return "\n".join(parts)


def test_a_medical_tenant_s_e_mails_hold_no_free_text(make_store: StoreFactory) -> None:
    smtp = SmtpReceiver()
    smtp.start()
    try:
        for health in (True, False):
            smtp.processed.clear()
            settings = settings_from_dict({"tenants": [
                {**tenant("demo", health_data=health), "notify": [mail(smtp.port)]}]})
            store = SealedStore(make_store(targets_for=targets_for(settings)),
                                Keyring.parse(new_key_line("k1"), "t"))
            now = datetime.now(UTC)
            store.add_message("demo", "", ALICE, "Alice Martin",
                              "ma migraine revient, il me faut une ordonnance avant Zanzibar", now)
            store.add_lead("demo", "", ALICE, "callback", {"about": "migraine"}, now)
            store.book(appointment(0 if health else 2))  # customer Alice Martin
            clock = Clock(now + timedelta(seconds=1))
            drain(OutboxWorker(store, settings, {"email": EmailSender(timeout=5)}, clock,
                               policy=FAST, rng=random.Random(1)), store, clock)
            bodies = [text_of(m) for m in smtp.processed.values()]
            assert len(bodies) == 3
            leaked = [w for w in SAID if any(w in b for b in bodies)]
            if health:
                assert leaked == []
                assert any("lisez-le dans la console Permanence" in b for b in bodies)
                assert all(ALICE in b or "Nouveau rendez-vous" in b for b in bodies)
            else:  # the same notifications of an ordinary business do carry the text
                assert "Zanzibar" in leaked and "Alice" in leaked
            store.close()
    finally:
        smtp.stop()


def test_health_tenant_transcripts_go_after_30_days(make_store: StoreFactory) -> None:
    settings = settings_from_dict({"tenants": [tenant("med", health_data=True),
                                               tenant("shop"), tenant("short", transcript_days=7)]})
    store = make_store()
    now = datetime(2027, 6, 1, tzinfo=UTC)
    for tid in ("med", "shop", "short"):
        for age in (40, 10, 1):
            call_id = f"{tid}-{age}"
            store.start_call(CallRecord(call_id=call_id, tenant_id=tid, caller=ALICE,
                                        started_at=now - timedelta(days=age)))
            store.add_turn(call_id, "caller", "bonjour", now - timedelta(days=age))
    dry = run_purge(store, PrivacySettings(), now, dry_run=True, tenants=settings.tenants)
    report = run_purge(store, PrivacySettings(), now, tenants=settings.tenants)
    assert dry.turns == report.turns == 3  # med-40, short-40, short-10
    kept = {c: len(store.transcript(c)) for c in (
        "med-40", "med-10", "shop-40", "short-10", "short-1")}
    assert kept == {"med-40": 0, "med-10": 1, "shop-40": 1, "short-10": 0, "short-1": 1}
    assert store.get_call("med-40") is not None  # the call record keeps calls_days


@pytest.mark.parametrize(("extra", "key", "message"), [
    ({"health_data": True, "notify": [{"kind": "webhook", "name": "crm",
                                       "url": "http://crm.example/hook", "secret": "x" * 32}]},
     "tenants.t.notify[0].url", "must be https://"),
    ({"recording": {"enabled": True}}, "tenants.t.recording.purpose", "required"),
    ({"recording": {"enabled": True, "purpose": "training", "retention_days": 200}},
     "tenants.t.recording.retention_days", "out of range"),
    ({"recording": {"enable": True}}, "tenants.t.recording.enable", "unknown setting"),
    ({"health_data": "yes"}, "tenants.t.health_data", "true or false"),
    ({"transcript_days": 0}, "tenants.t.transcript_days", "out of range"),
    ({"transfers": "USA"}, "tenants.t.transfers", "list"),
])
def test_bad_privacy_settings_name_the_key(extra: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_from_dict({"tenants": [tenant("t", **extra)]})
    assert caught.value.key == key


def test_privacy_settings_read_and_defaults() -> None:
    settings = settings_from_dict({"tenants": [
        tenant("t", health_data=True, privacy_contact="dpo@t.example",
               transfers=["CRM vendor, USA, SCC"],
               recording={"enabled": True, "purpose": "quality", "retention_days": 90},
               notify=[{"kind": "webhook", "name": "crm", "url": "https://crm.example/h",
                        "secret": "x" * 32}]),
        tenant("plain")]})
    med, plain = settings.tenants
    assert med.privacy.recording.enabled and med.privacy.recording.retention_days == 90
    assert med.privacy.transcripts_kept(90) == 30 and plain.privacy.transcripts_kept(90) == 90
    assert not plain.privacy.recording.enabled and plain.privacy.recording.retention_days == 183
    assert med.privacy.transfers == ("CRM vendor, USA, SCC",)
