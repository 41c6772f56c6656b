"""The conversation test suite: the same conversations played on the builtin and Rasa backends.

``nlu/tests/conversations_<lang>.yml`` holds conversations in the spirit of Rasa's test
stories, written from the caller's side: each turn is what the caller says and what the
agent must do — the domain responses it utters (``utter_*`` names, in order), the custom
actions it runs, slot values, the slot it then asks for, the outcome, a transfer or a
hang-up. Everything a turn does not mention is not checked, except that the responses and
actions lists, when given, must match exactly::

    tenant: demo
    now: "2026-11-30T09:00:00+01:00"   # the call's clock: "jeudi prochain" is 2026-12-03
    conversations:
      - conversation: a booking read back and confirmed
        caller: "+33612000001"
        appointments: ["2026-12-04T10:00"]  # booked for this caller before the call
        tenant: demo-dentaire  # optional: another tenant than the suite's
        turns:
          - user: bonjour je voudrais prendre rendez-vous
            responses: [utter_ask_name]
            expecting: name

:func:`play` runs one suite against any :class:`~agi.dialogue.base.DialogueEngine` whose
conversations expose ``slots`` and ``last_trace`` (the builtin engine and
:class:`~agi.dialogue.rasa.RasaEngine`), and :func:`compare` says where two backends' runs
differ. Errors in the YAML raise :class:`~agi.errors.NluProjectError` with file and line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

from agi.booking.availability import book_slot
from agi.booking.store import CallRecord, Store
from agi.config import Settings
from agi.dialogue.base import BotReply, CallContext, DialogueEngine
from agi.dialogue.project import _read, _where
from agi.errors import NluProjectError

TURN_KEYS = frozenset({"user", "responses", "actions", "slots", "expecting", "outcome",
                       "transfer", "hangup"})
# Slots whose values depend on the database rows, not on the dialogue: not compared.
UNCOMPARED_SLOTS = frozenset({"appointment_id", "requested_slot"})


class Traced(Protocol):
    """A conversation the suite can observe (BuiltinConversation, RasaConversation)."""

    slots: dict[str, Any]

    @property
    def last_trace(self) -> tuple[tuple[str, ...], tuple[str, ...]]: ...

    def respond(self, text: str) -> BotReply: ...


@dataclass(frozen=True)
class ExpectedTurn:
    user: str
    responses: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    expecting: str | None = None
    check_expecting: bool = False
    outcome: str | None = None
    transfer: bool | None = None
    hangup: bool | None = None
    where: str = ""


@dataclass(frozen=True)
class TestConversation:
    name: str
    caller: str
    turns: tuple[ExpectedTurn, ...]
    appointments: tuple[datetime, ...] = ()
    where: str = ""
    tenant: str = ""  # another tenant than the suite's (its services, its practitioners)


@dataclass(frozen=True)
class Suite:
    path: Path
    tenant: str
    now: datetime
    conversations: tuple[TestConversation, ...]


@dataclass(frozen=True)
class PlayedTurn:
    """What a backend did on one turn."""

    user: str
    responses: tuple[str, ...]
    actions: tuple[str, ...]
    slots: Mapping[str, Any]
    reply: BotReply


@dataclass(frozen=True)
class Played:
    conversation: TestConversation
    turns: tuple[PlayedTurn, ...]
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_suite(path: str | Path) -> Suite:
    """Read and check one conversation file."""
    path = Path(path)
    raw = _read(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("conversations"), list):
        raise NluProjectError(f"{path}:1: a conversation suite needs a 'conversations' list")
    try:
        now = datetime.fromisoformat(str(raw.get("now")))
    except ValueError as exc:
        raise NluProjectError(f"{_where(path, raw)}: 'now' must be an ISO date-time with offset") from exc
    if now.tzinfo is None:
        raise NluProjectError(f"{_where(path, raw)}: 'now' needs a UTC offset")
    conversations = tuple(_conversation(path, c, now) for c in raw["conversations"])
    return Suite(path, str(raw.get("tenant") or ""), now, conversations)


def _conversation(path: Path, raw: Any, now: datetime) -> TestConversation:
    where = _where(path, raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
        raise NluProjectError(f"{where}: a conversation needs 'conversation' and a 'turns' list")
    appointments = tuple(datetime.fromisoformat(str(a)).replace(tzinfo=now.tzinfo)
                         for a in raw.get("appointments") or [])
    return TestConversation(str(raw.get("conversation", "?")), str(raw.get("caller") or ""),
                            tuple(_turn(path, t) for t in raw["turns"]), appointments, where,
                            str(raw.get("tenant") or ""))


def _turn(path: Path, raw: Any) -> ExpectedTurn:
    where = _where(path, raw)
    if not isinstance(raw, dict) or "user" not in raw:
        raise NluProjectError(f"{where}: each turn needs 'user'")
    unknown = set(raw) - TURN_KEYS
    if unknown:
        raise NluProjectError(f"{where}: unknown turn key {sorted(unknown)[0]!r} "
                              f"(known: {', '.join(sorted(TURN_KEYS))})")

    def names(key: str) -> tuple[str, ...] | None:
        return None if key not in raw else tuple(str(n) for n in raw[key] or [])

    return ExpectedTurn(str(raw["user"]), names("responses"), names("actions"),
                        dict(raw.get("slots") or {}), raw.get("expecting"), "expecting" in raw,
                        raw.get("outcome"), raw.get("transfer"), raw.get("hangup"), where)


def play(suite: Suite, engine: DialogueEngine, settings: Settings, store: Store) -> list[Played]:
    """Play every conversation of ``suite`` on ``engine``, each as a new call in ``store``."""
    results = []
    for conv in suite.conversations:
        tenant = settings.tenant(conv.tenant or suite.tenant)
        call_id = f"parity-{uuid.uuid4().hex[:12]}"
        store.start_call(CallRecord(call_id, tenant.id, conv.caller, suite.now, language=tenant.language))
        for start in conv.appointments:
            book_slot(store, tenant, tenant.service(None), start, name="Parity", phone=conv.caller,
                      call_id=call_id, now=suite.now)
        ctx = CallContext(call_id, tenant, store, conv.caller, now=_clock(suite.now))
        conversation = cast(Traced, engine.conversation(ctx))
        turns, failures = [], []
        for expected in conv.turns:
            reply = conversation.respond(expected.user)
            responses, actions = conversation.last_trace
            slots = dict(conversation.slots)
            turns.append(PlayedTurn(expected.user, responses, actions, slots, reply))
            failures += [f"{expected.where}: {f}" for f in _check(expected, turns[-1])]
        results.append(Played(conv, tuple(turns), tuple(failures)))
    return results


def _clock(at: datetime) -> Callable[[], datetime]:
    """The suite's fixed clock: "jeudi prochain" means the same day on every run."""
    return lambda: at


