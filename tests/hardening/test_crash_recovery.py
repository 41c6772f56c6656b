"""A real ``permanence serve`` killed with SIGKILL mid-call: after a restart the call's
record is closed as ``interrupted`` and keeps everything written before the kill."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import emulate_call
from agi.speech.asr import korean_test_model_path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    ports = {name: free_port() for name in ("agi", "audiosocket", "health", "console")}
    config = tmp_path / "permanence.toml"
    # The embedded defaults (both tenants) with this test's ports and files. No French
    # model exists here: the small Korean one hears, so the call waits for speech.
    values = {"agi_port": ports["agi"], "audiosocket_port": ports["audiosocket"],
              "health_port": ports["health"], "port": ports["console"],
              "model_path": f'"{korean_test_model_path()}"',
              "sqlite_path": f'"{tmp_path / "calls.sqlite3"}"',
              "spool_path": f'"{tmp_path / "spool.sqlite3"}"',
              "secret_path": f'"{tmp_path / "console.key"}"'}
    text = (REPO / "agi" / "defaults.toml").read_text("utf-8")
    for key, value in values.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
    config.write_text(text, encoding="utf-8")
    return config, ports


def serve(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PERMANENCE_CONFIG": str(config)}
    return subprocess.Popen([sys.executable, "-m", "agi.cli", "serve"], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, patience_s: float = 180) -> None:
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"permanence serve exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"permanence serve not healthy in {patience_s} s: {log.read_text()[-2000:]}")


def test_sigkill_mid_call_then_restart_closes_the_call_as_interrupted(tmp_path: Path) -> None:
    config, ports = write_config(tmp_path)
    log = tmp_path / "serve.log"
    proc = serve(config, log)
    try:
        wait_healthy(ports["health"], proc, log)
        store = SqliteStore(tmp_path / "calls.sqlite3")

        async def call_then_kill() -> str:
            # the caller stays silent; the server greets and listens
            task = asyncio.create_task(emulate_call("127.0.0.1", ports["agi"], path="demo",
                                                    max_duration=60))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                calls = await asyncio.to_thread(store.list_calls)
                if calls and await asyncio.to_thread(store.transcript, calls[0].call_id):
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"no call with a turn was recorded: {log.read_text()[-2000:]}")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            await task
            return calls[0].call_id

        call_id = asyncio.run(call_then_kill())
        before = store.transcript(call_id)
        assert store.get_call(call_id).ended_at is None  # the kill left it open
        store.close()
        proc = serve(config, log)
        wait_healthy(ports["health"], proc, log)
        store = SqliteStore(tmp_path / "calls.sqlite3")
        record = store.get_call(call_id)
        assert record is not None and record.outcome == "interrupted" and record.ended_at is not None
        assert store.transcript(call_id)[:len(before)] == before
        store.close()
    finally:
        proc.kill()
        proc.wait(10)


def test_recovery_replays_the_spool_before_closing_open_calls(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agi.booking.recovery import recover
    from agi.booking.spool import Spool
    from agi.booking.store import CallRecord

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    store = SqliteStore(tmp_path / "calls.sqlite3")
    spool = Spool(tmp_path / "spool.sqlite3")
    store.start_call(CallRecord("done", "demo", "", now))
    store.end_call("done", now, "booked")
    store.start_call(CallRecord("open", "demo", "", now))
    # a call the crashed process had spooled during an outage, without its end
    spool.append("start_call", (CallRecord("spooled", "demo", "", now),), key="spooled")
    spool.append("add_turn", ("spooled", "caller", "bonjour", now), key="spooled")
    assert sorted(recover(store, spool, now, close_open=True)) == ["open", "spooled"]
    assert store.get_call("done").outcome == "booked"
    assert store.get_call("spooled").outcome == "interrupted"
    assert [t.text for t in store.transcript("spooled")] == ["bonjour"]
    assert spool.pending() == 0
