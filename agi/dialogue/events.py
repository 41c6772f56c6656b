"""The vocabulary of the dialogue actions: their events, what they see (:class:`Tracker`),
and the helpers the booking and the appointment actions share.

Each action is a plain function ``(Tracker) -> list[Event]``. The builtin engine applies the
events directly; the Rasa action server (nlu/actions/) translates them (``SlotSet`` ->
``rasa_sdk.events.SlotSet``, ``Utter`` -> ``dispatcher.utter_message(response=..., **params)``,
``FollowupAction`` -> ``rasa_sdk.events.FollowupAction``; ``Outcome``, ``Transfer`` and
``Hangup`` travel as custom JSON for the call session).

Slot values are kept as plain JSON: dates ``YYYY-MM-DD``, times ``HH:MM`` (tenant wall
clock), so the same values survive a Rasa tracker store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from agi.booking import availability
from agi.config import Service
from agi.dialogue import normalize
from agi.dialogue.base import CallContext
from agi.dialogue.catalogue import booked_resource, booked_service, read_back
from agi.dialogue.names import of_name
from agi.errors import StoreUnavailable


@dataclass(frozen=True)
class Entity:
    entity: str
    value: Any
    text: str = ""


@dataclass(frozen=True)
class SlotSet:
    name: str
    value: Any


@dataclass(frozen=True)
class Utter:
    """Say the domain response ``response``, its ``{placeholders}`` filled from slots and ``params``."""

    response: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowupAction:
    """Run this action (or activate this form) next."""

    name: str


@dataclass(frozen=True)
class Outcome:
    value: str  # booked, moved, cancelled, message, transfer, pending (noted, to confirm)


@dataclass(frozen=True)
class Transfer:
    target: str


@dataclass(frozen=True)
class Hangup:
    pass


Event = SlotSet | Utter | FollowupAction | Outcome | Transfer | Hangup


@dataclass
class Tracker:
    """What an action sees: the conversation's slots and the latest caller turn."""

    ctx: CallContext
    slots: dict[str, Any]
    intent: str | None = None
    entities: Sequence[Entity] = ()
    text: str = ""
    active_loop: str | None = None
    requested_slot: str | None = None

    @property
    def lang(self) -> str:
        return self.ctx.tenant.language

    def get_slot(self, name: str) -> Any:
        return self.slots.get(name)

    def now(self) -> datetime:
        return self.ctx.now().astimezone(self.ctx.tenant.tz)


# helpers ---------------------------------------------------------------------------------
def as_date(value: Any, tracker: Tracker) -> date | None:
    if not value or str(value).startswith("?"):  # "?": ambiguous, being asked
        return None
    try:  # a range "first/last" starts on its first day
        return date.fromisoformat(str(value).split("/")[0])
    except ValueError:
        return normalize.parse_date(str(value), tracker.lang, tracker.now())


def as_time(value: Any, tracker: Tracker) -> time | None:
    if not value or str(value).startswith("?"):
        return None
    try:  # a window "HH:MM-HH:MM" starts at its start
        return time.fromisoformat(str(value).split("-")[0])
    except ValueError:
        return normalize.parse_time(str(value), tracker.lang, bare=True)


def start_of(tracker: Tracker) -> datetime | None:
    d, t = as_date(tracker.get_slot("date"), tracker), as_time(tracker.get_slot("time"), tracker)
    if d is None or t is None:
        return None
    return normalize.combine(d, t, tracker.ctx.tenant.tz)


def spoken(start: datetime, lang: str) -> list[Event]:
    return [SlotSet("date_spoken", normalize.speak_date(start.date(), lang)),
            SlotSet("time_spoken", normalize.speak_time(start.time(), lang))]


def set_start(start: datetime) -> list[Event]:
    return [SlotSet("date", start.date().isoformat()), SlotSet("time", start.strftime("%H:%M"))]


def booking_of(tracker: Tracker, service: Service | None = None) -> tuple[Service, str | None]:
    """The service and practitioner the search is for: ``service`` (a move: the appointment's
    own, with whoever is free), else the booking's ``service`` and ``practitioner`` slots."""
    tenant = tracker.ctx.tenant
    if service is not None:
        return service, None
    chosen = booked_service(tenant, tracker.get_slot("service"))
    return chosen, booked_resource(tenant, chosen, tracker.get_slot("practitioner"))


