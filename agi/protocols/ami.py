"""The Asterisk Manager Interface wire format, sans I/O: bytes in, messages out.

AMI is line-based text over TCP (main/manager.c): on connect the server writes one banner
line, ``Asterisk Call Manager/<version>\\r\\n``; after it, every action, response and
event is a block of ``Key: Value\\r\\n`` lines ended by an empty line. Keys repeat
(``Variable:``), so a message is an ordered list of pairs. Permanence's own client is
panoramisk's Manager (agi.pbx.ami); this core is the PBX emulator's server side and the
tests' reader, with a bound on every message (a peer that never ends one is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from agi.errors import LocalProtocolError, MessageTooLong, RemoteProtocolError

__all__ = ["AmiMessage", "AmiReader", "banner", "encode", "MAX_MESSAGE", "EOL"]

EOL: Final = b"\r\n"
# Asterisk's own buffer for one inbound message is 1025 bytes per line and at most 128
# headers (AST_MAX_MANHEADERS); 64 KiB covers every action with room to spare.
MAX_MESSAGE: Final = 64 * 1024
MAX_HEADERS: Final = 128


@dataclass(frozen=True)
class AmiMessage:
    """One action, response or event: its header pairs in order."""

    headers: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str = "") -> str:
        """The first value of ``key`` (case-insensitive, as Asterisk reads headers)."""
        wanted = key.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), default)

    def all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [v for k, v in self.headers if k.lower() == wanted]


def banner(version: str) -> bytes:
    return f"Asterisk Call Manager/{version}".encode() + EOL


def encode(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> bytes:
    """One message: ``Key: Value`` lines and the empty line that ends it."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for key, value in pairs:
        if any(c in key + value for c in "\r\n") or ":" in key:
            raise LocalProtocolError(f"AMI header {key!r} cannot carry {value!r}")
        out.append(f"{key}: {value}".encode() + EOL)
    return b"".join(out) + EOL


class AmiReader:
    """Splits a byte stream into :class:`AmiMessage` s (optionally after a banner line)."""

    def __init__(self, *, expect_banner: bool = False) -> None:
        self._buffer = b""
        self.banner: str | None = None if expect_banner else ""

    def receive_data(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > MAX_MESSAGE and EOL + EOL not in self._buffer:
            raise MessageTooLong(f"AMI message longer than {MAX_MESSAGE} bytes")

    def next_message(self) -> AmiMessage | None:
        """The next whole message, or None until more data arrives."""
        if self.banner is None:
            line, sep, rest = self._buffer.partition(EOL)
            if not sep:
                return None
            self.banner, self._buffer = line.decode("utf-8", "replace"), rest
        end = self._buffer.find(EOL + EOL)
        if end < 0:
            return None
        block, self._buffer = self._buffer[:end], self._buffer[end + 4:]
        lines = [line for line in block.split(EOL) if line.strip()]
        if len(lines) > MAX_HEADERS:
            raise RemoteProtocolError(f"AMI message with {len(lines)} headers (max {MAX_HEADERS})")
        pairs = []
        for line in lines:
            key, colon, value = line.decode("utf-8", "replace").partition(":")
            if not colon:
                raise RemoteProtocolError(f"AMI line without ':' : {line[:80]!r}")
            pairs.append((key.strip(), value.strip()))
        return AmiMessage(tuple(pairs)) if pairs else self.next_message()
