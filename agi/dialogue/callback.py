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

from agi.dialogue.events import Event, FollowupAction, SlotSet, Tracker, Utter
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
    """The dictated (or keyed) number as E.164; anything else is asked again."""
    raw = tracker.get_slot("callback")
    if not raw:
        return []
    text = str(raw)
    # Keyed digits arrive as the digits themselves ("0612345678"): parse_phone reads them too.
    number = parse_phone(text, tracker.lang)
    return [SlotSet("callback", number)] if number != raw else []


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
