"""Asterisk's AudioSocket media, server side: one TCP connection per call leg.

Asterisk's ``AudioSocket()`` application (or channel driver) connects here and sends the
UUID we gave it (``EXEC AudioSocket <uuid>,<host:port>`` from FastAGI, or an AMI
``Originate`` into the application for a transfer target), then audio, DTMF and hang-up
frames; every byte is parsed by :mod:`agi.protocols.audiosocket`. Split out of
:mod:`agi.pbx.asterisk` (FastAGI); logs keep that module's logger name so operators filter
the Asterisk front as one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Final
from uuid import UUID

from agi.call.channel import AudioIn, DigitIn, MediaHangup, MediaIn
from agi.errors import AudioSocketFrameError, CallEnded
from agi.pbx.overload import RefusalLog
from agi.protocols import audiosocket as asock

__all__ = ["AudioSocketServer", "AudioSocketStream", "AudioSocketEvent", "UUID_TIMEOUT",
           "MAX_CONNECTIONS", "READ_SIZE", "AudioSocketMedia"]

log = logging.getLogger("agi.pbx.asterisk")

READ_SIZE: Final = 4096
# Asterisk sends the UUID frame on connect: a client silent this long is not Asterisk.
UUID_TIMEOUT: Final = 5.0
# Open connections per listener: a flood of idle sockets must not take every descriptor.
MAX_CONNECTIONS: Final = 256

_KIND_FOR_RATE: Final = {rate: kind for kind, rate in asock.SLIN_KINDS.items()}

AudioSocketEvent = asock.AudioReceived | asock.DtmfReceived | asock.HangupReceived | asock.ErrorReceived


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


def _peer_host(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) else ""


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a socket now; a peer that already vanished is not an error here."""
    if writer.is_closing():
        return
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError) as exc:
        log.debug("socket to %s closed with %s", _peer(writer), exc)



def _bound_port(server: asyncio.Server | None, configured: int) -> int:
    """The port a listener really got (port 0 asks the kernel for a free one)."""
    if server is not None and server.sockets:
        return int(server.sockets[0].getsockname()[1])
    return configured



