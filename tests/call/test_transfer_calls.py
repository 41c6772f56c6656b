"""Transfers that come back, end to end on the Asterisk front: FastAGI + AudioSocket for
the caller, AMI for the second call, AudioSocket again for the target's leg.

The emulated Asterisk (agi.pbx.emulator) plays both sides: the callers, and the humans
behind each dial string (answering and pressing 1 after the summary, pressing 2, never
answering, busy). No real Asterisk can run here; the emulator speaks the real AMI and
AudioSocket protocols. No French Vosk model can exist here either: the recogniser is
:class:`conftest.ScriptedRecognizerFactory` (scripted words when real caller audio, spoken
by eSpeak NG, reaches the end of a turn). An after-hours call (staffed hours exclude
Monday morning for its tenant) runs beside them: it never offers a transfer and ends with
a message. All the calls run at once against one server, to keep the suite short.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.config import Settings, settings_from_dict
from agi.errors import AmiLoginFailed
from agi.pbx.emulator import (
    CallerTurn,
    EmulatedAmi,
    EmulatedCall,
    TargetLeg,
    TransferTarget,
    emulate_call,
    emulate_freeswitch_call,
    speak,
)
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
# FreeSWITCH calls beside them, over ESL: originate into our socket (the target's own
# outbound-ESL leg and unicast media, for the summary and its key), uuid_bridge, uuid_kill
FS_TENANTS = ("answers", "refuses", "busy", "unanswered")


def transfer_settings(tmp_path: Path, ami_port: int, extra: dict[str, dict[str, Any]] | None = None) -> Settings:
    """The embedded defaults plus one attended-transfer tenant per target behaviour (and
    ``extra`` tenants: id -> keys over the demo tenant's)."""
    base = make_settings(tmp_path)
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    demo = raw["tenants"][0]
    demo.update(privacy_notice="Vos données servent à gérer votre demande.", greeting="Bonjour.")
    for tenant_id, (target, _) in TARGETS.items():
        raw["tenants"].append({**demo, "id": tenant_id, "dids": [], "transfer_target": target,
                               "staffed": {"transfer": "attended", "ring_s": RING_S}})
    for tenant_id, keys in (extra or {}).items():
        raw["tenants"].append({**demo, "id": tenant_id, "dids": [], **keys})
    raw["server"].update(agi_port=0, audiosocket_port=0, health_port=0)
    raw["freeswitch"] = {**dataclasses.asdict(base.freeswitch), "esl_transfers": True}
    raw["store"].update(sqlite_path=base.store.sqlite_path, spool_path=base.store.spool_path)
    raw["console"].update(enabled=False)
    raw["ami"] = {"enabled": True, "port": ami_port, "username": USER, "secret": SECRET}
    return settings_from_dict(raw, {})


AFTER_HOURS = "closed"  # a tenant staffed on Saturdays only: Monday morning is after hours
EMERGENCY = "En cas d'urgence, composez le 15."
# The caller who is never answered gives their name while it rings: nobody answers it
# then, and it is kept (the transcript, the call-back request). Its script is SPOKEN too.
RINGING = {"unanswered": [CallerTurn(speak("jean dupont", voice="fr"))]}
SPOKEN = ["jean dupont", "c'est urgent, mon fils a beaucoup de fièvre, rappelez-moi", "oui", "non merci"]  # "oui": the message read back


@dataclass
class Office:
    """Five calls placed at once on Monday morning, and what the PBX and store kept."""

    calls: dict[str, EmulatedCall]  # tenant id -> the Asterisk call; "fs-<tenant id>": FreeSWITCH's
    ami: EmulatedAmi
    store: SqliteStore

    def lead(self, name: str) -> Any:
        call = self.calls[name]
        return [lead for lead in self.store.leads(name.removeprefix("fs-")) if lead.call_id == call.uniqueid]

    def leg(self, target: str) -> TargetLeg:
        [leg] = [leg for leg in self.ami.legs if leg.target == target]
        return leg

    def agent_said(self, tenant: str) -> list[str]:  # tenant: a key of ``calls``
        return [t.text for t in self.store.transcript(self.calls[tenant].uniqueid) if t.speaker == "agent"]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, shared: Shared) -> Office:
    tmp_path = tmp_path_factory.mktemp("office")
    closed = {"staffed": {"hours": {"sat": ["09:00-12:00"]}, "emergency": EMERGENCY},
              "transfer_target": "PJSIP/answers"}

    async def scenario() -> tuple[dict[str, EmulatedCall], EmulatedAmi]:
        ami = EmulatedAmi(USER, SECRET, dict(TARGETS.values()))
        settings = transfer_settings(tmp_path, await ami.start(), {AFTER_HOURS: closed})
        # Only the after-hours caller speaks; the others press 0 and never say a word. Every
        # call gets the script: which call asks for its recogniser first is a race.
        recognizers = ScriptedRecognizerFactory(*[SPOKEN] * (len(TARGETS) + 1 + len(FS_TENANTS)))
        after_hours = [CallerTurn(b"", digits="0"), *(CallerTurn(speak(t, voice="fr")) for t in SPOKEN)]
        try:
            async with serving(settings, shared, recognizers=recognizers,
                               now=lambda: MONDAY_MORNING) as server:
                calls = [emulate_call("127.0.0.1", server.agi_port, path=tenant, ami=ami,
                                      turns=[CallerTurn(b"", digits="0"), *RINGING.get(tenant, ())],
                                      max_duration=38)
                         for tenant in TARGETS]
                calls.append(emulate_call("127.0.0.1", server.agi_port, path=AFTER_HOURS, ami=ami,
                                          turns=after_hours, max_duration=90))
                calls += [emulate_freeswitch_call("127.0.0.1", server.esl_port, tenant=tenant,
                                                  targets=dict(TARGETS.values()),
                                                  turns=[CallerTurn(b"", digits="0")], max_duration=38)
                          for tenant in FS_TENANTS]
                names = [*TARGETS, AFTER_HOURS, *(f"fs-{t}" for t in FS_TENANTS)]
                return dict(zip(names, await asyncio.gather(*calls), strict=True)), ami
        finally:
            await ami.stop()

    calls, ami = run(scenario())
    return Office(calls, ami, SqliteStore(str(tmp_path / "calls.sqlite3")))


