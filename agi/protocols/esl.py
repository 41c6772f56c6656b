"""FreeSWITCH's event socket (ESL) as a sans-IO codec: bytes in, typed messages out.

Wire format (https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_event_socket_1048924/
and mod_event_socket.c): a message is ``Name: value`` header lines ended by an empty line
(``\\n\\n``); a ``Content-Length`` header announces a body of that many bytes right after.
The ``Content-Type`` says what it is:

- ``command/reply`` the answer to a command (``Reply-Text: +OK ...`` / ``-ERR ...``); the
  answer to ``connect`` on an outbound socket also carries the channel's data as headers;
- ``api/response`` the body is the output of an ``api`` command;
- ``text/event-plain`` the body is an event: its own header block, URL-encoded values,
  and its own optional ``Content-Length`` body;
- ``text/disconnect-notice`` with ``Content-Disposition: linger`` (the channel hung up,
  the socket stays for ``Linger-Time`` s) or ``disconnect`` (it closes now);
- ``auth/request`` (inbound: send ``auth <password>``) and ``text/rude-rejection`` (an
  address outside the ACL: a body, then the socket closes).

Header values are URL-encoded by FreeSWITCH (``switch_url_encode``); each value is decoded
after the block is split into lines, so an encoded ``%0A`` stays inside its value (the
bug greenswitch#78 has: it decodes the whole event first, and a value holding ``%0A``
then splits into bogus headers). The parser keeps a scan position, so its cost is linear
in the input however it is split, and it refuses a header block or body over the caps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, unquote

from agi.errors import EslFrameError, LocalProtocolError

__all__ = [
    "MAX_HEADER_BYTES", "MAX_BODY_BYTES", "NEED_DATA", "Message", "CommandReply", "ApiResponse",
    "Event", "DisconnectNotice", "AuthRequest", "RudeRejection", "ConnectionClosed", "EslEvent",
    "EslParser", "parse_headers", "encode_command", "encode_sendmsg", "encode_message",
    "encode_event", "CommandReceived", "EslCommandParser",
]

# The connect reply and each event carry every channel variable: a few KiB, tens with a
# busy dialplan. 256 KiB is far above any real header block and bounds a stuck stream.
MAX_HEADER_BYTES: Final = 256 * 1024
# api/response bodies (``show channels``) and event bodies; 4 MiB bounds a runaway peer.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


def parse_headers(block: bytes) -> dict[str, str]:
    """``Name: value`` lines into a dict, each value URL-decoded after the split."""
    headers: dict[str, str] = {}
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EslFrameError(f"ESL header block is not UTF-8 at byte {exc.start}") from exc
    for line in text.split("\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise EslFrameError(f"ESL header line without 'Name: value': {line[:80]!r}")
        headers[name] = unquote(value[1:] if value.startswith(" ") else value)
    return headers


@dataclass(frozen=True)
class Message:
    """One whole ESL message: its outer headers and body."""

    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


@dataclass(frozen=True)
class CommandReply:
    """``command/reply``; ``headers`` hold the channel data after ``connect``."""

    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.text.startswith("+OK")


@dataclass(frozen=True)
class ApiResponse:
    text: str

    @property
    def ok(self) -> bool:
        return not self.text.startswith("-ERR")


@dataclass(frozen=True)
class Event:
    """One ``text/event-plain`` event: ``name`` is its Event-Name."""

    name: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class DisconnectNotice:
    disposition: str  # "linger" or "disconnect"
    linger_s: int | None
    text: str = ""


@dataclass(frozen=True)
class AuthRequest:
    pass


@dataclass(frozen=True)
class RudeRejection:
    text: str


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the socket between two messages."""


EslEvent = CommandReply | ApiResponse | Event | DisconnectNotice | AuthRequest | RudeRejection | ConnectionClosed


def _length(headers: Mapping[str, str], cap: int) -> int:
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    if not raw.isdigit():
        raise EslFrameError(f"ESL Content-Length {raw[:40]!r} is not a number")
    length = int(raw)
    if length > cap:
        raise EslFrameError(f"ESL body of {length} bytes exceeds the maximum of {cap}")
    return length


def _typed(message: Message) -> EslEvent:
    h, kind = message.headers, message.content_type
    text = message.body.decode("utf-8", errors="replace")
    if kind == "command/reply":
        return CommandReply(h.get("Reply-Text", ""), dict(h))
    if kind == "api/response":
        return ApiResponse(text)
    if kind == "text/event-plain":
        block, _, rest = message.body.partition(b"\n\n")
        inner = parse_headers(block)
        length = _length(inner, MAX_BODY_BYTES)
        if len(rest) < length or rest[length:].strip(b"\n"):
            raise EslFrameError(f"ESL event declares a {length}-byte body but {len(rest)} bytes follow")
        if "Event-Name" not in inner:
            raise EslFrameError("ESL event without Event-Name")
        return Event(inner["Event-Name"], inner, rest[:length])
    if kind == "text/disconnect-notice":
        linger = h.get("Linger-Time", "")
        return DisconnectNotice(h.get("Content-Disposition", "disconnect"),
                                int(linger) if linger.isdigit() else None, text)
    if kind == "auth/request":
        return AuthRequest()
    if kind == "text/rude-rejection":
        return RudeRejection(text)
    raise EslFrameError(f"unknown ESL Content-Type {kind[:60]!r}")


_FIRST_LINE: Final = "\0line"  # cannot be a header name: parse_headers splits on ':'