class AudioSocketStream:
    """The media of one call: what Asterisk's AudioSocket() sends and what we send back."""

    def __init__(self, uuid: UUID, server: AudioSocketServer) -> None:
        self.uuid = uuid
        self._server = server
        self.peer_host = ""  # set by AudioSocketServer.expect
        self._writer: asyncio.StreamWriter | None = None
        self._events: asyncio.Queue[AudioSocketEvent | None] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._ended = False

    @property
    def closed(self) -> bool:
        return self._ended or (self._writer is not None and self._writer.is_closing())

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until Asterisk's connection with this UUID arrived (TimeoutError if not)."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def receive(self) -> AudioSocketEvent:
        """The next event from Asterisk; CallEnded once the stream is over.

        A hang-up frame is returned once; every call after it raises CallEnded.
        """
        event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)  # keep later calls raising
            raise CallEnded(f"AudioSocket stream {self.uuid} ended")
        return event

    async def send_audio(self, pcm: bytes, kind: int = asock.KIND_AUDIO) -> None:
        """Send one audio frame now (the caller paces; 320 bytes = 20 ms at 8 kHz; ``kind``
        0x12 for a slin16 leg of the channel driver)."""
        if self._writer is None or self.closed:
            raise CallEnded(f"AudioSocket stream {self.uuid} is not open")
        self._writer.write(asock.encode_audio(pcm, kind))
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            self._finish()
            raise CallEnded(f"AudioSocket stream {self.uuid} lost") from exc

    async def hangup(self) -> None:
        """Send the hang-up frame and close: Asterisk's AudioSocket() then returns 0."""
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(asock.encode_hangup())
            try:
                await writer.drain()
            except ConnectionError as exc:
                log.debug("AudioSocket %s: peer gone before our hang-up frame: %s", self.uuid, exc)
            await _close(writer)
        self._finish()

    def _attach(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._connected.set()

    def _push(self, event: AudioSocketEvent) -> None:
        if not self._ended:
            self._events.put_nowait(event)

    def _finish(self) -> None:
        if not self._ended:
            self._ended = True
            self._events.put_nowait(None)
            self._server._forget(self)


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and hands each to its expected stream."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, uuid_timeout: float = UUID_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS, pbx_hosts: frozenset[str] = frozenset()) -> None:
        self.host = host
        self._port = port
        self.uuid_timeout = uuid_timeout
        self.max_connections = max_connections
        self.pbx_hosts = pbx_hosts  # configured PBX addresses, beside each call's FastAGI peer
        self.refusals = RefusalLog("AudioSocket")
        self._server: asyncio.Server | None = None
        self._expected: dict[UUID, AudioSocketStream] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (the real one once started with port 0)."""
        return _bound_port(self._server, self._port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.host, self._port)
        log.info("AudioSocket server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening, end every live stream and wait for the connection tasks."""
        if self._server is not None:
            self._server.close()
        for stream in list(self._expected.values()):
            stream._finish()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()  # after the cancels, as in FastAgiServer.stop

    def expect(self, uuid: UUID | str, peer_host: str = "") -> AudioSocketStream:
        """Register a stream before sending ``EXEC AudioSocket <uuid>,<host>:<port>``.

        Only ``peer_host`` (the PBX whose FastAGI session asked for it) or one of
        ``pbx_hosts`` may connect it, once; "" accepts any address (tests, emulator).
        """
        key = uuid if isinstance(uuid, UUID) else UUID(uuid)
        if key in self._expected:
            raise ValueError(f"AudioSocket stream {key} is already expected")
        stream = AudioSocketStream(key, self)
        stream.peer_host = peer_host
        self._expected[key] = stream
        return stream

    def _forget(self, stream: AudioSocketStream) -> None:
        if self._expected.get(stream.uuid) is stream:
            del self._expected[stream.uuid]

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        if len(self._tasks) > self.max_connections:
            self.refusals.refused(_peer(writer), f"{self.max_connections} connections open")
            writer.close()
            self._tasks.discard(task)
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = _peer(writer)
        decoder = asock.AudioSocketDecoder()
        stream: AudioSocketStream | None = None
        try:
            stream = await self._identify(reader, decoder, peer, _peer_host(writer))
            if stream is None:
                return
            stream._attach(writer)
            log.info("AudioSocket %s connected from %s", stream.uuid, peer)
            await self._pump(reader, decoder, stream)
        except asyncio.CancelledError:  # only stop() cancels; see FastAgiServer.handler
            log.info("AudioSocket connection from %s cancelled by server stop", peer)
        finally:
            if stream is not None:
                stream._finish()
            writer.close()  # no wait_closed: a cancelled task must not block here
            self._tasks.discard(task)

    async def _next(self, reader: asyncio.StreamReader, decoder: asock.AudioSocketDecoder) -> asock.Event:
        while (event := decoder.next_event()) is asock.NEED_DATA:
            decoder.receive_data(await reader.read(READ_SIZE))
        assert not isinstance(event, asock._NeedData)
        return event

    async def _identify(self, reader: asyncio.StreamReader, decoder: asock.AudioSocketDecoder,
                        peer: str, host: str) -> AudioSocketStream | None:
        try:
            async with asyncio.timeout(self.uuid_timeout):
                first = await self._next(reader, decoder)
        except AudioSocketFrameError as exc:
            log.warning("AudioSocket connection from %s rejected: malformed first frame: %s", peer, exc)
            return None
        except TimeoutError:
            log.warning("AudioSocket connection from %s rejected: no UUID frame within %.0f s",
                        peer, self.uuid_timeout)
            return None
        except ConnectionError as exc:
            log.warning("AudioSocket connection from %s lost before its UUID frame: %s", peer, exc)
            return None
        if not isinstance(first, asock.UuidReceived):
            log.warning("AudioSocket connection from %s rejected: first frame is %s, not a UUID",
                        peer, type(first).__name__)
            return None
        stream = self._expected.get(first.uuid)
        if stream is None or stream._writer is not None:
            log.warning("AudioSocket connection from %s rejected: unknown uuid %s "
                        "(not expected, ended or already connected)", peer, first.uuid)
            return None
        if stream.peer_host and host != stream.peer_host and host not in self.pbx_hosts:
            log.warning("AudioSocket connection from %s rejected: uuid %s belongs to the PBX at %s",
                        peer, first.uuid, stream.peer_host)
            return None
        return stream

    async def _pump(self, reader: asyncio.StreamReader, decoder: asock.AudioSocketDecoder,
                    stream: AudioSocketStream) -> None:
        """Read continuously so Asterisk never blocks on a full socket while we think."""
        try:
            while True:
                event = await self._next(reader, decoder)
                if isinstance(event, asock.ConnectionClosed):
                    log.info("AudioSocket %s closed by Asterisk", stream.uuid)
                    return
                if isinstance(event, asock.UuidReceived):
                    log.warning("AudioSocket %s: second UUID frame mid-call; ending the stream", stream.uuid)
                    return
                stream._push(event)
                if isinstance(event, asock.HangupReceived):
                    log.info("AudioSocket %s: hang-up frame from Asterisk", stream.uuid)
                    return
        except AudioSocketFrameError as exc:
            log.warning("AudioSocket %s: malformed frame, ending the stream: %s", stream.uuid, exc)
        except ConnectionError as exc:
            log.info("AudioSocket %s: connection lost: %s", stream.uuid, exc)


class AudioSocketMedia:
    """One AudioSocket stream as a :class:`agi.call.channel.MediaStream`."""

    def __init__(self, stream: AudioSocketStream, sample_rate: int = asock.SAMPLE_RATE) -> None:
        self._stream = stream
        self._rate = sample_rate
        self._kind = _KIND_FOR_RATE[sample_rate]
        self._warned = False

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def receive(self) -> MediaIn:
        while True:
            event = await self._stream.receive()
            if isinstance(event, asock.AudioReceived):
                if event.sample_rate == self._rate:
                    return AudioIn(event.pcm)
                if not self._warned:  # a codec the dialplan did not ask for: never guess
                    self._warned = True
                    log.warning("AudioSocket %s: %d Hz audio on a %d Hz leg dropped",
                                self._stream.uuid, event.sample_rate, self._rate)
            elif isinstance(event, asock.DtmfReceived):
                return DigitIn(event.digit)
            elif isinstance(event, asock.HangupReceived):
                return MediaHangup()
            else:
                log.warning("AudioSocket %s: error frame code %s", self._stream.uuid, event.code)

    async def send_audio(self, pcm: bytes) -> None:
        await self._stream.send_audio(pcm, self._kind)

    async def hangup(self) -> None:
        await self._stream.hangup()
