"""The Asterisk front of the call seam: FastAGI call control + AudioSocket media.

:class:`AsteriskCall` implements :class:`agi.call.channel.CallChannel` over one
:class:`~agi.pbx.asterisk.AgiChannel`; media starts with ``EXEC AudioSocket`` (8 kHz,
the application forces slin) or, for a 16 kHz leg, with ``EXEC Dial`` of the AudioSocket
channel driver, ``AudioSocket/<host:port>/<uuid>/c(slin16)`` (Asterisk 22.7+: the driver
then sends and takes frames of kind 0x12, see agi/protocols/audiosocket.py and
dialplans/asterisk/README.md). Both return to AGI when we hang the media up.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Final

from agi.call.channel import CallInfo, Transfers
from agi.errors import AgiError, CallEnded, MediaUnavailable
from agi.pbx.ami import AmiClient
from agi.pbx.asterisk import AgiChannel, AudioSocketServer
from agi.pbx.asterisk_transfer import AmiTransfers
from agi.pbx.audiosocket_server import AudioSocketMedia
from agi.protocols import audiosocket as asock

__all__ = ["AsteriskCall", "AudioSocketMedia", "SLIN_FORMATS"]

log = logging.getLogger(__name__)

# Rates a leg may run at -> the channel driver's codec name (chan_audiosocket.c c() option).
SLIN_FORMATS: Final = {8000: "slin", 16000: "slin16"}


# EXEC AudioSocket returns when the conversation ends: its answer may take the whole call.
MAX_CALL_S: Final = 3600.0


class AsteriskCall:
    """FastAGI call control as the session's channel."""

    def __init__(self, channel: AgiChannel, media: AudioSocketServer, advertise: str,
                 sample_rate: int = asock.SAMPLE_RATE, max_call_s: float = MAX_CALL_S,
                 ami: AmiClient | None = None) -> None:
        if sample_rate not in SLIN_FORMATS:
            raise ValueError(f"AudioSocket legs run at {sorted(SLIN_FORMATS)} Hz, not {sample_rate}")
        env = channel.env
        self.info = CallInfo(call_id=env.uniqueid or uuid.uuid4().hex, route=env.network_script,
                             dialled=env.dnid, caller=env.callerid, channel_name=env.channel,
                             pbx="asterisk")
        self.agi = channel
        self._media = media
        self._advertise = advertise
        self._rate = sample_rate
        self._max_call_s = max_call_s
        self._exec: asyncio.Task[Any] | None = None
        # with AMI, transfers come back (agi.pbx.asterisk_transfer); without, the dialplan dials
        self.transfers: Transfers | None = None if ami is None else AmiTransfers(
            ami, media, advertise, env.channel, channel.peer_host)

    @property
    def hung_up(self) -> bool:
        return self.agi.hung_up

    async def answer(self) -> None:
        await self.agi.answer()

    async def set_variable(self, name: str, value: str) -> None:
        await self.agi.set_variable(name, value)

    async def start_media(self, timeout: float) -> AudioSocketMedia:
        media_id = uuid.uuid4()
        stream = self._media.expect(media_id, self.agi.peer_host)
        if self._rate == asock.SAMPLE_RATE:
            command = self.agi.exec("AudioSocket", f"{media_id},{self._advertise}",
                                    timeout=self._max_call_s)
        else:  # the channel driver: Dial returns when our side hangs the AudioSocket up
            target = f"AudioSocket/{self._advertise}/{media_id}/c({SLIN_FORMATS[self._rate]})"
            command = self.agi.exec("Dial", target, timeout=self._max_call_s)
        self._exec = asyncio.create_task(command)
        connected = asyncio.create_task(stream.wait_connected(timeout))
        await asyncio.wait({self._exec, connected}, return_when=asyncio.FIRST_COMPLETED)
        if not connected.done() or connected.exception() is not None:
            connected.cancel()
            stream._finish()
            if self._exec.done() and self._exec.exception() is not None:
                raise self._exec.exception()  # type: ignore[misc]
            raise MediaUnavailable(f"AudioSocket {media_id} did not connect within {timeout:.0f} s")
        return AudioSocketMedia(stream, self._rate)

    async def end_media(self, timeout: float) -> None:
        if self._exec is None:
            return
        try:
            await asyncio.wait_for(self._exec, timeout)
        except (TimeoutError, AgiError, CallEnded) as exc:
            log.info("call %s: AudioSocket ended: %s", self.info.call_id, type(exc).__name__)

    async def hangup(self) -> None:
        await self.agi.hangup()

    async def close(self) -> None:
        await self.agi.close()
