"""The emulated FreeSWITCH's transfer targets: a leg originated into ``&socket(...)``.

``api originate {...}<dial string> '&socket(<host:port> async full)'`` on an answered
target runs the inline ``socket`` application on the new channel (mod_commands.c
originate_function: a one-application extension, then CS_EXECUTE), which connects to
Permanence's outbound-ESL port as the caller's leg did and parks the channel
(mod_event_socket.c socket_function). This module plays that leg: the ``connect`` reply
with the leg's channel data (its ``permanence_leg`` variable among them), ``myevents``,
``linger``, the ``unicast`` call-command (comfort-noise datagrams every 20 ms while the
human listens, what we send counted as heard speech), the human's key as a ``DTMF`` event
once Permanence's summary has ended, or the human hanging up (CHANNEL_HANGUP and the
linger notice, as for a caller). ``uuid_bridge`` on the caller's connection takes the leg
out of park (its unicast stops); ``uuid_kill`` hangs it up.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from agi.errors import ProtocolError
from agi.pbx.emulator.call import AGENT_SILENCE_TO_TALK, FRAME_SECONDS, TargetLeg, TransferTarget, is_speech
from agi.protocols import esl

__all__ = ["TargetSession", "EslPeer", "split_api_args", "commands", "TARGET_RATE"]

TARGET_RATE: Final = 8000  # the human's phone: G.711, read codec at 8 kHz
COMFORT_NOISE: Final = b"\xff" * (TARGET_RATE * 20 // 1000 * 2)
# A human waiting for Permanence to speak, or to be bridged, gives up after this.
TARGET_PATIENCE_S: Final = 30.0
_HANGUP_EVENTS: Final = ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE")


async def commands(reader: asyncio.StreamReader) -> AsyncIterator[esl.CommandReceived]:
    """The commands Permanence sends on one ESL connection, until it closes
    (ProtocolError on garbage)."""
    parser = esl.EslCommandParser()
    while True:
        event = parser.next_event()
        if event is esl.NEED_DATA:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                data = b""
            parser.receive_data(data)
            continue
        if isinstance(event, esl.ConnectionClosed):
            return
        assert isinstance(event, esl.CommandReceived)
        yield event


def split_api_args(text: str) -> list[str]:
    """Blank-separated arguments with single quotes grouping, quotes removed, as
    switch_separate_string(' ') does (switch_utils.c separate_string_blank_delim)."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif char == " " and not quoted:
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        args.append("".join(current))
    return args


class EslPeer:
    """What both emulated legs (the caller's and a transfer target's) do alike on their
    outbound-ESL connection: write while it is open, and answer the set-up commands
    ``connect`` (the channel data), ``myevents`` and ``linger`` as mod_event_socket does."""

    _writer: asyncio.StreamWriter | None
    linger: int | None

    def channel_data(self) -> dict[str, str]:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def _setup_reply(self, line: str) -> bytes | None:
        """The answer to a set-up command, None for any other."""
        if line == "connect":
            return esl.encode_message(self.channel_data())
        if line == "myevents":
            return esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "+OK Events Enabled"})
        if line.startswith("linger"):
            self.linger = int(line.split()[1]) if len(line.split()) > 1 else 10 ** 6
            return esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "+OK will linger"})
        return None


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, session: TargetSession) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if is_speech(data):
            self.session.leg.speech_frames += 1
            self.session.leg.last_speech = time.monotonic()


