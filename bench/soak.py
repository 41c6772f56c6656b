"""Memory over many calls: RSS after the first hundred short calls and after the last.

    make soak                               # or: .venv/bin/python -m bench.soak [--calls N]

A real Permanence server on loopback (FastAGI, AudioSocket, SQLite, builtin dialogue,
eSpeak NG) and a real Vosk recogniser per call (the small Korean test model: no French
one exists here). Each emulated call hangs up as soon as media starts, so every call
builds and releases what a call owns. Prints RSS (MiB) after the first 100 calls and
after the last, their ratio (within 10 % is flat), and the event-loop stall counter.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
from dataclasses import replace
from pathlib import Path

from agi.booking.sqlite import SqliteStore
from agi.config import load_settings
from agi.pbx.emulator import emulate_call
from agi.server import PermanenceServer
from agi.speech.asr import VoskRecognizerFactory, korean_test_model_path


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def soak(calls: int) -> tuple[float, float, dict[str, float | int]]:
    folder = Path(tempfile.mkdtemp(prefix="permanence-soak-"))
    settings = load_settings(environ={})
    settings = replace(
        settings,
        server=replace(settings.server, agi_port=0, audiosocket_port=0, health_port=0),
        store=replace(settings.store, sqlite_path=str(folder / "soak.sqlite3"),
                      spool_path=str(folder / "spool.sqlite3")),
        speech=replace(settings.speech, model_path=korean_test_model_path()),
        console=replace(settings.console, enabled=False))
    recognizers = VoskRecognizerFactory(settings.speech)
    server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                              recognizers=recognizers, health=False)
    await server.start()
    gc.freeze()  # as serve_forever does
    print(f"    0 calls  RSS {rss_mib():7.1f} MiB (server started)", flush=True)
    first = 0.0
    try:
        for n in range(1, calls + 1):
            await emulate_call("127.0.0.1", server.agi_port, path="demo", hangup_after=0,
                               max_duration=30)
            if n == min(100, calls):
                first = rss_mib()
            if n % 100 == 0:
                print(f"{n:5d} calls  RSS {rss_mib():7.1f} MiB  stalls {server.stalls.stalls}", flush=True)
        last = rss_mib()
    finally:
        await server.stop()
    return first, last, server.stalls.status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    first, last, stalls = asyncio.run(soak(args.calls))
    print(f"RSS after {min(100, args.calls)} calls: {first:.1f} MiB; after {args.calls}: {last:.1f} MiB "
          f"({(last / first - 1) * 100 if first else 0:+.1f} %)")
    print(f"event-loop stalls over 50 ms: {stalls['loop_stalls']} (worst {stalls['loop_worst_stall_ms']} ms)")
    return 0 if first and last <= first * 1.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
