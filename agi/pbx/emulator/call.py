"""What the PBX emulator records of a call, and the caller's audio helpers.

Shared by both emulated PBXs (agi.pbx.emulator.asterisk, agi.pbx.emulator.freeswitch):
the caller's turns, the timestamped events, the call as the PBX saw it, and eSpeak NG
caller audio.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from agi.errors import SpeechError
from agi.protocols import audiosocket as asock
from agi.speech import audio

__all__ = ["CallerTurn", "CallEvent", "TurnTiming", "EmulatedCall", "is_speech", "write_wav",
           "read_wav", "speak", "SPEECH_RMS_THRESHOLD", "AGENT_SILENCE_TO_TALK", "FRAME_SECONDS",
           "TransferTarget", "TargetLeg"]

FRAME_SECONDS: Final = asock.FRAME_MS / 1000
# A caller answers once the agent has spoken and then been quiet this long: a natural
# conversational gap that is longer than the pauses inside one synthesised sentence.
AGENT_SILENCE_TO_TALK: Final = 0.7
# A frame is agent speech when its RMS reaches this (16-bit units, about -44 dBFS):
# silence frames are digital zeros and trunk comfort noise stays well under 100, while
# synthesised speech averages in the thousands; quiet phoneme edges may fall below, which
# only shortens what counts as speech by a frame or two.
SPEECH_RMS_THRESHOLD: Final = 200.0


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CallerTurn:
    """One caller utterance: 8 kHz s16le mono, started after the agent's answer or, as a
    float, that many seconds after the agent started speaking (barge-in)."""

    audio: bytes
    start: Literal["after_agent"] | float = "after_agent"
    # Keys pressed instead of speaking (AudioSocket DTMF frames, one per digit), e.g. "0612#".
    digits: str = ""


@dataclass(frozen=True)
class CallEvent:
    """One timestamped thing that happened; ``t`` is seconds since the call started."""

    t: float
    side: str  # 'pbx' (the emulated Asterisk), 'agent' (Permanence) or 'caller'
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.t:8.3f}  {self.side:<6} {self.kind}" + (f"  {self.detail}" if self.detail else "")


@dataclass
class TurnTiming:
    """When a caller turn was streamed, and when the agent's next speech began."""

    index: int
    start: float
    end: float | None = None
    first_agent_speech: float | None = None


@dataclass
class EmulatedCall:
    """What the emulated PBX saw of one call."""

    uniqueid: str
    channel: str
    events: list[CallEvent] = field(default_factory=list)
    turns: list[TurnTiming] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    agent_frames: int = 0
    agent_speech_frames: int = 0
    caller_frames: int = 0
    hung_up_by: str | None = None  # 'caller' or 'agent'; None if the dialplan went on
    bridged: bool = False  # an AMI Bridge (uuid_bridge) connected the caller to a transfer target
    legs: list[TargetLeg] = field(default_factory=list)  # transfer targets rung over ESL
    close_delay: float | None = None  # from our HANGUP line to the server closing FastAGI
    duration: float = 0.0
    sample_rate: int = 8000  # of caller_frames and agent_audio (FreeSWITCH: the read codec's)
    agent_chunks: list[bytes] = field(default_factory=list, repr=False)
    agent_frame_at: list[float] = field(default_factory=list, repr=False)  # monotonic arrivals

    @property
    def agent_audio(self) -> bytes:
        """Every agent audio payload received, in order (8 kHz s16le mono)."""
        return b"".join(self.agent_chunks)

    def commands(self) -> list[str]:
        """The AGI command lines the server sent, in order."""
        return [e.detail for e in self.events if e.kind == "agi_command"]

    def write_wav(self, path: str | Path) -> None:
        write_wav(path, self.agent_audio)


@dataclass(frozen=True)
class TransferTarget:
    """How the emulated human behind one dial string acts."""

    answer: Literal["answer", "busy", "no_answer", "decline"] = "answer"
    key: str = "1"  # pressed once Permanence's summary ended; "" hangs up instead
    ring_s: float = 0.5  # rings this long before answering, being busy or declining


@dataclass
class TargetLeg:
    """What happened on one originated leg."""

    target: str
    channel: str
    uniqueid: str
    outcome: str  # answered, busy, no_answer, declined, failed
    speech_frames: int = 0  # Permanence's speech the target heard (the summary)
    key_sent: str = ""
    bridged: bool = False
    dropped: bool = False  # an AMI Hangup ended it
    hung_up: bool = False
    last_speech: float | None = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


# --------------------------------------------------------------------------- audio helpers


def is_speech(pcm: bytes) -> bool:
    return bool(pcm) and audio.rms(pcm) >= SPEECH_RMS_THRESHOLD


def write_wav(path: str | Path, pcm: bytes, rate: int = asock.SAMPLE_RATE) -> None:
    audio.write_wav(path, pcm, rate)


def read_wav(path: str | Path) -> bytes:
    """A 16-bit PCM WAV file of any rate and channel count as 8 kHz s16le mono."""
    return audio.read_wav_8k(Path(path))


def speak(text: str, voice: str = "fr") -> bytes:
    """Caller audio from text with eSpeak NG (``espeak-ng -v <voice> -w``), at 8 kHz."""
    with tempfile.TemporaryDirectory(prefix="permanence-caller-") as folder:
        wav_path = Path(folder) / "caller.wav"
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav_path), text],
                           check=True, capture_output=True, timeout=60)
        except FileNotFoundError as exc:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)") from exc
        except subprocess.CalledProcessError as exc:
            raise SpeechError(f"espeak-ng failed: {exc.stderr.decode(errors='replace').strip()}") from exc
        return read_wav(wav_path)