class _Framer:
    """Splits a byte stream into (header block, body) pairs; linear whatever the split."""

    def __init__(self, max_header: int, max_body: int, *, first_line: bool = False) -> None:
        self._first_line = first_line  # commands: a bare first line, then headers
        self._buffer = bytearray()
        self._scan = 0  # where the search for the end of the header block resumes
        self._pending: tuple[dict[str, str], int] | None = None
        self._eof = False
        self._error: EslFrameError | None = None
        self.max_header, self.max_body = max_header, max_body

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data after end of stream")
        self._buffer += data

    def receive_eof(self) -> None:
        self._eof = True

    def next_block(self) -> tuple[dict[str, str], bytes] | _NeedData | ConnectionClosed:
        if self._error is not None:
            raise self._error
        try:
            return self._next_block()
        except EslFrameError as exc:
            self._error = exc  # no resynchronising after garbage: every later call fails too
            raise

    def _next_block(self) -> tuple[dict[str, str], bytes] | _NeedData | ConnectionClosed:
        if self._pending is None:
            blank = len(self._buffer) - len(self._buffer.lstrip(b"\n"))
            if blank:  # stray blank lines between messages
                del self._buffer[:blank]
                self._scan = max(0, self._scan - blank)
            end = self._buffer.find(b"\n\n", self._scan)
            if end < 0:
                if len(self._buffer) > self.max_header:
                    raise EslFrameError(f"ESL header block longer than {self.max_header} bytes")
                self._scan = max(0, len(self._buffer) - 1)
                return self._at_eof("header block")
            if end > self.max_header:
                raise EslFrameError(f"ESL header block longer than {self.max_header} bytes")
            block = bytes(self._buffer[:end])
            del self._buffer[:end + 2]
            if self._first_line:
                first, _, block = block.partition(b"\n")
                headers = {_FIRST_LINE: first.decode("utf-8", errors="replace").strip(),
                           **parse_headers(block)}
            else:
                headers = parse_headers(block)
            self._scan = 0
            self._pending = (headers, _length(headers, self.max_body))
        headers, length = self._pending
        if len(self._buffer) < length:
            return self._at_eof(f"body ({len(self._buffer)} of {length} bytes)")
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._pending = None
        return headers, body

    def _at_eof(self, where: str) -> _NeedData | ConnectionClosed:
        if not self._eof:
            return NEED_DATA
        if self._buffer.strip(b"\n") or self._pending is not None:
            raise EslFrameError(f"ESL connection closed in the middle of a {where}")
        return ConnectionClosed()


class EslParser:
    """What FreeSWITCH sends us, as typed events (both outbound and inbound sockets)."""

    def __init__(self, max_header: int = MAX_HEADER_BYTES, max_body: int = MAX_BODY_BYTES) -> None:
        self._framer = _Framer(max_header, max_body)

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket (``b""`` means end of stream)."""
        self._framer.receive_data(data)

    def receive_eof(self) -> None:
        self._framer.receive_eof()

    def next_event(self) -> EslEvent | _NeedData:
        block = self._framer.next_block()
        if isinstance(block, (_NeedData, ConnectionClosed)):
            return block
        try:
            return _typed(Message(*block))
        except EslFrameError as exc:
            self._framer._error = exc  # a bad message ends the stream, as bad framing does
            raise


# --------------------------------------------------------------------------- what we send


def _line(text: str, what: str) -> str:
    if "\n" in text or "\r" in text:
        raise LocalProtocolError(f"ESL {what} must be one line, got {text[:60]!r}")
    return text


def encode_command(command: str) -> bytes:
    """``connect``, ``myevents``, ``linger 5``, ``api uuid_kill <uuid>``, ``auth <pw>``..."""
    return f"{_line(command, 'command')}\n\n".encode()


def encode_sendmsg(headers: Mapping[str, str], uuid: str = "") -> bytes:
    """``sendmsg [<uuid>]`` with ``call-command``, ``execute-app-name``... headers."""
    lines = [_line(f"sendmsg {uuid}".strip(), "sendmsg")]
    lines += [f"{_line(k, 'header name')}: {_line(v, 'header value')}" for k, v in headers.items()]
    return ("\n".join(lines) + "\n\n").encode()


# --------------------------------------------------------------------------- FreeSWITCH's side
# (the PBX emulator speaks it; the tests build transcripts with it)


def encode_message(headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """One message as FreeSWITCH writes it: values URL-encoded, Content-Length last."""
    lines = [f"{k}: {quote(v, safe=' /:+=@,.-_')}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body


def encode_event(name: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """A ``text/event-plain`` event (mod_event_socket.c: the event serialised, then framed)."""
    inner = encode_message({"Event-Name": name, **headers}, body)
    return encode_message({"Content-Type": "text/event-plain"}, inner)


@dataclass(frozen=True)
class CommandReceived:
    """One command as FreeSWITCH reads it: first line, then headers (sendmsg)."""

    line: str
    headers: Mapping[str, str]


class EslCommandParser:
    """The commands a client sends, as FreeSWITCH reads them (used by the emulator)."""

    def __init__(self, max_header: int = MAX_HEADER_BYTES) -> None:
        self._framer = _Framer(max_header, MAX_BODY_BYTES, first_line=True)

    def receive_data(self, data: bytes) -> None:
        self._framer.receive_data(data)

    def next_event(self) -> CommandReceived | ConnectionClosed | _NeedData:
        block = self._framer.next_block()
        if isinstance(block, (_NeedData, ConnectionClosed)):
            return block
        headers, _ = block
        return CommandReceived(headers.pop(_FIRST_LINE), headers)
