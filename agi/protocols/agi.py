"""Asterisk AGI over FastAGI as a sans-IO core: bytes in, typed events out.

No sockets and no asyncio here (the h11 pattern): an adapter feeds whatever it read
with ``receive_data`` and pulls events with ``next_event`` until it gets ``NEED_DATA``;
what to send comes back as ``bytes`` from ``send_command`` (server side) or from the
result builders (client side, used by the PBX emulator that plays Asterisk).

What Asterisk sends, from ``res/res_agi.c`` (Asterisk 20) and the "AGI Commands" pages
of https://docs.asterisk.org/Latest_API/API_Documentation/AGI_Commands/ :

- the request: ``agi_network: yes``, ``agi_network_script: <path after host:port/>`` (only
  when that path is not empty, see ``launch_netscript``), then ``setup_env``'s lines
  (``agi_request``, ``agi_channel`` ... ``agi_threadid``, ``agi_arg_N``) and one empty line;
- one line per command: ``200 result=<r> [(<data>)] [key=value ...]``; ``100 result=0
  Trying...`` before a slow command's real answer; ``510 Invalid or unknown command``;
  ``511 Command Not Permitted on a dead channel or intercept routine``; ``520-Invalid
  command syntax.  Proper usage follows:`` + usage lines + ``520 End of proper usage.``
  (or the one-line ``520 Invalid command syntax.  Proper usage not available.``);
  ``503 result=-2 Memory allocation failure``;
- ``HANGUP`` alone on a line, unsolicited, once the channel has hung up (FastAGI only,
  where no SIGHUP can be sent); it arrives between two results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeVar

from agi.errors import AgiEnvironmentError, LocalProtocolError, MessageTooLong, RemoteProtocolError

__all__ = [
    "NEED_DATA", "MAX_ENVIRONMENT_BYTES", "MAX_LINE_BYTES", "KNOWN_COMMANDS",
    "AgiEnvironment", "EnvironmentReceived", "CommandResult", "Trying", "HangupNotice",
    "CommandFailed", "CommandReceived", "ConnectionClosed", "AgiServerConnection",
    "AgiClientConnection", "quote", "parse_args",
]


class _NeedData:
    """Sentinel type: ``next_event`` needs more bytes before it can say anything."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()

# Asterisk 20 sends about 1 KiB of environment; dialplan arguments add a little. 64 KiB is
# far above any real request and bounds what a stray client can make us buffer.
MAX_ENVIRONMENT_BYTES: Final = 64 * 1024
# One result or command line. GET VARIABLE can return a long value, so be generous, but a
# peer streaming bytes with no newline must not grow our buffer without end.
MAX_LINE_BYTES: Final = 64 * 1024

USAGE_FOLLOWS: Final = "Invalid command syntax.  Proper usage follows:"
USAGE_END: Final = "End of proper usage."
USAGE_NOT_AVAILABLE: Final = "Invalid command syntax.  Proper usage not available."
INVALID_COMMAND: Final = "Invalid or unknown command"
DEAD_CHANNEL: Final = "Command Not Permitted on a dead channel or intercept routine"

# The command words of res_agi's command table; multi-word verbs are matched longest
# first, case-insensitively, as ``find_command`` does.
KNOWN_COMMANDS: Final = frozenset({
    "ANSWER", "ASYNCAGI BREAK", "CHANNEL STATUS", "CONTROL STREAM FILE", "DATABASE DEL",
    "DATABASE DELTREE", "DATABASE GET", "DATABASE PUT", "EXEC", "GET DATA",
    "GET FULL VARIABLE", "GET OPTION", "GET VARIABLE", "GOSUB", "HANGUP", "NOOP",
    "RECEIVE CHAR", "RECEIVE TEXT", "RECORD FILE", "SAY ALPHA", "SAY DATE", "SAY DATETIME",
    "SAY DIGITS", "SAY NUMBER", "SAY PHONETIC", "SAY TIME", "SEND IMAGE", "SEND TEXT",
    "SET AUTOHANGUP", "SET CALLERID", "SET CONTEXT", "SET EXTENSION", "SET MUSIC",
    "SET PRIORITY", "SET VARIABLE", "SPEECH ACTIVATE GRAMMAR", "SPEECH CREATE",
    "SPEECH DEACTIVATE GRAMMAR", "SPEECH DESTROY", "SPEECH LOAD GRAMMAR",
    "SPEECH RECOGNIZE", "SPEECH SET", "SPEECH UNLOAD GRAMMAR", "STREAM FILE", "TDD MODE",
    "VERBOSE", "WAIT FOR DIGIT",
})
_MAX_VERB_WORDS: Final = max(len(v.split()) for v in KNOWN_COMMANDS)