def test_an_attended_transfer_answered_connects_the_caller_after_the_summary(office: Office) -> None:
    leg, call = office.leg("PJSIP/answers"), office.calls["answers"]
    assert leg.speech_frames > 50 and leg.key_sent == "1"  # the human heard who and why, pressed 1
    assert leg.bridged and call.bridged
    assert office.store.get_call(call.uniqueid).outcome == "transfer"
    assert office.lead("answers") == []
    summary = [t for t in office.agent_said("answers") if "transfer target" in t]
    assert len(summary) == 1 and "Tapez 1" in summary[0] and "zéro six" in summary[0]


@pytest.mark.parametrize(("tenant", "reason", "heard"), [
    ("refuses", "refused", "Personne ne peut vous répondre"),
    ("busy", "busy", "La ligne de notre équipe est occupée"),
    ("unanswered", "no_answer", "Personne n'a pu répondre"),
])
def test_a_transfer_refused_busy_or_unanswered_comes_back_with_a_call_back_request(
        office: Office, tenant: str, reason: str, heard: str) -> None:
    call = office.calls[tenant]
    assert not call.bridged
    assert office.store.get_call(call.uniqueid).outcome == f"transfer_{reason}"
    [lead] = office.lead(tenant)  # kept at once: nothing is lost if the caller hangs up
    assert lead.kind == "callback_request" and lead.call_id == call.uniqueid
    assert lead.caller == "+33612345678"
    assert lead.details["reason"] == reason and lead.details["transfer"] == "attended"
    said = office.agent_said(tenant)
    assert any(heard in t for t in said) and any("demande de rappel" in t for t in said)
    assert any("nom" in t for t in said)  # the message form goes on with what it knows
    assert "PERMANENCE_TRANSFER" not in call.variables  # never handed to the dialplan
    target = office.leg(TARGETS[tenant][0])
    assert target.outcome == {"refused": "answered", "busy": "busy", "no_answer": "no_answer"}[reason]
    assert not target.bridged and target.key_sent == ("2" if reason == "refused" else "")


def test_words_said_while_the_transfer_rang_are_kept_and_not_answered(office: Office) -> None:
    call = office.calls["unanswered"]
    [lead] = office.lead("unanswered")
    assert lead.details["said_while_ringing"] == ["jean dupont"]
    transcript = [(t.speaker, t.text) for t in office.store.transcript(call.uniqueid)]
    heard = transcript.index(("caller", "jean dupont"))
    came_back = next(i for i, (who, text) in enumerate(transcript)
                     if who == "agent" and "Personne n'a pu répondre" in text)
    assert heard < came_back  # kept when the caller came back, before being told why
    # answered by nobody: the message form still asks the name it was not given
    assert any("nom" in text for who, text in transcript[came_back:] if who == "agent")
    for tenant in ("refuses", "busy"):  # who said nothing while it rang
        [other] = office.lead(tenant)
        assert other.details["said_while_ringing"] == []


