"""A call's media over FreeSWITCH's ``unicast`` call-command: one UDP port pair per call.

FreeSWITCH (switch_ivr.c:347-352, FREESWITCH.md) sends the caller's audio as one datagram
per 20 ms frame, L16 little-endian at the channel's read-codec rate, from its own bound
port (``local-ip:local-port``) to ours (``remote-ip:remote-port``), and writes each
datagram we send to the channel the moment it arrives: no jitter buffer, so
:class:`agi.call.media.MediaSession` paces. While the caller is silent it sends
datagrams of all 0xFF bytes (sample -1), comfort noise, read here as silence. A failed
bind on its side is silent (``+OK``, then nothing): the first datagram is awaited with a
timeout. Datagrams from any address other than that call's FreeSWITCH end, and datagrams
too large to be a frame, are dropped, counted and logged once per interval; the queue of
caller audio is bounded, so no flood of datagrams grows memory.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Final

from agi.call.channel import AudioIn, DigitIn, MediaHangup, MediaIn
from agi.errors import CallEnded, MediaUnavailable
from agi.pbx.overload import RefusalLog

__all__ = ["PortPairs", "UnicastMedia", "COMFORT_NOISE_BYTE"]

log = logging.getLogger(__name__)

COMFORT_NOISE_BYTE: Final = 0xFF
# Two seconds of frames: the caller's audio is read as it comes; more queued means the
# loop is starved and old audio is worth less than new.
MAX_QUEUED: Final = 100
# A 20 ms L16 frame is 320 bytes at 8 kHz, 1,920 at 48 kHz; a datagram above this (80 ms
# at 48 kHz) is not FreeSWITCH's audio and is dropped unread.
MAX_DATAGRAM: Final = 7680
# DTMF beside queued audio: a peer sending digits without end cannot grow the queue.
MAX_QUEUED_DIGITS: Final = 32


class PortPairs:
    """Even/odd UDP port pairs from ``[low, high]``: ours even, FreeSWITCH's odd.

    The range bounds the sockets unicast media can open: one per call, given back when the
    call ends. ``refusals`` counts the datagrams every call's socket dropped, with one log
    line per interval for all of them."""

    def __init__(self, low: int, high: int) -> None:
        first = low + low % 2
        self.refusals = RefusalLog("unicast media", item="datagram")
        self._free = list(range(first, high, 2))
        self._taken: set[int] = set()
        self._next = 0  # round robin: a port another program holds is skipped, not retried

    @property
    def pairs(self) -> int:
        return len(self._free)

    def take(self) -> tuple[int, int]:
        for step in range(len(self._free)):
            port = self._free[(self._next + step) % len(self._free)]
            if port not in self._taken:
                self._taken.add(port)
                self._next = (self._next + step + 1) % len(self._free)
                return port, port + 1
        raise MediaUnavailable(f"every UDP port pair is in use ({len(self._taken)} calls)")

    def give_back(self, port: int) -> None:
        self._taken.discard(port)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, media: UnicastMedia) -> None:
        self._media = media

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._media._datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("unicast %s: %s", self._media.call_id, exc)


class UnicastMedia:
    """One call's unicast stream as a :class:`agi.call.channel.MediaStream`."""

    def __init__(self, call_id: str, sample_rate: int, peer: tuple[str, int],
                 refusals: RefusalLog | None = None) -> None:
        self.call_id = call_id
        self._refusals = refusals or RefusalLog("unicast media", item="datagram")
        self._rate = sample_rate
        self.peer = peer  # FreeSWITCH's end: where we send, the only source we accept
        self._queue: asyncio.Queue[MediaIn | None] = asyncio.Queue()
        self._transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self._first = asyncio.Event()
        self._ended = False
        self.rejected = 0  # datagrams from elsewhere, dropped
        self.comfort_noise = 0

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def bind(self, host: str, port: int) -> None:
        """Open our UDP end; MediaUnavailable with the reason when the port is taken."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(host, port), family=family)
        except OSError as exc:
            raise MediaUnavailable(f"cannot bind UDP {host}:{port} for call {self.call_id}: "
                                   f"{exc.strerror or exc}") from exc
        self._transport = transport
        self.local_port = port

    async def wait_first_audio(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._first.wait()
        except TimeoutError:
            raise MediaUnavailable(
                f"no unicast audio from FreeSWITCH {self.peer[0]}:{self.peer[1]} within {timeout:.1f} s "
                "(its bind failed, or a firewall drops UDP)") from None

    def _datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr != self.peer or len(data) > MAX_DATAGRAM:
            self.rejected += 1
            self._refusals.refused(f"{addr[0]}:{addr[1]}", f"call {self.call_id}: " + (
                "not this call's FreeSWITCH" if addr != self.peer else f"{len(data)} bytes"))
            return
        if self._ended or not data or len(data) % 2 or self._queue.qsize() >= MAX_QUEUED:
            return
        self._first.set()
        if data.count(COMFORT_NOISE_BYTE) == len(data):
            self.comfort_noise += 1
            data = bytes(len(data))
        self._queue.put_nowait(AudioIn(data))

    def digit(self, digit: str) -> None:
        """A DTMF event read on the call's ESL connection."""
        if not self._ended and self._queue.qsize() < MAX_QUEUED + MAX_QUEUED_DIGITS:
            self._queue.put_nowait(DigitIn(digit))

    def ended_by_pbx(self) -> None:
        """CHANNEL_HANGUP or the disconnect notice: the stream ends after what is queued."""
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(MediaHangup())
            self._queue.put_nowait(None)

    async def receive(self) -> MediaIn:
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)
            raise CallEnded(f"unicast stream of call {self.call_id} ended")
        return event

    async def send_audio(self, pcm: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise CallEnded(f"unicast stream of call {self.call_id} is closed")
        transport.sendto(pcm, self.peer)

    async def hangup(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(None)
