"""Echo-safe barge-in: the agent's own voice fed back on the line does not cut its prompt,
a caller speaking over it does, as soon as without echo (within two frames).

Real eSpeak NG audio for both voices; the echo path (a phone line's hybrid: delay,
attenuation, the line's band-pass and its hiss) is made here because no phone line exists
on this machine. The endpointer is driven with a literal clock, as the media loop drives
it: each 20 ms the agent frame played, then the caller frame heard.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from agi.config import SpeechSettings
from agi.speech import audio
from agi.speech.echo import EchoGuard
from agi.speech.endpoint import Endpointer, SpeechStarted

RATE = audio.SAMPLE_RATE
FRAME = audio.FRAME_BYTES // 2  # samples


def espeak(tmp: Path, voice: str, text: str) -> np.ndarray:
    path = tmp / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    pcm = audio.trim_silence(audio.read_wav_8k(path), keep_ms=0)
    return np.frombuffer(pcm, "<i2").astype(np.float64)


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    tmp = tmp_path_factory.mktemp("echo")
    prompt = espeak(tmp, "fr", "Bonjour, vous êtes bien au cabinet du docteur Martin. "
                    "Que puis-je faire pour vous aujourd'hui ?")
    caller = espeak(tmp, "en-us+m3", "Sorry to interrupt, I need to cancel my appointment")
    return prompt, caller


def line_echo(prompt: np.ndarray, delay_ms: int, loss_db: float, seed: int) -> np.ndarray:
    """What comes back from the line: the prompt delayed, attenuated, band-limited, with hiss."""
    delayed = np.concatenate([np.zeros(delay_ms * RATE // 1000), prompt])
    # a hybrid is no perfect mirror: first-order high- and low-pass (about 300 Hz - 3.4 kHz)
    high = delayed - np.concatenate([[0.0], delayed[:-1]]) * 0.79
    low = np.convolve(high, np.ones(2) / 2, mode="same")
    echo = low * 10 ** (-loss_db / 20)
    return echo + np.random.default_rng(seed).standard_normal(echo.size) * 20  # -64 dBFS hiss


@pytest.fixture(params=["silero", "webrtc"])
def vad(request: pytest.FixtureRequest) -> str:
    """Each voice detector the endpointer can use (turns.vad)."""
    return str(request.param)


def drive(agent: np.ndarray, heard: np.ndarray, vad: str) -> list[int]:
    """Play ``agent`` and hear ``heard`` frame by frame; the frames where a turn started."""
    ep = Endpointer(SpeechSettings(), vad=vad)
    ep.reset(0.0)
    started = []
    frames = max(agent.size, heard.size) // FRAME + 1
    agent = np.pad(agent, (0, frames * FRAME - agent.size))
    heard = np.pad(heard, (0, frames * FRAME - heard.size))
    for i in range(frames):
        at = i * audio.FRAME_S
        played = agent[i * FRAME:(i + 1) * FRAME].clip(-32768, 32767).astype("<i2").tobytes()
        ep.agent_frame(played, at)
        frame = heard[i * FRAME:(i + 1) * FRAME].clip(-32768, 32767).astype("<i2").tobytes()
        if any(isinstance(e, SpeechStarted) for e in ep.feed(frame, at + audio.FRAME_S)):
            started.append(i)
    return started


@pytest.mark.parametrize("loss_db", [20.0, 35.0])
@pytest.mark.parametrize("delay_ms", [20, 80, 200])
def test_the_agents_own_echo_does_not_cut_its_prompt(voices: tuple[np.ndarray, np.ndarray],
                                                     loss_db: float, delay_ms: int, vad: str) -> None:
    prompt, _ = voices
    echo = line_echo(prompt, delay_ms, loss_db, seed=delay_ms)
    assert drive(prompt, echo, vad) == []


def test_without_the_guard_that_echo_would_have_cut_the_prompt(voices: tuple[np.ndarray, np.ndarray],
                                                              vad: str) -> None:
    """The check above means something: the same -20 dB echo passes the VAD alone."""
    prompt, _ = voices
    ep = Endpointer(SpeechSettings(), vad=vad)
    ep.echo = EchoGuard(margin=0.0)  # a guard that never calls anything echo
    ep.reset(0.0)
    echo = line_echo(prompt, 80, 20.0, seed=1).clip(-32768, 32767).astype("<i2").tobytes()
    events = []
    for i, frame in enumerate(audio.split_frames(echo)):
        events += ep.feed(frame, (i + 1) * audio.FRAME_S)
    assert any(isinstance(e, SpeechStarted) for e in events)


@pytest.mark.parametrize("delay_ms", [20, 200])
def test_a_caller_speaking_over_the_prompt_cuts_it_within_two_frames(
        voices: tuple[np.ndarray, np.ndarray], delay_ms: int, vad: str) -> None:
    prompt, caller = voices
    onset = 50  # frames: the caller starts one second into the prompt
    alone = drive(np.zeros(0), np.concatenate([np.zeros(onset * FRAME), caller]), vad)
    assert alone, "the caller's voice alone starts a turn"
    echo = line_echo(prompt, delay_ms, 20.0, seed=3)
    over = np.zeros(max(echo.size, onset * FRAME + caller.size))
    over[:echo.size] += echo
    over[onset * FRAME:onset * FRAME + caller.size] += caller
    started = drive(prompt, over, vad)
    assert started, "the caller cut the prompt"
    assert started[0] - alone[0] <= 2  # the echo guard costs at most two frames
