"""Whole calls against hostile or stuck PBX peers (issue #9): a peer that stops answering
is closed after the configured timeouts and its call recorded, never left active; the
call cap refuses before any command; a CR in the unique id and a Latin-1 caller name
still give an answered, recorded call."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import emulate_call

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run, serving

ENV = (b"agi_network: yes\nagi_network_script: demo\nagi_request: agi://127.0.0.1/demo\n"
       b"agi_channel: PJSIP/1-0001\nagi_uniqueid: %s\nagi_callerid: +33612345678\n"
       b"agi_calleridname: %s\nagi_dnid: 0140000000\n\n")


async def stuck_asterisk(port: int, uniqueid: bytes, answer_until: bytes | None) -> list[bytes]:
    """Answers every command until one starting with ``answer_until``, then goes silent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV % (uniqueid, b"Jean"))
    seen = []
    silent = answer_until is None
    while line := await reader.readline():
        seen.append(line)
        if answer_until is not None and line.startswith(answer_until):
            silent = True  # from here on
        if not silent:
            writer.write(b"200 result=1\n")
    writer.close()
    return seen


def test_silent_peers_are_closed_and_recorded_as_peer_timeout(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, limits={"agi_command_timeout_s": 0.3})

    async def scenario() -> tuple[list[bytes], list[bytes], int]:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory([])) as server:
            silent = await asyncio.wait_for(stuck_asterisk(server.agi_port, b"silent.1", None), 30)
            after_exec = await asyncio.wait_for(stuck_asterisk(server.agi_port, b"exec.1", b"EXEC"), 60)
            return silent, after_exec, len(server.services.active_calls)

    silent, after_exec, active = run(scenario())
    assert active == 0
    assert any(line.startswith(b"EXEC AudioSocket") for line in after_exec)
    store = SqliteStore(settings.store.sqlite_path)
    first = store.get_call("silent.1")
    assert first is not None and first.ended_at is not None and first.outcome == "peer_timeout"
    second = store.get_call("exec.1")
    assert second is not None and second.ended_at is not None


def test_calls_over_the_cap_get_no_command(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, limits={"max_calls": 1, "agi_command_timeout_s": 5})

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory([])) as server:
            first = asyncio.create_task(stuck_asterisk(server.agi_port, b"first.1", b"EXEC"))
            while not server.services.active_calls:
                await asyncio.sleep(0.02)
            second = await asyncio.wait_for(stuck_asterisk(server.agi_port, b"second.1", None), 10)
            first_lines = await asyncio.wait_for(first, 60)
            return first_lines, second

    first, second = run(scenario())
    assert second == []  # closed before any command: the dialplan's fallback takes it
    assert first and SqliteStore(settings.store.sqlite_path).get_call("second.1") is None


def test_cr_in_unique_id_and_latin1_name_still_give_a_recorded_call(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)

    async def scenario() -> list[bytes]:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory([])) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.agi_port)
            writer.write(ENV % (b"17\r00.5", b"H\xe9l\xe8ne"))
            seen = []
            while line := await asyncio.wait_for(reader.readline(), 60):
                seen.append(line)
                if line.startswith(b"EXEC"):
                    writer.write(b"200 result=-1\n")  # no media: the call goes back to the dialplan
                else:
                    writer.write(b"200 result=1\n")
            writer.close()
            return seen

    seen = run(scenario())
    assert b"ANSWER\n" in seen
    calls = SqliteStore(settings.store.sqlite_path).list_calls()
    assert [c.call_id for c in calls] == ["17\ufffd00.5"] and calls[0].ended_at is not None


def test_an_emulated_call_still_succeeds_after_them(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path, limits={"agi_command_timeout_s": 0.3})

    async def scenario() -> object:
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(["au revoir"])) as server:
            await asyncio.wait_for(stuck_asterisk(server.agi_port, b"silent.2", None), 30)
            return await emulate_call("127.0.0.1", server.agi_port, path="demo", max_duration=60)

    call = run(scenario())
    assert call.uniqueid and SqliteStore(settings.store.sqlite_path).get_call(call.uniqueid) is not None
