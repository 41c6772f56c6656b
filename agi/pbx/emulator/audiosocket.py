"""The emulated Asterisk's AudioSocket side: ``AudioSocket(uuid,host:port)`` as app_audiosocket.c.

Connects to Permanence's AudioSocket server, sends the UUID frame, streams the caller's
audio in real time (20 ms frames, DTMF as kind 0x03 frames) and records the agent's.
A mixin of :class:`agi.pbx.emulator.asterisk._Emulator`, which holds the call's state.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import uuid as uuidlib
from typing import Final

from agi.errors import AudioSocketFrameError
from agi.pbx.emulator.call import (
    AGENT_SILENCE_TO_TALK,
    FRAME_SECONDS,
    CallerTurn,
    EmulatedCall,
    TurnTiming,
    is_speech,
)
from agi.protocols import audiosocket as asock

__all__ = ["AudioSocketCaller", "ACTIVITY_TIMEOUT", "CONNECT_TIMEOUT"]

# app_audiosocket.c MAX_WAIT_TIMEOUT_MSEC: with no frame either way for 2 s, AudioSocket()
# logs "Reached timeout after 2000 ms of no activity" and returns -1.
ACTIVITY_TIMEOUT: Final = 2.0
# app_audiosocket.c MAX_CONNECT_TIMEOUT_MSEC.
CONNECT_TIMEOUT: Final = 2.0


class AudioSocketCaller:
    """The caller's AudioSocket leg of one emulated call."""

    call: EmulatedCall
    turns: list[CallerTurn]
    hangup_after: int | None
    silence: str
    answered: bool
    dead: bool
    _t0: float
    _turn_index: int
    _last_speech: float | None
    _speech_start: float | None
    _last_activity: float
    _yanked: asyncio.Event  # AMI Bridge took the channel out of AudioSocket()

    def emit(self, side: str, kind: str, detail: str = "") -> None:
        raise NotImplementedError  # the emulated call records it (agi.pbx.emulator.asterisk)

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
            if self._yanked.is_set():
                return self._bridged()
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

    def _bridged(self) -> str:
        """AMI Bridge yanked the channel into a bridge (main/bridge.c ast_channel_yank): the
        original channel, still in AudioSocket(), is hung up, so the app returns -1 and
        res_agi.c tells the FastAGI server with its HANGUP line."""
        self.dead = True
        self.call.bridged = True
        self.emit("pbx", "bridged_away", "AudioSocket() ends: the channel is in a bridge now")
        return "-1"

    def _caller_hangs_up(self) -> str:
        self.dead = True
        self.call.hung_up_by = "caller"
        self.emit("caller", "hangup")
        return "-1"
