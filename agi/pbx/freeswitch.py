"""The FreeSWITCH front: an outbound-ESL server for ``socket <host>:<port> async full``.

FreeSWITCH connects to us once per call (no authentication in this direction,
mod_event_socket.c:515: connections from addresses not in ``[freeswitch] allowed_hosts``
are closed before a byte is read). We send ``connect`` (the reply is the channel's data),
``myevents``, ``linger <n>`` (without it FreeSWITCH closes at hang-up and later events are
lost, :1473-1498), answer, and start media with the ``unicast`` call-command
(:mod:`agi.pbx.unicast`). Channel variables are set with ``api uuid_setvar``, whose
answer comes after the variable is set (a queued ``sendmsg execute set`` is only ``+OK``
on receipt in async mode, :2172, and could be lost when we close right after). A
transfer is a return to the dialplan: we close the socket, the ``socket`` application
ends and the extension goes on to route ``permanence_result``.

Our own ESL core parses the wire, not greenswitch's ``OutboundESLServer``: its parser
URL-decodes whole events (greenswitch#78), its ``send()`` waits without a timeout and
its accept loop polls every 100 ms; every wait here has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

from agi.call.channel import CallInfo, Transfers
from agi.config import FreeSwitchSettings
from agi.errors import CallEnded, EslError, MediaUnavailable, PeerTimeout, ProtocolError
from agi.pbx.freeswitch_inbound import InboundEsl
from agi.pbx.freeswitch_transfer import LEG_VARIABLE, EslTransfers, TargetLegs
from agi.pbx.listener import stop_serving
from agi.pbx.overload import RefusalLog
from agi.pbx.unicast import PortPairs, UnicastMedia
from agi.protocols import esl

__all__ = ["FreeSwitchCall", "OutboundEslServer", "call_info"]

log = logging.getLogger(__name__)

READ_SIZE: Final = 65536
# FreeSWITCH answers each command within milliseconds (mod_event_socket.c answers a
# queued sendmsg at once); past this the connection is stuck.
COMMAND_TIMEOUT: Final = 5.0
# Pairs tried when our UDP port is held by another program, before the call goes back.
BIND_ATTEMPTS: Final = 4
HANGUP_EVENTS: Final = frozenset({"CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"})
# Open outbound-ESL connections when [limits] max_connections is not given (as FastAGI's).
MAX_CONNECTIONS: Final = 256
# Event names a call keeps for its logs: a peer flooding events costs no more memory.
MAX_EVENT_NAMES: Final = 256
# A transfer target's connection is held while its transfer decides (ring, summary, key);
# past this it is closed whatever happens (the transfer's own waits are shorter).
TARGET_LEG_HOLD_S: Final = 120.0


def call_info(headers: dict[str, str] | esl.CommandReply) -> CallInfo:
    """The call as the ``connect`` reply describes it."""
    h = headers.headers if isinstance(headers, esl.CommandReply) else headers
    return CallInfo(call_id=h.get("Unique-ID", "") or uuidlib.uuid4().hex,
                    route=h.get("variable_permanence_tenant", ""),
                    dialled=h.get("Caller-Destination-Number", ""),
                    caller=h.get("Caller-Caller-ID-Number", ""),
                    channel_name=h.get("Channel-Name", ""), pbx="freeswitch")


class FreeSwitchCall:
    """One outbound-ESL connection as the session's :class:`agi.call.channel.CallChannel`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 settings: FreeSwitchSettings, ports: PortPairs, inbound: InboundEsl | None = None,
                 legs: TargetLegs | None = None) -> None:
        self._reader, self._writer = reader, writer
        self._inbound = inbound
        self._settings = settings
        self._ports = ports
        self._parser = esl.EslParser()
        self._replies: asyncio.Queue[esl.CommandReply | esl.ApiResponse | None] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._media: UnicastMedia | None = None
        self._port: int | None = None
        self._hung_up = False
        self.disconnected = asyncio.Event()
        self.closed = asyncio.Event()  # close() ran: nothing more will be sent
        self.leg_token = ""  # set when this connection is a transfer target's leg (permanence_leg)
        self._down = asyncio.Event()  # CHANNEL_HANGUP or a disconnect notice seen
        self.info = CallInfo("", "", "", "", "", "freeswitch")
        self.sample_rate = 8000
        # the last event names in order, for logs and tests
        self.events: deque[str] = deque(maxlen=MAX_EVENT_NAMES)
        # ESL originate + uuid_bridge (agi.pbx.freeswitch_transfer), else the dialplan dials
        self.transfers: Transfers | None = EslTransfers(self, legs) if settings.esl_transfers else None

    # set-up --------------------------------------------------------------
    async def start(self) -> None:
        """connect, myevents, linger: after this the call's data is in ``info``."""
        self._pump = asyncio.create_task(self._read_loop(), name="esl-read")
        reply = await self._command(esl.encode_command("connect"))
        assert isinstance(reply, esl.CommandReply)
        self.info = call_info(reply)
        self.leg_token = reply.headers.get(f"variable_{LEG_VARIABLE}", "")[:64]
        rate = reply.headers.get("Channel-Read-Codec-Rate", "8000")
        self.sample_rate = int(rate) if rate.isdigit() and int(rate) > 0 else 8000
        await self._command(esl.encode_command("myevents"))
        await self._command(esl.encode_command(f"linger {self._settings.linger_s}"))

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    async def api(self, command: str, timeout: float = 0.0) -> str:
        """One blocking ``api`` command on this connection; its ``+OK`` text (EslError on -ERR)."""
        reply = await self._command(esl.encode_command(f"api {command}"), timeout or COMMAND_TIMEOUT)
        return reply.text.strip() if isinstance(reply, esl.ApiResponse) else reply.text

    async def _command(self, data: bytes, timeout: float = 0.0) -> esl.CommandReply | esl.ApiResponse:
        """Send one command and wait for its reply (ESL answers in order)."""
        timeout = timeout or COMMAND_TIMEOUT
        what = data.split(b"\n", 1)[0].decode(errors="replace")
        async with self._lock:
            if self._writer.is_closing() or self.disconnected.is_set():
                raise CallEnded(f"ESL connection of call {self.info.call_id} is closed")
            self._writer.write(data)
            try:
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
                    reply = await self._replies.get()
            except TimeoutError:  # out of step: closed, and the record says peer_timeout as on Asterisk
                await self.close()
                raise PeerTimeout(f"no ESL reply within {timeout:.0f} s to {what!r}") from None
            except ConnectionError as exc:
                raise CallEnded("ESL connection lost") from exc
        if reply is None:
            raise CallEnded(f"ESL connection of call {self.info.call_id} closed")
        if not reply.ok:
            text = reply.text if isinstance(reply, esl.CommandReply) else reply.text.strip()
            raise EslError(f"FreeSWITCH refused {what!r}: {text}")
        return reply

    async def _sendmsg(self, headers: dict[str, str]) -> None:
        await self._command(esl.encode_sendmsg(headers))

    # what the session uses -------------------------------------------------
    async def answer(self) -> None:
        await self._sendmsg({"call-command": "execute", "execute-app-name": "answer"})

    async def set_variable(self, name: str, value: str) -> None:
        # FreeSWITCH variable names are case-sensitive; ours are lower-case there.
        await self._command(esl.encode_command(
            f"api uuid_setvar {self.info.call_id} {name.lower()} {value}"))

    async def start_media(self, timeout: float) -> UnicastMedia:
        s = self._settings
        media = await self._bind()
        ours, theirs = media.local_port, media.peer[1]
        try:
            self._media = media
            await self._sendmsg({
                "call-command": "unicast", "local-ip": s.freeswitch_media_host,
                "local-port": str(theirs), "remote-ip": s.media_host, "remote-port": str(ours),
                "transport": "udp"})
            await media.wait_first_audio(min(timeout, s.first_audio_timeout_s))
        except BaseException:
            await media.hangup()
            self._release_port()
            raise
        log.info("call %s: unicast media at %d Hz on UDP %d<->%d", self.info.call_id,
                 self.sample_rate, ours, theirs)
        return media

    async def _bind(self) -> UnicastMedia:
        """Our end of a free pair; a port another program holds moves on to the next pair."""
        s = self._settings
        for attempt in range(BIND_ATTEMPTS):
            ours, theirs = self._ports.take()
            media = UnicastMedia(self.info.call_id, self.sample_rate,
                                 (s.freeswitch_media_host, theirs), self._ports.refusals)
            try:
                await media.bind(s.media_host, ours)
            except MediaUnavailable as exc:
                self._ports.give_back(ours)
                if attempt == BIND_ATTEMPTS - 1:
                    raise
                log.warning("call %s: %s; trying the next pair", self.info.call_id, exc)
                continue
            self._port = ours
            return media
        raise AssertionError("unreachable")

    async def end_media(self, timeout: float) -> None:
        if self._media is not None:
            await self._media.hangup()
        self._release_port()

    async def hangup(self) -> None:
        """Hang up, wait (bounded) for FreeSWITCH to confirm the channel is down, close.

        The events arrive within the same millisecond as CHANNEL_HANGUP; nothing after
        them matters to us, so we close then instead of sitting out the linger time."""
        try:
            await self._sendmsg({"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._down.wait(), COMMAND_TIMEOUT)
        except (EslError, PeerTimeout):
            if self._inbound is None:
                raise
            # our control socket is stuck: the inbound client still reaches the channel
            log.warning("call %s: hangup over outbound ESL failed; uuid_kill", self.info.call_id)
            await self._inbound.api(f"uuid_kill {self.info.call_id}")
        finally:
            await self.close()

    async def close(self) -> None:
        self.closed.set()
        if self._media is not None:
            await self._media.hangup()
        self._release_port()
        if not self._writer.is_closing():
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        if self._pump is not None and self._pump is not asyncio.current_task():
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    def _release_port(self) -> None:
        if self._port is not None:
            self._ports.give_back(self._port)
            self._port = None

    # the read side -----------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                event = self._parser.next_event()
                if event is esl.NEED_DATA:
                    try:
                        data = await self._reader.read(READ_SIZE)
                    except ConnectionError:
                        data = b""
                    self._parser.receive_data(data)
                    continue
                if isinstance(event, esl.ConnectionClosed):
                    return
                self._dispatch(event)
        except ProtocolError as exc:
            log.warning("call %s: ESL stream broken, closing: %s", self.info.call_id, exc)
        finally:
            self._gone()

    def _dispatch(self, event: object) -> None:
        if isinstance(event, (esl.CommandReply, esl.ApiResponse)):
            self._replies.put_nowait(event)
        elif isinstance(event, esl.Event):
            self.events.append(event.name)
            if event.name == "DTMF" and self._media is not None:
                self._media.digit(event.headers.get("DTMF-Digit", "")[:1])
            elif event.name in HANGUP_EVENTS:
                self._channel_down()
        elif isinstance(event, esl.DisconnectNotice):
            self.events.append(f"disconnect-notice/{event.disposition}")
            self._channel_down()
            if event.disposition == "disconnect":
                self._writer.close()  # FreeSWITCH is closing; nothing more will come

    def _channel_down(self) -> None:
        self._hung_up = True
        self._down.set()
        if self._media is not None:
            self._media.ended_by_pbx()

    def _gone(self) -> None:
        self._channel_down()
        self.disconnected.set()
        self._replies.put_nowait(None)


CallHandler = Callable[[FreeSwitchCall], Awaitable[None]]


class OutboundEslServer:
    """Listens for FreeSWITCH's ``socket`` application; one task per call.

    Bounded: at most ``max_connections`` sessions, and never more than the UDP port pairs
    (one per call); a connection past either, or from an address not allowed, is closed
    before a byte is read (the dialplan goes on). Refusals are counted and logged once per
    interval (:class:`agi.pbx.overload.RefusalLog`), never a line each.
    """

    def __init__(self, handler: CallHandler, settings: FreeSwitchSettings,
                 inbound: InboundEsl | None = None, *,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self._handler = handler
        self._inbound = inbound
        self.settings = settings
        self.max_connections = max_connections
        self._ports = PortPairs(settings.media_port_min, settings.media_port_max)
        # transfer targets originated into our socket application (agi.pbx.freeswitch_transfer)
        self.legs = TargetLegs(settings.esl_advertise)  # "" until start() knows the port bound
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self.strangers = RefusalLog("outbound ESL")  # addresses not in allowed_hosts
        self.refusals = RefusalLog("outbound ESL")  # past the connection cap

    @property
    def refused(self) -> int:
        return self.strangers.total + self.refusals.total

    @property
    def media_refusals(self) -> RefusalLog:
        """Datagrams the calls' unicast sockets dropped (another source, oversized)."""
        return self._ports.refusals

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self.settings.esl_port

    async def start(self) -> None:
        s = self.settings
        self._server = await asyncio.start_server(self._on_connect, s.esl_host, s.esl_port)
        self.legs.address = s.esl_advertise or f"{s.esl_host}:{self.port}"  # the port bound (0: any)
        log.info("outbound ESL listening on %s:%d (FreeSWITCH from %s)", s.esl_host, self.port,
                 ", ".join(sorted(s.allowed)))

    async def stop(self, grace: float = 0.0) -> None:
        """Stop listening; give live sessions ``grace`` seconds to end, then cancel them."""
        await stop_serving(self._server, self._sessions, grace)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) else ""
        if host not in self.settings.allowed:
            self.strangers.refused(host, "not in freeswitch.allowed_hosts")
            writer.close()
            return
        if len(self._sessions) >= min(self.max_connections, self._ports.pairs):
            self.refusals.refused(host, f"{len(self._sessions)} calls open (limits.max_connections "
                                  f"{self.max_connections}, {self._ports.pairs} UDP port pairs in "
                                  "freeswitch.media_port_min..max)")
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        call = FreeSwitchCall(reader, writer, self.settings, self._ports, self._inbound, self.legs)
        try:
            await call.start()
            if call.leg_token:
                await self._hold_leg(call)
            else:
                await self._handler(call)
        except (EslError, CallEnded, ProtocolError, OSError) as exc:  # PeerTimeout is a CallEnded
            log.info("call %s: ESL session ended: %s", call.info.call_id or "?", exc)
        except asyncio.CancelledError:
            log.info("call %s: ESL session cancelled by server stop", call.info.call_id or "?")
        except Exception:
            log.exception("call %s: ESL handler failed; closing", call.info.call_id or "?")
        finally:
            await call.close()
            self._sessions.discard(task)

    async def _hold_leg(self, call: FreeSwitchCall) -> None:
        """A transfer target's connection: its transfer drives it until it closes it.
        A leg nobody waits for (its transfer gave up, or a forged token) is hung up: a
        human must not hold a silent line."""
        if not self.legs.offer(call.leg_token, call):
            log.info("call %s: transfer leg nobody waits for; hanging it up", call.info.call_id)
            await call.hangup()
            return
        closed = asyncio.create_task(call.closed.wait())
        gone = asyncio.create_task(call.disconnected.wait())
        try:
            await asyncio.wait({closed, gone}, timeout=TARGET_LEG_HOLD_S,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            gone.cancel()
