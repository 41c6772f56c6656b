"""FreeSWITCH-only call paths, end to end through the emulator (no FreeSWITCH here):
a UDP port that cannot be bound, on our side or on FreeSWITCH's."""

from __future__ import annotations

import socket
from pathlib import Path

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import emulate_freeswitch_call

from conftest import Shared, make_settings, run, serving


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
