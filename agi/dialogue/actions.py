"""Custom actions of the Rasa project (the ``action_*`` and ``validate_*`` names in domain.yml):
booking, messages and hand-over here, the caller's own appointments in
:mod:`agi.dialogue.appointments`, the events and helpers in :mod:`agi.dialogue.events`.

Each action is a plain function ``(Tracker) -> list[Event]``: it reads slots, the latest
intent, entities and text, and the :class:`~agi.dialogue.base.CallContext` (tenant, store,
clock), and answers with small events that the builtin engine applies and the Rasa action
server (nlu/actions/) translates. :data:`ACTIONS` maps domain.yml's names to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from agi.booking import availability
from agi.booking.spool import Spool
from agi.booking.store import Appointment, NewAppointment
from agi.dialogue import info, normalize
from agi.dialogue.appointments import (
    action_cancel_appointment,
    action_check_move,
    action_choose_move_slot,
    action_correct_move,
    action_find_appointment,
    action_find_appointment_to_move,
    action_keep_appointment,
    action_move_appointment,
    action_tell_appointment,
    validate_move_form,
)
from agi.dialogue.callback import (
    action_callback_confirmed,
    action_callback_rejected,
    action_confirm_callback,
    ask_callback,
    callback_number,
    may_call_back,
    needs_callback,
    validate_callback_form,
)
from agi.dialogue.choices import start_choices, validate_choices
from agi.dialogue.events import (
    Asking,
    Entity,
    Event,
    FollowupAction,
    Hangup,
    Outcome,
    SlotSet,
    Tracker,
    Transfer,
    Utter,
    booking_of,
    choose,
    offer,
    read_back_or_offer,
    read_back_params,
    spoken,
    start_of,
    validate_when,
)
from agi.dialogue.names import clean_name
from agi.dialogue.phones import parse_phone, speak_phone
from agi.errors import SlotTaken, StoreUnavailable

__all__ = ["ACTIONS", "MAX_MISUNDERSTOOD", "Action", "Entity", "Event", "FollowupAction",
           "Hangup", "Outcome", "SlotSet", "Tracker", "Transfer", "Utter"]

# After this many misunderstandings in a row, offer a human: when unsure, hand over.
MAX_MISUNDERSTOOD = 2


# booking ---------------------------------------------------------------------------------
def validate_booking_form(tracker: Tracker) -> list[Event]:
    """Normalise what the caller said into ``date``/``time``/``name`` values, or reject it
    (a name that is no name is asked again)."""
    return [*validate_when(tracker), *_validate_name(tracker), *validate_choices(tracker)]


def validate_message_form(tracker: Tracker) -> list[Event]:
    """Tidy the dictated name (lead-in words dropped, capitalised), or ask it again."""
    return _validate_name(tracker)


def _validate_name(tracker: Tracker) -> list[Event]:
    raw_name = tracker.get_slot("name")
    if not raw_name:
        return []
    name = clean_name(str(raw_name), tracker.lang)
    return [SlotSet("name", name or None)] if name != raw_name else []


# The caller's slots of one request: a new request starts without the previous one's.
REQUEST_SLOTS = ("name", "date", "time", "phone", "message", "appointment_id")


def action_new_request(tracker: Tracker) -> list[Event]:
    """A new booking or message: the previous request's slots are cleared and only what the
    caller said in this sentence is kept."""
    said = {e.entity: e.value for e in tracker.entities if e.entity in REQUEST_SLOTS}
    return [*(SlotSet(slot, said.get(slot)) for slot in REQUEST_SLOTS), *start_choices(tracker)]


def action_inform_after_request(tracker: Tracker) -> list[Event]:
    """Something said on its own once a request is done: a phone number is where to call the
    caller back about it (kept as a lead); a date or time starts a new booking. A person
    who may not be contacted (objection, restriction) is told no call-back will come, and
    what they said is kept as a message."""
    # From the words themselves: Rasa's entity holds the raw words, the builtin one E.164.
    phone = parse_phone(tracker.text, tracker.lang)
    if phone:
        ctx = tracker.ctx
        if not may_call_back(tracker, str(phone)):
            ctx.store.add_message(ctx.tenant.id, ctx.call_id, str(phone),
                                  str(tracker.get_slot("name") or ""), tracker.text, tracker.now())
            return [SlotSet("phone", str(phone)), SlotSet("pending", "anything_else"),
                    Utter("utter_message_stored_no_callback")]
        details = {"phone": str(phone), "appointment_id": tracker.get_slot("appointment_id"),
                   "said": tracker.text}
        ctx.store.add_lead(ctx.tenant.id, ctx.call_id, ctx.caller, "callback_number", details,
                           tracker.now())
        return [SlotSet("phone", str(phone)), SlotSet("pending", "anything_else"),
                Utter("utter_callback_noted", {"phone_spoken": speak_phone(str(phone), tracker.lang)})]
    return [*action_new_request(tracker), FollowupAction("booking_form")]


BOOKING = Asking(form="booking_form", confirm="confirm_booking",
                 read_back="utter_confirm_appointment", choosing="choose_slot")


def action_check_availability(tracker: Tracker) -> list[Event]:
    """Read the asked slot back if it is free, else offer the nearest free ones."""
    start = start_of(tracker)
    if start is None:
        return [FollowupAction("booking_form")]
    if needs_callback(tracker):  # a withheld number: ask where to reach the caller first
        return ask_callback()
    return read_back_or_offer(tracker, start, BOOKING)


def action_choose_slot(tracker: Tracker) -> list[Event]:
    """The caller answers the offered slots: "le premier", a time, a date and time, or no."""
    return choose(tracker, check="action_check_availability", form="booking_form")




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
    start = start_of(tracker)
    if start is None:
        return [SlotSet("pending", None), FollowupAction("booking_form")]
    ctx = tracker.ctx
    service, resource = booking_of(tracker)
    try:
        appt = availability.book_slot(
            ctx.store, ctx.tenant, service, start, resource=resource,
            name=str(tracker.get_slot("name") or ""),
            phone=_reach(tracker), call_id=ctx.call_id,
            now=tracker.now())
    except SlotTaken:  # includes SlotUnavailable: someone else was faster, or time passed
        own = _booked_by_this_call(tracker, start)
        if own is None:
            return offer(tracker, start, "utter_slot_just_taken")
        appt = own
    except StoreUnavailable:
        if ctx.spool is None:
            raise
        return _note_booking_request(tracker, start, ctx.spool)
    local = appt.starts_at.astimezone(ctx.tenant.tz)
    return [*spoken(local, tracker.lang), SlotSet("appointment_id", appt.id),
            SlotSet("pending", "anything_else"), Outcome("booked"),
            Utter("utter_booked", read_back_params(tracker))]


def _reach(tracker: Tracker) -> str:
    """The number a booking is made under: the confirmed call-back number, else a number the
    caller dictated, else the caller ID."""
    return str(tracker.get_slot("callback") or tracker.get_slot("phone") or tracker.ctx.caller)


def _booked_by_this_call(tracker: Tracker, start: datetime) -> Appointment | None:
    """This call's own appointment at ``start`` for the same name, if the yes was already
    acted on.

    A booking is idempotent per call, start and name: when Rasa runs the booking after the
    controller stopped waiting for it, the builtin engine replays the same "yes" and must
    confirm that appointment, not offer the caller other times for their own slot.
    """
    ctx = tracker.ctx
    name = str(tracker.get_slot("name") or "")
    end = start + timedelta(minutes=booking_of(tracker)[0].duration_min)
    return next((a for a in ctx.store.appointments(ctx.tenant.id, start, end)
                 if a.call_id == ctx.call_id and a.starts_at == start and a.customer_name == name),
                None)


def _note_booking_request(tracker: Tracker, start: datetime, spool: Spool) -> list[Event]:
    """The database is down: keep the confirmed request in the spool, to be written (or
    turned into a call-back lead if the slot went meanwhile) once it is back."""
    ctx = tracker.ctx
    service, chosen = booking_of(tracker)
    local = start.astimezone(ctx.tenant.tz)
    resources = getattr(service, "resources", ()) or ctx.tenant.resources
    spool.append("book", (NewAppointment(
        tenant_id=ctx.tenant.id, resource=chosen or resources[0], service=service.name, starts_at=local,
        ends_at=local + timedelta(minutes=service.duration_min),
        customer_name=str(tracker.get_slot("name") or ""),
        customer_phone=_reach(tracker), call_id=ctx.call_id,
        buffer_min=getattr(service, "buffer_min", 0)),), key=ctx.call_id)
    return [*spoken(local, tracker.lang), SlotSet("pending", "anything_else"),
            Outcome("pending"), Utter("utter_booking_noted")]



# messages, information, hand-over ----------------------------------------------------------
def action_store_message(tracker: Tracker) -> list[Event]:
    """Store the message with the number to call back (asked first from a withheld number);
    a person who may not be contacted (objection, restriction) is told no call-back will
    come, their message is kept all the same."""
    if needs_callback(tracker):
        return ask_callback()
    ctx = tracker.ctx
    number = callback_number(tracker)
    ctx.store.add_message(ctx.tenant.id, ctx.call_id, number,
                          str(tracker.get_slot("name") or ""), str(tracker.get_slot("message") or ""),
                          tracker.now())
    stored = "utter_message_stored" if may_call_back(tracker, number) \
        else "utter_message_stored_no_callback"
    return [SlotSet("pending", "anything_else"), Outcome("message"), Utter(stored)]


def action_answer_info(tracker: Tracker) -> list[Event]:
    """A practical question answered from the tenant's data, by topic; one it has no answer
    for is offered as a message, never answered with something else."""
    tenant = tracker.ctx.tenant
    found = info.answer(tracker.text, tenant)
    if found.topic == info.HOURS and tenant.opening_hours:
        hours = normalize.speak_opening_hours(tenant)
        return [SlotSet("pending", "anything_else"), Utter("utter_opening_hours", {"hours": hours})]
    if found.text:
        return [SlotSet("pending", "anything_else"), Utter("utter_info", {"answer": found.text})]
    return [SlotSet("pending", "offer_message"), Utter("utter_no_info")]


def action_transfer(tracker: Tracker) -> list[Event]:
    """Hand over to the tenant's transfer target; with none configured, take a message."""
    target = tracker.ctx.tenant.transfer_target
    if target:
        return [SlotSet("pending", None), Utter("utter_transfer"), Outcome("transfer"), Transfer(target)]
    return [SlotSet("pending", None), Utter("utter_no_transfer"), FollowupAction("message_form")]


