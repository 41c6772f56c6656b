"""Custom actions of the Rasa project (the ``action_*`` and ``validate_*`` names in domain.yml).

Each action is a plain function ``(Tracker) -> list[Event]``: it reads slots, the latest
intent, entities and text, and the :class:`~agi.dialogue.base.CallContext` (tenant, store,
clock), and answers with small events. The builtin engine applies the events directly; the
Rasa action server of the next issue wraps the same functions (``SlotSet`` ->
``rasa_sdk.events.SlotSet``, ``Utter`` -> ``dispatcher.utter_message(response=..., **params)``,
``FollowupAction`` -> ``rasa_sdk.events.FollowupAction``; ``Outcome``, ``Transfer`` and
``Hangup`` travel as slots/custom JSON for the call session).

Slot values are kept as plain JSON: dates ``YYYY-MM-DD``, times ``HH:MM`` (tenant wall
clock), so the same values survive a Rasa tracker store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from agi.booking import availability
from agi.booking.spool import Spool
from agi.booking.store import Appointment, NewAppointment
from agi.dialogue import normalize
from agi.dialogue.base import CallContext
from agi.errors import SlotTaken, StoreUnavailable

# After this many misunderstandings in a row, offer a human: when unsure, hand over.
MAX_MISUNDERSTOOD = 2


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
def _as_date(value: Any, tracker: Tracker) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return normalize.parse_date(str(value), tracker.lang, tracker.now())


def _as_time(value: Any, tracker: Tracker) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return normalize.parse_time(str(value), tracker.lang, bare=True)


def _start(tracker: Tracker) -> datetime | None:
    d, t = _as_date(tracker.get_slot("date"), tracker), _as_time(tracker.get_slot("time"), tracker)
    if d is None or t is None:
        return None
    return normalize.combine(d, t, tracker.ctx.tenant.tz)


def _spoken(start: datetime, lang: str) -> list[Event]:
    return [SlotSet("date_spoken", normalize.speak_date(start.date(), lang)),
            SlotSet("time_spoken", normalize.speak_time(start.time(), lang))]


def _set_start(start: datetime) -> list[Event]:
    return [SlotSet("date", start.date().isoformat()), SlotSet("time", start.strftime("%H:%M"))]


def _offer(tracker: Tracker, around: datetime, response: str, *, form: str = "booking_form",
           pending: str = "choose_slot", ignore: int | None = None) -> list[Event]:
    """Offer the free slots nearest to ``around`` (``ignore``: the appointment being moved,
    whose own time counts as free), or ask for another day through ``form``."""
    tenant = tracker.ctx.tenant
    slots = availability.free_slots(tracker.ctx.store, tenant, tenant.service(None), around,
                                    now=tracker.now(), ignore=ignore)
    if not slots:
        return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
                Utter("utter_no_slots"), FollowupAction(form)]
    starts = sorted(s.start for s in slots)
    return [SlotSet("offered", [s.isoformat() for s in starts]),
            SlotSet("offered_spoken", normalize.speak_choices(starts, tracker.lang)),
            SlotSet("pending", pending), Utter(response)]


# booking ---------------------------------------------------------------------------------
def validate_booking_form(tracker: Tracker) -> list[Event]:
    """Normalise what the caller said into ``date``/``time``/``name`` values, or reject it."""
    events = _validate_when(tracker)
    raw_name = tracker.get_slot("name")
    if raw_name:
        name = normalize.clean_name(str(raw_name), tracker.lang)
        if name != raw_name:
            events.append(SlotSet("name", name or None))
    return events


def _validate_when(tracker: Tracker) -> list[Event]:
    """Normalise the ``date``/``time`` slots (ISO date, ``HH:MM``), or reject a past or
    unreadable value with the response that says why."""
    events: list[Event] = []
    raw_date = tracker.get_slot("date")
    if raw_date:
        d = _as_date(raw_date, tracker)
        if d is None:
            events += [SlotSet("date", None), Utter("utter_invalid_date")]
        elif d < tracker.now().date():
            events += [SlotSet("date", None), Utter("utter_past_date")]
        elif d.isoformat() != raw_date:
            events.append(SlotSet("date", d.isoformat()))
    raw_time = tracker.get_slot("time")
    if raw_time:
        t = _as_time(raw_time, tracker)
        if t is None:
            events += [SlotSet("time", None), Utter("utter_invalid_time")]
        elif t.strftime("%H:%M") != raw_time:
            events.append(SlotSet("time", t.strftime("%H:%M")))
    return events


def validate_message_form(tracker: Tracker) -> list[Event]:
    """Tidy the dictated name (lead-in words dropped, capitalised)."""
    raw_name = tracker.get_slot("name")
    name = normalize.clean_name(str(raw_name), tracker.lang) if raw_name else None
    return [SlotSet("name", name or None)] if raw_name and name != raw_name else []


def action_check_availability(tracker: Tracker) -> list[Event]:
    """Read the asked slot back if it is free, else offer the nearest free ones."""
    start = _start(tracker)
    if start is None:
        return [FollowupAction("booking_form")]
    tenant = tracker.ctx.tenant
    service = tenant.service(None)
    try:
        slot = availability.slot_if_free(tracker.ctx.store, tenant, service, start, now=tracker.now())
    except StoreUnavailable:
        if tracker.ctx.spool is None or not availability.within_opening_hours(
                tenant, start, service.duration_min):
            raise
        # The diary cannot be read now: read the request back; it is noted after the yes.
        return [*_spoken(start.astimezone(tenant.tz), tracker.lang),
                SlotSet("pending", "confirm_booking"), Utter("utter_confirm_appointment")]
    if slot is not None:
        return [*_spoken(slot.start, tracker.lang), SlotSet("pending", "confirm_booking"),
                Utter("utter_confirm_appointment")]
    closed = not availability.within_opening_hours(tenant, start, service.duration_min)
    return _offer(tracker, start, "utter_outside_hours" if closed else "utter_offer_slots")


def action_choose_slot(tracker: Tracker) -> list[Event]:
    """The caller answers the offered slots: "le premier", a time, a date and time, or no."""
    return _choose(tracker, check="action_check_availability", form="booking_form")


def _choose(tracker: Tracker, *, check: str, form: str) -> list[Event]:
    """An answer to the offered slots: the pick is checked again by ``check``; a plain no
    asks for another day through ``form``."""
    offered = [datetime.fromisoformat(s) for s in tracker.get_slot("offered") or []]
    index = normalize.parse_choice(tracker.text, tracker.lang)
    if index is not None and offered and -len(offered) <= index < len(offered):
        return [*_set_start(offered[index]), SlotSet("pending", None), FollowupAction(check)]
    when = normalize.parse_when(tracker.text, tracker.lang, tracker.now(), bare_time=True)
    matches = [s for s in offered
               if (when.date is None or s.date() == when.date)
               and (when.time is None or s.time() == when.time)]
    if (when.date or when.time) and matches:
        return [*_set_start(matches[0]), SlotSet("pending", None), FollowupAction(check)]
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
        return [*_set_start(offered[0]), SlotSet("pending", None), FollowupAction(check)]
    return [Utter("utter_which_slot")]


def action_correct_booking(tracker: Tracker) -> list[Event]:
    """After a "no" to the read-back: a correction said with it is checked, else ask again."""
    said = {e.entity for e in tracker.entities}
    if said & {"date", "time", "name"}:
        return [SlotSet("pending", None), *validate_booking_form(tracker),
                FollowupAction("action_check_availability")]
    return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
            FollowupAction("booking_form")]


def action_book_appointment(tracker: Tracker) -> list[Event]:
    """Write the appointment — only ever run after the caller said yes to the read-back."""
    start = _start(tracker)
    if start is None:
        return [SlotSet("pending", None), FollowupAction("booking_form")]
    ctx = tracker.ctx
    try:
        appt = availability.book_slot(
            ctx.store, ctx.tenant, ctx.tenant.service(None), start,
            name=str(tracker.get_slot("name") or ""),
            phone=str(tracker.get_slot("phone") or ctx.caller), call_id=ctx.call_id,
            now=tracker.now())
    except SlotTaken:  # includes SlotUnavailable: someone else was faster, or time passed
        own = _booked_by_this_call(tracker, start)
        if own is None:
            return _offer(tracker, start, "utter_slot_just_taken")
        appt = own
    except StoreUnavailable:
        if ctx.spool is None:
            raise
        return _note_booking_request(tracker, start, ctx.spool)
    local = appt.starts_at.astimezone(ctx.tenant.tz)
    return [*_spoken(local, tracker.lang), SlotSet("appointment_id", appt.id),
            SlotSet("pending", "anything_else"), Outcome("booked"), Utter("utter_booked")]


def _booked_by_this_call(tracker: Tracker, start: datetime) -> Appointment | None:
    """This call's own appointment at ``start`` for the same name, if the yes was already
    acted on.

    A booking is idempotent per call, start and name: when Rasa runs the booking after the
    controller stopped waiting for it, the builtin engine replays the same "yes" and must
    confirm that appointment, not offer the caller other times for their own slot.
    """
    ctx = tracker.ctx
    name = str(tracker.get_slot("name") or "")
    end = start + timedelta(minutes=ctx.tenant.service(None).duration_min)
    return next((a for a in ctx.store.appointments(ctx.tenant.id, start, end)
                 if a.call_id == ctx.call_id and a.starts_at == start and a.customer_name == name),
                None)


def _note_booking_request(tracker: Tracker, start: datetime, spool: Spool) -> list[Event]:
    """The database is down: keep the confirmed request in the spool, to be written (or
    turned into a call-back lead if the slot went meanwhile) once it is back."""
    ctx = tracker.ctx
    service = ctx.tenant.service(None)
    local = start.astimezone(ctx.tenant.tz)
    resources = getattr(service, "resources", ()) or ctx.tenant.resources
    spool.append("book", (NewAppointment(
        tenant_id=ctx.tenant.id, resource=resources[0], service=service.name, starts_at=local,
        ends_at=local + timedelta(minutes=service.duration_min),
        customer_name=str(tracker.get_slot("name") or ""),
        customer_phone=str(tracker.get_slot("phone") or ctx.caller), call_id=ctx.call_id,
        buffer_min=getattr(service, "buffer_min", 0)),), key=ctx.call_id)
    return [*_spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("pending"), Utter("utter_booking_noted")]


# cancelling ------------------------------------------------------------------------------
def _upcoming(tracker: Tracker, phone: str) -> list[Appointment]:
    """The appointments booked under ``phone`` that are still to come, soonest first."""
    if not phone:
        return []
    ctx, now = tracker.ctx, tracker.now()
    return sorted((a for a in ctx.store.appointments_for_caller(ctx.tenant.id, phone)
                   if a.starts_at > now and a.status != "cancelled"), key=lambda a: a.starts_at)


def action_find_appointment(tracker: Tracker) -> list[Event]:
    """Find the caller's next appointment by their number and read it back."""
    ctx = tracker.ctx
    upcoming = _upcoming(tracker, str(tracker.get_slot("phone") or ctx.caller))
    if not upcoming:
        return [SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]
    appt = upcoming[0]
    return [SlotSet("appointment_id", appt.id), *_spoken(appt.starts_at.astimezone(ctx.tenant.tz), tracker.lang),
            SlotSet("pending", "confirm_cancel"), Utter("utter_confirm_cancel")]


