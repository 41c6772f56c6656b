"""``make bench``: every registered bench run in turn, or the ones named.

    python -m bench                 # all runs, in the order below
    python -m bench ramp --levels 1,2,4
    python -m bench call --lang en

A run is a module of this package with ``main(argv)``; add yours to RUNS (name, module,
one line) and to DEFAULT, and it is part of ``make bench``.
"""

from __future__ import annotations

import importlib
import sys

RUNS: list[tuple[str, str, str]] = [
    ("call", "bench.scripted", "one scripted call per PBX front: voice-to-voice per turn, by stage"),
    ("ramp", "bench.ramp", "concurrency ramp: v2v p50/p95, late frames, CPU and memory per call"),
    ("raw", "bench.raw", "raw Vosk decoding capacity on the same audio (continuous streams)"),
    ("latency", "bench.latency", "hesitant callers: voice-to-voice p50/p95 by stage, premature end-of-turn rate"),
    ("vad", "bench.vad", "WebRTC VAD against Silero VAD on synthetic line noise"),
]
# What `make bench` runs: (a) hesitant callers, the per-front call, (b) the ramp, which
# prints (c) the raw capacity too, for its ratio.
DEFAULT = ["latency", "call", "ramp"]


def main(argv: list[str]) -> None:
    names = [name for name, _, _ in RUNS]
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, _, line in RUNS:
            print(f"  {name:<8} {line}")
        return
    if argv and argv[0] in names:
        module = dict((n, m) for n, m, _ in RUNS)[argv[0]]
        importlib.import_module(module).main(argv[1:])
        return
    if argv:
        raise SystemExit(f"unknown bench run {argv[0]!r}; known: {', '.join(names)}")
    for name, module, line in RUNS:
        if name not in DEFAULT:
            continue
        print(f"\n===== bench {name}: {line}\n", flush=True)
        importlib.import_module(module).main([])


if __name__ == "__main__":
    main(sys.argv[1:])