def offer(tracker: Tracker, around: datetime, response: str, *, form: str = "booking_form",
           pending: str = "choose_slot", ignore: int | None = None,
           within: availability.Window | None = None, service: Service | None = None) -> list[Event]:
    """Offer the free slots nearest to ``around`` (``ignore``: the appointment being moved,
    whose own time counts as free; ``within``: only inside the asked days and hours), or ask
    for another day through ``form``. The slots fit the service's duration and the chosen
    practitioner's hours and diary (:func:`booking_of`)."""
    tenant = tracker.ctx.tenant
    chosen, resource = booking_of(tracker, service)
    slots = availability.free_slots(tracker.ctx.store, tenant, chosen, around, resource=resource,
                                    now=tracker.now(), ignore=ignore, within=within)
    if not slots:
        return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
                Utter("utter_no_slots"), FollowupAction(form)]
    starts = sorted(s.start for s in slots)
    return [SlotSet("offered", [s.isoformat() for s in starts]),
            SlotSet("offered_spoken", normalize.speak_choices(starts, tracker.lang)),
            SlotSet("pending", pending), Utter(response, read_back_params(tracker))]

def validate_when(tracker: Tracker) -> list[Event]:
    """Normalise the ``date``/``time`` slots (ISO date, ``HH:MM``), or reject a past or
    unreadable value with the response that says why."""
    events: list[Event] = []
    raw_date = tracker.get_slot("date")
    raw_time = tracker.get_slot("time")
    for slot, raw in (("date", raw_date), ("time", raw_time)):
        if not str(raw or "").startswith("?"):
            continue
        if _may_ask(tracker):  # ambiguous: a short question, never a guess
            choices = normalize.speak_candidates(str(raw), tracker.lang)
            events += [SlotSet(slot, None), Utter("utter_ambiguous_when" if choices
                                                  else f"utter_invalid_{slot}", {"choices": choices})]
        raw_date, raw_time = (None, raw_time) if slot == "date" else (raw_date, None)
    if raw_date:
        d = as_date(raw_date, tracker)
        if d is None:
            events += [SlotSet("date", None), Utter("utter_invalid_date")]
        elif d < tracker.now().date():
            events += [SlotSet("date", None), Utter("utter_past_date")]
        elif d.isoformat() != raw_date and "/" not in str(raw_date):
            events.append(SlotSet("date", d.isoformat()))
    if raw_time:
        t = as_time(raw_time, tracker)
        if t is None:
            events += [SlotSet("time", None), Utter("utter_invalid_time")]
        elif raw_date and as_date(raw_date, tracker) == tracker.now().date() and "-" not in str(
                raw_time) and t < tracker.now().time().replace(tzinfo=None):
            events += [SlotSet("time", None), Utter("utter_past_time")]
        elif t.strftime("%H:%M") != raw_time and "-" not in str(raw_time):
            events.append(SlotSet("time", t.strftime("%H:%M")))
    return events


def _may_ask(tracker: Tracker) -> bool:
    """An ambiguous date/time is asked about once the caller is answering the date or time,
    or nothing else is missing: asked while the form waits for the name, the answer would be
    taken for the name. Until then the ``?`` value waits in its slot."""
    return (tracker.requested_slot in ("date", "time")
            or tracker.active_loop != "booking_form" or bool(tracker.get_slot("name")))


def asked_window(tracker: Tracker) -> availability.Window | None:
    """The window the caller asked for when the ``date`` slot holds a range of days or the
    ``time`` slot a window (see :func:`agi.dialogue.when.slot_values`); None for an exact
    date and time."""
    raw_date, raw_time = str(tracker.get_slot("date") or ""), str(tracker.get_slot("time") or "")
    if "/" not in raw_date and "-" not in raw_time:
        return None
    first, _, last = raw_date.partition("/")
    start, _, end = raw_time.partition("-")
    try:
        return availability.Window(date.fromisoformat(first), date.fromisoformat(last or first),
                                   time.fromisoformat(start) if start else None,
                                   time.fromisoformat(end or start) if start else None)
    except ValueError:
        return None


