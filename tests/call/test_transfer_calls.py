"""Transfers that come back, end to end on the Asterisk front: FastAGI + AudioSocket for
the caller, AMI for the second call, AudioSocket again for the target's leg.

The emulated Asterisk (agi.pbx.emulator) plays both sides: the caller, and the humans
behind each dial string (answering and pressing 1 after the summary, pressing 2, never
answering, busy). No real Asterisk can run here; the emulator speaks the real AMI and
AudioSocket protocols. No French Vosk model can exist here either: the recogniser is
:class:`conftest.ScriptedRecognizerFactory` (the caller only presses keys in these calls).
All the calls run at once against one server, to keep the suite short.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.config import Settings, settings_from_dict
from agi.errors import AmiLoginFailed
from agi.pbx.emulator import CallerTurn, EmulatedAmi, EmulatedCall, TransferTarget, emulate_call
from agi.server import PermanenceServer

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run, serving

MONDAY_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # staffed
USER, SECRET = "permanence", "f3c1b0e9a7d24c5e8b6a"
# tenant id -> (dial string, how the human there behaves)
TARGETS = {
    "answers": ("PJSIP/answers", TransferTarget(answer="answer", key="1")),
    "refuses": ("PJSIP/refuses", TransferTarget(answer="answer", key="2")),
    "busy": ("PJSIP/busy", TransferTarget(answer="busy")),
    "unanswered": ("PJSIP/unanswered", TransferTarget(answer="no_answer")),
}
RING_S = 10  # the shortest ring time the configuration accepts


def transfer_settings(tmp_path: Path, ami_port: int) -> Settings:
    """The embedded defaults plus one attended-transfer tenant per target behaviour."""
    base = make_settings(tmp_path)
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    demo = raw["tenants"][0]
    demo.update(privacy_notice="Vos données servent à gérer votre demande.", greeting="Bonjour.")
    for tenant_id, (target, _) in TARGETS.items():
        raw["tenants"].append({**demo, "id": tenant_id, "dids": [], "transfer_target": target,
                               "staffed": {"transfer": "attended", "ring_s": RING_S}})
    raw["server"].update(agi_port=0, audiosocket_port=0, health_port=0)
    raw["freeswitch"]["enabled"] = False
    raw["store"].update(sqlite_path=base.store.sqlite_path, spool_path=base.store.spool_path)
    raw["console"].update(enabled=False)
    raw["ami"] = {"enabled": True, "port": ami_port, "username": USER, "secret": SECRET}
    return settings_from_dict(raw, {})


def test_attended_transfers_answered_refused_busy_and_unanswered(tmp_path: Path, shared: Shared) -> None:
    async def scenario() -> tuple[dict[str, EmulatedCall], EmulatedAmi]:
        ami = EmulatedAmi(USER, SECRET, dict(TARGETS.values()))
        settings = transfer_settings(tmp_path, await ami.start())
        try:
            async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(),
                               now=lambda: MONDAY_MORNING) as server:
                calls = [emulate_call("127.0.0.1", server.agi_port, path=tenant, ami=ami,
                                      turns=[CallerTurn(b"", digits="0")], max_duration=38)
                         for tenant in TARGETS]
                return dict(zip(TARGETS, await asyncio.gather(*calls), strict=True)), ami
        finally:
            await ami.stop()

    calls, ami = run(scenario())
    store = SqliteStore(str(tmp_path / "calls.sqlite3"))
    legs = {leg.target: leg for leg in ami.legs}
    # answered: the human heard the summary, pressed 1, and was bridged with the caller
    answered = calls["answers"]
    assert legs["PJSIP/answers"].speech_frames > 50 and legs["PJSIP/answers"].key_sent == "1"
    assert legs["PJSIP/answers"].bridged and answered.bridged
    assert store.get_call(answered.uniqueid).outcome == "transfer"
    assert store.leads("answers") == []
    summary = [t.text for t in store.transcript(answered.uniqueid) if "transfer target" in t.text]
    assert len(summary) == 1 and "Tapez 1" in summary[0]
    # refused, busy, unanswered: the caller is back, told why, and a call-back request is kept
    why = {"refuses": ("refused", "Personne ne peut vous répondre"),
           "busy": ("busy", "La ligne de notre équipe est occupée"),
           "unanswered": ("no_answer", "Personne n'a pu répondre")}
    for tenant, (reason, heard) in why.items():
        call = calls[tenant]
        assert not call.bridged
        record = store.get_call(call.uniqueid)
        assert record.outcome == f"transfer_{reason}", tenant
        [lead] = store.leads(tenant)
        assert lead.kind == "callback_request" and lead.call_id == call.uniqueid
        assert lead.details["reason"] == reason and lead.details["transfer"] == "attended"
        said = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "agent"]
        assert any(heard in t for t in said), (tenant, said)
        assert any("demande de rappel" in t for t in said)
        assert any("nom" in t for t in said)  # the message form goes on with what it knows
        assert "PERMANENCE_TRANSFER" not in call.variables  # never handed to the dialplan
    assert legs["PJSIP/refuses"].key_sent == "2" and not legs["PJSIP/refuses"].bridged
    assert legs["PJSIP/busy"].outcome == "busy" and legs["PJSIP/unanswered"].outcome == "no_answer"
    # the AMI saw a login with our credentials, and Originate/Bridge/Hangup as expected
    assert ami.logins == [(USER, True)]
    actions = [e.detail for e in ami.events if e.kind == "ami_action"]
    assert actions.count("Originate") == 4 and actions.count("Bridge") == 1


@pytest.mark.parametrize("secret", ["wrong-secret-0123456789"])
def test_wrong_ami_credentials_stop_the_start_up_with_a_clear_error(
        tmp_path: Path, shared: Shared, secret: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[str, list[tuple[str, bool]]]:
        ami = EmulatedAmi(USER, secret)
        port = await ami.start()
        settings = transfer_settings(tmp_path, port)  # our secret is not the AMI's
        server = PermanenceServer(settings, dialogue=shared.engine, synthesizer=shared.synthesizer,
                                  recognizers=ScriptedRecognizerFactory(), health=False)
        try:
            with pytest.raises(AmiLoginFailed) as caught:
                await server.start()
            return str(caught.value), ami.logins
        finally:
            await ami.stop()

    with caplog.at_level(logging.INFO):
        message, logins = run(scenario())
    assert "refused the login of 'permanence'" in message and "ami.secret" in message
    assert logins == [(USER, False)]


def test_an_unreachable_ami_is_a_clear_start_up_error(tmp_path: Path, shared: Shared) -> None:
    async def scenario() -> str:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()  # nothing listens there now
        server = PermanenceServer(transfer_settings(tmp_path, port), dialogue=shared.engine,
                                  synthesizer=shared.synthesizer, health=False,
                                  recognizers=ScriptedRecognizerFactory())
        with pytest.raises(AmiLoginFailed) as caught:
            await server.start()
        return str(caught.value)

    assert "unreachable" in run(scenario())