def action_cancel_appointment(tracker: Tracker) -> list[Event]:
    appt_id = tracker.get_slot("appointment_id")
    if appt_id is None:
        return [FollowupAction("action_find_appointment")]
    tracker.ctx.store.cancel(int(appt_id))
    return [SlotSet("pending", "anything_else"), Outcome("cancelled"), Utter("utter_cancelled")]


def action_keep_appointment(tracker: Tracker) -> list[Event]:
    return [SlotSet("pending", "anything_else"), Utter("utter_cancel_kept")]


# self-service: hearing and moving an appointment ------------------------------------------
# Who may hear or move an appointment: the caller whose caller ID (the E.164 number the
# network presented, ``CallContext.caller``) is the number the appointment was booked under.
# Never a number the caller dictates (the ``phone`` slot): anyone can say anyone's number.
# A withheld number identifies nobody, so nothing is read out or changed. Hearing needs
# only that match (the caller learns a date and time booked from their own line). Moving
# needs more: the agent reads the appointment back and the caller confirms it is the one
# before any new time is asked, then confirms the new time's read-back before the write.
# Every later step re-reads the appointment among the caller's own, so an id left in the
# tracker can never reach another caller's appointment.
def _no_caller_id(tracker: Tracker) -> list[Event] | None:
    """The answer for a withheld number (offer a message), or None when there is one."""
    if tracker.ctx.caller:
        return None
    return [SlotSet("appointment_id", None), SlotSet("pending", "offer_message"),
            Utter("utter_no_caller_id")]


