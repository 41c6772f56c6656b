"""Asterisk AudioSocket as a sans-IO codec: frames as dataclasses, an incremental decoder.

Wire format (https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/ and
https://github.com/CyCoreSystems/audiosocket): 1-byte kind, 2-byte big-endian payload
length, payload. Kinds, from ``include/asterisk/res_audiosocket.h``:

- ``0x00`` hang-up (no payload; socket closure means the same);
- ``0x01`` the stream's UUID, 16 bytes, first frame Asterisk sends;
- ``0x03`` one ASCII DTMF digit (Asterisk 20.11+/21.6+/22.1+, asterisk PR #1138): in
  ``res_audiosocket.c`` ``ast_audiosocket_send_frame()``, ``case AST_FRAME_DTMF`` writes
  kind ``AST_AUDIOSOCKET_KIND_DTMF``, length 1 and ``f->subclass.integer`` (the digit's
  ASCII code); ``AST_FRAME_DTMF`` is ``AST_FRAME_DTMF_END`` (frame.h), so one frame per
  key, when it is released (ChangeLog "audiosocket: added support for DTMF frames");
- ``0x10`` signed-linear 16-bit little-endian mono audio at 8 kHz, what the AudioSocket()
  dialplan application always uses (it forces slin on the channel);
- ``0x11``-``0x18`` signed-linear at 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz (asterisk
  PR #1492, 2025), only seen with the AudioSocket channel driver and such a codec;
- ``0xff`` error, payload an optional application-specific code; Asterisk's own codes are
  bit flags: 0x01 calling party hung up, 0x02 frame forwarding error, 0x04 memory error.

Asterisk's reader (``res_audiosocket.c``) rejects a zero-length audio frame and any kind
but hang-up and audio with "Received AudioSocket message other than hangup or audio",
after which AudioSocket() returns -1: the encoders below refuse what would do that.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from agi.errors import AudioSocketFrameError, LocalProtocolError

__all__ = [
    "KIND_HANGUP", "KIND_UUID", "KIND_DTMF", "KIND_AUDIO", "KIND_ERROR", "SLIN_KINDS",
    "ERROR_HANGUP", "ERROR_FRAME_FORWARDING", "ERROR_MEMORY", "SAMPLE_RATE", "SAMPLE_WIDTH",
    "FRAME_MS", "SAMPLES_PER_FRAME", "FRAME_BYTES", "SILENCE", "HEADER_BYTES", "MAX_PAYLOAD",
    "NEED_DATA", "HangupFrame", "UuidFrame", "DtmfFrame", "AudioFrame", "ErrorFrame", "Frame",
    "parse_frame", "encode_hangup", "encode_uuid", "encode_dtmf", "encode_audio",
    "encode_error", "UuidReceived", "AudioReceived", "DtmfReceived", "HangupReceived",
    "ErrorReceived", "ConnectionClosed", "AudioSocketDecoder",
]

KIND_HANGUP: Final = 0x00
KIND_UUID: Final = 0x01
KIND_DTMF: Final = 0x03
KIND_AUDIO: Final = 0x10
KIND_ERROR: Final = 0xFF
# kind -> sample rate of signed-linear audio (0x10 is the 8 kHz original).
SLIN_KINDS: Final = {
    0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000,
    0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000,
}

ERROR_HANGUP: Final = 0x01
ERROR_FRAME_FORWARDING: Final = 0x02
ERROR_MEMORY: Final = 0x04

SAMPLE_RATE: Final = 8000
SAMPLE_WIDTH: Final = 2
FRAME_MS: Final = 20
SAMPLES_PER_FRAME: Final = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES: Final = SAMPLES_PER_FRAME * SAMPLE_WIDTH  # 320
SILENCE: Final = bytes(FRAME_BYTES)

HEADER: Final = struct.Struct(">BH")
HEADER_BYTES: Final = HEADER.size
UUID_BYTES: Final = 16
DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")
# Asterisk sends one ptime of audio per frame (10-60 ms: 160-960 bytes at 8 kHz; 20 ms of
# slin192 is 7680 bytes). One second of 8 kHz audio is generous for every real sender and
# still catches a desynchronised stream, whose random 16-bit "length" is usually larger.
MAX_PAYLOAD: Final = 16000


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


# --------------------------------------------------------------------------- frames


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > 0xFFFF:
        raise LocalProtocolError(f"AudioSocket payload of {len(payload)} bytes exceeds 65535")
    return HEADER.pack(kind, len(payload)) + payload


@dataclass(frozen=True)
class HangupFrame:
    @classmethod
    def parse(cls, payload: bytes) -> HangupFrame:
        if payload:
            raise AudioSocketFrameError(f"hangup frame payload must be empty, got {len(payload)} bytes")
        return cls()

    def __bytes__(self) -> bytes:
        return _frame(KIND_HANGUP, b"")


@dataclass(frozen=True)
class UuidFrame:
    uuid: UUID

    @classmethod
    def parse(cls, payload: bytes) -> UuidFrame:
        if len(payload) != UUID_BYTES:
            raise AudioSocketFrameError(f"UUID frame payload must be 16 bytes, got {len(payload)}")
        return cls(UUID(bytes=payload))

    def __bytes__(self) -> bytes:
        return _frame(KIND_UUID, self.uuid.bytes)


@dataclass(frozen=True)
class DtmfFrame:
    digit: str

    @classmethod
    def parse(cls, payload: bytes) -> DtmfFrame:
        if len(payload) != 1:
            raise AudioSocketFrameError(f"DTMF frame payload must be 1 byte, got {len(payload)}")
        digit = chr(payload[0]).upper()
        if digit not in DTMF_DIGITS:
            raise AudioSocketFrameError(f"DTMF frame carries 0x{payload[0]:02x}, not a DTMF digit")
        return cls(digit)

    def __bytes__(self) -> bytes:
        if self.digit not in DTMF_DIGITS:
            raise LocalProtocolError(f"{self.digit!r} is not a DTMF digit")
        return _frame(KIND_DTMF, self.digit.encode("ascii"))


@dataclass(frozen=True)
class AudioFrame:
    """Signed-linear 16-bit little-endian mono; ``kind`` says the sample rate."""

    pcm: bytes
    kind: int = KIND_AUDIO

    @property
    def sample_rate(self) -> int:
        return SLIN_KINDS[self.kind]

    @classmethod
    def parse(cls, payload: bytes, kind: int = KIND_AUDIO) -> AudioFrame:
        if not payload:
            raise AudioSocketFrameError("audio frame payload is empty")
        if len(payload) % SAMPLE_WIDTH:
            raise AudioSocketFrameError(
                f"audio payload must be a whole number of 16-bit samples, got {len(payload)} bytes")
        return cls(payload, kind)

    def __bytes__(self) -> bytes:
        if self.kind not in SLIN_KINDS:
            raise LocalProtocolError(f"0x{self.kind:02x} is not an AudioSocket audio kind")
        if not self.pcm:
            # res_audiosocket.c: "Invalid message length" and AudioSocket() fails.
            raise LocalProtocolError("an empty audio frame would make Asterisk end the call")
        if len(self.pcm) % SAMPLE_WIDTH:
            raise LocalProtocolError(f"audio of {len(self.pcm)} bytes is not whole 16-bit samples")
        return _frame(self.kind, self.pcm)


@dataclass(frozen=True)
class ErrorFrame:
    """``code`` is None when the peer sent no payload."""

    code: int | None = None

    @classmethod
    def parse(cls, payload: bytes) -> ErrorFrame:
        if len(payload) > 1:
            raise AudioSocketFrameError(f"error frame payload must be 0 or 1 byte, got {len(payload)}")
        return cls(payload[0] if payload else None)

    def __bytes__(self) -> bytes:
        if self.code is None:
            return _frame(KIND_ERROR, b"")
        if not 0 <= self.code <= 0xFF:
            raise LocalProtocolError(f"AudioSocket error code {self.code} does not fit in one byte")
        return _frame(KIND_ERROR, bytes([self.code]))


Frame = HangupFrame | UuidFrame | DtmfFrame | AudioFrame | ErrorFrame


def _parse_payload(kind: int, payload: bytes) -> Frame:
    if kind == KIND_HANGUP:
        return HangupFrame.parse(payload)
    if kind == KIND_UUID:
        return UuidFrame.parse(payload)
    if kind == KIND_DTMF:
        return DtmfFrame.parse(payload)
    if kind in SLIN_KINDS:
        return AudioFrame.parse(payload, kind)
    if kind == KIND_ERROR:
        return ErrorFrame.parse(payload)
    raise AudioSocketFrameError(f"unknown AudioSocket frame kind 0x{kind:02x}")


def parse_frame(data: bytes, max_payload: int = MAX_PAYLOAD) -> Frame:
    """Parse exactly one whole frame (header and payload)."""
    if len(data) < HEADER_BYTES:
        raise AudioSocketFrameError(f"frame of {len(data)} bytes is shorter than the 3-byte header")
    kind, length = HEADER.unpack_from(data)
    _check_header(kind, length, max_payload)
    if len(data) != HEADER_BYTES + length:
        raise AudioSocketFrameError(
            f"frame declares {length} payload bytes but {len(data) - HEADER_BYTES} follow the header")
    return _parse_payload(kind, data[HEADER_BYTES:])


def _check_header(kind: int, length: int, max_payload: int) -> None:
    if kind not in SLIN_KINDS and kind not in (KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_ERROR):
        raise AudioSocketFrameError(f"unknown AudioSocket frame kind 0x{kind:02x}")
    if length > max_payload:
        raise AudioSocketFrameError(f"frame length {length} exceeds the maximum of {max_payload} bytes")


def encode_hangup() -> bytes:
    return bytes(HangupFrame())


def encode_uuid(uuid: UUID | str) -> bytes:
    return bytes(UuidFrame(uuid if isinstance(uuid, UUID) else UUID(uuid)))


def encode_dtmf(digit: str) -> bytes:
    return bytes(DtmfFrame(digit))


def encode_audio(pcm: bytes, kind: int = KIND_AUDIO) -> bytes:
    return bytes(AudioFrame(pcm, kind))


def encode_error(code: int | None = None) -> bytes:
    return bytes(ErrorFrame(code))


# --------------------------------------------------------------------------- decoder


@dataclass(frozen=True)
class UuidReceived:
    uuid: UUID


@dataclass(frozen=True)
class AudioReceived:
    pcm: bytes
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True)
class DtmfReceived:
    digit: str


@dataclass(frozen=True)
class HangupReceived:
    pass


@dataclass(frozen=True)
class ErrorReceived:
    code: int | None


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the socket at a frame boundary."""


