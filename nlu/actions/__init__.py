"""Custom actions of nlu/<lang>/domain.yml for a Rasa SDK action server.

Run from nlu/ with the controller's venv (Python 3.11), which holds ``rasa-sdk`` through
the ``rasa`` extra (``pip install -e '.[rasa]'``)::

    cd nlu && PERMANENCE_CONFIG=/etc/permanence/permanence.toml \\
        ../.venv/bin/python -m rasa_sdk --actions actions --port 5055

Why this venv and not Rasa's: the actions are the very functions of
:mod:`agi.dialogue.actions` the builtin engine runs, over the same store (SQLite or
PostgreSQL through psycopg), availability search and normalisers; those need Python 3.11
and our package, which Rasa's 3.10 venv cannot import. rasa-sdk 3.11 speaks the same
action-server HTTP protocol as Rasa 3.6 (it only logs a version-mismatch warning).

Each Rasa action here wraps one function of ``ACTIONS`` and translates its events:
``SlotSet`` and ``FollowupAction`` become the rasa_sdk events of the same name, ``Utter``
becomes ``dispatcher.utter_message(response=...)`` with the slots set so far in this action
as template values (Rasa fills templates from the tracker *before* the action's events),
and ``Outcome``/``Transfer``/``Hangup`` travel as one custom JSON message
``{"permanence": {...}}`` that the controller's Rasa backend executes.

The call comes with the message ``metadata`` the controller sends on every turn
(``tenant_id``, ``call_id``, ``caller``, ``now``); the store and tenants come from the
Permanence settings (``PERMANENCE_CONFIG``), so actions write to the controller's database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rasa_sdk import Action
from rasa_sdk import Tracker as SdkTracker
from rasa_sdk.events import EventType
from rasa_sdk.events import FollowupAction as SdkFollowupAction
from rasa_sdk.events import SlotSet as SdkSlotSet
from rasa_sdk.executor import CollectingDispatcher

from agi.booking.store import Store
from agi.config import Settings, load_settings
from agi.dialogue import normalize
from agi.dialogue.actions import (
    ACTIONS,
    Entity,
    Event,
    FollowupAction,
    Hangup,
    Outcome,
    SlotSet,
    Tracker,
    Transfer,
    Utter,
)
from agi.dialogue.base import CallContext
from agi.dialogue.phones import parse_phone

log = logging.getLogger(__name__)

# The key of the custom JSON message the controller's Rasa backend reads (agi/dialogue/rasa.py).
PAYLOAD_KEY = "permanence"


class _Process:
    """Settings and store, opened once per action-server process on first use.

    Lazily, so importing this package (rasa_sdk does it at start-up) never fails on a
    missing configuration before the server can log why."""

    settings: Settings | None = None
    store: Store | None = None

    @classmethod
    def open(cls) -> tuple[Settings, Store]:
        if cls.settings is None or cls.store is None:
            from agi.server import open_store

            cls.settings = load_settings()
            cls.store = open_store(cls.settings)
            log.info("actions: store %s for tenants %s", cls.settings.store.backend,
                     ", ".join(t.id for t in cls.settings.tenants))
        return cls.settings, cls.store


def call_context(metadata: Mapping[str, Any], settings: Settings, store: Store) -> CallContext:
    """The :class:`CallContext` of the call a Rasa message belongs to, from its metadata."""
    tenant = settings.tenant(str(metadata.get("tenant_id") or ""))
    raw_now = metadata.get("now")
    at = datetime.fromisoformat(str(raw_now)) if raw_now else None
    return CallContext(call_id=str(metadata.get("call_id") or ""), tenant=tenant, store=store,
                       caller=str(metadata.get("caller") or ""),
                       # the controller's clock: "demain" means the same day on both sides
                       now=(lambda: at) if at is not None else (lambda: datetime.now().astimezone()))


# Intents whose date, time or name never fill a booking slot (not_intent in domain.yml).
QUESTION_INTENTS = frozenset({"info", "appointment_info", "cancel"})

# Actions Rasa runs itself between the user message and the first predicted action.
_TURN_START_ACTIONS = frozenset({"action_listen", "action_extract_slots"})


def first_of_turn(sdk: SdkTracker, action_name: str = "") -> bool:
    """Whether no action has run yet since the latest user message.

    A form's validation (``validate_<form>``) counts as first: Rasa calls it with a
    temporary tracker that already ends with the form's own ``ActionExecuted``."""
    for event in reversed(sdk.events):
        if event.get("event") == "user":
            return True
        name = event.get("name")
        if (event.get("event") == "action" and name not in _TURN_START_ACTIONS
                and action_name != f"validate_{name}"):
            return False
    return True


# The slots the builtin engine fills from its own extractor's normalised values
# (agi/dialogue/entities.py): on Rasa they are read again from the message (spoken_when).
EXTRACTED_SLOTS = ("date", "time", "phone")