def _own_appointment(tracker: Tracker) -> Appointment | None:
    """The appointment in the ``appointment_id`` slot, if it is still one of the caller's
    upcoming appointments (by caller ID)."""
    appt_id = tracker.get_slot("appointment_id")
    if appt_id is None:
        return None
    wanted = int(float(appt_id))  # Rasa keeps the slot as a float
    return next((a for a in _upcoming(tracker, tracker.ctx.caller) if a.id == wanted), None)


# The word before the current date or time of an appointment, in "move it from ... to ...".
_FROM = re.compile(r"\b(?:de|du|d'|from)\s*$")


def _last_when(tracker: Tracker) -> normalize.When:
    """The new date and time in the caller's sentence: the last ones said, leaving out
    those said after "de"/"du"/"from" ("de mardi à jeudi": Tuesday is the current day)."""
    lang, now = tracker.lang, tracker.now()
    rest = normalize.digits(normalize.clean(tracker.text), lang)
    new_time = None
    while (tm := normalize.find_time(rest, lang)) is not None:
        start, end = tm[1]
        if not _FROM.search(rest[:start]):
            new_time = tm[0]
        rest = rest[:start] + " " + rest[end:]
    new_date, pos = None, 0
    while (d := normalize.find_date(rest[pos:], lang, now)) is not None:
        start, end = pos + d[1][0], pos + d[1][1]
        if not _FROM.search(rest[:start]):
            new_date = d[0]
        pos = max(end, pos + 1)
    return normalize.When(new_date, new_time)