Event = UuidReceived | AudioReceived | DtmfReceived | HangupReceived | ErrorReceived | ConnectionClosed


def _event(frame: Frame) -> Event:
    if isinstance(frame, AudioFrame):
        return AudioReceived(frame.pcm, frame.sample_rate)
    if isinstance(frame, UuidFrame):
        return UuidReceived(frame.uuid)
    if isinstance(frame, DtmfFrame):
        return DtmfReceived(frame.digit)
    if isinstance(frame, ErrorFrame):
        return ErrorReceived(frame.code)
    return HangupReceived()


class AudioSocketDecoder:
    """Incremental decoder: frames may be split across reads at any byte.

    Errors are final: once a frame is malformed the stream cannot be resynchronised
    (there is no frame marker), so every later ``next_event`` raises the same error.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._start = 0  # first byte not yet decoded: frames are consumed without shifting
        self._eof = False
        self._error: AudioSocketFrameError | None = None
        self.max_payload = max_payload

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket (``b""`` is the same as ``receive_eof``)."""
        if not data:
            self.receive_eof()
            return
        if self._eof:
            raise LocalProtocolError("receive_data after receive_eof")
        if self._start:  # drop decoded bytes once per read, not once per frame
            del self._buffer[:self._start]
            self._start = 0
        self._buffer += data

    def receive_eof(self) -> None:
        self._eof = True

    def next_event(self) -> Event | _NeedData:
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except AudioSocketFrameError as exc:
            self._error = exc
            raise

    def _next_event(self) -> Event | _NeedData:
        start = self._start
        available = len(self._buffer) - start
        if available >= HEADER_BYTES:
            kind, length = HEADER.unpack_from(self._buffer, start)
            _check_header(kind, length, self.max_payload)
            end = start + HEADER_BYTES + length
            if len(self._buffer) >= end:
                payload = bytes(self._buffer[start + HEADER_BYTES:end])
                self._start = end
                return _event(_parse_payload(kind, payload))
            if self._eof:
                raise AudioSocketFrameError(
                    f"connection closed in the middle of a frame ({available} of {end - start} bytes)")
            return NEED_DATA
        if self._eof:
            if available:
                raise AudioSocketFrameError(
                    f"connection closed in the middle of a frame header ({available} of 3 bytes)")
            return ConnectionClosed()
        return NEED_DATA
