"""The PBX emulator's Asterisk side: plays Asterisk 20's part of a call against a running Permanence.

It connects to the FastAGI port and sends the environment Asterisk sends, answers each
AGI command as ``res_agi.c`` would, and for ``EXEC AudioSocket`` connects to the given
host:port as ``app_audiosocket.c`` does, streams the caller's audio in real time (20 ms
frames) and records the agent's. See docs/emulator.md for what it mirrors and where it
simplifies. Used by ``permanence call``, the bench and the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from agi.errors import AudioSocketFrameError, RemoteProtocolError, SpeechError
from agi.protocols import audiosocket as asock
from agi.protocols.agi import NEED_DATA, AgiClientConnection, CommandReceived
from agi.speech import audio

__all__ = [
    "emulate_call", "CallerTurn", "CallEvent", "EmulatedCall", "TurnTiming", "read_wav",
    "speak", "write_wav", "is_speech", "SPEECH_RMS_THRESHOLD", "AGENT_SILENCE_TO_TALK",
    "ACTIVITY_TIMEOUT",
]


FRAME_SECONDS: Final = asock.FRAME_MS / 1000
# A caller answers once the agent has spoken and then been quiet this long: a natural
# conversational gap that is longer than the pauses inside one synthesised sentence.
AGENT_SILENCE_TO_TALK: Final = 0.7
# app_audiosocket.c MAX_WAIT_TIMEOUT_MSEC: with no frame either way for 2 s, AudioSocket()
# logs "Reached timeout after 2000 ms of no activity" and returns -1.
ACTIVITY_TIMEOUT: Final = 2.0
# app_audiosocket.c MAX_CONNECT_TIMEOUT_MSEC.
CONNECT_TIMEOUT: Final = 2.0
# Commands res_agi.c still runs on a dead channel (the last field of its command table);
# others get 511.
DEAD_OK: Final = frozenset({
    "VERBOSE", "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "NOOP", "EXEC",
    "DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE", "ASYNCAGI BREAK",
})
USAGE: Final = {
    "SET VARIABLE": " Usage: SET VARIABLE <variablename> <value>\n Sets a variable to the current channel.",
    "GET VARIABLE": " Usage: GET VARIABLE <variablename>\n Returns 0 if <variablename> is not set.",
    "EXEC": " Usage: EXEC <application> <options>\n Executes application with given options.",
    "VERBOSE": " Usage: VERBOSE <message> <level>\n Sends <message> to the console via verbose message system.",
}
_CALL_NUMBERS = itertools.count(1)
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


# --------------------------------------------------------------------------- the emulated PBX


class _Emulator:
    """One emulated call; ``run`` returns when the server closes the FastAGI socket."""

    def __init__(self, *, path: str, caller: str, dnid: str, turns: Sequence[CallerTurn],
                 hangup_after: int | None, silence: str, on_event: Callable[[CallEvent], None] | None,
                 host: str, port: int) -> None:
        if silence not in ("frames", "none"):
            raise ValueError(f"silence must be 'frames' or 'none', not {silence!r}")
        number = next(_CALL_NUMBERS)
        self.uniqueid = f"{int(time.time())}.{number}"
        self.env = {
            "agi_network": "yes", "agi_network_script": path,
            "agi_request": f"agi://{host}:{port}/{path}",
            "agi_channel": f"PJSIP/trunk-{number:08x}", "agi_language": "fr", "agi_type": "PJSIP",
            "agi_uniqueid": self.uniqueid, "agi_version": "20.10.0",
            "agi_callerid": caller, "agi_calleridname": "unknown", "agi_callingpres": "0",
            "agi_callingani2": "0", "agi_callington": "0", "agi_callingtns": "0",
            "agi_dnid": dnid, "agi_rdnis": "unknown", "agi_context": "from-trunk",
            "agi_extension": dnid, "agi_priority": "2", "agi_enhanced": "0.0",
            "agi_accountcode": "", "agi_threadid": str(140000000000000 + number),
        }
        if not path:
            del self.env["agi_network_script"]  # as res_agi.c launch_netscript does
        self.turns = list(turns)
        self.hangup_after = hangup_after
        self.silence = silence
        self.on_event = on_event
        self.call = EmulatedCall(uniqueid=self.uniqueid, channel=self.env["agi_channel"])
        self.variables: dict[str, str] = {"CALLERID(num)": caller, "EXTEN": dnid, "UNIQUEID": self.uniqueid}
        self.answered = False
        self.dead = False
        self._t0 = time.monotonic()
        self._agi = AgiClientConnection()
        self._turn_index = 0
        # agent speech tracking, by monotonic time
        self._last_speech: float | None = None
        self._speech_start: float | None = None  # first agent speech since the last turn
        self._last_activity = self._t0

    # ------------------------------------------------------------------ bookkeeping

    def now(self) -> float:
        return time.monotonic() - self._t0

    def emit(self, side: str, kind: str, detail: str = "") -> None:
        event = CallEvent(t=round(self.now(), 3), side=side, kind=kind, detail=detail)
        self.call.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # ------------------------------------------------------------------ FastAGI

    async def run(self, host: str, port: int) -> EmulatedCall:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(self._agi.environment(self.env))
            await writer.drain()
            self.emit("pbx", "agi_connect", f"{host}:{port} script={self.env.get('agi_network_script', '')}")
            hangup_sent_at: float | None = None
            while True:
                event = self._agi.next_event()
                if event is NEED_DATA:
                    try:
                        data = await reader.read(4096)
                    except ConnectionError:
                        data = b""
                    self._agi.receive_data(data)
                    continue
                if not isinstance(event, CommandReceived):  # the server closed the session
                    break
                self.emit("agent", "agi_command", event.line)
                answer, notice = await self._answer(event)
                self.emit("pbx", "agi_result", answer.decode().strip().replace("\n", " | "))
                writer.write(answer)
                if notice and hangup_sent_at is None:
                    # res_agi.c: once the channel is down it tells a FastAGI server with an
                    # unsolicited HANGUP line, then waits for the server to close.
                    writer.write(self._agi.hangup_notice())
                    hangup_sent_at = self.now()
                    self.emit("pbx", "agi_hangup_notice")
                await writer.drain()
            self.emit("agent", "agi_close")
            if hangup_sent_at is not None:
                self.call.close_delay = self.now() - hangup_sent_at
            elif self.call.hung_up_by is None:
                self.emit("pbx", "dialplan_continues", "FastAGI ended with the channel up")
        finally:
            writer.close()
        return self.call

    async def _answer(self, cmd: CommandReceived) -> tuple[bytes, bool]:
        """The bytes Asterisk answers, and whether the channel is now down."""
        result = self._agi.result
        verb, args = cmd.verb, cmd.args
        if not verb:
            return self._agi.invalid(), False
        if self.dead and verb not in DEAD_OK:
            return self._agi.dead_channel(), False
        if verb == "ANSWER":
            self.answered = True
            return result(result="0"), False
        if verb == "SET VARIABLE":
            if len(args) != 2:
                return self._agi.usage_error(USAGE[verb]), False
            self.variables[args[0]] = args[1]
            self.call.variables[args[0]] = args[1]
            return result(result="1"), False
        if verb == "GET VARIABLE":
            if len(args) != 1:
                return self._agi.usage_error(USAGE[verb]), False
            value = self.variables.get(args[0])
            return (result(result="0") if value is None else result(result="1", data=value)), False
        if verb == "VERBOSE":
            if not args:
                return self._agi.usage_error(USAGE[verb]), False
            return result(result="1"), False
        if verb == "HANGUP":
            self.dead = True
            if self.call.hung_up_by is None:
                self.call.hung_up_by = "agent"
            self.emit("agent", "hangup")
            return result(result="1"), True
        if verb == "EXEC":
            if not args:
                return self._agi.usage_error(USAGE[verb]), False
            return await self._exec(args[0], args[1] if len(args) > 1 else "")
        return result(result="0"), False

    async def _exec(self, app: str, options: str) -> tuple[bytes, bool]:
        if app.lower() != "audiosocket":
            self.emit("pbx", "exec", app)
            return self._agi.result(result="0"), False
        if self.dead:  # app_audiosocket.c: "Channel is not answered" on a hung-up channel
            self.emit("pbx", "audiosocket_error", "channel is hung up")
            return self._agi.result(result="-1"), False
        # A failed AudioSocket() on a live channel is only "200 result=-1": res_agi.c
        # run_agi goes on reading commands. After a caller hang-up the channel is dead and
        # the HANGUP line follows the result.
        code = await self._audiosocket(options)
        return self._agi.result(result=code), self.dead

    # ------------------------------------------------------------------ AudioSocket

    async def _audiosocket(self, options: str) -> str:
        """Run AudioSocket(uuid,host:port) as app_audiosocket.c; returns its result."""
        uuid_text, _, service = options.partition(",")
        host, _, port_text = service.rpartition(":")
        try:
            stream_uuid = uuidlib.UUID(uuid_text)
            port = int(port_text)
        except ValueError:
            self.emit("pbx", "audiosocket_error", f"bad arguments {options!r}")
            return "-1"
        if not self.answered:
            self.emit("pbx", "audiosocket_error", "channel is not answered")
            return "-1"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(host.strip("[]"), port)
        except (OSError, TimeoutError) as exc:
            self.emit("pbx", "audiosocket_error", f"connect to {service} failed: {exc}")
            return "-1"
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(asock.encode_uuid(stream_uuid))
        self.emit("pbx", "audiosocket_connect", f"{service} uuid={stream_uuid}")
        self._last_activity = time.monotonic()
        receiver = asyncio.create_task(self._receive(reader))
        sender = asyncio.create_task(self._send(writer))
        try:
            done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            code = (receiver if receiver in done else sender).result()
        finally:
            for task in (receiver, sender):
                task.cancel()
            await asyncio.gather(receiver, sender, return_exceptions=True)
            writer.close()
        self.emit("pbx", "audiosocket_close", f"result={code}")
        return code

    async def _receive(self, reader: asyncio.StreamReader) -> str:
        """Agent audio until the server hangs up ('0') or breaks the protocol ('-1')."""
        decoder = asock.AudioSocketDecoder()
        while True:
            try:
                event = decoder.next_event()
            except AudioSocketFrameError as exc:
                self.emit("pbx", "audiosocket_error", str(exc))
                return "-1"
            if event is asock.NEED_DATA:
                try:
                    data = await reader.read(4096)
                except ConnectionError:
                    data = b""
                decoder.receive_data(data)
                continue
            if isinstance(event, asock.AudioReceived):
                self._on_agent_audio(event.pcm)
                continue
            if isinstance(event, (asock.HangupReceived, asock.ConnectionClosed)):
                self.emit("agent", "audiosocket_hangup", type(event).__name__)
                return "0"
            # res_audiosocket.c: "Received AudioSocket message other than hangup or audio".
            self.emit("pbx", "audiosocket_error", f"unexpected {type(event).__name__} from server")
            return "-1"

    def _on_agent_audio(self, pcm: bytes) -> None:
        now = time.monotonic()
        self._last_activity = now
        call = self.call
        if call.agent_frames == 0:
            self.emit("agent", "first_audio")
        call.agent_frames += 1
        call.agent_chunks.append(pcm)
        call.agent_frame_at.append(now)
        if not is_speech(pcm):
            return
        call.agent_speech_frames += 1
        if self._speech_start is None:
            self._speech_start = now
            self.emit("agent", "speech_start")
            if call.turns and call.turns[-1].end is not None and call.turns[-1].first_agent_speech is None:
                call.turns[-1].first_agent_speech = now - self._t0
        self._last_speech = now

    def _turn_may_start(self, turn: CallerTurn, now: float) -> bool:
        if self._speech_start is None or self._last_speech is None:
            return False
        if turn.start == "after_agent":
            return now - self._last_speech >= AGENT_SILENCE_TO_TALK
        return now - self._speech_start >= float(turn.start)

    async def _send(self, writer: asyncio.StreamWriter) -> str:
        """Caller audio paced by the clock; returns '-1' when the caller hangs up."""
        start = time.monotonic()
        audio, offset = b"", 0
        if self.hangup_after == 0:
            return self._caller_hangs_up()
        for tick in itertools.count():
            await asyncio.sleep(max(0.0, start + tick * FRAME_SECONDS - time.monotonic()))
            now = time.monotonic()
            if not audio and self._turn_index < len(self.turns):
                turn = self.turns[self._turn_index]
                if self._turn_may_start(turn, now) and turn.digits:
                    self.call.turns.append(TurnTiming(index=self._turn_index, start=now - self._t0))
                    for digit in turn.digits:
                        writer.write(asock.encode_dtmf(digit))
                    self.emit("caller", "dtmf", turn.digits)
                    self._end_turn(now)
                    continue
                if self._turn_may_start(turn, now):
                    audio, offset = turn.audio or asock.SILENCE, 0
                    self.call.turns.append(TurnTiming(index=self._turn_index, start=now - self._t0))
                    self.emit("caller", "turn_start", f"#{self._turn_index + 1} ({len(audio) / 16000:.2f} s)")
            frame: bytes | None = None
            if audio:
                frame = audio[offset:offset + asock.FRAME_BYTES].ljust(asock.FRAME_BYTES, b"\0")
                offset += asock.FRAME_BYTES
                if offset >= len(audio):
                    audio = b""
                    self._end_turn(now)  # a real PBX sends a frame once its 20 ms were heard
                    if self.hangup_after is not None and self._turn_index >= self.hangup_after:
                        writer.write(asock.encode_audio(frame))
                        self.call.caller_frames += 1
                        return self._caller_hangs_up()
            elif self.silence == "frames":
                frame = asock.SILENCE
            if frame is not None:
                writer.write(asock.encode_audio(frame))
                self.call.caller_frames += 1
                self._last_activity = now
                try:
                    await writer.drain()
                except ConnectionError:
                    return "0"  # the server closed; the receiver reports it
            elif now - self._last_activity >= ACTIVITY_TIMEOUT:
                self.emit("pbx", "audiosocket_timeout",
                          f"no activity for {ACTIVITY_TIMEOUT:.0f} s (app_audiosocket.c)")
                return "-1"
        raise AssertionError("unreachable")

    def _end_turn(self, end: float) -> None:
        timing = self.call.turns[-1]
        timing.end = end - self._t0
        self.emit("caller", "turn_end", f"#{self._turn_index + 1}")
        self._turn_index += 1
        self._speech_start = None  # the next turn waits for the agent's next answer
        self._last_speech = None

    def _caller_hangs_up(self) -> str:
        self.dead = True
        self.call.hung_up_by = "caller"
        self.emit("caller", "hangup")
        return "-1"


async def emulate_call(host: str, port: int, *, path: str = "demo", caller: str = "+33612345678",
                       dnid: str = "0140000000", turns: Sequence[CallerTurn] = (),
                       hangup_after: int | None = None, silence: str = "frames",
                       max_duration: float = 120.0,
                       on_event: Callable[[CallEvent], None] | None = None) -> EmulatedCall:
    """Place one emulated call against a FastAGI server and return what happened.

    ``turns`` are the caller's utterances (8 kHz s16le); ``hangup_after=N`` hangs up (as
    the caller) right after the N-th turn has been streamed (0: as soon as media starts).
    ``silence='frames'`` sends silence frames while the caller is quiet, ``'none'`` sends
    nothing then (Local channels, silence suppression). After ``max_duration`` seconds
    the caller hangs up and the call is returned as it stands.
    """
    emulator = _Emulator(path=path, caller=caller, dnid=dnid, turns=turns, hangup_after=hangup_after,
                         silence=silence, on_event=on_event, host=host, port=port)
    try:
        async with asyncio.timeout(max_duration):
            await emulator.run(host, port)
    except TimeoutError:
        emulator.emit("caller", "max_duration", f"{max_duration:.0f} s reached; caller hangs up")
        emulator.call.hung_up_by = emulator.call.hung_up_by or "caller"
    except RemoteProtocolError as exc:
        emulator.emit("pbx", "agi_error", str(exc))
    emulator.call.duration = emulator.now()
    return emulator.call
