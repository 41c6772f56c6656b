"""FreeSWITCH-only call paths, end to end through the emulator (no FreeSWITCH here):
a UDP port that cannot be bound, on our side or on FreeSWITCH's; a 16 kHz leg. The
recogniser is the scripted double (no French Vosk model here, see conftest.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, emulate_freeswitch_call, is_speech, speak

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run, serving


def test_a_port_freeswitch_cannot_bind_hands_the_caller_to_the_fallback(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, freeswitch={"first_audio_timeout_s": 0.5})
    low = settings.freeswitch.media_port_min
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ours_taken, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as theirs_taken:
        ours_taken.bind(("127.0.0.1", low))  # our end of pair 1: skipped, pair 2 tried
        theirs_taken.bind(("127.0.0.1", low + 3))  # FreeSWITCH's end of pair 2: it fails silently

        async def scenario():
            async with serving(settings, shared, recognizers=None) as server:
                return await emulate_freeswitch_call("127.0.0.1", server.esl_port, tenant="demo",
                                                     max_duration=20)

        call = run(scenario())
    kinds = [e.kind for e in call.events]
    assert "unicast_bind_failed" in kinds and "unicast_start" not in kinds
    assert call.agent_frames == 0 and call.hung_up_by is None
    assert kinds[-1] == "dialplan_continues"  # the dialplan routes the caller to a human
    assert call.variables["PERMANENCE_RESULT"] == "error"
    record = SqliteStore(settings.store.sqlite_path).get_call(call.uniqueid)
    assert record is not None and record.ended_at is not None and record.outcome == "error"


def test_a_16_khz_leg_is_heard_and_answered_at_16_khz(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)

    async def scenario():
        factory = ScriptedRecognizerFactory(["je voudrais prendre rendez-vous"])
        async with serving(settings, shared, recognizers=factory) as server:
            return await emulate_freeswitch_call(
                "127.0.0.1", server.esl_port, tenant="demo", rate=16000, max_duration=40,
                turns=[CallerTurn(speak("je voudrais prendre rendez-vous"))], hangup_after=1)

    call = run(scenario())
    assert call.sample_rate == 16000
    assert {len(chunk) for chunk in call.agent_chunks} == {640}  # 20 ms at 16 kHz, every frame
    speech = [c for c in call.agent_chunks if is_speech(c)]
    assert len(speech) > 50
    # the agent's speech is band-limited 8 kHz audio resampled: energy, no aliasing above 4 kHz
    power = np.abs(np.fft.rfft(np.frombuffer(b"".join(speech), dtype="<i2").astype(float))) ** 2
    freqs = np.fft.rfftfreq(len(speech) * 320, 1 / 16000)
    assert power[freqs > 4200].sum() < 0.01 * power.sum()
    store = SqliteStore(settings.store.sqlite_path)
    said = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "caller"]
    assert said == ["je voudrais prendre rendez-vous"]  # the 16 kHz caller audio reached the VAD


def test_a_freeswitch_that_stops_answering_is_recorded_as_peer_timeout(tmp_path: Path, shared: Shared) -> None:
    """The same record as a silent Asterisk (tests/call/test_hostile_calls.py): a peer that
    gives the channel data, then answers nothing (from the first uuid_setvar on), is let go after
    the command timeout and the call says ``peer_timeout``. The peer is a raw socket
    speaking ESL by hand, since a well-behaved emulator never goes silent."""
    import asyncio

    from agi.protocols import esl

    settings = make_settings(tmp_path)
    uniqueid = "5f0c2d2e-silent-peer"

    async def silent_peer(port: int) -> tuple[list[str], float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        parser, seen = esl.EslCommandParser(), []
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            event = parser.next_event()
            if event is esl.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), 30)
                parser.receive_data(data)
                continue
            if isinstance(event, esl.ConnectionClosed):
                break
            seen.append(event.line)
            if event.line == "connect":
                writer.write(esl.encode_message({
                    "Content-Type": "command/reply", "Reply-Text": "+OK", "Unique-ID": uniqueid,
                    "Channel-Name": "sofia/internal/1", "Caller-Caller-ID-Number": "+33612345678",
                    "Caller-Destination-Number": "0140000000", "variable_permanence_tenant": "demo",
                    "Channel-Read-Codec-Rate": "8000"}))
            elif event.line in ("myevents", "linger 5") or event.line.startswith("linger"):
                writer.write(esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "+OK"}))
            # anything else: silence
        writer.close()
        return seen, loop.time() - started

    async def scenario():
        async with serving(settings, shared, recognizers=None) as server:
            seen, held = await silent_peer(server.esl_port)
            store = SqliteStore(settings.store.sqlite_path)
            for _ in range(100):  # the session writes its end after letting the peer go
                record = store.get_call(uniqueid)
                if record is not None and record.ended_at is not None:
                    break
                await asyncio.sleep(0.1)
            return seen, held

    seen, held = run(scenario())
    assert seen[:3] == ["connect", "myevents", "linger 5"] and len(seen) >= 4  # then unanswered
    assert held < 20  # let go after the command timeout, not held for the call's length
    record = SqliteStore(settings.store.sqlite_path).get_call(uniqueid)
    assert record is not None and record.ended_at is not None and record.outcome == "peer_timeout"