_Answer = TypeVar("_Answer", "CommandResult", "CommandFailed")
_RESULT_RE: Final = re.compile(r"^200 result=(?P<result>\S*)(?P<rest>.*)$")
_CODE_RE: Final = re.compile(r"^(?P<code>[1-5]\d\d)(?P<sep>[ -]?)(?P<text>.*)$")
_TOKEN_RE: Final = re.compile(r"\S+")
_WORD_RE: Final = re.compile(r"\w+")


# --------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class AgiEnvironment:
    """The ``agi_*`` variables Asterisk sends first; ``raw`` keeps every line in order."""

    network_script: str
    request: str
    channel: str
    uniqueid: str
    callerid: str
    calleridname: str
    dnid: str
    extension: str
    context: str
    language: str
    args: tuple[str, ...]
    raw: Mapping[str, str] = field(repr=False, hash=False)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> AgiEnvironment:
        """Build from ``agi_*`` keys (order kept); checks what ``parse`` checks."""
        for key in values:
            if not key.startswith("agi_"):
                raise AgiEnvironmentError(f"AGI environment key {key[:40]!r} does not start with 'agi_'")
        if "agi_request" not in values:
            raise AgiEnvironmentError("AGI environment has no agi_request line")
        args: list[str] = []
        while f"agi_arg_{len(args) + 1}" in values:
            args.append(values[f"agi_arg_{len(args) + 1}"])
        def get(key: str, default: str = "") -> str:
            return _printable(values.get(key, default))

        return cls(
            # Asterisk omits agi_network_script when the URL has no path (res_agi.c
            # launch_netscript), so "" is a valid request, not a malformed one.
            network_script=get("agi_network_script", ""),
            request=_printable(values["agi_request"]),
            channel=get("agi_channel", ""),
            uniqueid=get("agi_uniqueid", ""),
            callerid=get("agi_callerid", "unknown"),
            calleridname=get("agi_calleridname", "unknown"),
            dnid=get("agi_dnid", "unknown"),
            extension=get("agi_extension", ""),
            context=get("agi_context", ""),
            language=get("agi_language", ""),
            args=tuple(_printable(arg) for arg in args),
            raw=MappingProxyType(dict(values)),
        )

    @classmethod
    def parse(cls, data: bytes) -> AgiEnvironment:
        """Parse a whole environment block, with or without its closing empty line.

        A real Asterisk writes each key once, ``agi_network``/``agi_network_script`` before
        ``setup_env``'s lines and the ``agi_arg_N`` lines last (res_agi.c
        ``launch_netscript`` then ``setup_env``); a line break inside a value (a caller name
        can carry one) makes an extra line, so a repeated key, a script line after
        ``agi_request`` or another key after the arguments is refused: such a line can
        never choose the tenant. Values that are not UTF-8 are read as Latin-1 (a caller
        name from an old PBX) rather than refusing the call. Messages never quote a
        value: values carry phone numbers and may reach logs.
        """
        values: dict[str, str] = {}
        in_args = False
        for number, raw_line in enumerate(data.split(b"\n"), start=1):
            line = _decode_lenient(raw_line.removesuffix(b"\r"))
            if not line:
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                if not line.endswith(":"):
                    raise AgiEnvironmentError(f"AGI environment line {number} has no ': ' separator")
                key, value = line[:-1], ""  # "agi_accountcode:" once a proxy trimmed the space
            if not key.startswith("agi_") or not key.isascii():
                raise AgiEnvironmentError(
                    f"AGI environment line {number}: key {_printable(key[:40])!r} does not start with 'agi_'")
            if key in values:
                raise AgiEnvironmentError(f"AGI environment line {number}: duplicate key {key!r}")
            if key in _BEFORE_REQUEST and "agi_request" in values:
                raise AgiEnvironmentError(f"AGI environment line {number}: {key} after agi_request")
            is_arg = key.startswith("agi_arg_")
            if in_args and not is_arg:
                raise AgiEnvironmentError(f"AGI environment line {number}: {key} after the agi_arg_N lines")
            in_args = in_args or is_arg
            values[key] = value
        return cls.from_mapping(values)

    def __bytes__(self) -> bytes:
        """The block as Asterisk writes it: one ``key: value`` line each, then ``\\n``."""
        return "".join(f"{k}: {v}\n" for k, v in self.raw.items()).encode("utf-8") + b"\n"

    @property
    def script_path(self) -> str:
        """``network_script`` without its ``?query`` part (Asterisk relays both)."""
        return self.network_script.partition("?")[0]


