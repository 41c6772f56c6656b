"""Caller self-service: hear, move and cancel one's own appointment by phone.

Who may do so is decided here, once, by caller ID: see the comment above the actions.
"""

from __future__ import annotations

from datetime import datetime

from agi.booking import availability
from agi.booking.spool import Spool
from agi.booking.store import Appointment
from agi.dialogue import normalize
from agi.dialogue.events import (
    Asking,
    Event,
    FollowupAction,
    Outcome,
    SlotSet,
    Tracker,
    Utter,
    choose,
    offer,
    read_back_or_offer,
    spoken,
    start_of,
    validate_when,
)
from agi.errors import SlotTaken, StoreUnavailable


# Who may hear, move or cancel an appointment: the caller whose caller ID (the E.164 number
# the network presented, ``CallContext.caller``) is the number the appointment was booked
# under. Never a number the caller dictates (the ``phone`` slot): anyone can say anyone's
# number. A withheld number identifies nobody, so nothing is read out or changed. Hearing
# needs only that match (the caller learns a date and time booked from their own line).
# Changing needs more: the agent reads the appointment back and the caller confirms it is
# the one (for a move, then also the new time's read-back) before anything is written.
# Every later step re-reads the appointment among the caller's own, so an id left in the
# tracker can never reach another caller's appointment.
def _upcoming(tracker: Tracker) -> list[Appointment]:
    """The caller's appointments (by caller ID) still to come, soonest first."""
    ctx, now = tracker.ctx, tracker.now()
    if not ctx.caller:
        return []
    return sorted((a for a in ctx.store.appointments_for_caller(ctx.tenant.id, ctx.caller)
                   if a.starts_at > now and a.status != "cancelled"), key=lambda a: a.starts_at)


def _next_appointment(tracker: Tracker) -> tuple[Appointment | None, list[Event]]:
    """The caller's next appointment, or none and what to answer (withheld number, nothing
    booked: a message is offered)."""
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return None, withheld
    upcoming = _upcoming(tracker)
    if not upcoming:
        return None, [SlotSet("appointment_id", None), SlotSet("pending", "offer_message"),
                      Utter("utter_no_appointment")]
    return upcoming[0], []


# cancelling ------------------------------------------------------------------------------
def action_find_appointment(tracker: Tracker) -> list[Event]:
    """Read the caller's next appointment back and ask whether to cancel it (caller ID
    match, then the caller's yes to this read-back)."""
    appt, answer = _next_appointment(tracker)
    if appt is None:
        return answer
    return [SlotSet("appointment_id", appt.id),
            *spoken(appt.starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang),
            SlotSet("pending", "confirm_cancel"), Utter("utter_confirm_cancel")]


def action_cancel_appointment(tracker: Tracker) -> list[Event]:
    """Cancel the appointment the caller just confirmed (still theirs, still to come)."""
    if tracker.get_slot("appointment_id") is None:
        return [FollowupAction("action_find_appointment")]
    appt = _own_appointment(tracker)
    if appt is None:
        return _appointment_gone()
    tracker.ctx.store.cancel(appt.id)
    return [SlotSet("pending", "anything_else"), Outcome("cancelled"), Utter("utter_cancelled")]


def action_keep_appointment(tracker: Tracker) -> list[Event]:
    return [SlotSet("pending", "anything_else"), Utter("utter_cancel_kept")]


# hearing and moving ----------------------------------------------------------------------
def _no_caller_id(tracker: Tracker) -> list[Event] | None:
    """The answer for a withheld number (offer a message), or None when there is one."""
    if tracker.ctx.caller:
        return None
    return [SlotSet("appointment_id", None), SlotSet("pending", "offer_message"),
            Utter("utter_no_caller_id")]


def _appointment_id(tracker: Tracker) -> int | None:
    """The ``appointment_id`` slot as an int (Rasa keeps the slot as a float)."""
    appt_id = tracker.get_slot("appointment_id")
    return None if appt_id is None else int(float(appt_id))


def _own_appointment(tracker: Tracker) -> Appointment | None:
    """The appointment in the ``appointment_id`` slot, if it is still one of the caller's
    upcoming appointments (by caller ID)."""
    wanted = _appointment_id(tracker)
    if wanted is None:
        return None
    return next((a for a in _upcoming(tracker) if a.id == wanted), None)


def _last_when(tracker: Tracker) -> normalize.When:
    """The new date and time in the caller's sentence: the last ones said, leaving out
    those said after "de"/"du"/"from" ("de mardi à jeudi": Tuesday is the current day)."""
    return normalize.parse_when(tracker.text, tracker.lang, tracker.now(), moving=True)


