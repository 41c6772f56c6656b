"""Raw Vosk decoding capacity: how many continuous real-time streams the machine decodes.

    python -m bench raw [--seconds 20] [--threads 1,2]

Each thread decodes the bench's caller audio (real eSpeak speech, the ramp's utterances)
through its own recogniser on the Korean model, in 20 ms frames as calls feed it, with a
final result after each utterance, in a loop. Streams held = audio seconds decoded per
wall-clock second. Kaldi runs with the GIL released, so threads use every core.

Two ways, since a lookahead recogniser caches the graph it expanded: ``warm`` keeps one
recogniser per thread over the loop (after the first pass it has heard every word: the
best case), ``fresh`` decodes every utterance on a new recogniser (a cold server: the
worst case). Real calls sit between them, on warm recognisers hearing new words.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass

from agi.speech.asr import VoskRecognizer, korean_test_model_path, load_model
from agi.speech.audio import FRAME_BYTES, SAMPLE_RATE, SAMPLE_WIDTH
from agi.speech.recognizer_pool import RecognizerPool
from agi.workers import machine_cores


@dataclass(frozen=True)
class RawResult:
    mode: str
    threads: int
    audio_s: float
    wall_s: float

    @property
    def streams(self) -> float:
        """Continuous real-time streams held (audio seconds per wall second)."""
        return self.audio_s / self.wall_s if self.wall_s else 0.0


def measure(utterances: list[bytes], threads: int, seconds: float, fresh: bool = False) -> RawResult:
    import vosk  # type: ignore[import-untyped]

    model = load_model("ko", korean_test_model_path())

    def recognizer_for_thread() -> VoskRecognizer:
        if not fresh:
            return VoskRecognizer(model)
        # a pool that keeps nothing: every utterance is decoded by a new native recogniser
        return VoskRecognizer(model, pool=RecognizerPool(
            lambda: vosk.KaldiRecognizer(model, SAMPLE_RATE), max_idle=0))

    decoded = [0] * threads
    stop = time.monotonic() + seconds

    def decode(slot: int) -> None:
        recognizer = recognizer_for_thread()
        while time.monotonic() < stop:
            for pcm in utterances:
                for i in range(0, len(pcm), FRAME_BYTES):
                    recognizer.accept(pcm[i:i + FRAME_BYTES])
                recognizer.final()
                decoded[slot] += len(pcm)
                if time.monotonic() >= stop:
                    break
        recognizer.close()

    started = time.monotonic()
    workers = [threading.Thread(target=decode, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.monotonic() - started
    return RawResult("fresh" if fresh else "warm", threads, sum(decoded) / (SAMPLE_RATE * SAMPLE_WIDTH), wall)


def table(results: list[RawResult]) -> str:
    lines = ["recogniser  threads  audio decoded s  wall s  real-time streams held",
             "----------  -------  ---------------  ------  ----------------------"]
    lines += [f"{r.mode:>10}  {r.threads:>7}  {r.audio_s:>15.1f}  {r.wall_s:>6.1f}  {r.streams:>22.2f}"
              for r in results]
    return "\n".join(lines)


def run(utterances: list[bytes], threads: list[int], seconds: float) -> list[RawResult]:
    return [measure(utterances, n, seconds, fresh) for fresh in (False, True) for n in threads]


def main(argv: list[str] | None = None) -> None:
    from bench.ramp import caller_audio

    parser = argparse.ArgumentParser(prog="python -m bench raw", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="decoding time per thread count")
    parser.add_argument("--threads", default=f"1,{machine_cores()}", help="comma-separated thread counts")
    args = parser.parse_args(argv)
    audio = [pcm for turns in caller_audio(2) for pcm in turns]
    print(table(run(audio, [int(n) for n in args.threads.split(",")], args.seconds)))
