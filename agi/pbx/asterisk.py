"""asyncio adapters for Asterisk: FastAGI sessions (the AudioSocket media server is in
:mod:`agi.pbx.audiosocket_server`, AMI in :mod:`agi.pbx.ami`; re-exported here).

Thin on purpose: every byte is parsed by the sans-IO cores in ``agi.protocols``; this
module only moves bytes between sockets and those cores and turns events into calls
and typed errors. Logs carry call ids (``agi_uniqueid``, AudioSocket UUIDs) and peer
addresses, never phone numbers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from panoramisk.fast_agi import Application

from agi.errors import (
    AgiDeadChannel,
    AgiEnvironmentError,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiUsageError,
    CallEnded,
    PeerTimeout,
    RemoteProtocolError,
)
from agi.pbx.audiosocket_server import (
    MAX_CONNECTIONS,
    READ_SIZE,
    UUID_TIMEOUT,
    AudioSocketEvent,
    AudioSocketServer,
    AudioSocketStream,
    _bound_port,
    _close,
    _peer,
    _peer_host,
)
from agi.pbx.listener import stop_serving
from agi.pbx.overload import RefusalLog
from agi.protocols.agi import (
    NEED_DATA,
    AgiEnvironment,
    AgiServerConnection,
    CommandFailed,
    CommandResult,
    ConnectionClosed,
    EnvironmentReceived,
    HangupNotice,
    Trying,
    quote,
)

__all__ = ["AgiChannel", "FastAgiServer", "AudioSocketServer", "AudioSocketStream", "AudioSocketEvent",
           "UUID_TIMEOUT"]

log = logging.getLogger(__name__)

# Asterisk writes the whole environment right after connecting; a client that sends
# nothing for this long is not Asterisk (or is stuck) and must not hold a task forever.
ENVIRONMENT_TIMEOUT: Final = 10.0
# Each AGI command's answer: Asterisk answers most at once; STREAM FILE or GET DATA take
# as long as their prompt. A session silent for this long is stuck, not busy.
COMMAND_TIMEOUT: Final = 30.0


# --------------------------------------------------------------------------- FastAGI


class AgiChannel:
    """One FastAGI session: the call's environment and its AGI commands.

    AGI is one command at a time, so commands are serialised: while ``EXEC AudioSocket``
    runs (the whole conversation), another command waits for it to return.
    """

    def __init__(self, env: AgiEnvironment, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, conn: AgiServerConnection) -> None:
        self.env = env
        self.hung_up = False
        self.peer_host = _peer_host(writer)  # the PBX: only it may open this call's media
        self.command_timeout: float | None = COMMAND_TIMEOUT
        self._timed_out: PeerTimeout | None = None  # every later command says so too
        self._reader = reader
        self._writer = writer
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def accept(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     timeout: float | None = ENVIRONMENT_TIMEOUT) -> AgiChannel:
        """Read the request environment; AgiEnvironmentError if it is malformed or cut."""
        conn = AgiServerConnection()
        async with asyncio.timeout(timeout):
            while True:
                event = conn.next_event()
                if event is NEED_DATA:
                    conn.receive_data(await reader.read(READ_SIZE))
                elif isinstance(event, EnvironmentReceived):
                    return cls(event.env, reader, writer, conn)
                else:
                    raise AgiEnvironmentError("connection closed before any AGI environment")

    @property
    def closed(self) -> bool:
        return self._writer.is_closing()

    async def _next_event(self) -> object:
        eof = False
        while True:
            try:
                event = self._conn.next_event()
            except RemoteProtocolError as exc:
                if not eof:
                    raise
                self.hung_up = True  # a reply cut by the socket closing: the call is gone
                raise AgiHangup("FastAGI connection closed in the middle of a reply") from exc
            if event is not NEED_DATA:
                return event
            try:
                data = await self._reader.read(READ_SIZE)
            except ConnectionError as exc:
                self.hung_up = True
                raise AgiHangup("FastAGI connection lost") from exc
            eof = not data
            self._conn.receive_data(data)

    async def command(self, line: str, timeout: float | None = None) -> CommandResult:
        """Send one command and wait for its final answer.

        ``100 Trying`` is skipped; a ``HANGUP`` notice read meanwhile only sets
        ``hung_up`` (it was sent before this command's answer, which still follows and
        decides: Asterisk lets some commands run on a dead channel). ``result=-1`` ->
        AgiHangup (hung up or failed: ``hung_up`` is only set by a HANGUP line or EOF);
        510/511/520 -> AgiInvalidCommand/AgiDeadChannel/AgiUsageError; EOF ->
        AgiHangup. With no answer within ``timeout`` (default ``command_timeout``) the
        session is out of step: it is closed and PeerTimeout raised.
        """
        limit = self.command_timeout if timeout is None else timeout
        async with self._lock:
            if self.closed:
                if self._timed_out is not None:
                    raise PeerTimeout(str(self._timed_out))
                raise AgiHangup("FastAGI session already closed", command=line)
            self._writer.write(self._conn.send_command(line))
            try:
                async with asyncio.timeout(limit):
                    await self._writer.drain()
                    return await self._await_answer(line)
            except TimeoutError as exc:
                self.hung_up = True
                await self.close()
                verb = line.split(" ", 2)[:2]
                log.warning("call %s: no answer to %s within %g s; closing the session",
                            self.env.uniqueid, " ".join(verb), limit or 0)
                self._timed_out = PeerTimeout(f"no answer to {' '.join(verb)} within {limit:g} s")
                raise self._timed_out from exc
            except ConnectionError as exc:
                self.hung_up = True
                raise AgiHangup("FastAGI connection lost", command=line) from exc

    async def _await_answer(self, line: str) -> CommandResult:
        while True:
            event = await self._next_event()
            if isinstance(event, Trying):
                continue
            if isinstance(event, HangupNotice):
                self.hung_up = True
                continue
            if isinstance(event, ConnectionClosed):
                self.hung_up = True
                raise AgiHangup("Asterisk closed the FastAGI connection", command=line)
            if isinstance(event, CommandFailed):
                raise _failure(event, line)
            assert isinstance(event, CommandResult)
            if event.result == "-1":
                # "-1 on hangup or failure" for most commands; a HANGUP line (which sets
                # hung_up) follows when the channel is really gone.
                raise AgiHangup("command answered result=-1 (channel hung up or failed)", command=line)
            return event

    async def answer(self) -> CommandResult:
        return await self.command("ANSWER")

    async def set_variable(self, name: str, value: str) -> CommandResult:
        return await self.command(f"SET VARIABLE {quote(name)} {quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when Asterisk says it is not set."""
        result = await self.command(f"GET VARIABLE {quote(name)}")
        return result.data if result.result == "1" else None

    async def exec(self, app: str, args: str | Sequence[str] = "", timeout: float | None = None) -> CommandResult:
        """``EXEC <app> <args>``; a sequence of args is joined with ',' as the dialplan does."""
        options = args if isinstance(args, str) else ",".join(args)
        line = f"EXEC {quote(app)}" + (f" {quote(options)}" if options else "")
        return await self.command(line, timeout=timeout)

    async def verbose(self, message: str, level: int = 1) -> CommandResult:
        return await self.command(f"VERBOSE {quote(message)} {level}")

    async def hangup(self) -> None:
        """Hang the channel up, then close the session (Asterisk keeps it open otherwise)."""
        try:
            await self.command("HANGUP", timeout=5.0)
        except (AgiHangup, AgiDeadChannel):
            log.debug("call %s was already hung up", self.env.uniqueid)
        except PeerTimeout:
            log.warning("call %s: no answer to HANGUP within 5 s; closing anyway", self.env.uniqueid)
        finally:
            self.hung_up = True
            await self.close()

    async def close(self) -> None:
        """Close the socket now: Asterisk holds a dead FastAGI session until we do."""
        await _close(self._writer)