def action_tell_appointment(tracker: Tracker) -> list[Event]:
    """Say the caller's next appointment (and how many they have in all when several).

    Verified by caller ID only (see the section comment): nothing is changed."""
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return withheld
    upcoming = _upcoming(tracker)
    if not upcoming:
        return [SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]
    when = spoken(upcoming[0].starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang)
    if len(upcoming) == 1:
        return [*when, SlotSet("pending", "anything_else"), Utter("utter_next_appointment")]
    return [*when, SlotSet("pending", "anything_else"),
            Utter("utter_next_appointments", {"count": str(len(upcoming))})]


def action_find_appointment_to_move(tracker: Tracker) -> list[Event]:
    """Read the caller's next appointment back and ask whether it is the one to move.

    Verification (see the section comment): caller ID match, then the caller's yes to this
    read-back before a new time is asked. A new date or time said in this first sentence
    ("décaler mon rendez-vous à jeudi") is kept for after the yes; any older one is dropped.
    """
    appt, answer = _next_appointment(tracker)
    if appt is None:
        return answer
    said = _last_when(tracker)
    return [SlotSet("appointment_id", appt.id),
            SlotSet("date", said.date.isoformat() if said.date else None),
            SlotSet("time", said.time.strftime("%H:%M") if said.time else None),
            *spoken(appt.starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang),
            SlotSet("pending", "confirm_move"), Utter("utter_confirm_move")]


def validate_move_form(tracker: Tracker) -> list[Event]:
    """Normalise the new date and time of a move, or reject them (past, unreadable)."""
    return validate_when(tracker)


MOVE = Asking(form="move_form", confirm="confirm_new_time", read_back="utter_confirm_new_time",
              choosing="choose_move_slot")


def action_check_move(tracker: Tracker) -> list[Event]:
    """Read the new time back if it is free (the appointment's own time counts as free),
    else offer the nearest free ones."""
    start = start_of(tracker)
    if start is None:
        return [FollowupAction("move_form")]
    try:
        appt = _own_appointment(tracker)
    except StoreUnavailable:  # the diary is down: read_back_or_offer notes or raises
        return read_back_or_offer(tracker, start, MOVE)
    if appt is None:
        return _appointment_gone()
    return read_back_or_offer(tracker, start, MOVE, ignore=appt.id)


def _appointment_gone() -> list[Event]:
    """The appointment was cancelled or has passed since it was read back."""
    return [SlotSet("appointment_id", None), SlotSet("date", None), SlotSet("time", None),
            SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]


def action_choose_move_slot(tracker: Tracker) -> list[Event]:
    """The caller answers the slots offered for the move, as :func:`action_choose_slot`."""
    return choose(tracker, check="action_check_move", form="move_form")


def action_correct_move(tracker: Tracker) -> list[Event]:
    """After a "no" to the new time's read-back: a correction said with it is checked,
    else the new day is asked again."""
    if {e.entity for e in tracker.entities} & {"date", "time"}:
        return [SlotSet("pending", None), *validate_when(tracker),
                FollowupAction("action_check_move")]
    return [SlotSet("pending", None), SlotSet("date", None), SlotSet("time", None),
            FollowupAction("move_form")]


def action_move_appointment(tracker: Tracker) -> list[Event]:
    """Move the appointment — only ever run after the caller said yes to the read-back of
    the new time (and, before that, of the appointment itself)."""
    start = start_of(tracker)
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
        return offer(tracker, start, "utter_slot_just_taken", form=MOVE.form,
                     pending=MOVE.choosing, ignore=_appointment_id(tracker))
    except StoreUnavailable:
        if ctx.spool is None:
            raise
        return _note_move_request(tracker, start, ctx.spool)
    local = moved.starts_at.astimezone(ctx.tenant.tz)
    return [*spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("moved"), Utter("utter_moved")]


def _note_move_request(tracker: Tracker, start: datetime, spool: Spool) -> list[Event]:
    """The database is down: keep the confirmed move as a lead in the spool, for the
    business to carry out (the current appointment stays as it is meanwhile)."""
    ctx = tracker.ctx
    local = start.astimezone(ctx.tenant.tz)
    details = {"reason": "move confirmed while the database was unreachable",
               "appointment_id": _appointment_id(tracker),
               "new_starts_at": local.isoformat()}
    spool.append("add_lead", (ctx.tenant.id, ctx.call_id, ctx.caller, "move_request", details,
                              tracker.now()), key=ctx.call_id)
    return [*spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("pending"), Utter("utter_move_noted")]

