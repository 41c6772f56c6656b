"""The Asterisk front of the call seam over real loopback TCP: AudioSocket frames as
MediaStream events at the leg's rate (8 kHz kind 0x10, 16 kHz kind 0x12 from the channel
driver with c(slin16)); no Asterisk can run here, the peer writes what it would."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from agi.call.channel import AudioIn, DigitIn, MediaHangup
from agi.pbx.asterisk import AudioSocketServer
from agi.pbx.asterisk_call import AudioSocketMedia
from agi.protocols import audiosocket as asock


@pytest.mark.parametrize(("rate", "kind"), [(8000, 0x10), (16000, 0x12)])
def test_frames_at_the_leg_rate_both_ways_and_others_dropped(rate: int, kind: int) -> None:
    other = 0x10 if kind == 0x12 else 0x12
    pcm = b"\x01\x02" * (rate // 50)

    async def scenario():
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        media_id = uuid4()
        stream = server.expect(media_id)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(asock.encode_uuid(media_id) + asock.encode_audio(b"\x00\x00" * 160, other)
                     + asock.encode_audio(pcm, kind) + asock.encode_dtmf("0"))
        await stream.wait_connected(5)
        media = AudioSocketMedia(stream, rate)
        events = [await media.receive() for _ in range(2)]
        await media.send_audio(pcm)
        sent = await reader.readexactly(3 + len(pcm))
        writer.write(asock.encode_hangup())
        events.append(await media.receive())
        await media.hangup()
        writer.close()
        await server.stop()
        return media.sample_rate, events, sent

    sample_rate, events, sent = asyncio.run(scenario())
    assert sample_rate == rate
    assert events == [AudioIn(pcm), DigitIn("0"), MediaHangup()]  # the other rate's frame dropped
    assert sent == asock.encode_audio(pcm, kind)
