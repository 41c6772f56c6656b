"""The FreeSWITCH event-socket core (agi/protocols/esl.py) in ``make fuzz``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agi.protocols import esl
from bench.fuzz import feed  # bench.fuzz loads this module only once it is itself loaded

TRANSCRIPT = (
    b"Content-Type: command/reply\nReply-Text: +OK\nSocket-Mode: async\nControl: full\n"
    b"Unique-ID: 4b3c7f0e-0c1d-4a9e-9d1e-2f6b5a0c9e11\nCaller-Caller-ID-Number: %2B33612345678\n\n"
    b"Content-Length: 60\nContent-Type: text/event-plain\n\n"
    b"Event-Name: CHANNEL_HANGUP\nHangup-Cause: NORMAL_CLEARING\n\n\n"
    b"Content-Type: api/response\nContent-Length: 14\n\n+OK 4b3c7f0e\n\n"
    b"Content-Type: text/disconnect-notice\nContent-Disposition: disconnect\nContent-Length: 0\n\n")
COMMANDS = (b"connect\n\nmyevents\n\nsendmsg 4b3c\ncall-command: execute\nexecute-app-name: answer\n\n"
            b"api uuid_kill 4b3c\n\nexit\n\n")


def esl_events(chunks: Sequence[bytes]) -> list[Any]:
    return feed(esl.EslParser(), chunks, esl.NEED_DATA, esl.ConnectionClosed)


def esl_commands(chunks: Sequence[bytes]) -> list[Any]:
    return feed(esl.EslCommandParser(), chunks, esl.NEED_DATA, esl.ConnectionClosed)


def codecs(codec: Any) -> list[Any]:
    return [codec("esl-events", esl_events, TRANSCRIPT * 4), codec("esl-commands", esl_commands, COMMANDS * 4)]


def hostile() -> dict[str, float]:
    """CPU seconds of a 250 KB header block fed byte by byte."""
    import time

    parser = esl.EslParser()
    data = b"X-H: " + b"v" * (250 * 1024)
    started = time.process_time()
    for at in range(len(data)):
        parser.receive_data(data[at:at + 1])
        parser.next_event()
    return {"ESL 250 KB header byte by byte": time.process_time() - started}