class TargetSession(EslPeer):
    """One answered target's outbound-ESL connection to Permanence."""

    def __init__(self, leg: TargetLeg, behaviour: TransferTarget, variables: dict[str, str],
                 emit: Callable[[str, str, str], None], *, source: str = "127.0.0.1",
                 time_scale: float = 1.0) -> None:
        self.leg, self.behaviour, self.variables = leg, behaviour, variables
        self.emit, self.source, self.scale = emit, source, time_scale
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._media: asyncio.Task[None] | None = None
        self.linger: int | None = None
        self.dead = False

    def _note(self, side: str, kind: str, detail: str = "") -> None:
        self.emit(side, kind, detail)

    def channel_data(self) -> dict[str, str]:
        data = {
            "Content-Type": "command/reply", "Reply-Text": "+OK", "Socket-Mode": "async",
            "Control": "full", "Event-Name": "CHANNEL_DATA", "Channel-Name": self.leg.channel,
            "Unique-ID": self.leg.uniqueid, "Channel-State": "CS_EXECUTE",
            "Channel-Read-Codec-Name": "PCMU", "Channel-Read-Codec-Rate": str(TARGET_RATE),
            "Caller-Destination-Number": self.leg.target, "Caller-Context": "default",
            "Caller-Caller-ID-Number": "0000000000",
        }
        data.update({f"variable_{k}": v for k, v in self.variables.items()})
        return data

    async def run(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        try:
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port),
                                                           local_addr=(self.source, 0))
        except (OSError, ValueError) as exc:  # the socket application fails: the leg hangs up
            self._note("target", "socket_failed", f"{address}: {exc}")
            self._hung_up()
            return
        self._writer = writer
        self._note("target", "esl_connect", address)
        try:
            async with asyncio.timeout(TARGET_PATIENCE_S * 2):
                async for event in commands(reader):
                    self._note("agent", "target_esl_command", event.line)
                    self._write(self._reply(event))
                    await writer.drain()
        except (ProtocolError, ConnectionError, TimeoutError) as exc:
            self._note("target", "esl_error", str(exc) or type(exc).__name__)
        finally:
            self._note("agent", "target_esl_close")
            await self._stop_media()
            writer.close()
            if not self.leg.bridged:
                self._hung_up()  # parked with nobody left to talk to: the leg ends

    def _reply(self, cmd: esl.CommandReceived) -> bytes:
        line = cmd.line
        setup = self._setup_reply(line)
        if setup is not None:
            return setup
        if line == "sendmsg" or line.startswith("sendmsg "):
            command = cmd.headers.get("call-command", "")
            if command == "unicast" and self._media is None and not self.dead:
                self._media = asyncio.create_task(self._unicast(cmd.headers))
            elif command == "hangup":
                self.hang_up("agent")
            return esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "+OK"})
        if line.startswith("api "):
            verb = line[4:].split(" ", 1)[0]
            return esl.encode_message({"Content-Type": "api/response"}, f"-ERR {verb} Command not found!\n".encode())
        return esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "-ERR command not found"})

    async def _unicast(self, headers: Any) -> None:
        local = (headers.get("local-ip", "127.0.0.1"), int(headers.get("local-port", "8025")))
        remote = (headers.get("remote-ip", "127.0.0.1"), int(headers.get("remote-port", "8026")))
        loop = asyncio.get_running_loop()
        try:
            self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=local,
                                                               family=socket.AF_INET)
        except OSError as exc:
            self._note("target", "unicast_bind_failed", f"{local[1]}: {exc.strerror}")
            return
        self._note("target", "unicast_start", f"{local[1]} -> {remote[1]}")
        start = time.monotonic()
        for tick in itertools.count():
            await asyncio.sleep(max(0.0, start + tick * FRAME_SECONDS - time.monotonic()))
            now = time.monotonic()
            if self.dead or self._udp.is_closing() or now - start > TARGET_PATIENCE_S:
                return
            leg = self.leg
            heard = leg.last_speech is not None and now - leg.last_speech >= AGENT_SILENCE_TO_TALK
            if heard and not leg.key_sent:
                if not self.behaviour.key:
                    self._note("target", "hangs_up", "after the summary")
                    self.hang_up("target")
                    return
                leg.key_sent = self.behaviour.key
                self._event("DTMF", **{"DTMF-Digit": self.behaviour.key, "DTMF-Duration": "1600",
                                       "DTMF-Source": "RTP"})
                self._note("target", "dtmf", self.behaviour.key)
            self._udp.sendto(COMFORT_NOISE, remote)  # the human holds the line in silence

    def _event(self, name: str, **headers: str) -> None:
        self._write(esl.encode_event(name, {"Unique-ID": self.leg.uniqueid, **headers}))

    async def _stop_media(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._media is not None and self._media is not asyncio.current_task():
            self._media.cancel()
            await asyncio.gather(self._media, return_exceptions=True)

    def bridge(self) -> None:
        """``uuid_bridge``: the leg leaves park and talks to the caller; unicast is over."""
        self.leg.bridged = True
        if self._udp is not None:
            self._udp.close()
        self._event("CHANNEL_BRIDGE")

    def hang_up(self, by: str) -> None:
        """The leg ends (the human hung up, ``uuid_kill``, or our ``hangup``): the hang-up
        events, then the socket closes after the linger notice, as for a caller's leg."""
        if self.dead:
            return
        self.dead = True
        self._note("target", "hangup", by)
        if self._udp is not None:
            self._udp.close()
        for name in _HANGUP_EVENTS:
            self._event(name, **{"Hangup-Cause": "NORMAL_CLEARING"})
        if self.linger is not None:
            self._write(esl.encode_message({
                "Content-Type": "text/disconnect-notice", "Controller-Session": self.leg.uniqueid,
                "Content-Disposition": "linger", "Channel-Input-Disposition": "linger",
                "Linger-Time": str(self.linger)}, b"Disconnected, goodbye.\n"))
        self._hung_up()
        if self._writer is not None:
            self._writer.close()

    def _hung_up(self) -> None:
        self.leg.hung_up = True
        self.leg.done.set()
