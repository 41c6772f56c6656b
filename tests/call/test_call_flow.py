"""Whole calls over TCP through the PBX emulator: media both ways, disclosure first,
records kept, bad input survived. Real Vosk (Korean model), real eSpeak NG, real VAD."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.dialogue import phrases
from agi.pbx.emulator import CallerTurn, emulate_call, is_speech, speak
from agi.speech.asr import VoskRecognizerFactory, korean_test_model_path
from agi.speech.audio import FRAME_BYTES, split_frames

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

# A Monday morning: the demo practice is staffed (transfers happen only in staffed hours).
STAFFED = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


def speech_frames(pcm: bytes) -> list[bytes]:
    return [f for f in split_frames(pcm) if len(f) == FRAME_BYTES and is_speech(f)]


def test_full_call_with_real_korean_vosk_is_heard_answered_and_recorded(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, speech={"model_path": korean_test_model_path()})
    caller_words = speak("안녕하세요 예약하고 싶어요", voice="ko")

    async def scenario():
        recognizers = VoskRecognizerFactory(settings.speech)
        async with serving(settings, shared, recognizers=recognizers) as server:
            call = await pbx.call(server, path="demo",
                                      turns=[CallerTurn(caller_words), CallerTurn(caller_words)],
                                      hangup_after=2, max_duration=90)
            return call, SqliteStore(settings.store.sqlite_path)

    call, store = run(scenario())
    # frames flowed both ways, and the agent kept sending (silence while thinking)
    assert call.caller_frames > 100 and call.agent_frames > call.agent_speech_frames > 50
    agent_frames = list(split_frames(call.agent_audio))
    assert len(agent_frames) - len(speech_frames(call.agent_audio)) > 25
    assert all(len(f) == FRAME_BYTES for f in agent_frames)
    # the first agent audio is the AI statement, exactly as synthesised
    tenant = store_tenant = make_settings(tmp_path).tenant("demo")
    statement = shared.synthesizer.synthesize(phrases.ai_statement(store_tenant), tenant.language)
    first = call.agent_audio.lstrip(b"\0")[:len(statement) // 2]
    assert first and statement.lstrip(b"\0").startswith(first[: len(first) // FRAME_BYTES * FRAME_BYTES // 2])
    # the call is recorded, with the caller's number in E.164 and the Korean words heard
    record = store.get_call(call.uniqueid)
    assert record is not None and record.ended_at is not None
    assert record.caller == "+33612345678" and record.tenant_id == "demo"
    caller_turns = [t for t in store.transcript(call.uniqueid) if t.speaker == "caller"]
    assert caller_turns and all(t.text.strip() for t in caller_turns)
    assert call.variables["PERMANENCE_CALL_ID"] == call.uniqueid


def test_unknown_tenant_hears_an_apology_and_the_server_keeps_serving(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)

    async def scenario():
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory()) as server:
            lost = await pbx.call(server, path="no-such-business",
                                      dnid="0999999999", max_duration=60)
            known = await pbx.call(server, path="demo", hangup_after=0,
                                       max_duration=30)
            return lost, known, SqliteStore(settings.store.sqlite_path)

    lost, known, store = run(scenario())
    assert lost.hung_up_by == "agent" and lost.agent_speech_frames > 50
    assert store.get_call(lost.uniqueid).outcome == "unknown_tenant"
    assert store.get_call(known.uniqueid) is not None


def test_unknown_tenant_goes_to_the_configured_fallback(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, server={"unknown_tenant_extension": "operator,s,1"})

    async def scenario():
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory()) as server:
            return await pbx.call(server, path="nope", dnid="1",
                                      max_duration=30)

    call = run(scenario())
    assert call.variables["PERMANENCE_RESULT"] == "fallback"
    assert call.variables["PERMANENCE_FALLBACK"] == "operator,s,1"
    assert call.hung_up_by is None  # control went back to the dialplan


def test_without_a_speech_model_the_caller_is_handed_to_a_human(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    settings = make_settings(tmp_path, speech={"model_path": str(empty)})

    async def scenario():
        # recognizers=None: the server loads Vosk itself, from a directory with no model
        async with serving(settings, shared, recognizers=None, now=lambda: STAFFED) as server:
            call = await pbx.call(server, path="demo", max_duration=60)
            return call, SqliteStore(settings.store.sqlite_path), server.status()

    call, store, status = run(scenario())
    assert call.variables["PERMANENCE_RESULT"] == "transfer"
    assert call.variables["PERMANENCE_TRANSFER"] == "PJSIP/secretariat"
    assert call.variables["PERMANENCE_OUTCOME"] == "error"
    assert call.agent_speech_frames > 100  # AI statement, notice, then the hand-over phrase
    assert store.get_call(call.uniqueid).outcome == "error"
    assert status["status"] == "degraded" and "speech.model_path" in status["problems"][0]


def test_malformed_agi_environment_is_logged_and_other_calls_go_on(
        tmp_path: Path, shared: Shared, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path)

    async def scenario():
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory()) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.agi_port)
            writer.write(b"agi_network: yes\nthis is not an agi line\n\n")
            await writer.drain()
            closed = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            call = await emulate_call("127.0.0.1", server.agi_port, path="demo", hangup_after=0,
                                      max_duration=30)
            return closed, call, SqliteStore(settings.store.sqlite_path)

    with caplog.at_level(logging.INFO):
        closed, call, store = run(scenario())
    assert closed == b""  # the server closed the bad session without answering
    assert any("environment" in r.getMessage().lower() for r in caplog.records)
    assert store.get_call(call.uniqueid) is not None


def test_dtmf_0_hands_the_caller_to_a_human(pbx: Pbx, tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)

    async def scenario():
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory([]),
                           now=lambda: STAFFED) as server:
            return await pbx.call(server, path="demo", turns=[CallerTurn(b"", digits="0")], max_duration=60)

    call = run(scenario())
    assert "dtmf" in [e.kind for e in call.events]
    assert call.variables["PERMANENCE_RESULT"] == "transfer"
    assert call.variables["PERMANENCE_TRANSFER"] == settings.tenant("demo").transfer_target
    assert call.hung_up_by is None  # the dialplan goes on to the transfer
    record = SqliteStore(settings.store.sqlite_path).get_call(call.uniqueid)
    assert record is not None and record.outcome == "transfer" and record.ended_at is not None
