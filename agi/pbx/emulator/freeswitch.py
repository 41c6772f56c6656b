"""The PBX emulator's FreeSWITCH side: the dialplan's ``socket <host>:<port> async full``.

It connects to our outbound-ESL port as mod_event_socket does, answers every command as
FreeSWITCH 1.10.12 does (FREESWITCH.md: ``+OK`` at once for each queued ``sendmsg``,
mod_event_socket.c:2172/:2202; events with URL-encoded headers), carries media as the
``unicast`` call-command does (switch_ivr.c:347-352: one datagram per 20 ms frame, L16
little-endian at the read-codec rate, all-0xFF comfort noise while the caller is silent,
what we send is taken the moment it arrives, no buffering; a port it cannot bind is a
silent failure) and ends a call as measured: CHANNEL_HANGUP and friends at once, the
``linger`` notice about 25 ms later, ``disconnect`` and EOF after the linger time
(FreeSWITCH compares whole seconds, so up to 1 s late; :1473-1498). ``time_scale``
shrinks those waits for tests. See docs/emulator.md for what it simplifies.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from agi.errors import ProtocolError
from agi.pbx.emulator.asterisk import _Emulator
from agi.pbx.emulator.call import (
    FRAME_SECONDS,
    CallerTurn,
    CallEvent,
    EmulatedCall,
    TargetLeg,
    TransferTarget,
    TurnTiming,
)
from agi.pbx.emulator.freeswitch_target import EslPeer, TargetSession, commands, split_api_args
from agi.protocols import esl
from agi.speech import audio

__all__ = ["emulate_freeswitch_call", "LINGER_NOTICE_DELAY", "COMFORT_NOISE"]

# Measured: the linger notice 24-31 ms after CHANNEL_HANGUP; disconnect after the linger
# time plus up to one second (whole epoch seconds compared).
LINGER_NOTICE_DELAY: Final = 0.025
LINGER_OVERSHOOT: Final = 0.5
COMFORT_NOISE: Final = 0xFF
_HANGUP_EVENTS: Final = ("CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
                         "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE")
_NUMBERS = itertools.count(1)


class _UnicastLeg(asyncio.DatagramProtocol):
    def __init__(self, emulator: _FreeSwitch) -> None:
        self.emulator = emulator

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.emulator._on_agent_audio(data)


class _FreeSwitch(_Emulator, EslPeer):
    """One emulated FreeSWITCH call; ``run`` returns when either side closed the socket."""

    def __init__(self, *, tenant: str, rate: int, time_scale: float, source: str,
                 **kwargs: Any) -> None:
        super().__init__(path=tenant, **kwargs)
        number = next(_NUMBERS)
        self.uniqueid = str(uuidlib.uuid4())
        self.call = EmulatedCall(uniqueid=self.uniqueid, channel=f"sofia/internal/{number}@pbx")
        self.call.sample_rate = rate
        self.tenant, self.rate, self.scale, self.source = tenant, rate, time_scale, source
        self.linger: int | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._media: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None
        self._frame_bytes = rate * 20 // 1000 * 2
        self.targets: Mapping[str, TransferTarget] = {}  # the humans behind dial strings
        self._target_sessions: dict[str, tuple[TargetSession, asyncio.Task[None]]] = {}

    def channel_data(self) -> dict[str, str]:
        caller, dnid = self.variables["CALLERID(num)"], self.variables["EXTEN"]
        data = {
            "Content-Type": "command/reply", "Reply-Text": "+OK", "Socket-Mode": "async",
            "Control": "full", "Event-Name": "CHANNEL_DATA", "Channel-Name": self.call.channel,
            "Unique-ID": self.uniqueid, "Channel-State": "CS_EXECUTE",
            "Channel-Read-Codec-Name": "L16" if self.rate != 8000 else "PCMU",
            "Channel-Read-Codec-Rate": str(self.rate), "Caller-Caller-ID-Number": caller,
            "Caller-Destination-Number": dnid, "Caller-Context": "public",
            "variable_sip_from_display": "Caller name, with \"quotes\"\nand a newline",
        }
        if self.tenant:
            data["variable_permanence_tenant"] = self.tenant
        return data

    async def run(self, host: str, port: int) -> EmulatedCall:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(self.source, 0))
        self._writer = writer
        self.emit("pbx", "esl_connect", f"{host}:{port} from {self.source}")
        try:
            async for event in commands(reader):
                self.emit("agent", "esl_command", event.line + "".join(
                    f" {k}={v}" for k, v in event.headers.items()))
                if event.line.startswith("api originate "):  # blocks this socket, as in FreeSWITCH
                    self._write(esl.encode_message({"Content-Type": "api/response"},
                                                   (await self._originate(event.line[14:])).encode()))
                else:
                    self._write(self._reply(event))
                await writer.drain()
        except (ProtocolError, ConnectionError) as exc:
            self.emit("pbx", "esl_error", str(exc))
        finally:
            self.emit("agent", "esl_close")
            if self.call.hung_up_by is None:
                self.emit("pbx", "dialplan_continues", "the socket application returned")
            tasks = [self._media, self._ending, *(task for _, task in self._target_sessions.values())]
            for task in tasks:
                if task is not None and task is not asyncio.current_task():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            if self._udp is not None:
                self._udp.close()
            writer.close()
        return self.call

    def _reply(self, cmd: esl.CommandReceived) -> bytes:
        line = cmd.line
        ok = esl.encode_message({"Content-Type": "command/reply", "Reply-Text": "+OK"})
        setup = self._setup_reply(line)
        if setup is not None:
            return setup
        if line.startswith("api "):
            return esl.encode_message({"Content-Type": "api/response"}, self._api(line[4:]).encode())
        if line == "sendmsg" or line.startswith("sendmsg "):
            self._sendmsg(cmd.headers)
            return ok  # queued and acknowledged at once, whatever happens later (:2172)
        return esl.encode_message({"Content-Type": "command/reply",
                                   "Reply-Text": "-ERR command not found"})

    def _api(self, command: str) -> str:
        verb, *args = command.split(" ", 3)
        if verb == "uuid_setvar" and len(args) >= 2 and args[0] == self.uniqueid:
            value = args[2] if len(args) > 2 else ""
            # our front sets lower-case names; the record keeps the Asterisk spelling so
            # one test reads both PBXs' variables the same way
            self.call.variables[args[1].upper()] = value
            self.variables[args[1]] = value
            return "+OK"
        if verb == "uuid_setvar":
            return "-ERR No such channel!\n"
        if verb in ("uuid_bridge", "uuid_kill"):
            return self._transfer_api(verb, args)
        return f"-ERR {verb} Command not found!\n"

    # ------------------------------------------------------------------ transfers

    async def _originate(self, args: str) -> str:
        """``originate {vars}<dial string> &park()`` (or ``'&socket(host:port async full)'``)
        as mod_commands.c: ``+OK <uuid>`` once the target answered, ``-ERR <cause>`` when
        it did not. An answered ``&socket`` leg then connects to that address
        (agi.pbx.emulator.freeswitch_target)."""
        variables, _, rest = args.partition("}")
        options = dict(item.partition("=")[::2] for item in variables.lstrip("{").split(",") if item)
        target, *application = split_api_args(rest) or [""]
        behaviour = self.targets.get(target)
        leg = TargetLeg(target, target, options.get("origination_uuid", str(uuidlib.uuid4())), "failed")
        self.call.legs.append(leg)
        if behaviour is None:
            return "-ERR NO_ROUTE_DESTINATION\n"
        timeout = float(options.get("originate_timeout", "60"))
        wait = timeout if behaviour.answer == "no_answer" else min(behaviour.ring_s, timeout)
        self.emit("target", "ringing", f"{target} for {wait:.1f} s")
        await asyncio.sleep(wait)
        causes = {"busy": ("busy", "USER_BUSY"), "decline": ("declined", "CALL_REJECTED"),
                  "no_answer": ("no_answer", "NO_ANSWER")}
        if behaviour.answer in causes or wait >= timeout:
            leg.outcome, cause = causes.get(behaviour.answer, ("no_answer", "NO_ANSWER"))
            leg.done.set()
            self.emit("target", leg.outcome, target)
            return f"-ERR {cause}\n"
        leg.outcome = "answered"
        self.emit("target", "answered", target)
        app = application[0] if application else ""
        if app.startswith("&socket(") and app.endswith(")"):
            address = app[len("&socket("):-1].split(" ", 1)[0]
            session = TargetSession(leg, behaviour, {k: v for k, v in options.items() if k.startswith("permanence_")},
                                    lambda side, kind, detail: self.emit(side, kind, detail),
                                    source=self.source, time_scale=self.scale)
            self._target_sessions[leg.uniqueid] = (session, asyncio.create_task(session.run(address)))
        return f"+OK {leg.uniqueid}\n"

    def _transfer_api(self, verb: str, args: list[str]) -> str:
        wanted = args[-1] if args else ""
        leg = next((leg for leg in self.call.legs if leg.uniqueid == wanted and leg.outcome == "answered"
                    and not leg.done.is_set()), None)
        if leg is None:
            return "-ERR No such channel!\n"
        session = self._target_sessions.get(leg.uniqueid, (None, None))[0]
        if verb == "uuid_kill":
            leg.dropped, leg.hung_up = True, True
            if session is not None:
                session.hang_up("uuid_kill")
            leg.done.set()
            return "+OK\n"
        if args[0] != self.uniqueid or self.dead:
            return f"-ERR Invalid uuid {args[0]}\n"
        # the caller leaves park: unicast is over for it (FREESWITCH.md), the two talk now
        leg.bridged = self.call.bridged = True
        if session is not None:
            session.bridge()
        leg.done.set()
        if self._media is not None:
            self._media.cancel()
        if self._udp is not None:
            self._udp.close()
        self._event("CHANNEL_BRIDGE", **{"Other-Leg-Unique-ID": leg.uniqueid})
        self.emit("pbx", "bridged", f"{self.uniqueid} <-> {leg.uniqueid}")
        return f"+OK {leg.uniqueid}\n"

    def _sendmsg(self, headers: dict[str, str] | Any) -> None:
        command = headers.get("call-command", "")
        if self.dead:
            return
        if command == "execute" and headers.get("execute-app-name") == "answer":
            self.answered = True
            self._event("CHANNEL_ANSWER")
        elif command == "unicast" and self._media is None:
            self._media = asyncio.create_task(self._unicast(headers))
        elif command == "hangup":
            self.call.hung_up_by = self.call.hung_up_by or "agent"
            self.emit("agent", "hangup")
            self._end()

    def _event(self, name: str, **headers: str) -> None:
        self._write(esl.encode_event(name, {"Unique-ID": self.uniqueid, **headers}))

    # ------------------------------------------------------------------ ending

    def _end(self) -> None:
        if self.dead:
            return
        self.dead = True
        if self._udp is not None:
            self._udp.close()  # FreeSWITCH releases its port at hang-up
        for name in _HANGUP_EVENTS:
            self._event(name, **({"Hangup-Cause": "NORMAL_CLEARING"} if "HANGUP" in name else {}))
        self._ending = asyncio.create_task(self._linger_then_close())

    async def _linger_then_close(self) -> None:
        writer = self._writer
        assert writer is not None
        if self.linger is None:  # no linger: the socket closes at once, later events lost
            writer.close()
            return
        await asyncio.sleep(LINGER_NOTICE_DELAY * self.scale)
        notice = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
        self._write(esl.encode_message({
            "Content-Type": "text/disconnect-notice", "Controller-Session": self.uniqueid,
            "Content-Disposition": "linger", "Channel-Input-Disposition": "linger",
            "Linger-Time": str(self.linger)}, notice))
        self.emit("pbx", "linger_notice", f"{self.linger} s")
        await asyncio.sleep((self.linger + LINGER_OVERSHOOT) * self.scale)
        self._write(esl.encode_message({"Content-Type": "text/disconnect-notice",
                                        "Content-Disposition": "disconnect"}))
        self.emit("pbx", "disconnect")
        writer.close()

    # ------------------------------------------------------------------ media

    async def _unicast(self, headers: dict[str, str] | Any) -> None:
        local = (headers.get("local-ip", "127.0.0.1"), int(headers.get("local-port", "8025")))
        remote = (headers.get("remote-ip", "127.0.0.1"), int(headers.get("remote-port", "8026")))
        loop = asyncio.get_running_loop()
        try:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UnicastLeg(self), local_addr=local, family=socket.AF_INET)
        except OSError as exc:  # switch_ivr.c: a CRIT log line, +OK already sent, nothing flows
            self.emit("pbx", "unicast_bind_failed", f"{local[0]}:{local[1]}: {exc.strerror}")
            return
        self.emit("pbx", "unicast_start", f"{local[1]} -> {remote[1]} at {self.rate} Hz")
        await self._stream(remote)

    async def _stream(self, remote: tuple[str, int]) -> None:
        """Caller frames every 20 ms; comfort noise while silent; the hang-up at the end."""
        start = time.monotonic()
        pcm, offset = b"", 0
        noise = bytes([COMFORT_NOISE]) * self._frame_bytes
        if self.hangup_after == 0:
            return self._caller_hangs_up()
        for tick in itertools.count():
            await asyncio.sleep(max(0.0, start + tick * FRAME_SECONDS - time.monotonic()))
            if self.dead or self._udp is None or self._udp.is_closing():
                return
            now = time.monotonic()
            if not pcm and self._turn_index < len(self.turns):
                turn = self.turns[self._turn_index]
                if self._turn_may_start(turn, now) and turn.digits:
                    for digit in turn.digits:  # the ESL DTMF event (FREESWITCH.md: not measured)
                        self._event("DTMF", **{"DTMF-Digit": digit, "DTMF-Duration": "1600",
                                               "DTMF-Source": "RTP"})
                    self.call.turns.append(TurnTiming(index=self._turn_index, start=now - self._t0))
                    self.emit("caller", "dtmf", turn.digits)
                    self._end_turn(now)
                    continue
                if self._turn_may_start(turn, now):
                    pcm, offset = audio.resample(turn.audio or bytes(320), 8000, self.rate), 0
                    self.call.turns.append(TurnTiming(index=self._turn_index, start=now - self._t0))
                    self.emit("caller", "turn_start", f"#{self._turn_index + 1}")
            if pcm:
                frame = pcm[offset:offset + self._frame_bytes].ljust(self._frame_bytes, b"\0")
                offset += self._frame_bytes
                self._udp.sendto(frame, remote)
                self.call.caller_frames += 1
                if offset >= len(pcm):
                    pcm = b""
                    self._end_turn(now)
                    if self.hangup_after is not None and self._turn_index >= self.hangup_after:
                        return self._caller_hangs_up()
            elif self.silence == "frames":
                self._udp.sendto(noise, remote)
                self.call.caller_frames += 1
        raise AssertionError("unreachable")

    def _caller_hangs_up(self) -> None:  # type: ignore[override]
        self.call.hung_up_by = "caller"
        self.emit("caller", "hangup")
        self._end()


async def emulate_freeswitch_call(host: str, port: int, *, tenant: str = "demo",
                                  caller: str = "+33612345678", dnid: str = "0140000000",
                                  turns: Sequence[CallerTurn] = (), hangup_after: int | None = None,
                                  silence: str = "frames", max_duration: float = 120.0,
                                  rate: int = 8000, time_scale: float = 1.0, source: str = "127.0.0.1",
                                  on_event: Callable[[CallEvent], None] | None = None,
                                  targets: Mapping[str, TransferTarget] | None = None) -> EmulatedCall:
    """Place one emulated FreeSWITCH call against our outbound-ESL port.

    ``tenant`` is the dialplan's ``permanence_tenant`` variable ("" leaves it unset, so
    the dialled number decides); ``rate`` the channel's read-codec rate (8000 or 16000);
    ``source`` the address FreeSWITCH connects from; ``targets`` the humans an ESL
    ``originate`` reaches (what they do; the legs are in ``call.legs``); the other arguments as
    :func:`agi.pbx.emulator.emulate_call`.
    """
    emulator = _FreeSwitch(tenant=tenant, rate=rate, time_scale=time_scale, source=source,
                           caller=caller, dnid=dnid, turns=turns, hangup_after=hangup_after,
                           silence=silence, on_event=on_event, host=host, port=port)
    emulator.targets = dict(targets or {})
    try:
        async with asyncio.timeout(max_duration):
            await emulator.run(host, port)
    except TimeoutError:
        emulator.emit("caller", "max_duration", f"{max_duration:.0f} s reached; caller hangs up")
        emulator.call.hung_up_by = emulator.call.hung_up_by or "caller"
    emulator.call.duration = emulator.now()
    return emulator.call
