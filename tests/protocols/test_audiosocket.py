"""The AudioSocket codec against literal bytes (res_audiosocket.c framing)."""

from __future__ import annotations

from uuid import UUID

import pytest

from agi.errors import AudioSocketFrameError, LocalProtocolError
from agi.protocols import audiosocket as asock
from agi.protocols.audiosocket import (
    NEED_DATA,
    AudioFrame,
    AudioReceived,
    AudioSocketDecoder,
    ConnectionClosed,
    DtmfFrame,
    DtmfReceived,
    ErrorFrame,
    ErrorReceived,
    HangupFrame,
    HangupReceived,
    UuidFrame,
    UuidReceived,
    parse_frame,
)

STREAM_UUID = UUID("40325ec2-5efd-4bd3-805f-53576e581d13")
UUID_BYTES = b"\x01\x00\x10" + bytes.fromhex("40325ec25efd4bd3805f53576e581d13")
PCM = bytes(range(256)) + bytes(64)  # 320 bytes, one 20 ms frame
AUDIO_BYTES = b"\x10\x01\x40" + PCM


def decode(data: bytes, *, eof: bool = False) -> list[object]:
    decoder = AudioSocketDecoder()
    decoder.receive_data(data)
    if eof:
        decoder.receive_eof()
    events: list[object] = []
    while (event := decoder.next_event()) is not NEED_DATA:
        events.append(event)
        if isinstance(event, ConnectionClosed):
            break
    return events


def test_wire_constants() -> None:
    assert (asock.SAMPLE_RATE, asock.FRAME_MS, asock.FRAME_BYTES, asock.SAMPLES_PER_FRAME) == (8000, 20, 320, 160)
    assert asock.SILENCE == bytes(320)
    assert asock.SLIN_KINDS[0x10] == 8000 and asock.SLIN_KINDS[0x12] == 16000 and asock.SLIN_KINDS[0x18] == 192000


@pytest.mark.parametrize(("data", "frame"), [
    (b"\x00\x00\x00", HangupFrame()),
    (UUID_BYTES, UuidFrame(STREAM_UUID)),
    (b"\x03\x00\x01#", DtmfFrame("#")),
    (b"\x03\x00\x017", DtmfFrame("7")),
    (AUDIO_BYTES, AudioFrame(PCM)),
    (b"\x12\x00\x04\x01\x00\xff\xff", AudioFrame(b"\x01\x00\xff\xff", kind=0x12)),
    (b"\xff\x00\x01\x01", ErrorFrame(asock.ERROR_HANGUP)),
    (b"\xff\x00\x01\x04", ErrorFrame(asock.ERROR_MEMORY)),
    (b"\xff\x00\x00", ErrorFrame(None)),
])
def test_each_kind_parses_and_round_trips(data: bytes, frame: object) -> None:
    assert parse_frame(data) == frame
    assert bytes(frame) == data  # type: ignore[call-overload]


def test_encoders() -> None:
    assert asock.encode_hangup() == b"\x00\x00\x00"
    assert asock.encode_uuid(STREAM_UUID) == UUID_BYTES
    assert asock.encode_uuid(str(STREAM_UUID)) == UUID_BYTES
    assert asock.encode_dtmf("5") == b"\x03\x00\x015"
    assert asock.encode_audio(PCM) == AUDIO_BYTES
    assert asock.encode_audio(b"\0\0", kind=0x11) == b"\x11\x00\x02\0\0"
    assert asock.encode_error(2) == b"\xff\x00\x01\x02"


def test_encoders_refuse_what_asterisk_rejects() -> None:
    with pytest.raises(LocalProtocolError) as info:
        asock.encode_audio(b"")
    assert str(info.value) == "an empty audio frame would make Asterisk end the call"
    with pytest.raises(LocalProtocolError):
        asock.encode_audio(b"\0\0\0")
    with pytest.raises(LocalProtocolError):
        asock.encode_audio(bytes(70000))
    with pytest.raises(LocalProtocolError):
        asock.encode_dtmf("x")


