"""The call summary from whole emulated calls (FastAGI + AudioSocket), delivered by e-mail
to the real SMTP receiver: a caller who states a request and hangs up in the middle of it
leaves exactly one summary with what was collected; a caller who hangs up during the
opening leaves none. Recogniser: the scripted double of conftest.py (no French Vosk model
can exist here); everything else is real.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.notify import OutboxWorker, targets_for
from agi.notify.email import EmailSender
from agi.pbx.emulator import CallerTurn, EmulatedCall, speak
from agi.privacy.crypto import Keyring, new_key_line
from agi.privacy.sealed import SealedStore
from agi.speech.audio import silence

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from notify_helpers import FAST, Clock, drain  # noqa: E402 - the path above
from receivers import SmtpReceiver  # noqa: E402

SCRIPT = ["bonjour je voudrais prendre rendez-vous", "jean dupont"]


def test_a_hang_up_mid_request_sends_one_summary_and_one_during_the_opening_none(
        tmp_path: Path, shared: Shared) -> None:
    smtp = SmtpReceiver()
    smtp.start()
    mail = {"kind": "email", "name": "desk", "to": ["desk@cabinet.example"],
            "from": "permanence@cabinet.example", "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port, "smtp_starttls": False}
    settings = make_settings(tmp_path, tenants=[{"notify": [mail]}],
                             summaries={"console_url": "https://accueil.cabinet.example"})
    keyring = Keyring.parse(new_key_line("k1"), "t")

    def sealed() -> SealedStore:
        return SealedStore(SqliteStore(settings.store.sqlite_path,
                                       targets_for=targets_for(settings)), keyring)

    store = sealed()
    # 1.5 s of silence after the name: the agent hears it and asks the date, then the
    # caller hangs up
    turns = [CallerTurn(speak(SCRIPT[0], voice="fr")),
             CallerTurn(speak(SCRIPT[1], voice="fr") + silence(1500))]

    async def scenario() -> list[EmulatedCall]:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(SCRIPT, SCRIPT),
                           now=lambda: datetime(2026, 11, 26, 10, tzinfo=ZoneInfo("Europe/Paris")),
                           store=store) as server:
            pbx = Pbx("asterisk")
            return list(await asyncio.gather(
                pbx.call(server, path="demo", turns=turns, hangup_after=2, max_duration=60),
                pbx.call(server, path="demo", hangup_after=0, max_duration=30)))

    try:
        mid, early = run(scenario())
        store = sealed()  # the server closed its own on stop
        assert store.get_call(early.uniqueid).outcome == "hangup_during_disclosure"
        [row] = [i for i in store.outbox() if i.kind == "call_summary"]
        assert row.payload["call_id"] == mid.uniqueid
        assert (row.payload["ending"], row.payload["asked"], row.payload["name"]) == \
            ("hangup_mid_request", "booking", "Jean Dupont")
        clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
        drain(OutboxWorker(store, settings, {"email": EmailSender(timeout=5)}, clock,
                           policy=FAST, rng=random.Random(2)), store, clock)
        [msg] = smtp.processed.values()
        body = msg.get_body(("plain",)).get_content()
        # the demo tenant keeps health data: no name, no words, the link to the call's page
        assert "Appel interrompu en cours de demande" in msg["Subject"]
        assert "Jean" not in body and "prendre rendez-vous" not in body
        assert f"https://accueil.cabinet.example/calls/{mid.uniqueid}" in body
        assert "Demande: prendre un rendez-vous" in body and "+33612345678" in body
    finally:
        smtp.stop()
        store.close()