def spoken_when(sdk: SdkTracker, ctx: CallContext, action_name: str = "") -> dict[str, Any]:
    """Date, time and phone as the builtin engine's extractor reads the whole user message.

    Rasa's DIET tags parts of spoken numbers ("dix neuf heures" gives only "neuf heures") and
    keeps the words of a dictated number, so whenever it tagged a date, a time or a phone,
    the message itself is read again as the builtin engine reads it: a phone number (E.164)
    when the words are one (digits dictated as a phone number are never a date or a time),
    else date and time with :func:`agi.dialogue.normalize.parse_when` (ISO date, ``HH:MM``).
    What it finds replaces Rasa's values; a slot DIET tagged where it finds nothing gets back
    its value from before the message (the builtin engine, finding no entity, leaves the
    slot alone). Empty when Rasa tagged none of them: then the caller did not speak about
    when or a number, for Rasa's slot filling either.

    Only for the first action of the turn: a later one (after the form, or a follow-up)
    must not bring back a value an earlier action of this turn rejected or replaced."""
    latest = sdk.latest_message or {}
    tagged = {str(e.get("entity")) for e in latest.get("entities") or []} & set(EXTRACTED_SLOTS)
    if not tagged:
        return {}
    if (latest.get("intent") or {}).get("name") in QUESTION_INTENTS:
        return {}  # a question fills no booking slot (the domain's not_intent mappings)
    if not first_of_turn(sdk, action_name):
        return {}
    text, lang = str(latest.get("text") or ""), ctx.tenant.language
    phone = parse_phone(text, lang)
    found: dict[str, Any] = {"phone": phone} if phone else normalize.slot_values(normalize.parse_when(
        text, lang, ctx.now(), bare_time=sdk.get_slot("requested_slot") == "time"))
    before = slots_before_message(sdk)
    return {**{slot: before.get(slot) for slot in tagged}, **found}


def slots_before_message(sdk: SdkTracker) -> dict[str, Any]:
    """The slot values set before the latest user message (before Rasa filled any from it)."""
    events = list(sdk.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    values: dict[str, Any] = {}
    for event in events[:last_user]:
        if event.get("event") == "slot":
            values[str(event.get("name"))] = event.get("value")
        elif event.get("event") in ("restart", "reset_slots", "session_started"):
            values.clear()
    return values


def spoken_name(sdk: SdkTracker, action_name: str = "") -> dict[str, str]:
    """The whole answer as ``name`` when a form asked for the name and DIET tagged only a
    part of it ("anna jones" -> "jones"); the form's validation then tidies it with
    :func:`agi.dialogue.normalize.clean_name`, as the builtin engine reads an asked name."""
    latest = sdk.latest_message or {}
    text = str(latest.get("text") or "").strip()
    tagged = [e for e in latest.get("entities") or [] if e.get("entity") == "name"]
    if (latest.get("intent") or {}).get("name") in QUESTION_INTENTS:
        return {}
    if (not text or not tagged or sdk.get_slot("requested_slot") != "name"
            or not first_of_turn(sdk, action_name)):
        return {}
    return {"name": text}


def to_tracker(sdk: SdkTracker, ctx: CallContext, when: Mapping[str, Any] | None = None) -> Tracker:
    """Our :class:`Tracker` over a Rasa SDK tracker (a copy of the slots).

    ``when`` (from :func:`spoken_when`, :func:`spoken_name`) replaces the date/time/phone
    entities and slots Rasa filled from this message, so actions see the normalised values
    (a ``None`` there: no such entity, the slot as it was before the message)."""
    when = when or {}
    latest = sdk.latest_message or {}
    entities = tuple(Entity(str(e.get("entity")), e.get("value"), str(e.get("value") or ""))
                     for e in latest.get("entities") or [] if str(e.get("entity")) not in when)
    entities += tuple(Entity(name, value, str(latest.get("text") or ""))
                      for name, value in when.items() if value is not None)
    slots = {**sdk.slots, **when}
    return Tracker(ctx, slots, (latest.get("intent") or {}).get("name"), entities,
                   str(latest.get("text") or ""), sdk.active_loop_name,
                   sdk.get_slot("requested_slot"))


def translate(events: list[Event], dispatcher: CollectingDispatcher) -> list[EventType]:
    """Our events as rasa_sdk events and dispatched messages, in order."""
    out: list[EventType] = []
    set_so_far: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    for ev in events:
        if isinstance(ev, SlotSet):
            out.append(SdkSlotSet(ev.name, ev.value))
            set_so_far[ev.name] = ev.value
        elif isinstance(ev, Utter):
            values = {k: v for k, v in set_so_far.items() if v is not None}
            values.update(ev.params)
            dispatcher.utter_message(response=ev.response, **values)
        elif isinstance(ev, FollowupAction):
            out.append(SdkFollowupAction(ev.name))
        elif isinstance(ev, Outcome):
            payload["outcome"] = ev.value
        elif isinstance(ev, Transfer):
            payload["transfer"] = ev.target
        elif isinstance(ev, Hangup):
            payload["hangup"] = True
    if payload:
        dispatcher.utter_message(json_message={PAYLOAD_KEY: payload})
    return out


class PermanenceAction:
    """A Rasa action running one function of :data:`agi.dialogue.actions.ACTIONS`.

    Not an :class:`Action` itself: rasa_sdk registers every ``Action`` subclass it finds,
    and this base has no name; the classes below mix it with ``Action``."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: SdkTracker,
                  domain: dict[str, Any]) -> list[EventType]:
        settings, store = _Process.open()
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        ctx = call_context(metadata, settings, store)
        when = {**spoken_when(tracker, ctx, self.action_name),
                **spoken_name(tracker, self.action_name)}
        ours = to_tracker(tracker, ctx, when)
        # store calls block (SQLite, psycopg pool): keep the server's event loop free
        events = await asyncio.to_thread(ACTIONS[self.action_name], ours)
        # Rasa's own slots get the normalised date/time first; the action's events follow
        # and win where they set the same slot.
        return [*(SdkSlotSet(name, value) for name, value in when.items()),
                *translate(events, dispatcher)]


def _action_class(action_name: str) -> type[Action]:
    cls_name = "".join(part.title() for part in action_name.split("_"))
    return type(cls_name, (PermanenceAction, Action), {"action_name": action_name, "__module__": __name__})


# One class per action: rasa_sdk registers every Action subclass it finds after import.
ACTION_CLASSES = tuple(_action_class(name) for name in ACTIONS)