def action_fallback(tracker: Tracker) -> list[Event]:
    """Not understood: ask to rephrase; the second time in a row, offer a human. The words
    are kept in the call's data (the ``unclear`` slot), for whoever reads the call."""
    count = int(tracker.get_slot("misunderstood") or 0) + 1
    if count >= MAX_MISUNDERSTOOD:
        return [*_keep_unclear(tracker), SlotSet("misunderstood", 0),
                SlotSet("pending", "offer_transfer"), Utter("utter_offer_transfer")]
    return [*_keep_unclear(tracker), SlotSet("misunderstood", count), Utter("utter_please_rephrase")]


# Not-understood sentences kept in one call's data: the call record stays small; the
# transcript keeps every word anyway.
MAX_UNCLEAR = 20


def _keep_unclear(tracker: Tracker) -> list[Event]:
    said = tracker.text.strip()
    if not said:
        return []
    kept = [str(s) for s in tracker.get_slot("unclear") or []]
    return [SlotSet("unclear", [*kept, said][-MAX_UNCLEAR:])]


def action_listen_again(tracker: Tracker) -> list[Event]:
    return [SlotSet("pending", None), Utter("utter_listening")]


def action_end_call(tracker: Tracker) -> list[Event]:
    return [Hangup()]


Action = Callable[[Tracker], list[Event]]

# The action names of domain.yml and the functions that run them.
ACTIONS: Mapping[str, Action] = {
    fn.__name__: fn for fn in (
        validate_booking_form, validate_message_form, action_new_request,
        action_inform_after_request, action_check_availability, action_choose_slot,
        action_correct_booking, action_book_appointment, action_find_appointment,
        action_cancel_appointment, action_keep_appointment, action_tell_appointment,
        action_find_appointment_to_move, validate_move_form, action_check_move,
        action_choose_move_slot, action_correct_move, action_move_appointment,
        action_store_message, action_answer_info, action_transfer, action_fallback,
        action_listen_again, action_end_call, validate_callback_form, action_confirm_callback,
        action_callback_confirmed, action_callback_rejected,
    )
}