# Written by launch_netscript before setup_env's first line (agi_request).
_BEFORE_REQUEST: Final = frozenset({"agi_network", "agi_network_script"})
# C0 and C1 controls and DEL: never let one reach a tenant lookup, an AGI command or a log.
_CONTROL: Final = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0))}


def _printable(value: str) -> str:
    """``value`` with each control character replaced by U+FFFD (which matches no tenant)."""
    return value.translate(_CONTROL)


def _decode_lenient(raw: bytes) -> str:
    """UTF-8, else Latin-1 (which decodes any byte): a caller name never refuses a call."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class EnvironmentReceived:
    env: AgiEnvironment


@dataclass(frozen=True)
class CommandResult:
    """``200 result=1 (timeout) endpos=1234`` -> result '1', data 'timeout', extras."""

    code: int
    result: str
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Trying:
    """``100 result=0 Trying...``: the real answer follows."""

    line: str


@dataclass(frozen=True)
class HangupNotice:
    """The unsolicited ``HANGUP`` line: the channel is gone."""


@dataclass(frozen=True)
class CommandFailed:
    """510, 511, 520 (with its whole usage text), 503 or any other 5xx answer."""

    code: int
    message: str
    usage: str = ""


@dataclass(frozen=True)
class CommandReceived:
    """A command line as Asterisk would read it; ``verb`` is '' for an unknown command."""

    line: str
    verb: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the connection at a clean boundary."""


ServerEvent = EnvironmentReceived | CommandResult | Trying | HangupNotice | CommandFailed | ConnectionClosed
ClientEvent = CommandReceived | ConnectionClosed


# --------------------------------------------------------------------------- helpers


