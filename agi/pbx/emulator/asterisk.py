"""The PBX emulator's Asterisk side: plays Asterisk 20's part of a call against a running Permanence.

It connects to the FastAGI port and sends the environment Asterisk sends, answers each
AGI command as ``res_agi.c`` would, and for ``EXEC AudioSocket`` connects to the given
host:port as ``app_audiosocket.c`` does (agi.pbx.emulator.audiosocket), streams the
caller's audio in real time (20 ms frames) and records the agent's. With an emulated AMI
(agi.pbx.emulator.ami) it also plays both sides of a transfer. See docs/emulator.md for
what it mirrors and where it simplifies. Used by ``permanence call``, the bench and the
end-to-end tests.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from agi.errors import RemoteProtocolError
from agi.pbx.emulator.audiosocket import ACTIVITY_TIMEOUT, CONNECT_TIMEOUT, AudioSocketCaller
from agi.pbx.emulator.call import (
    AGENT_SILENCE_TO_TALK,
    FRAME_SECONDS,
    SPEECH_RMS_THRESHOLD,
    CallerTurn,
    CallEvent,
    EmulatedCall,
    TurnTiming,
    is_speech,
    read_wav,
    speak,
    write_wav,
)
from agi.protocols.agi import NEED_DATA, AgiClientConnection, CommandReceived

if TYPE_CHECKING:
    from agi.pbx.emulator.ami import EmulatedAmi

__all__ = [
    "emulate_call", "CallerTurn", "CallEvent", "EmulatedCall", "TurnTiming", "read_wav",
    "speak", "write_wav", "is_speech", "SPEECH_RMS_THRESHOLD", "AGENT_SILENCE_TO_TALK",
    "ACTIVITY_TIMEOUT", "CONNECT_TIMEOUT", "FRAME_SECONDS",
]

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


class _Emulator(AudioSocketCaller):
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
        self._yanked = asyncio.Event()  # set by an emulated AMI Bridge of this channel

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


async def emulate_call(host: str, port: int, *, path: str = "demo", caller: str = "+33612345678",
                       dnid: str = "0140000000", turns: Sequence[CallerTurn] = (),
                       hangup_after: int | None = None, silence: str = "frames",
                       max_duration: float = 120.0,
                       on_event: Callable[[CallEvent], None] | None = None,
                       ami: EmulatedAmi | None = None) -> EmulatedCall:
    """Place one emulated call against a FastAGI server and return what happened.

    ``turns`` are the caller's utterances (8 kHz s16le); ``hangup_after=N`` hangs up (as
    the caller) right after the N-th turn has been streamed (0: as soon as media starts).
    ``silence='frames'`` sends silence frames while the caller is quiet, ``'none'`` sends
    nothing then (Local channels, silence suppression). After ``max_duration`` seconds
    the caller hangs up and the call is returned as it stands. ``ami``: the emulated AMI
    of the same Asterisk, which can then Bridge this channel to a transfer target.
    """
    emulator = _Emulator(path=path, caller=caller, dnid=dnid, turns=turns, hangup_after=hangup_after,
                         silence=silence, on_event=on_event, host=host, port=port)
    if ami is not None:
        ami.register(emulator.env["agi_channel"], emulator)
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
