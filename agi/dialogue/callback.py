"""The call-back number: asked when the caller ID is withheld, read back, confirmed.

A booking or a message from a withheld number would reach nobody: before the booking is
read back (or the message stored), ``callback_form`` asks for a number (spoken, or keyed
on the phone's keypad), :func:`action_confirm_callback` reads it back in pairs ("zéro six,
douze, ...") and only the caller's yes lets the request go on with it. The number is the
``callback`` slot (E.164); the booking is written under it and the message carries it.

A person who objected or whose data is restricted (GDPR art. 21, 18) is never promised a
call-back (:func:`may_call_back`): what they say is still kept, as a message.
"""

from __future__ import annotations

from agi.dialogue.events import Event, FollowupAction, SlotSet, Tracker, Utter, as_date, as_time
from agi.dialogue.phones import parse_phone, speak_phone

CALLBACK_FORM = "callback_form"


def needs_callback(tracker: Tracker) -> bool:
    """Nobody could call this caller back: no caller ID and no confirmed number yet."""
    return not tracker.ctx.caller and not tracker.get_slot("callback")


def may_call_back(tracker: Tracker, *numbers: str) -> bool:
    """The business may call this caller back: neither the caller ID nor ``numbers`` (the
    call-back number, a number dictated) objected or is restricted at this tenant."""
    ctx = tracker.ctx
    register = ctx.store.privacy()
    return all(register.may_contact(ctx.tenant.id, n) for n in {ctx.caller, *numbers} if n)


def callback_number(tracker: Tracker) -> str:
    """Where to reach the caller: the confirmed call-back number, else the caller ID."""
    return str(tracker.get_slot("callback") or tracker.ctx.caller or "")


def ask_callback() -> list[Event]:
    """Go and ask for a call-back number (the request resumes once it is confirmed)."""
    return [SlotSet("callback", None), FollowupAction(CALLBACK_FORM)]


def validate_callback_form(tracker: Tracker) -> list[Event]:
    """The dictated (or keyed) number as E.164; anything else is asked again. The request's
    own ``date``/``time``/``phone`` slots keep the values the builtin engine keeps."""
    events = _as_extracted(tracker)
    raw = tracker.get_slot("callback")
    if not raw:
        return events
    text = str(raw)
    # Keyed digits arrive as the digits themselves ("0612345678"): parse_phone reads them too.
    number = parse_phone(text, tracker.lang)
    return [*events, SlotSet("callback", number)] if number != raw else events


def _as_extracted(tracker: Tracker) -> list[Event]:
    """``date``, ``time`` and ``phone`` normalised (ISO date, ``HH:MM``, E.164) where they
    hold words.

    On Rasa these slots take the words DIET tagged: the dictated number ("zéro six douze
    ...") fills ``phone``, and as this form activates, Rasa fills the slots again from the
    sentence that ended the booking form, bringing back "onze heures" over the "11:00" the
    booking form had kept. The builtin engine's extractor normalises them (a number dictated
    is never a date or a time); the same normalisers make the same values here. A no-op on
    values already normalised, so on the builtin engine.
    """
    events: list[Event] = []
    raw_date, raw_time = (str(tracker.get_slot(s) or "") for s in ("date", "time"))
    # "?...": ambiguous, being asked; "a/b" a range of days, "a-b" a window: kept as they are
    if raw_date and not raw_date.startswith("?") and "/" not in raw_date:
        day = as_date(raw_date, tracker)
        if day is not None and day.isoformat() != raw_date:
            events.append(SlotSet("date", day.isoformat()))
    if raw_time and not raw_time.startswith("?") and "-" not in raw_time:
        at = as_time(raw_time, tracker)
        if at is not None and at.strftime("%H:%M") != raw_time:
            events.append(SlotSet("time", at.strftime("%H:%M")))
    raw_phone = str(tracker.get_slot("phone") or "")
    if raw_phone:
        phone = parse_phone(raw_phone, tracker.lang)
        if phone != raw_phone:  # unreadable: no number, as the builtin extractor finds none
            events.append(SlotSet("phone", phone))
    return events


def action_confirm_callback(tracker: Tracker) -> list[Event]:
    """Read the number back in pairs and wait for the caller's yes."""
    number = str(tracker.get_slot("callback") or "")
    if not number:
        return ask_callback()
    return [SlotSet("callback_spoken", speak_phone(number, tracker.lang)),
            SlotSet("pending", "confirm_callback"), Utter("utter_confirm_callback")]


def action_callback_confirmed(tracker: Tracker) -> list[Event]:
    """The caller said yes: the message is stored, or the booking's slot is checked."""
    after = "action_store_message" if tracker.get_slot("message") else "action_check_availability"
    return [SlotSet("pending", None), FollowupAction(after)]


def action_callback_rejected(tracker: Tracker) -> list[Event]:
    """The caller said no: the number is asked again."""
    return [SlotSet("pending", None), SlotSet("callback_spoken", None), *ask_callback()]