def test_the_ami_saw_one_login_four_originates_and_one_bridge(office: Office) -> None:
    assert office.ami.logins == [(USER, True)]
    actions = [e.detail for e in office.ami.events if e.kind == "ami_action"]
    assert actions.count("Login") == 1 and actions.count("Originate") == 4
    assert actions.count("Bridge") == 1 and actions.count("Hangup") == 1  # the refusing human


def test_after_hours_the_0_key_takes_a_message_and_never_a_transfer(office: Office) -> None:
    call = office.calls[AFTER_HOURS]
    said = office.agent_said(AFTER_HOURS)
    assert not any("transf" in t.lower() or "collaborateur" in t.lower() for t in said)
    assert any("Notre équipe répond au téléphone le samedi de 9 heures à midi" in t for t in said)
    assert said.count(EMERGENCY) == 1  # "c'est urgent ... fièvre": once, before the answer
    [message] = office.store.messages(AFTER_HOURS)
    assert message.call_id == call.uniqueid and message.name == "Jean Dupont"
    assert "fièvre" in message.text
    assert office.store.get_call(call.uniqueid).outcome == "message"
    assert call.variables["PERMANENCE_RESULT"] == "hangup" and "PERMANENCE_TRANSFER" not in call.variables
    assert [leg.target for leg in office.ami.legs].count("PJSIP/answers") == 1  # never rung for it


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


def test_on_freeswitch_an_attended_transfer_answered_is_bridged_after_the_summary(office: Office) -> None:
    call = office.calls["fs-answers"]
    [leg] = call.legs
    assert leg.target == "PJSIP/answers" and leg.bridged and call.bridged
    assert leg.speech_frames > 50 and leg.key_sent == "1"  # heard who and why over its own unicast
    assert office.store.get_call(call.uniqueid).outcome == "transfer"
    assert office.lead("fs-answers") == []
    summary = [t for t in office.agent_said("fs-answers") if "transfer target" in t]
    assert len(summary) == 1 and "Tapez 1" in summary[0]
    commands = [e.detail for e in call.events if e.kind == "esl_command"]
    [originate] = [c for c in commands if c.startswith("api originate {origination_uuid=")]
    assert "originate_timeout=10" in originate and ",permanence_leg=" in originate
    assert originate.endswith(" async full)'") and "'&socket(127.0.0.1:" in originate
    assert any(c.startswith(f"api uuid_bridge {call.uniqueid} {leg.uniqueid}") for c in commands)
    # the target's own ESL session: connect, myevents, linger, unicast, then we let go
    target = [e.detail.split(" ")[0] for e in call.events if e.kind == "target_esl_command"]
    assert target[:3] == ["connect", "myevents", "linger"] and "sendmsg" in target
    assert not leg.hung_up and not leg.dropped


@pytest.mark.parametrize(("tenant", "reason", "heard"), [
    ("refuses", "refused", "Personne ne peut vous répondre"),
    ("busy", "busy", "La ligne de notre équipe est occupée"),
    ("unanswered", "no_answer", "Personne n'a pu répondre"),
])
def test_on_freeswitch_a_transfer_refused_busy_or_unanswered_comes_back(
        office: Office, tenant: str, reason: str, heard: str) -> None:
    call = office.calls[f"fs-{tenant}"]
    [leg] = call.legs
    assert not call.bridged and not leg.bridged
    assert leg.outcome == {"refused": "answered", "busy": "busy", "no_answer": "no_answer"}[reason]
    assert office.store.get_call(call.uniqueid).outcome == f"transfer_{reason}"
    [lead] = office.lead(f"fs-{tenant}")
    assert lead.kind == "callback_request" and lead.details["reason"] == reason
    assert lead.details["transfer"] == "attended"
    said = office.agent_said(f"fs-{tenant}")
    assert any(heard in t for t in said) and any("demande de rappel" in t for t in said)
    assert "PERMANENCE_TRANSFER" not in call.variables
    if reason == "refused":  # heard the summary, pressed 2: its leg is killed, the caller stays
        assert leg.speech_frames > 50 and leg.key_sent == "2" and leg.dropped and leg.hung_up
        commands = [e.detail for e in call.events if e.kind == "esl_command"]
        assert any(c == f"api uuid_kill {leg.uniqueid}" for c in commands)