def action_tell_appointment(tracker: Tracker) -> list[Event]:
    """Say the caller's next appointment (and how many they have in all when several).

    Verified by caller ID only (see the section comment): nothing is changed."""
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return withheld
    upcoming = _upcoming(tracker, tracker.ctx.caller)
    if not upcoming:
        return [SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]
    spoken = _spoken(upcoming[0].starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang)
    if len(upcoming) == 1:
        return [*spoken, SlotSet("pending", "anything_else"), Utter("utter_next_appointment")]
    return [*spoken, SlotSet("pending", "anything_else"),
            Utter("utter_next_appointments", {"count": str(len(upcoming))})]


def action_find_appointment_to_move(tracker: Tracker) -> list[Event]:
    """Read the caller's next appointment back and ask whether it is the one to move.

    Verification (see the section comment): caller ID match, then the caller's yes to this
    read-back before a new time is asked. A new date or time said in this first sentence
    ("décaler mon rendez-vous à jeudi") is kept for after the yes; any older one is dropped.
    """
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return withheld
    upcoming = _upcoming(tracker, tracker.ctx.caller)
    if not upcoming:
        return [SlotSet("appointment_id", None), SlotSet("pending", "offer_message"),
                Utter("utter_no_appointment")]
    appt = upcoming[0]
    said = _last_when(tracker)
    return [SlotSet("appointment_id", appt.id),
            SlotSet("date", said.date.isoformat() if said.date else None),
            SlotSet("time", said.time.strftime("%H:%M") if said.time else None),
            *_spoken(appt.starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang),
            SlotSet("pending", "confirm_move"), Utter("utter_confirm_move")]


def validate_move_form(tracker: Tracker) -> list[Event]:
    """Normalise the new date and time of a move, or reject them (past, unreadable)."""
    return _validate_when(tracker)


def action_check_move(tracker: Tracker) -> list[Event]:
    """Read the new time back if it is free (the appointment's own time counts as free),
    else offer the nearest free ones."""
    start = _start(tracker)
    if start is None:
        return [FollowupAction("move_form")]
    ctx, tenant = tracker.ctx, tracker.ctx.tenant
    service = tenant.service(None)
    try:
        appt = _own_appointment(tracker)
        if appt is None:
            return _appointment_gone()
        slot = availability.slot_if_free(ctx.store, tenant, service, start, now=tracker.now(),
                                         ignore=appt.id)
    except StoreUnavailable:
        if ctx.spool is None or not availability.within_opening_hours(
                tenant, start, service.duration_min):
            raise
        # The diary cannot be read now: read the request back; it is noted after the yes.
        return [*_spoken(start.astimezone(tenant.tz), tracker.lang),
                SlotSet("pending", "confirm_new_time"), Utter("utter_confirm_new_time")]
    if slot is not None:
        return [*_spoken(slot.start, tracker.lang), SlotSet("pending", "confirm_new_time"),
                Utter("utter_confirm_new_time")]
    closed = not availability.within_opening_hours(tenant, start, service.duration_min)
    return _offer(tracker, start, "utter_outside_hours" if closed else "utter_offer_slots",
                  form="move_form", pending="choose_move_slot", ignore=appt.id)


def _appointment_gone() -> list[Event]:
    """The appointment was cancelled or has passed since it was read back."""
    return [SlotSet("appointment_id", None), SlotSet("date", None), SlotSet("time", None),
            SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]


def action_choose_move_slot(tracker: Tracker) -> list[Event]:
    """The caller answers the slots offered for the move, as :func:`action_choose_slot`."""
    return _choose(tracker, check="action_check_move", form="move_form")


