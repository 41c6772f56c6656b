"""The emulated Asterisk's Manager Interface, and the humans at the end of a transfer.

A TCP server speaking AMI as main/manager.c does (wire format: agi.protocols.ami):

- on connect, the banner ``Asterisk Call Manager/<AMI_VERSION>`` (include/asterisk/manager.h);
- ``Login``: ``Response: Success`` / ``Message: Authentication accepted``; a wrong user or
  secret gets, after one second (action_login's ``sleep(1)``), ``Response: Error`` /
  ``Message: Authentication failed`` and the connection is closed. Any other action
  before a login: ``Permission denied``;
- ``Ping`` (``Ping: Pong``), ``Logoff`` (``Goodbye``), unknown actions
  (``Invalid/unknown command``); every response repeats the action's ``ActionID``;
- ``Originate`` with ``Async: true`` and ``Application``: ``Originate successfully queued``
  at once, then ``Event: OriginateResponse`` (Response, Channel, Application, Data,
  Reason, Uniqueid, CallerIDNum, CallerIDName: fast_originate) when the emulated target
  answered (Reason 4), was busy (5), declined while ringing (1), or rang out (3, after the
  action's ``Timeout`` ms). An answered target then runs the application: ``AudioSocket``
  connects to ``Data``'s host:port with its UUID, as app_audiosocket.c does, hears what
  Permanence says, and presses its key (a DTMF frame) or hangs up;
- ``Bridge``: both channels leave their application (the caller's FastAGI call sees its
  channel hang up: ast_channel_yank), ``Channels have been bridged``, then
  ``BridgeCreate`` and two ``BridgeEnter`` events (main/features.c action_bridge; events
  as documented in the AMI event reference); ``Channel1 does not exist: <name>`` otherwise;
- ``Hangup``: ``Channel Hungup`` and an ``Event: Hangup`` (Cause 16), or ``No such channel``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid as uuidlib
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Final

from agi.errors import ProtocolError
from agi.pbx.emulator.call import AGENT_SILENCE_TO_TALK, FRAME_SECONDS, CallEvent, TargetLeg, TransferTarget, is_speech
from agi.protocols import audiosocket as asock
from agi.protocols.ami import AmiMessage, AmiReader, banner, encode

if TYPE_CHECKING:
    from agi.pbx.emulator.asterisk import _Emulator

__all__ = ["EmulatedAmi", "TransferTarget", "TargetLeg", "AMI_VERSION"]

AMI_VERSION: Final = "10.0.0"  # AMI_VERSION of Asterisk 22 (include/asterisk/manager.h)
LOGIN_FAILURE_DELAY_S: Final = 1.0  # action_login: sleep(1) before "Authentication failed"
# A target waiting for Permanence to speak or bridge gives up after this (a real person
# would not hold a silent line for ever).
TARGET_PATIENCE_S: Final = 30.0
_LEG_NUMBERS = itertools.count(1)


class EmulatedAmi:
    """One emulated Asterisk's AMI; :meth:`register` the emulated calls it may bridge."""

    def __init__(self, username: str, secret: str, targets: Mapping[str, TransferTarget] = {},
                 *, on_event: Callable[[CallEvent], None] | None = None) -> None:
        self.username, self.secret = username, secret
        self.targets = dict(targets)
        self.on_event = on_event
        self.events: list[CallEvent] = []
        self.legs: list[TargetLeg] = []
        self.logins: list[tuple[str, bool]] = []
        self._calls: dict[str, _Emulator] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._t0 = time.monotonic()

    # lifecycle -------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._on_connect, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def register(self, channel: str, call: _Emulator) -> None:
        """An emulated caller's channel (agi_channel), so Bridge can yank it."""
        self._calls[channel] = call

    def emit(self, side: str, kind: str, detail: str = "") -> None:
        event = CallEvent(t=round(time.monotonic() - self._t0, 3), side=side, kind=kind, detail=detail)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # one manager session ------------------------------------------------------
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner(AMI_VERSION))
        ami = AmiReader()
        authenticated = False
        try:
            while True:
                message = ami.next_message()
                if message is None:
                    data = await reader.read(4096)
                    if not data:
                        return
                    ami.receive_data(data)
                    continue
                action = message.get("Action").lower()
                self.emit("agent", "ami_action", message.get("Action"))
                if action == "login":
                    authenticated = await self._login(message, writer)
                    if not authenticated:
                        return
                elif not authenticated:
                    self._respond(writer, message, "Error", "Permission denied")
                elif action == "logoff":
                    self._respond(writer, message, "Goodbye", "Thanks for all the fish.")
                    return
                else:
                    self._act(action, message, writer)
                await writer.drain()
        except (ConnectionError, ProtocolError) as exc:
            self.emit("pbx", "ami_error", str(exc))
        finally:
            writer.close()

    async def _login(self, message: AmiMessage, writer: asyncio.StreamWriter) -> bool:
        ok = message.get("Username") == self.username and message.get("Secret") == self.secret
        self.logins.append((message.get("Username"), ok))
        if not ok:
            await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
            self._respond(writer, message, "Error", "Authentication failed")
            await writer.drain()
            self.emit("pbx", "ami_login_failed", message.get("Username"))
            return False
        self._respond(writer, message, "Success", "Authentication accepted")
        self.emit("pbx", "ami_login", message.get("Username"))
        return True

    def _act(self, action: str, message: AmiMessage, writer: asyncio.StreamWriter) -> None:
        if action == "ping":
            self._write(writer, [*_id(message), ("Response", "Success"), ("Ping", "Pong"),
                                 ("Timestamp", f"{time.time():.6f}")])
        elif action == "originate":
            self._originate(message, writer)
        elif action == "bridge":
            self._bridge(message, writer)
        elif action == "hangup":
            self._hangup(message, writer)
        else:
            self._respond(writer, message, "Error", f"Invalid/unknown command: {message.get('Action')}. "
                          "Use Action: ListCommands to show available commands.")

    def _respond(self, writer: asyncio.StreamWriter, message: AmiMessage, response: str, text: str) -> None:
        self._write(writer, [("Response", response), *_id(message), ("Message", text)])

    def _write(self, writer: asyncio.StreamWriter, headers: list[tuple[str, str]]) -> None:
        if not writer.is_closing():
            writer.write(encode(headers))

    # Originate ------------------------------------------------------------------
    def _originate(self, message: AmiMessage, writer: asyncio.StreamWriter) -> None:
        if message.get("Async").lower() not in ("true", "yes", "1") or not message.get("Application"):
            self._respond(writer, message, "Error", "the emulator plays only Async Originate of an Application")
            return
        self._respond(writer, message, "Success", "Originate successfully queued")
        self._spawn(self._ring(message, writer))

    async def _ring(self, message: AmiMessage, writer: asyncio.StreamWriter) -> None:
        target = message.get("Channel")
        behaviour = self.targets.get(target)
        uniqueid = message.get("ChannelId") or f"{int(time.time())}.{next(_LEG_NUMBERS) + 1000}"
        channel = f"{target}-{next(_LEG_NUMBERS):08x}"
        timeout_s = int(message.get("Timeout") or 30000) / 1000
        if behaviour is None:  # no such endpoint: the channel is never created
            leg = TargetLeg(target, target, uniqueid, "failed")
            reason, success, channel = 0, False, target
        else:
            leg = TargetLeg(target, channel, uniqueid, "answered")
            outcome = {"busy": ("busy", 5), "decline": ("declined", 1), "no_answer": ("no_answer", 3)}
            wait = timeout_s if behaviour.answer == "no_answer" else min(behaviour.ring_s, timeout_s)
            self.emit("target", "ringing", f"{target} for {wait:.1f} s")
            await asyncio.sleep(wait)
            if behaviour.answer in outcome:
                leg.outcome, reason = outcome[behaviour.answer]
                success = False
            elif wait >= timeout_s:
                leg.outcome, reason, success = "no_answer", 3, False
            else:
                reason, success = 4, True
        self.legs.append(leg)
        self.emit("target", leg.outcome, channel)
        self._write(writer, [("Event", "OriginateResponse"), ("Privilege", "call,all"), *_id(message),
                             ("Response", "Success" if success else "Failure"), ("Channel", channel),
                             ("Application", message.get("Application")), ("Data", message.get("Data")),
                             ("Reason", str(reason)), ("Uniqueid", uniqueid),
                             ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>")])
        if not success:
            leg.done.set()
            return
        assert behaviour is not None
        try:
            await self._run_application(leg, message, behaviour)
        finally:
            leg.hung_up = not leg.bridged
            leg.done.set()
            if leg.hung_up:
                self._write(writer, [("Event", "Hangup"), ("Privilege", "call,all"),
                                     ("Channel", leg.channel), ("Uniqueid", leg.uniqueid),
                                     ("Cause", "16"), ("Cause-txt", "Normal Clearing")])

    async def _run_application(self, leg: TargetLeg, message: AmiMessage, behaviour: TransferTarget) -> None:
        """AudioSocket(uuid,host:port) on the answered target, as app_audiosocket.c."""
        if message.get("Application").lower() != "audiosocket":
            self.emit("target", "application", message.get("Application"))
            return
        media_id, _, service = message.get("Data").partition(",")
        host, _, port = service.rpartition(":")
        try:
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (OSError, ValueError) as exc:
            self.emit("target", "audiosocket_error", str(exc))
            return
        writer.write(asock.encode_uuid(uuidlib.UUID(media_id)))
        listen = asyncio.create_task(self._hear(leg, reader))
        try:
            await self._speak_then_key(leg, writer, behaviour, listen)
        finally:
            listen.cancel()
            await asyncio.gather(listen, return_exceptions=True)
            writer.close()

    async def _hear(self, leg: TargetLeg, reader: asyncio.StreamReader) -> None:
        decoder = asock.AudioSocketDecoder()
        while True:
            event = decoder.next_event()
            if event is asock.NEED_DATA:
                data = await reader.read(4096)
                decoder.receive_data(data)
                continue
            if isinstance(event, asock.AudioReceived):
                if is_speech(event.pcm):
                    leg.speech_frames += 1
                    leg.last_speech = time.monotonic()
                continue
            self.emit("target", "audiosocket_end", type(event).__name__)
            return  # a hang-up frame or the server closing: AudioSocket() returns

    async def _speak_then_key(self, leg: TargetLeg, writer: asyncio.StreamWriter,
                              behaviour: TransferTarget, listen: asyncio.Task[None]) -> None:
        """Silence frames every 20 ms; the key (or a hang-up) once the summary ended."""
        start = time.monotonic()
        for tick in itertools.count():
            await asyncio.sleep(max(0.0, start + tick * FRAME_SECONDS - time.monotonic()))
            now = time.monotonic()
            if leg.bridged or leg.dropped or listen.done() or now - start > TARGET_PATIENCE_S:
                return
            heard = leg.last_speech is not None and now - leg.last_speech >= AGENT_SILENCE_TO_TALK
            if heard and not leg.key_sent:
                if not behaviour.key:
                    self.emit("target", "hangs_up", "after the summary")
                    return
                leg.key_sent = behaviour.key
                writer.write(asock.encode_dtmf(behaviour.key))
                self.emit("target", "dtmf", behaviour.key)
            writer.write(asock.encode_audio(asock.SILENCE))
            try:
                await writer.drain()
            except ConnectionError:
                return

    # Bridge, Hangup -------------------------------------------------------------
    def _leg(self, name: str) -> TargetLeg | None:
        return next((leg for leg in self.legs if name in (leg.channel, leg.uniqueid)
                     and leg.outcome == "answered" and not leg.done.is_set()), None)

    def _bridge(self, message: AmiMessage, writer: asyncio.StreamWriter) -> None:
        first, second = message.get("Channel1"), message.get("Channel2")
        if not first or not second:
            self._respond(writer, message, "Error", "Missing channel parameter in request")
            return
        call = self._calls.get(first)
        if call is None or call.dead:
            self._respond(writer, message, "Error", f"Channel1 does not exist: {first}")
            return
        leg = self._leg(second)
        if leg is None:
            self._respond(writer, message, "Error", f"Channel2 does not exist: {second}")
            return
        leg.bridged = True
        call._yanked.set()
        call.call.bridged = True
        self._respond(writer, message, "Success", "Channels have been bridged")
        bridge = str(uuidlib.uuid4())
        self._write(writer, [("Event", "BridgeCreate"), ("Privilege", "call,all"),
                             ("BridgeUniqueid", bridge), ("BridgeType", "basic"),
                             ("BridgeTechnology", "simple_bridge"), ("BridgeNumChannels", "0")])
        for count, (channel, uniqueid) in enumerate(((first, call.uniqueid), (leg.channel, leg.uniqueid)), 1):
            self._write(writer, [("Event", "BridgeEnter"), ("Privilege", "call,all"),
                                 ("BridgeUniqueid", bridge), ("BridgeType", "basic"),
                                 ("BridgeNumChannels", str(count)), ("Channel", channel),
                                 ("Uniqueid", uniqueid)])
        self.emit("pbx", "bridged", f"{first} <-> {leg.channel}")

    def _hangup(self, message: AmiMessage, writer: asyncio.StreamWriter) -> None:
        name = message.get("Channel")
        leg = next((leg for leg in self.legs if name in (leg.channel, leg.uniqueid)), None)
        if leg is None or leg.done.is_set() and leg.hung_up:
            self._respond(writer, message, "Error", "No such channel")
            return
        leg.dropped = True
        self._respond(writer, message, "Success", "Channel Hungup")
        self.emit("pbx", "hangup", leg.channel)


def _id(message: AmiMessage) -> list[tuple[str, str]]:
    action_id = message.get("ActionID")
    return [("ActionID", action_id)] if action_id else []