def test_decoder_events_for_a_whole_stream() -> None:
    data = UUID_BYTES + AUDIO_BYTES + b"\x03\x00\x019" + b"\xff\x00\x01\x02" + b"\x00\x00\x00"
    assert decode(data, eof=True) == [
        UuidReceived(STREAM_UUID), AudioReceived(PCM), DtmfReceived("9"), ErrorReceived(2),
        HangupReceived(), ConnectionClosed()]


def test_decoder_split_byte_by_byte() -> None:
    data = UUID_BYTES + AUDIO_BYTES + b"\x03\x00\x01*" + b"\x00\x00\x00"
    decoder = AudioSocketDecoder()
    events: list[object] = []
    for byte in data:
        decoder.receive_data(bytes([byte]))
        while (event := decoder.next_event()) is not NEED_DATA:
            events.append(event)
    assert events == [UuidReceived(STREAM_UUID), AudioReceived(PCM), DtmfReceived("*"), HangupReceived()]
    decoder.receive_eof()
    assert decoder.next_event() == ConnectionClosed()


def test_decoder_high_rate_audio_carries_its_rate() -> None:
    assert decode(b"\x16\x00\x02\x01\x02") == [AudioReceived(b"\x01\x02", 48000)]


@pytest.mark.parametrize(("data", "message"), [
    (AUDIO_BYTES[:100], "connection closed in the middle of a frame (100 of 323 bytes)"),
    (b"\x10\x01", "connection closed in the middle of a frame header (2 of 3 bytes)"),
    (UUID_BYTES + b"\x10", "connection closed in the middle of a frame header (1 of 3 bytes)"),
])
def test_truncated_at_eof(data: bytes, message: str) -> None:
    with pytest.raises(AudioSocketFrameError) as info:
        decode(data, eof=True)
    assert str(info.value) == message


@pytest.mark.parametrize(("data", "message"), [
    (b"\x10\xff\xff", "frame length 65535 exceeds the maximum of 16000 bytes"),
    (b"\x02\x00\x06", "unknown AudioSocket frame kind 0x02"),
    (b"\x42\x00\x00", "unknown AudioSocket frame kind 0x42"),
    (b"\x01\x00\x04abcd", "UUID frame payload must be 16 bytes, got 4"),
    (b"\x10\x00\x03abc", "audio payload must be a whole number of 16-bit samples, got 3 bytes"),
    (b"\x10\x00\x00", "audio frame payload is empty"),
    (b"\x03\x00\x02ab", "DTMF frame payload must be 1 byte, got 2"),
    (b"\x03\x00\x01x", "DTMF frame carries 0x78, not a DTMF digit"),
    (b"\x00\x00\x01x", "hangup frame payload must be empty, got 1 bytes"),
    (b"\xff\x00\x02ab", "error frame payload must be 0 or 1 byte, got 2"),
])
def test_malformed_frames(data: bytes, message: str) -> None:
    with pytest.raises(AudioSocketFrameError) as info:
        decode(data)
    assert str(info.value) == message


def test_oversized_length_fails_on_the_header_alone() -> None:
    decoder = AudioSocketDecoder()
    decoder.receive_data(b"\x10\x7f\x00")  # 32512 bytes announced, none sent yet
    with pytest.raises(AudioSocketFrameError):
        decoder.next_event()


def test_errors_are_final() -> None:
    decoder = AudioSocketDecoder()
    decoder.receive_data(b"\x42\x00\x00" + AUDIO_BYTES)
    for _ in range(2):
        with pytest.raises(AudioSocketFrameError) as info:
            decoder.next_event()
        assert str(info.value) == "unknown AudioSocket frame kind 0x42"


def test_parse_frame_needs_exactly_one_frame() -> None:
    with pytest.raises(AudioSocketFrameError) as info:
        parse_frame(AUDIO_BYTES + b"\x00")
    assert str(info.value) == "frame declares 320 payload bytes but 321 follow the header"
    with pytest.raises(AudioSocketFrameError) as info:
        parse_frame(b"\x10")
    assert str(info.value) == "frame of 1 bytes is shorter than the 3-byte header"
