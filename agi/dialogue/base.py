"""The dialogue interface the call session depends on.

A :class:`DialogueEngine` (builtin, or Rasa over HTTP) opens one :class:`Conversation`
per call. The session feeds it what the caller said and executes the :class:`BotReply`:
speak ``say``, then transfer or hang up, and dictation mode while ``expecting`` a slot.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.config import Tenant

# The custom action a turn the dialogue did not understand runs (both backends).
FALLBACK_ACTION = "action_fallback"
# The intent of words that only greet (domain.yml): "allô bonjour madame".
GREET_INTENT = "greet"
# Slots whose answers are dictated (numbers, dates, names): the endpointer waits longer.
DICTATION_SLOTS = frozenset({"date", "time", "phone", "name", "message", "callback"})


@dataclass(frozen=True)
class CallContext:
    """What the dialogue knows about the call it serves."""

    call_id: str
    tenant: Tenant
    store: Store
    caller: str = ""  # E.164, or "" when withheld
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    # where a booking request waits while the database is unreachable (None: no spool,
    # as in the Rasa action server, which then reports the store error)
    spool: Spool | None = None


@dataclass(frozen=True)
class BotReply:
    """What the agent does after one caller turn."""

    say: tuple[str, ...] = ()
    transfer: str | None = None  # a transfer target: hand the caller to a human
    hangup: bool = False  # say goodbye then end the call
    expecting: str | None = None  # slot being asked for (dictation mode when in DICTATION_SLOTS)
    outcome: str | None = None  # booked, moved, cancelled, pending, message, transfer, ... once reached
    data: Mapping[str, Any] = field(default_factory=dict)  # everything collected so far
    # the turn was not understood (the fallback action ran): the session counts these
    misunderstood: bool = False
    # the request left open after this turn: the active form, or the confirmation or
    # choice awaited (the ``pending`` slot); None when nothing is (agi.notify.summary)
    request: str | None = None
    # what the NLU took the caller's words for ("greet", "book"...); None when not known
    intent: str | None = None

    @property
    def dictation(self) -> bool:
        return self.expecting in DICTATION_SLOTS


def open_request(active_loop: str | None, slots: Mapping[str, Any]) -> str | None:
    """The request a conversation has open: its active form, else the ``pending`` slot
    unless that only asks whether there is anything else."""
    pending = slots.get("pending")
    return active_loop or (str(pending) if pending not in (None, "", "anything_else") else None)


class Conversation(abc.ABC):
    """One call's dialogue state."""

    @abc.abstractmethod
    def respond(self, text: str) -> BotReply:
        """Answer one caller turn (``text`` as recognised, possibly empty)."""

    @abc.abstractmethod
    def no_input(self) -> BotReply:
        """The caller said nothing for the no-input timeout: re-prompt or give up."""

    @property
    @abc.abstractmethod
    def data(self) -> Mapping[str, Any]:
        """Everything collected so far (slots), for the call record."""

    def fork(self) -> Conversation | None:
        """A copy of this conversation for a dry run, or None when the backend has none.

        The copy answers as this one would but cannot write (its store is read-only, see
        agi/dialogue/dry_run.py); this one is left as it was. Rasa has none: its tracker and
        action server live in another process, where every turn is committed.
        """
        return None

    def commit(self) -> None:  # noqa: B027 - only forks have anything to restore
        """Make this fork the call's conversation: its later turns write as usual."""


class DialogueEngine(abc.ABC):
    """A dialogue backend reading the Rasa project in nlu/."""

    @abc.abstractmethod
    def conversation(self, ctx: CallContext) -> Conversation: ...
