"""The exception tree of Permanence.

Every error the controller raises on purpose is one of these; vendor exceptions
(vosk, pyttsx3, sqlite3, psycopg, HTTP) are converted at the adapter boundary with
``raise ... from exc`` so callers never depend on a vendor's types::

    PermanenceError
    ├── ConfigError                 bad or missing setting; message names the key and the fix
    ├── ProtocolError               bytes on a wire that break the protocol
    │   ├── LocalProtocolError      we were about to send something illegal
    │   └── RemoteProtocolError     the peer sent something illegal
    │       ├── MessageTooLong      a line or message longer than the protocol's cap
    │       ├── AgiEnvironmentError malformed FastAGI request environment
    │       ├── AudioSocketFrameError  malformed AudioSocket frame
    │       └── EslFrameError       malformed FreeSWITCH event-socket message
    ├── AgiError                    an AGI command failed (Asterisk answered non-200)
    │   ├── AgiInvalidCommand       510
    │   ├── AgiDeadChannel          511: the channel is gone
    │   ├── AgiUsageError           520 (carries the multi-line usage text)
    │   └── AgiHangup               the caller hung up while a command ran
    ├── EslError                    an ESL command failed (FreeSWITCH answered -ERR)
    ├── AmiError                    an AMI action failed (Asterisk answered Error)
    │   └── AmiLoginFailed          AMI unreachable or the login refused, at start-up
    ├── MediaUnavailable            media never flowed (no AudioSocket, no first datagram)
    ├── CallEnded                   the call is over (hang-up on any leg); not a fault
    │   └── PeerTimeout             the PBX stopped answering within its timeout
    ├── SpeechError                 recognition or synthesis cannot run
    │   └── ModelNotFound           no Vosk model; message says how to get one
    ├── DialogueError               the dialogue engine cannot run or answer
    │   ├── NluProjectError         nlu/ files are invalid (file and line in message)
    │   └── DryRunWrite             a speculative reply would write: it waits for the real turn
    ├── StoreError                  the database failed
    │   ├── StoreUnavailable        it cannot be reached now (writes go to the spool)
    │   └── SlotTaken               the appointment overlaps another one
    │       └── SlotUnavailable     closed then, in the past, too soon or too far ahead
    ├── UnknownTenant               no tenant for this path or dialled number
    └── DeliveryError               a notification did not reach the business (this time)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: errors.py imports nothing at run time
    from agi.booking.store import Appointment


class PermanenceError(Exception):
    """Base class of every error Permanence raises on purpose."""


class ConfigError(PermanenceError):
    """A setting is missing or invalid; the message names the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        text = f"{key}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class ProtocolError(PermanenceError):
    """Bytes on a wire that break a protocol."""


class LocalProtocolError(ProtocolError):
    """We were about to send something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids."""


class MessageTooLong(RemoteProtocolError):
    """A line or message is longer than the protocol's cap: the peer is refused, not buffered."""


class AgiEnvironmentError(RemoteProtocolError):
    """The FastAGI request environment is malformed."""


class AudioSocketFrameError(RemoteProtocolError):
    """An AudioSocket frame is malformed (bad kind, bad length, truncated)."""


class EslFrameError(RemoteProtocolError):
    """A FreeSWITCH event-socket message is malformed (headers, length, too large)."""


class EslError(PermanenceError):
    """An ESL command was refused (``-ERR ...``) or the ESL connection failed mid-call."""


class AmiError(PermanenceError):
    """An Asterisk Manager Interface action failed (Asterisk answered ``Response: Error``)."""


class AmiLoginFailed(AmiError):
    """AMI cannot be reached, or Asterisk refused the login: Permanence does not start."""


class MediaUnavailable(PermanenceError):
    """The call's media did not start in time: the call goes back to the dialplan's fallback."""


class AgiError(PermanenceError):
    """An AGI command did not succeed; ``code`` is Asterisk's status code."""

    code: int = 0

    def __init__(self, message: str, *, command: str = "") -> None:
        self.command = command
        super().__init__(message)


class AgiInvalidCommand(AgiError):
    """510 Invalid or unknown command."""

    code = 510


class AgiDeadChannel(AgiError):
    """511 Command Not Permitted on a dead channel."""

    code = 511


class AgiUsageError(AgiError):
    """520 Invalid command syntax; ``usage`` holds Asterisk's usage text."""

    code = 520

    def __init__(self, message: str, *, command: str = "", usage: str = "") -> None:
        self.usage = usage
        super().__init__(message, command=command)


class AgiHangup(AgiError):
    """The caller hung up (``HANGUP`` line, or ``result=-1`` on a dead channel)."""


class CallEnded(PermanenceError):
    """The call is over; raised to unwind a session, not a fault."""


class PeerTimeout(CallEnded):
    """The PBX did not answer a command (or connect media) within its timeout: the
    session is out of step, so it is closed and the call recorded as ``peer_timeout``."""


class SpeechError(PermanenceError):
    """Speech recognition or synthesis cannot run."""


class ModelNotFound(SpeechError):
    """No Vosk model is available; the message says how to get one."""


class DialogueError(PermanenceError):
    """The dialogue engine cannot run or answer."""


class NluProjectError(DialogueError):
    """The nlu/ project is invalid; the message points at file and line."""


class DryRunWrite(DialogueError):
    """A dry run of the dialogue (a reply prepared while the caller pauses) tried to write
    (book, move, cancel, take a message, note a request): nothing was written, and that
    reply is computed for real once the turn is over."""


class StoreError(PermanenceError):
    """The database failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (down, restarting, pool exhausted);
    writes are kept in the local spool and replayed when it is back."""


class SlotTaken(StoreError):
    """The appointment would overlap an existing one for the same resource.

    ``conflict`` is the appointment in the way (an ``agi.booking.Appointment``) when known.
    """

    def __init__(self, message: str, *, conflict: Appointment | None = None) -> None:
        self.conflict = conflict
        super().__init__(message)


class SlotUnavailable(SlotTaken):
    """The slot cannot be booked whatever the calendar holds.

    ``reason`` is one of ``"closed"`` (outside opening hours), ``"past"``, ``"too_soon"``
    (inside the minimum notice) or ``"too_far"`` (beyond the booking horizon), so the
    dialogue can word its answer.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class UnknownTenant(PermanenceError):
    """No tenant matches the FastAGI path or the dialled number."""


class DeliveryError(PermanenceError):
    """A notification (e-mail, web hook, CalDAV) was not delivered.

    ``permanent`` when trying again cannot help (the receiver refused this notification:
    a 4xx answer, a 5xx SMTP reply); the outbox then gives up on it at once. Otherwise it is
    retried with back-off, not before ``retry_after`` seconds when the receiver said so.
    The message must not quote the notification's content (it holds personal data): it is
    logged and kept in the outbox row.
    """

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)