def choose(tracker: Tracker, *, check: str, form: str) -> list[Event]:
    """An answer to the offered slots: the pick is checked again by ``check``; a plain no
    asks for another day through ``form``."""
    offered = [datetime.fromisoformat(s) for s in tracker.get_slot("offered") or []]
    index = normalize.parse_choice(tracker.text, tracker.lang)
    if index is not None and offered and -len(offered) <= index < len(offered):
        return [*set_start(offered[index]), SlotSet("pending", None), FollowupAction(check)]
    when = normalize.parse_when(tracker.text, tracker.lang, tracker.now(), bare_time=True)
    if when.past:
        return [Utter("utter_past_date")]
    if when.ambiguous or when.days or when.window:  # asked again, or a new range to search
        said = normalize.slot_values(when)
        return [SlotSet("pending", None), *(SlotSet(k, v) for k, v in said.items()),
                FollowupAction(check)]
    matches = [s for s in offered
               if (when.date is None or s.date() == when.date)
               and (when.time is None or s.time() == when.time)]
    if (when.date or when.time) and matches:
        return [*set_start(matches[0]), SlotSet("pending", None), FollowupAction(check)]
    if when.date or when.time:  # something else than what was offered: check that instead
        events: list[Event] = [SlotSet("pending", None)]
        if when.date:
            events.append(SlotSet("date", when.date.isoformat()))
        if when.time:
            events.append(SlotSet("time", when.time.strftime("%H:%M")))
        return [*events, FollowupAction(check)]
    if tracker.intent == "deny":
        return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
                FollowupAction(form)]
    if tracker.intent == "affirm" and len(offered) == 1:
        return [*set_start(offered[0]), SlotSet("pending", None), FollowupAction(check)]
    return [Utter("utter_which_slot")]



@dataclass(frozen=True)
class Asking:
    """What a read-back-or-offer step asks the caller, for a booking or for a move."""

    form: str  # asks the day again when nothing is free around it
    confirm: str  # ``pending`` while the caller answers the read-back
    read_back: str  # the read-back response
    choosing: str  # ``pending`` while the caller picks among the offered slots


def read_back_params(tracker: Tracker) -> dict[str, str]:
    """``{of_name}``: "de Paul Martin", "d'Alice Aubert" (French elision), the name in English;
    ``{service_name}`` and ``{with_practitioner}`` (" avec le docteur Martin" or "")."""
    return {"of_name": of_name(str(tracker.get_slot("name") or ""), tracker.lang),
            **read_back(tracker.ctx.tenant, tracker.get_slot("service"), tracker.get_slot("practitioner"))}


def read_back_or_offer(tracker: Tracker, start: datetime, asking: Asking, *,
                       ignore: int | None = None, service: Service | None = None) -> list[Event]:
    """Read ``start`` back if it is free (``ignore``: an appointment whose own time counts
    as free), else offer the nearest free slots.

    When the diary cannot be read and a spool keeps the caller's writes, a time within
    opening hours is read back anyway: the request is noted after the yes."""
    tenant = tracker.ctx.tenant
    moved_service = service
    service, resource = booking_of(tracker, moved_service)
    window = asked_window(tracker)
    if window is not None:  # a range was asked: offer what is free in it, never a made-up time
        return offer(tracker, start, "utter_offer_in_range", form=asking.form,
                     pending=asking.choosing, ignore=ignore, within=window, service=moved_service)
    try:
        slot = availability.slot_if_free(tracker.ctx.store, tenant, service, start, resource=resource,
                                         now=tracker.now(), ignore=ignore)
    except StoreUnavailable:
        if tracker.ctx.spool is None or not availability.within_opening_hours(
                tenant, start, service.duration_min, resource):
            raise
        return [*spoken(start.astimezone(tenant.tz), tracker.lang),
                SlotSet("pending", asking.confirm), Utter(asking.read_back, read_back_params(tracker))]
    if slot is not None:
        return [*spoken(slot.start, tracker.lang), SlotSet("pending", asking.confirm),
                Utter(asking.read_back, read_back_params(tracker))]
    closed = not availability.within_opening_hours(tenant, start, service.duration_min)
    away = not closed and resource is not None and not availability.within_opening_hours(
        tenant, start, service.duration_min, resource)  # open, but not the one asked for
    response = "utter_outside_hours" if closed else "utter_practitioner_away" if away \
        else "utter_offer_slots"
    return offer(tracker, start, response, form=asking.form, pending=asking.choosing,
                 ignore=ignore, service=moved_service)
