"""Silero VAD against WebRTC VAD (and the endpointer's gated WebRTC VAD) on line noise.

    make bench-vad                # or: .venv/bin/python -m bench.vad

Real eSpeak NG speech (French and English, several voices) at 8 kHz, mixed with synthetic
line noises a phone line brings (hiss, mains hum and its harmonics, band-limited rumble,
G.711 mu-law quantisation, crackle). Printed per detector and noise: how many noise-only
frames it calls speech (what starts false turns and cuts prompts), how many speech frames
it finds in the noisy mix, and its CPU cost per second of audio.

Silero is read from the ``silero-vad`` wheel's ONNX file (installed with --no-deps: the
package itself imports torch) and run by onnxruntime at 8 kHz (256-sample windows).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agi.config import SpeechSettings
from agi.speech import audio
from agi.speech.endpoint import Endpointer

RATE = audio.SAMPLE_RATE
FRAME = audio.FRAME_BYTES // 2
PHRASES = [("fr", "Bonjour, je voudrais prendre un rendez-vous pour mardi prochain."),
           ("fr+m3", "Mon numéro est le zéro six, douze, trente-quatre, cinquante-six."),
           ("fr+f2", "Est-ce que vous êtes ouverts le samedi matin ?"),
           ("en", "Hello, I would like to book an appointment for next Tuesday."),
           ("en-us+m3", "Could you call me back this afternoon please?"),
           ("en+f3", "My name is Claire Wilson, that's W I L S O N.")]


def speech(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        return np.frombuffer(audio.read_wav_8k(path), "<i2").astype(np.float64)


def noises(seconds: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    white = rng.standard_normal(n)
    rumble = np.convolve(white, np.ones(40) / 40, mode="same") * 6
    crackle = np.where(rng.random(n) < 0.002, rng.standard_normal(n) * 4000, 0.0)
    hiss = white * 180  # about -45 dBFS
    mulaw = np.sign(hiss) * np.log1p(255 * np.abs(hiss) / 32768) / np.log1p(255)
    mulaw = np.round(mulaw * 127) / 127
    return {
        "hiss -45 dBFS": hiss,
        "hiss -35 dBFS": white * 570,
        "hum 50 Hz + harmonics": sum(np.sin(2 * np.pi * 50 * k * t) * 600 / k for k in range(1, 8)),
        "rumble (low-passed)": rumble * 300,
        "mu-law hiss": np.sign(mulaw) * (np.expm1(np.abs(mulaw) * np.log1p(255)) / 255) * 32768,
        "crackle + hiss": crackle + white * 60,
    }


def frames_of(x: np.ndarray) -> list[bytes]:
    x = x[:x.size // FRAME * FRAME].clip(-32768, 32767).astype("<i2")
    return [x[i:i + FRAME].tobytes() for i in range(0, x.size, FRAME)]


def webrtc_raw() -> Callable[[list[bytes]], list[bool]]:
    import webrtcvad  # type: ignore[import-untyped]

    vad = webrtcvad.Vad(SpeechSettings().vad_aggressiveness)
    return lambda frames: [bool(vad.is_speech(f, RATE)) for f in frames]


def endpointer_gate(vad: str = "webrtc") -> Callable[[list[bytes]], list[bool]]:
    def run(frames: list[bytes]) -> list[bool]:
        ep = Endpointer(SpeechSettings(), vad=vad)
        return [ep._is_voice(f, i * audio.FRAME_S) for i, f in enumerate(frames)]
    return run


def silero() -> Callable[[list[bytes]], list[bool]]:
    import onnxruntime  # type: ignore[import-untyped]

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("silero-vad is not installed: pip install --no-deps silero-vad==6.2.3")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                           providers=["CPUExecutionProvider"])

    def run(frames: list[bytes]) -> list[bool]:
        x = np.frombuffer(b"".join(frames), "<i2").astype(np.float32) / 32768
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros((1, 32), np.float32)
        probs = []
        for i in range(0, x.size - 255, 256):
            chunk = np.concatenate([context, x[None, i:i + 256]], axis=1)
            out, state = session.run(None, {"input": chunk, "state": state, "sr": np.array(RATE, np.int64)})
            context = chunk[:, -32:]
            probs.append(float(out.reshape(-1)[0]))
        # each 20 ms frame takes the window covering its middle
        return [probs[min(len(probs) - 1, (k * FRAME + FRAME // 2) // 256)] >= 0.5 if probs else False
                for k in range(len(frames))]
    return run


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m bench.vad", description=__doc__.splitlines()[0]).parse_args(argv)
    rng = np.random.default_rng(12)
    voices = [speech(v, t) for v, t in PHRASES]
    gap = np.zeros(RATE // 2)
    clean = np.concatenate([np.concatenate([gap, v]) for v in voices] + [gap])
    labels = [audio.rms(f) > 300 for f in frames_of(clean)]
    detectors = {"webrtcvad mode 2": webrtc_raw(), "endpointer (webrtc + energy gate)": endpointer_gate(),
                 "silero v6 (8 kHz)": silero(), "endpointer (silero)": endpointer_gate("silero")}
    print(f"speech: {len(PHRASES)} eSpeak NG utterances, {sum(labels)} speech frames of 20 ms; "
          f"noise alone: 20 s per kind\n")
    print(f"{'noise':<24}" + "".join(f"{name[:34]:>36}" for name in detectors))
    print(f"{'':<24}" + "".join(f"{'false speech / found speech':>36}" for _ in detectors))
    cost = dict.fromkeys(detectors, 0.0)
    seconds = 0.0
    for kind, noise in noises(20.0, rng).items():
        row = f"{kind:<24}"
        mixed = clean + noises(clean.size / RATE + 0.1, rng)[kind][:clean.size]
        for name, detect in detectors.items():
            started = time.process_time()
            fp = detect(frames_of(noise))
            found = detect(frames_of(mixed))
            cost[name] += time.process_time() - started
            hits = sum(1 for f, s in zip(found, labels, strict=False) if f and s)
            row += f"{100 * sum(fp) / len(fp):>21.1f} % / {100 * hits / sum(labels):>5.1f} %  "
        seconds += noise.size / RATE + mixed.size / RATE
        print(row)
    print("\nCPU per second of audio: " + ", ".join(f"{name} {1000 * c / seconds:.2f} ms"
                                                     for name, c in cost.items()))


if __name__ == "__main__":
    main()