def quote(arg: str) -> str:
    """Quote one argument so Asterisk's ``parse_args`` gives it back unchanged."""
    if "\n" in arg or "\r" in arg:
        raise LocalProtocolError("an AGI argument cannot contain a line break")
    if arg and not any(c in arg for c in ' \t"\\'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_args(line: str) -> list[str]:
    """Split a command line as res_agi.c ``parse_args`` does.

    Spaces and tabs separate words; double quotes group (an empty ``""`` is a word);
    a backslash makes the next character literal. An unbalanced quote runs to the end.
    """
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
        current.append(char)
        escaped = False
    if current is not None:
        words.append("".join(current))
    return words


def _split_verb(words: list[str]) -> tuple[str, tuple[str, ...]]:
    for size in range(min(_MAX_VERB_WORDS, len(words)), 0, -1):
        verb = " ".join(words[:size]).upper()
        if verb in KNOWN_COMMANDS:
            return verb, tuple(words[size:])
    return "", tuple(words)


def _parse_extras(text: str) -> dict[str, str]:
    parts: dict[str, list[str]] = {}
    last = ""
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key:
            parts[key] = [value]
            last = key
        elif last:  # "results=2 foo bar": words after a value belong to it
            parts[last].append(token)
        else:
            parts[token] = [""]
    return {key: " ".join(words) for key, words in parts.items()}


def _is_pair(token: str) -> bool:
    key, sep, _ = token.partition("=")
    return bool(sep) and _WORD_RE.fullmatch(key) is not None


def _split_data(text: str) -> tuple[str | None, str]:
    """``(data) k=v ...`` -> (data, rest) in one pass from the right.

    Data may hold spaces and parentheses ("((hello)(world)) endpos=2240", a variable
    value): it ends at the rightmost token ending in ')' after which only key=value pairs
    (and the bare words that may follow a value) remain. Tokens are checked once each,
    so a long hostile line costs linear time, not a regex retried at every ')'.
    """
    tokens = [(m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
    next_is_pair = True  # the tail after the last token is empty: acceptable
    for start, end in reversed(tokens):
        token = text[start:end]
        if token.endswith(")") and end - 1 > 0 and next_is_pair:
            return text[1:end - 1], text[end:]
        if _is_pair(token):
            next_is_pair = True
        elif "=" in token:
            return None, text  # "=" in a bare word: nothing to its left can end the data
        else:
            next_is_pair = False  # a bare word may follow a pair, never start the tail
            if start == 0:
                break
    return None, text


def _parse_result(line: str) -> CommandResult:
    match = _RESULT_RE.match(line)
    if match is None:
        raise RemoteProtocolError(f"AGI 200 line without result=: {line[:80]!r}")
    rest = match["rest"]
    data: str | None = None
    stripped = rest.lstrip(" ")
    if stripped.startswith("("):
        data, tail = _split_data(stripped)
        if data is not None:
            rest = tail
    return CommandResult(code=200, result=match["result"], data=data, extras=_parse_extras(rest))


class _LineBuffer:
    """Bytes in, complete ``\\n``-terminated lines out (``\\r`` tolerated).

    Linear whatever the split of reads: the search for a newline resumes where the last
    one stopped, consumed bytes are dropped in bulk, and a line (or a block) longer than
    its cap raises MessageTooLong as soon as the cap is passed.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._data = bytearray()
        self._start = 0  # first byte not yet taken
        self._scan = 0  # no newline in _data[_start:_scan]
        self._block_line = 0  # take_block: start of the first line not yet examined
        self.max_line = max_line
        self.eof = False

    def feed(self, data: bytes) -> None:
        if self.eof and data:
            raise LocalProtocolError("receive_data after the end of the stream")
        if not data:
            self.eof = True
        if self._start > 4096 and self._start * 2 > len(self._data):
            del self._data[:self._start]
            self._scan -= self._start
            self._block_line = max(0, self._block_line - self._start)
            self._start = 0
        self._data += data

    def __len__(self) -> int:
        return len(self._data) - self._start

    def _find_newline(self) -> int:
        end = self._data.find(b"\n", max(self._scan, self._start))
        if end < 0:
            self._scan = len(self._data)
        return end

    def take_line(self) -> str | None:
        end = self._find_newline()
        if end < 0:
            if len(self) > self.max_line:
                raise MessageTooLong(f"AGI line longer than {self.max_line} bytes")
            return None
        if end - self._start > self.max_line:
            raise MessageTooLong(f"AGI line longer than {self.max_line} bytes")
        raw = bytes(self._data[self._start:end]).removesuffix(b"\r")
        self._start = self._scan = end + 1
        return _decode_lenient(raw)

    def take_block(self, limit: int) -> bytes | None:
        """Everything up to and including the first empty line, else None.

        MessageTooLong once more than ``limit`` bytes came without an empty line.
        """
        line = max(self._block_line, self._start)
        while True:
            end = self._data.find(b"\n", max(line, self._scan))
            if end < 0:
                self._scan, self._block_line = len(self._data), line
                if len(self) > limit:
                    raise MessageTooLong(
                        f"AGI environment exceeds {limit} bytes without its closing empty line")
                return None
            if end - line <= 1 and self._data[line:end] in (b"", b"\r"):
                if end + 1 - self._start > limit:
                    raise MessageTooLong(f"AGI environment exceeds {limit} bytes")
                block = bytes(self._data[self._start:end + 1])
                self._start = self._scan = self._block_line = end + 1
                return block
            line = self._scan = end + 1


# --------------------------------------------------------------------------- server side


class AgiServerConnection:
    """The FastAGI server's side (Permanence): reads the environment, then results."""

    def __init__(self) -> None:
        self._buffer = _LineBuffer()
        self._env: AgiEnvironment | None = None
        self._usage: list[str] | None = None
        self._usage_bytes = 0
        self.pending = 0  # commands sent and not yet answered

    @property
    def env(self) -> AgiEnvironment | None:
        return self._env

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed."""
        self._buffer.feed(data)

    def send_command(self, line: str) -> bytes:
        """The bytes of one command; refuses what Asterisk would misread."""
        if self._env is None:
            raise LocalProtocolError("cannot send an AGI command before the environment is received")
        if "\n" in line or "\r" in line:
            raise LocalProtocolError("an AGI command cannot contain a line break")
        if not line.strip():
            raise LocalProtocolError("an AGI command cannot be empty")
        self.pending += 1
        return line.encode("utf-8") + b"\n"

    def next_event(self) -> ServerEvent | _NeedData:
        """The next event, or ``NEED_DATA``; raises RemoteProtocolError on garbage."""
        if self._env is None:
            return self._next_environment()
        while (line := self._buffer.take_line()) is not None:
            event = self._on_line(line)
            if event is not None:
                return event
        if self._buffer.eof:
            if len(self._buffer) or self._usage is not None:
                raise RemoteProtocolError("AGI connection closed in the middle of a reply")
            return ConnectionClosed()
        return NEED_DATA

    def _next_environment(self) -> EnvironmentReceived | ConnectionClosed | _NeedData:
        block = self._buffer.take_block(MAX_ENVIRONMENT_BYTES)
        if block is None:
            if self._buffer.eof:
                if not len(self._buffer):
                    return ConnectionClosed()
                raise AgiEnvironmentError("connection closed before the end of the AGI environment")
            return NEED_DATA
        self._env = AgiEnvironment.parse(block)
        return EnvironmentReceived(self._env)

    def _on_line(self, line: str) -> ServerEvent | None:
        if self._usage is not None:
            return self._on_usage_line(line)
        if line == "HANGUP":
            return HangupNotice()
        if line.startswith("200"):
            return self._answered(_parse_result(line))
        match = _CODE_RE.match(line)
        if match is None:
            raise RemoteProtocolError(f"unexpected line from Asterisk: {line[:80]!r}")
        code, text = int(match["code"]), match["text"]
        if code == 100:
            return Trying(line)
        if code == 520 and match["sep"] == "-":
            self._usage, self._usage_bytes = [], 0
            return None
        if code >= 500:
            return self._answered(CommandFailed(code=code, message=text))
        raise RemoteProtocolError(f"unexpected AGI status code {code}: {line[:80]!r}")

    def _on_usage_line(self, line: str) -> CommandFailed | None:
        assert self._usage is not None
        if line == f"520 {USAGE_END}":
            usage, self._usage = "\n".join(self._usage), None
            return self._answered(CommandFailed(code=520, message=USAGE_FOLLOWS, usage=usage))
        self._usage_bytes += len(line) + 1
        if self._usage_bytes > MAX_ENVIRONMENT_BYTES:
            raise MessageTooLong(f"AGI 520 usage text longer than {MAX_ENVIRONMENT_BYTES} bytes")
        self._usage.append(line)
        return None

    def _answered(self, event: _Answer) -> _Answer:
        if self.pending <= 0:
            raise RemoteProtocolError(f"AGI reply {event.code} with no command outstanding")
        self.pending -= 1
        return event


# --------------------------------------------------------------------------- client side


class AgiClientConnection:
    """Asterisk's side (the emulator): sends the environment, reads commands, answers."""

    def __init__(self) -> None:
        self._buffer = _LineBuffer()
        self._sent_env = False

    def environment(self, env: AgiEnvironment | Mapping[str, str]) -> bytes:
        """The request block; must be the first bytes sent."""
        if self._sent_env:
            raise LocalProtocolError("the AGI environment was already sent")
        if not isinstance(env, AgiEnvironment):
            env = AgiEnvironment.from_mapping(env)
        for key, value in env.raw.items():
            if "\n" in value or "\r" in value:
                raise LocalProtocolError(f"AGI environment value of {key} contains a line break")
        self._sent_env = True
        return bytes(env)

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the server closed."""
        self._buffer.feed(data)

    def next_event(self) -> ClientEvent | _NeedData:
        """The next command, ``ConnectionClosed`` or ``NEED_DATA``."""
        while (line := self._buffer.take_line()) is not None:
            words = parse_args(line)
            if not words:
                continue  # res_agi ignores blank lines
            verb, args = _split_verb(words)
            return CommandReceived(line=line, verb=verb, args=args)
        if self._buffer.eof:
            return ConnectionClosed()
        return NEED_DATA

    @staticmethod
    def result(code: int = 200, result: str = "0", data: str | None = None, **extras: str) -> bytes:
        """``200 result=<result> [(<data>)] [k=v ...]``."""
        parts = [f"{code} result={result}"]
        if data is not None:
            parts.append(f"({data})")
        parts.extend(f"{k}={v}" for k, v in extras.items())
        line = " ".join(parts)
        if "\n" in line or "\r" in line:
            raise LocalProtocolError("an AGI result cannot contain a line break")
        return line.encode("utf-8") + b"\n"

    @staticmethod
    def trying() -> bytes:
        return b"100 result=0 Trying...\n"

    @staticmethod
    def invalid() -> bytes:
        return f"510 {INVALID_COMMAND}\n".encode()

    @staticmethod
    def dead_channel() -> bytes:
        return f"511 {DEAD_CHANNEL}\n".encode()

    @staticmethod
    def usage_error(usage_text: str) -> bytes:
        """The multi-line 520 answer (or its one-line form when there is no usage)."""
        if not usage_text:
            return f"520 {USAGE_NOT_AVAILABLE}\n".encode()
        lines = usage_text.splitlines()
        if f"520 {USAGE_END}" in lines:
            raise LocalProtocolError("usage text cannot contain the 520 end line")
        body = "".join(f"{line}\n" for line in lines)
        return f"520-{USAGE_FOLLOWS}\n{body}520 {USAGE_END}\n".encode()

    @staticmethod
    def hangup_notice() -> bytes:
        return b"HANGUP\n"


def iter_events(conn: AgiServerConnection | AgiClientConnection) -> Iterator[object]:
    """Every event available now (stops at ``NEED_DATA``); handy in tests and loops."""
    while (event := conn.next_event()) is not NEED_DATA:
        yield event
        if isinstance(event, ConnectionClosed):
            return