def _check(expected: ExpectedTurn, got: PlayedTurn) -> list[str]:
    out = []
    if expected.responses is not None and got.responses != expected.responses:
        out.append(f"responses {list(got.responses)}, expected {list(expected.responses)}")
    if expected.actions is not None and got.actions != expected.actions:
        out.append(f"actions {list(got.actions)}, expected {list(expected.actions)}")
    for name, value in expected.slots.items():
        if got.slots.get(name) != value:
            out.append(f"slot {name} = {got.slots.get(name)!r}, expected {value!r}")
    if expected.check_expecting and got.reply.expecting != expected.expecting:
        out.append(f"expecting {got.reply.expecting!r}, expected {expected.expecting!r}")
    if expected.outcome is not None and got.reply.outcome != expected.outcome:
        out.append(f"outcome {got.reply.outcome!r}, expected {expected.outcome!r}")
    if expected.transfer is not None and bool(got.reply.transfer) != expected.transfer:
        out.append(f"transfer {got.reply.transfer!r}, expected {'one' if expected.transfer else 'none'}")
    if expected.hangup is not None and got.reply.hangup != expected.hangup:
        out.append(f"hangup {got.reply.hangup}, expected {expected.hangup}")
    return out


def compare(a: Sequence[Played], b: Sequence[Played], slots: Sequence[str]) -> list[str]:
    """Where two runs of the same suite differ: responses, actions, ``slots`` values, replies."""
    out = []
    for run_a, run_b in zip(a, b, strict=True):
        for i, (ta, tb) in enumerate(zip(run_a.turns, run_b.turns, strict=True), 1):
            where = f"{run_a.conversation.name!r} turn {i} ({ta.user!r})"
            if (ta.responses, ta.actions) != (tb.responses, tb.actions):
                out.append(f"{where}: {ta.responses}/{ta.actions} vs {tb.responses}/{tb.actions}")
            for name in slots:
                if name not in UNCOMPARED_SLOTS and ta.slots.get(name) != tb.slots.get(name):
                    out.append(f"{where}: slot {name} {ta.slots.get(name)!r} vs {tb.slots.get(name)!r}")
            ra, rb = ta.reply, tb.reply
            if (ra.expecting, ra.outcome, bool(ra.transfer), ra.hangup) != (
                    rb.expecting, rb.outcome, bool(rb.transfer), rb.hangup):
                out.append(f"{where}: reply {ra.expecting, ra.outcome, ra.transfer, ra.hangup} "
                           f"vs {rb.expecting, rb.outcome, rb.transfer, rb.hangup}")
    return out
