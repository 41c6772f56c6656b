"""Caller self-service: hear, move and cancel one's own appointment by phone.

Who may do so is decided here, once, by caller ID: see the comment above the actions.
"""

from __future__ import annotations

from datetime import datetime

from agi.booking import availability
from agi.booking.spool import Spool
from agi.booking.store import Appointment
from agi.dialogue import normalize
from agi.dialogue.catalogue import find_service
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


def _next_appointment(tracker: Tracker, *, moving: bool = False) -> tuple[Appointment | None, list[Event]]:
    """The appointment the caller names (by day, time or service) among their own, else
    their next one; or none and what to answer (withheld number, nothing booked: a
    message is offered)."""
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return None, withheld
    upcoming = _upcoming(tracker)
    if not upcoming:
        return None, [SlotSet("appointment_id", None), SlotSet("pending", "offer_message"),
                      Utter("utter_no_appointment")]
    return (_named(tracker, upcoming, moving=moving) or upcoming)[0], []


def _named(tracker: Tracker, upcoming: list[Appointment], *, moving: bool = False) -> list[Appointment]:
    """The appointments matching the day, time or service the caller said ("celui de
    vendredi", "my appointment at ten"); [] when they named none. ``moving``: only what is
    said after "de"/"du"/"from" names it ("déplacer de vendredi à lundi": the rest is the
    new time)."""
    tz = tracker.ctx.tenant.tz
    said = _when_said(tracker, after_from=True if moving else None)
    service = find_service(tracker.text, tracker.ctx.tenant)  # "mon bilan de jeudi"
    if said.date is None and said.time is None and service is None:
        return []
    matches = [a for a in upcoming
               if (said.date is None or a.starts_at.astimezone(tz).date() == said.date)
               and (said.time is None or a.starts_at.astimezone(tz).time() == said.time)
               and (service is None or service.name == a.service)]
    # A service that all of them share ("mon rendez-vous" heard as a service) names none.
    by_service_only = said.date is None and said.time is None
    return [] if by_service_only and len(matches) == len(upcoming) else matches


def _spoken_list(tracker: Tracker, appointments: list[Appointment]) -> str:
    """"le mardi 1er décembre à 10 heures, le ... et le ..." / "Tuesday 1 December at 10 am, ... and ..."."""
    tz, lang = tracker.ctx.tenant.tz, tracker.lang
    items = [("le " if lang == "fr" else "") + normalize.speak_datetime(a.starts_at.astimezone(tz), lang)
             for a in appointments]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + (" et " if lang == "fr" else " and ") + items[-1]


def _read_back(tracker: Tracker, appt: Appointment, upcoming: list[Appointment], response: str,
               pending: str, named: bool) -> list[Event]:
    """Read ``appt`` back; with several appointments and none named, list them all first."""
    events = [SlotSet("appointment_id", appt.id),
              *spoken(appt.starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang),
              SlotSet("pending", pending)]
    if len(upcoming) > 1 and not named:
        return [*events, Utter(f"{response}_among", {"count": str(len(upcoming)),
                                                     "appointments": _spoken_list(tracker, upcoming)})]
    return [*events, Utter(response)]


# cancelling ------------------------------------------------------------------------------
def action_find_appointment(tracker: Tracker) -> list[Event]:
    """Read back the appointment to cancel (the one named, else the next; with several and
    none named, all are listed) and ask (caller ID match, then the caller's yes)."""
    appt, answer = _next_appointment(tracker)
    if appt is None:
        return answer
    upcoming = _upcoming(tracker)
    return _read_back(tracker, appt, upcoming, "utter_confirm_cancel", "confirm_cancel",
                      bool(_named(tracker, upcoming)))


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
    """A no to the read-back: "non, celui de vendredi" reads that one back; a plain no with
    later appointments reads the next one back ("not that one"); else nothing changes."""
    pending = tracker.get_slot("pending")
    flow = ("utter_confirm_move", "confirm_move") if pending == "confirm_move" else \
        ("utter_confirm_cancel", "confirm_cancel")
    if pending in ("confirm_cancel", "confirm_move") and tracker.ctx.caller:
        upcoming = _upcoming(tracker)
        current = _appointment_id(tracker)
        named = [a for a in _named(tracker, upcoming) if a.id != current]  # any day said
        later = [a for a in upcoming if a.id != current and current is not None and
                 a.starts_at > next((b.starts_at for b in upcoming if b.id == current), a.starts_at)]
        if named or later:
            return _read_back(tracker, (named or later)[0], upcoming, flow[0], flow[1], True)
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


def _when_said(tracker: Tracker, *, after_from: bool | None) -> normalize.When:
    """The date and time in the caller's sentence: those said after "de"/"du"/"from"
    (``after_from``: the appointment's current day in "de mardi à jeudi"), the others (not
    ``after_from``: the new day), or any (None)."""
    return normalize.parse_when(tracker.text, tracker.lang, tracker.now(),
                                moving=after_from is False, moved_from=after_from is True)


def _last_when(tracker: Tracker) -> normalize.When:
    """The new date and time of a move ("de mardi à jeudi": Thursday)."""
    return _when_said(tracker, after_from=False)


def action_tell_appointment(tracker: Tracker) -> list[Event]:
    """Say the caller's next appointment (and how many they have in all when several).

    Verified by caller ID only (see the section comment): nothing is changed."""
    withheld = _no_caller_id(tracker)
    if withheld is not None:
        return withheld
    upcoming = _upcoming(tracker)
    if not upcoming:
        return [SlotSet("pending", "offer_message"), Utter("utter_no_appointment")]
    named = _named(tracker, upcoming)
    when = spoken((named or upcoming)[0].starts_at.astimezone(tracker.ctx.tenant.tz), tracker.lang)
    if len(upcoming) == 1 or named:
        return [*when, SlotSet("pending", "anything_else"), Utter("utter_next_appointment")]
    return [*when, SlotSet("pending", "anything_else"),
            Utter("utter_next_appointments", {"count": str(len(upcoming))})]


def action_find_appointment_to_move(tracker: Tracker) -> list[Event]:
    """Read the caller's next appointment back and ask whether it is the one to move.

    Verification (see the section comment): caller ID match, then the caller's yes to this
    read-back before a new time is asked. A new date or time said in this first sentence
    ("décaler mon rendez-vous à jeudi") is kept for after the yes; any older one is dropped.
    """
    appt, answer = _next_appointment(tracker, moving=True)
    if appt is None:
        return answer
    said = _last_when(tracker)
    upcoming = _upcoming(tracker)
    return [SlotSet("date", said.date.isoformat() if said.date else None),
            SlotSet("time", said.time.strftime("%H:%M") if said.time else None),
            *_read_back(tracker, appt, upcoming, "utter_confirm_move", "confirm_move",
                        bool(_named(tracker, upcoming, moving=True)))]


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
    return read_back_or_offer(tracker, start, MOVE, ignore=appt.id,
                              service=tracker.ctx.tenant.service(appt.service))


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
        service = ctx.tenant.service(appt.service)  # a move keeps the appointment's duration
        moved = availability.move_slot(ctx.store, ctx.tenant, service, appt,
                                       start, now=tracker.now(), call_id=ctx.call_id)
    except SlotTaken:  # includes SlotUnavailable: someone else was faster, or time passed
        return offer(tracker, start, "utter_slot_just_taken", form=MOVE.form,
                     pending=MOVE.choosing, ignore=_appointment_id(tracker),
                     service=ctx.tenant.service(appt.service) if appt else None)
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

