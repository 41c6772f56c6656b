"""Transfers that come back, on Asterisk: AMI for the second call, AudioSocket for its audio.

:class:`AmiTransfers` implements :class:`agi.call.channel.Transfers` for one FastAGI call.
The caller stays in ``EXEC AudioSocket`` with us while the target rings: AMI
``Originate`` dials it into the AudioSocket application with a media id of ours
(``Application: AudioSocket``, ``Data: <uuid>,<host:port>``), so once it answers its leg
connects to our AudioSocket server like any call and we can speak the summary to it and
read its key. ``connect`` is AMI ``Bridge`` of the two channels (each is yanked out of its
AudioSocket application into a basic bridge, main/bridge.c ast_bridge_add_channel; the
caller's FastAGI session then sees the hang-up of its old channel); ``drop`` is AMI
``Hangup`` of the target. The OriginateResponse ``Reason`` tells busy from no answer.
"""

from __future__ import annotations

import logging
import uuid
from typing import Final

from agi.call.channel import AnsweredLeg, DialFailed
from agi.errors import CallEnded, MediaUnavailable
from agi.pbx.ami import (
    REASON_ANSWERED,
    REASON_BUSY,
    REASON_CONGESTION,
    REASON_HANGUP,
    REASON_RINGING,
    AmiClient,
)
from agi.pbx.audiosocket_server import AudioSocketMedia, AudioSocketServer, AudioSocketStream

__all__ = ["AmiTransfers", "AmiLeg", "dial_failure"]

log = logging.getLogger(__name__)

# The answered target's AudioSocket connects at once (the application runs on answer).
LEG_CONNECT_TIMEOUT_S: Final = 5.0


def dial_failure(reason: int) -> str:
    """The seam's reason for an OriginateResponse Reason that is not "answered"."""
    if reason in (REASON_BUSY, REASON_CONGESTION):
        return "busy"
    if reason == REASON_RINGING:
        return "no_answer"
    if reason == REASON_HANGUP:  # declined while ringing
        return "refused"
    return "failed"


class AmiLeg:
    """The answered target, still in its own AudioSocket application."""

    def __init__(self, ami: AmiClient, stream: AudioSocketStream, channel: str, caller_channel: str) -> None:
        self._ami = ami
        self._stream = stream
        self._media = AudioSocketMedia(stream)
        self.channel = channel
        self._caller_channel = caller_channel

    @property
    def media(self) -> AudioSocketMedia:
        return self._media

    async def connect(self) -> None:
        await self._ami.bridge(self._caller_channel, self.channel)

    async def drop(self) -> None:
        try:
            await self._ami.hangup(self.channel)  # the target may have hung up already
        finally:
            try:
                await self._stream.hangup()
            except (OSError, CallEnded):
                pass


class AmiTransfers:
    """The second call of one FastAGI call's transfers."""

    def __init__(self, ami: AmiClient, media: AudioSocketServer, advertise: str,
                 caller_channel: str, peer_host: str = "") -> None:
        self._ami = ami
        self._media = media
        self._advertise = advertise
        self._caller_channel = caller_channel
        self._peer_host = peer_host

    async def dial(self, target: str, ring_s: float) -> AnsweredLeg | DialFailed:
        media_id = uuid.uuid4()
        stream = self._media.expect(media_id, self._peer_host)
        try:
            result = await self._ami.originate(
                target, application="AudioSocket", data=f"{media_id},{self._advertise}",
                ring_s=ring_s, channel_id=str(uuid.uuid4()))
            if not result.success or result.reason != REASON_ANSWERED:
                stream._finish()
                log.info("transfer to %s: Reason %d", target, result.reason)
                return DialFailed(dial_failure(result.reason), f"Reason {result.reason}")
            try:
                await stream.wait_connected(LEG_CONNECT_TIMEOUT_S)
            except (TimeoutError, MediaUnavailable, CallEnded) as exc:
                stream._finish()
                await self._ami.hangup(result.channel)
                return DialFailed("failed", f"the answered target's AudioSocket never connected: {exc}")
        except BaseException:
            stream._finish()
            raise
        return AmiLeg(self._ami, stream, result.channel, self._caller_channel)