def action_correct_move(tracker: Tracker) -> list[Event]:
    """After a "no" to the new time's read-back: a correction said with it is checked,
    else the new day is asked again."""
    if {e.entity for e in tracker.entities} & {"date", "time"}:
        return [SlotSet("pending", None), *_validate_when(tracker),
                FollowupAction("action_check_move")]
    return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
            FollowupAction("move_form")]


def action_move_appointment(tracker: Tracker) -> list[Event]:
    """Move the appointment — only ever run after the caller said yes to the read-back of
    the new time (and, before that, of the appointment itself)."""
    start = _start(tracker)
    if start is None:
        return [SlotSet("pending", None), FollowupAction("move_form")]
    ctx = tracker.ctx
    try:
        appt = _own_appointment(tracker)
        if appt is None:
            return _appointment_gone()
        moved = availability.move_slot(ctx.store, ctx.tenant, ctx.tenant.service(None), appt,
                                       start, now=tracker.now(), call_id=ctx.call_id)
    except SlotTaken:  # includes SlotUnavailable: someone else was faster, or time passed
        return _offer(tracker, start, "utter_slot_just_taken", form="move_form",
                      pending="choose_move_slot", ignore=int(float(tracker.get_slot("appointment_id"))))
    except StoreUnavailable:
        if ctx.spool is None:
            raise
        return _note_move_request(tracker, start, ctx.spool)
    local = moved.starts_at.astimezone(ctx.tenant.tz)
    return [*_spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("moved"), Utter("utter_moved")]


def _note_move_request(tracker: Tracker, start: datetime, spool: Spool) -> list[Event]:
    """The database is down: keep the confirmed move as a lead in the spool, for the
    business to carry out (the current appointment stays as it is meanwhile)."""
    ctx = tracker.ctx
    local = start.astimezone(ctx.tenant.tz)
    details = {"reason": "move confirmed while the database was unreachable",
               "appointment_id": int(float(tracker.get_slot("appointment_id"))),
               "new_starts_at": local.isoformat()}
    spool.append("add_lead", (ctx.tenant.id, ctx.call_id, ctx.caller, "move_request", details,
                              tracker.now()), key=ctx.call_id)
    return [*_spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("pending"), Utter("utter_move_noted")]


# messages, information, hand-over ----------------------------------------------------------
def action_store_message(tracker: Tracker) -> list[Event]:
    ctx = tracker.ctx
    ctx.store.add_message(ctx.tenant.id, ctx.call_id, ctx.caller,
                          str(tracker.get_slot("name") or ""), str(tracker.get_slot("message") or ""),
                          tracker.now())
    return [SlotSet("pending", "anything_else"), Outcome("message"), Utter("utter_message_stored")]


def action_opening_hours(tracker: Tracker) -> list[Event]:
    hours = normalize.speak_opening_hours(tracker.ctx.tenant)
    return [SlotSet("pending", "anything_else"), Utter("utter_opening_hours", {"hours": hours})]


def action_transfer(tracker: Tracker) -> list[Event]:
    """Hand over to the tenant's transfer target; with none configured, take a message."""
    target = tracker.ctx.tenant.transfer_target
    if target:
        return [SlotSet("pending", None), Utter("utter_transfer"), Outcome("transfer"), Transfer(target)]
    return [SlotSet("pending", None), Utter("utter_no_transfer"), FollowupAction("message_form")]


def action_fallback(tracker: Tracker) -> list[Event]:
    """Not understood: ask to rephrase; the second time in a row, offer a human."""
    count = int(tracker.get_slot("misunderstood") or 0) + 1
    if count >= MAX_MISUNDERSTOOD:
        return [SlotSet("misunderstood", 0), SlotSet("pending", "offer_transfer"), Utter("utter_offer_transfer")]
    return [SlotSet("misunderstood", count), Utter("utter_please_rephrase")]


def action_listen_again(tracker: Tracker) -> list[Event]:
    return [SlotSet("pending", None), Utter("utter_listening")]


def action_end_call(tracker: Tracker) -> list[Event]:
    return [Hangup()]


Action = Callable[[Tracker], list[Event]]

# The action names of domain.yml and the functions that run them.
ACTIONS: Mapping[str, Action] = {
    fn.__name__: fn for fn in (
        validate_booking_form, validate_message_form, action_check_availability, action_choose_slot,
        action_correct_booking, action_book_appointment, action_find_appointment,
        action_cancel_appointment, action_keep_appointment, action_tell_appointment,
        action_find_appointment_to_move, validate_move_form, action_check_move,
        action_choose_move_slot, action_correct_move, action_move_appointment,
        action_store_message, action_opening_hours, action_transfer, action_fallback,
        action_listen_again, action_end_call,
    )
}
