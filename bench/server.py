"""The server under test, in a process of its own, so its CPU and memory are measured
apart from the emulated PBX driving it (``python -m bench.server``; used by bench.ramp).

Real everything (FastAGI, AudioSocket, VAD, eSpeak NG processes, SQLite, builtin
dialogue) with each call's audio decoded for real by the Korean Vosk model while the
words handed to the dialogue come from the script given as JSON on the command line.
It prints one JSON line with its ports once serving, serves until its stdin closes, then
prints the server's own turn timings (one JSON line) and exits.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from agi.booking.sqlite import SqliteStore
from agi.server import PermanenceServer
from agi.speech.asr import VoskRecognizerFactory, korean_test_model_path
from bench.common import DecodedScript, DecodedScriptFactory, bench_settings


class ScriptPerCall(DecodedScriptFactory):
    """Call n hears script n (modulo), so calls say different names and dates."""

    def __init__(self, real: VoskRecognizerFactory, scripts: list[list[str]]) -> None:
        super().__init__(real, [])
        self._scripts, self._made = scripts, 0

    def new(self, language: str) -> DecodedScript:  # type: ignore[override]
        script = self._scripts[self._made % len(self._scripts)]
        self._made += 1
        return DecodedScript(self._real.new("ko"), list(script))


async def serve(scripts: list[list[str]]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="permanence-bench-"))
    settings = bench_settings(folder)
    vosk = VoskRecognizerFactory(replace(settings.speech, model_path=korean_test_model_path()))
    await asyncio.to_thread(vosk.model, "ko")  # loaded before calls, as `permanence serve` does
    server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                              recognizers=ScriptPerCall(vosk, scripts), health=False)
    await server.start()
    gc.freeze()  # as serve_forever does after start-up
    await server.warm_recognizers()  # serve_forever does it beside the first calls
    print(json.dumps({"agi_port": server.agi_port}), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    await server.stop()
    print(json.dumps({"turns": [asdict(t) for t in server.turns]}), flush=True)


def main() -> None:
    asyncio.run(serve(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
