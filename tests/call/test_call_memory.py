"""What a call owns is released when it ends, by reference counting (the collector is
off here), and the event loop never stalls past the monitor's threshold meanwhile.

The recogniser is the scripted one (no French model exists here); the release path is
the same one that frees Vosk's native recogniser in the call's ASR thread."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from agi.call.media import MediaSession
from agi.call.session import CallSession
from agi.loopwatch import StallMonitor
from agi.pbx.emulator import emulate_call
from agi.speech.asr import Recognizer

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run, serving

CALLS = 30


class TrackedFactory(ScriptedRecognizerFactory):
    def __init__(self) -> None:
        super().__init__()
        self.made: list[weakref.ref[Recognizer]] = []

    def new(self, language: str) -> Recognizer:
        recognizer = super().new(language)
        self.made.append(weakref.ref(recognizer))
        return recognizer


def alive(kind: type) -> int:
    return sum(isinstance(o, kind) for o in gc.get_objects())


def test_calls_release_recognisers_and_sessions(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)
    factory = TrackedFactory()
    monitor = StallMonitor(threshold=0.05, interval=0.02)

    async def scenario() -> None:
        stop = asyncio.Event()
        async with serving(settings, shared, recognizers=factory) as server:
            watch = asyncio.create_task(monitor.run_forever(stop))  # start-up is not a call
            for _ in range(CALLS):
                await emulate_call("127.0.0.1", server.agi_port, path="demo", hangup_after=0,
                                   max_duration=30)
            while server.services.active_calls:
                await asyncio.sleep(0.05)
        stop.set()
        await watch

    gc.collect()
    gc.disable()
    try:
        before = alive(CallSession), alive(MediaSession)
        run(scenario())
        assert len(factory.made) == CALLS
        assert [ref for ref in factory.made if ref() is not None] == []
        assert (alive(CallSession), alive(MediaSession)) == before
    finally:
        gc.enable()
    assert monitor.stalls == 0


def test_stall_monitor_counts_only_stalls_of_the_loop_itself() -> None:
    monitor = StallMonitor(threshold=0.05)
    monitor.observe(0.2, 0.01)  # late because another process had the CPU: not ours
    monitor.observe(0.02, 0.09)  # busy but on time
    monitor.observe(0.3, 0.3)  # a collection or a parser held the loop
    assert monitor.stalls == 1 and monitor.status() == {"loop_stalls": 1, "loop_worst_stall_ms": 300.0}


def test_a_blocked_loop_is_counted() -> None:
    import time

    monitor = StallMonitor(threshold=0.05, interval=0.01)

    async def scenario() -> None:
        stop = asyncio.Event()
        watch = asyncio.create_task(monitor.run_forever(stop))
        await asyncio.sleep(0.03)
        end = time.thread_time() + 0.2
        while time.thread_time() < end:  # CPU work on the loop, as a GC pause would be
            pass
        await asyncio.sleep(0.03)
        stop.set()
        await watch

    run(scenario())
    assert monitor.stalls == 1