def _failure(event: CommandFailed, line: str) -> AgiError:
    if event.code == 510:
        return AgiInvalidCommand(f"510 {event.message}", command=line)
    if event.code == 511:
        return AgiDeadChannel(f"511 {event.message}", command=line)
    if event.code == 520:
        return AgiUsageError(f"520 {event.message}", command=line, usage=event.usage)
    return AgiError(f"{event.code} {event.message}", command=line)


AgiHandler = Callable[[AgiChannel], Awaitable[None]]


class FastAgiServer(Application):  # type: ignore[misc]  # panoramisk ships no type hints
    """A FastAGI server on panoramisk's ``Application`` with our own session handler.

    panoramisk's ``Application.handler`` reads the environment with a parser that splits
    on ``': '`` and ignores what it cannot read, and its ``Request.send_command`` reads one
    extra line for a 520 (the usage text has many) and takes a stray ``HANGUP`` as the
    answer to the next command; so ``handler`` is overridden to go through
    ``agi.protocols.agi``. Routing is ours too: one handler gets every session.
    """

    def __init__(self, handler: AgiHandler, host: str = "127.0.0.1", port: int = 4573, *,
                 loop: asyncio.AbstractEventLoop | None = None,
                 environment_timeout: float = ENVIRONMENT_TIMEOUT,
                 command_timeout: float = COMMAND_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        # panoramisk falls back to asyncio.get_event_loop() when loop is None; pass the
        # running loop instead (construct the server inside a coroutine, or pass loop=).
        super().__init__(default_encoding="utf-8", loop=loop or asyncio.get_running_loop())
        self._handler = handler
        self.host = host
        self._port = port
        self.environment_timeout = environment_timeout
        self.command_timeout = command_timeout
        self.max_connections = max_connections
        self.refusals = RefusalLog("FastAGI")
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (the real one once started with port 0)."""
        return _bound_port(self._server, self._port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self.handler, self.host, self._port)
        log.info("FastAGI server listening on %s:%d", self.host, self.port)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop listening; give live sessions ``grace`` seconds to end, then cancel them."""
        await stop_serving(self._server, self._sessions, grace)

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One FastAGI connection: environment through our core, then the call handler."""
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        peer = _peer(writer)
        try:
            if len(self._sessions) > self.max_connections:
                # Closed before any command: Asterisk's AGI() returns with no PERMANENCE_*
                # variable set and the dialplan sends the caller to a human.
                self.refusals.refused(peer, f"{self.max_connections} connections open")
                return
            try:
                channel = await AgiChannel.accept(reader, writer, self.environment_timeout)
            except (AgiEnvironmentError, RemoteProtocolError) as exc:
                log.warning("FastAGI request from %s rejected: malformed environment: %s", peer, exc)
                return
            except TimeoutError:
                log.warning("FastAGI request from %s rejected: no environment within %.0f s",
                            peer, self.environment_timeout)
                return
            channel.command_timeout = self.command_timeout
            await self._run(channel)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. End normally: Python 3.11's start_server
            # callback calls task.exception() on a cancelled task and logs a traceback.
            log.info("FastAGI session from %s cancelled by server stop", peer)
        finally:
            await _close(writer)
            self._sessions.discard(task)

    async def _run(self, channel: AgiChannel) -> None:
        call = channel.env.uniqueid or "?"
        log.info("call %s: FastAGI session for script %r", call, channel.env.script_path)
        try:
            await self._handler(channel)
        except (AgiHangup, CallEnded) as exc:
            log.info("call %s ended: %s", call, exc)
        except RemoteProtocolError as exc:  # a broken or hostile peer: one line, no traceback
            log.warning("call %s: FastAGI peer broke the protocol, closing the session: %s", call, exc)
        except Exception:
            log.exception("call %s: FastAGI handler failed; closing the session", call)
