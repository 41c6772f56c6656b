"""The call summary for the business: which calls get one, and what it says.

A call that ends with something for the business to do, and no notification of its own
saying so, sends one short summary (who, when, what was asked, what was done, the number
to call back, the call's page in the console) through the tenant's e-mail and web hook
targets. :func:`call_summary` decides, from the call's outcome, what it collected and
the request the dialogue had open when it ended; the store queues the result with the end
of the call, once per call (:mod:`agi.booking.call_summary`); :func:`subject` and
:func:`body` write the e-mail in the tenant's language.

Which calls (:data:`ENDINGS`, the one table to extend when an outcome is added):

* a message, a call-back request, a transfer (answered, refused, unanswered, busy...),
  a booking noted while the agenda was unreachable: always;
* a booking, a move or a cancellation: never (their own notification, and the calendar,
  already tell the business) unless the caller then started another request and hung up
  in the middle of it;
* a hang-up, a silence, a lost line, a crash or a technical failure: only **in the middle
  of a request** (:func:`in_request`): the dialogue was waiting for an answer inside a
  request (a form question, a read-back, offered slots, an offer of a message after a
  request it could not serve), or the caller had already given what a request needs
  (a name, a date, a time, a number, a message). A hang-up during the statement, the
  notice or the greeting, or after a question answered, sends nothing. A technical
  failure with a date and time collected is a booking that failed.

Privacy: the summary's free text (the message, what the caller said, the other collected
details) travels as ``text`` and ``details``, and the caller's name as ``name``: sealed in
the outbox like every payload, and left out of e-mails and web hooks of a health-data
tenant (:func:`agi.notify.render.redacted`). The caller's own words are included only
for other tenants. The payload holds the caller's number, so a restriction holds it, an
objection drops it and an erasure deletes it, like every notification.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from agi.booking.store import CallRecord, OutboxItem, Store
from agi.config import Settings, SummarySettings, Tenant
from agi.errors import StoreError

log = logging.getLogger(__name__)

KIND: Final = "call_summary"

# Endings of a summary: what the business reads first.
MESSAGE, CALLBACK, TRANSFER = "message", "callback", "transfer"
BOOKING_NOTED, BOOKING_FAILED = "booking_noted", "booking_failed"
HUNG_UP, FAILED = "hangup_mid_request", "failed"
# The outcome's summary: an ending (always sent), MID (sent only in the middle of a
# request), or None (never: the outcome has its own notification, or nothing was asked).
MID: Final = "?"
ENDINGS: Mapping[str, str | None] = {
    # done, and notified on its own (booking, calendar)
    "booked": None, "moved": None, "cancelled": None,
    # kept or handed over for the business
    "message": MESSAGE, "after_hours_message": MESSAGE,
    "callback": CALLBACK, "after_hours_callback": CALLBACK,
    "pending": BOOKING_NOTED,
    "transfer": TRANSFER, "transfer_answered": "transfer_answered",
    "transfer_refused": "transfer_refused", "transfer_no_answer": "transfer_no_answer",
    "transfer_busy": "transfer_busy", "transfer_failed": "transfer_failed",
    # nothing completed
    "hangup": MID, "no_input": MID, "max_length": MID, "peer_timeout": MID,
    "interrupted": MID, "error": MID,
    # nothing asked
    "hangup_during_disclosure": None, "unknown_tenant": None, "fallback": None,
}
# Outcomes where the line or the software failed, not the caller: FAILED, not HUNG_UP.
TECHNICAL = frozenset({"error", "peer_timeout", "interrupted"})
COMPLETED = frozenset(k for k, v in ENDINGS.items() if v is None) - {
    "hangup_during_disclosure", "unknown_tenant", "fallback"}

# What the caller gives for a request (the Rasa project's request slots).
REQUEST_SLOTS = ("name", "date", "time", "phone", "message", "callback", "appointment_id")
# Open requests (a form, or the ``pending`` confirmation awaited) and what was asked.
ASKED: Mapping[str, str] = {
    "booking_form": "booking", "confirm_booking": "booking", "choose_slot": "booking",
    "move_form": "move", "confirm_move": "move", "confirm_new_time": "move",
    "choose_move_slot": "move", "confirm_cancel": "cancel",
    "message_form": "message", "confirm_message": "message", "offer_message": "message",
    "callback_form": "callback", "confirm_callback": "callback",
    "offer_transfer": "human",
}
# Offered after misunderstandings: a request only if the caller had given something.
WEAK_REQUESTS = frozenset({"offer_transfer"})
# The caller's words in a summary: the last turns, each cut, for non-health tenants.
MAX_SAID_TURNS, MAX_SAID_CHARS = 6, 200


def ending_for(outcome: str) -> str | None:
    """The outcome's entry of :data:`ENDINGS`; an outcome not listed (a new one) is a
    transfer of its kind if named ``transfer_*``, else counted as nothing completed."""
    if outcome in ENDINGS:
        return ENDINGS[outcome]
    return outcome if outcome.startswith("transfer_") else MID


def has_request_data(data: Mapping[str, Any]) -> bool:
    return any(data.get(k) not in (None, "", []) for k in REQUEST_SLOTS)


def in_request(outcome: str, request: str | None, data: Mapping[str, Any]) -> bool:
    """Whether the call ended in the middle of a request (see the module docstring):
    ``request`` is the form or confirmation the dialogue had open, ``data`` what the call
    collected. After a completed booking, move or cancellation only a new open request
    counts (the slots of the one done are still there)."""
    if outcome in COMPLETED:
        return bool(request) and request not in WEAK_REQUESTS
    if request and (request not in WEAK_REQUESTS or has_request_data(data)):
        return True
    return has_request_data(data)


def asked(outcome: str, request: str | None, data: Mapping[str, Any]) -> str:
    """What the caller asked for: booking, move, cancel, message, callback, human, or
    the open request's own name when it is not one of ours."""
    if request:
        return ASKED.get(request, request)
    ending = ending_for(outcome) or ""
    if ending in (MESSAGE, CALLBACK):
        return ending
    if ending.startswith(TRANSFER):
        return "human"
    if data.get("message"):
        return "message"
    if data.get("date") or data.get("time"):
        return "move" if data.get("appointment_id") else "booking"
    return "cancel" if data.get("appointment_id") else "other"


def call_summary(*, call_id: str, tenant: Tenant, outcome: str, data: Mapping[str, Any],
                 request: str | None = None, transfer_to: str | None = None,
                 said: Sequence[str] = (), settings: SummarySettings | None = None
                 ) -> dict[str, Any] | None:
    """The summary a call owes the business, or None. The store adds the call's own
    facts (tenant, caller, start, end, outcome) when it queues it."""
    settings = settings or SummarySettings()
    if not settings.enabled:
        return None
    ending = ending_for(outcome)
    if ending is None and outcome not in COMPLETED:  # nothing could be asked
        return None
    if ending is None or ending == MID:
        if not in_request(outcome, request, data):
            return None
        what = asked(outcome, request, data)
        if outcome in TECHNICAL:
            ending = BOOKING_FAILED if what == "booking" and data.get("date") and data.get("time") \
                else FAILED
        else:
            ending = HUNG_UP
    else:
        what = asked(outcome, request, data)
    summary: dict[str, Any] = {
        "ending": ending, "asked": what, "open_request": request or "",
        "callback": str(data.get("callback") or data.get("phone") or ""),
        "date": str(data.get("date") or ""), "time": str(data.get("time") or ""),
        "transfer_to": transfer_to or "",
        "link": f"{settings.console_url}/calls/{call_id}" if settings.console_url else "",
    }
    if data.get("name"):
        summary["name"] = str(data["name"])
    if data.get("message"):
        summary["text"] = str(data["message"])
    details = {k: v for k, v in data.items() if k not in REQUEST_SLOTS and k != "callback_spoken"}
    if said and not tenant.privacy.health_data:  # the caller's words stay home for art. 9 data
        details["said"] = [t[:MAX_SAID_CHARS] for t in said[-MAX_SAID_TURNS:]]
    summary["details"] = details
    return summary


def summary_for_call(store: Store, *, call_id: str, tenant: Tenant, outcome: str,
                     data: Mapping[str, Any], request: str | None, transfer_to: str | None,
                     settings: SummarySettings) -> dict[str, Any] | None:
    """:func:`call_summary` at the end of a live call, with the caller's words read from
    the transcript (not for health-data tenants; none when the store cannot be read:
    the summary goes without them)."""
    def build(said: Sequence[str]) -> dict[str, Any] | None:
        return call_summary(call_id=call_id, tenant=tenant, outcome=outcome, data=data,
                            request=request, transfer_to=transfer_to, said=said,
                            settings=settings)

    summary = build(())
    if summary is None or tenant.privacy.health_data:
        return summary
    try:
        said = [t.text for t in store.transcript(call_id) if t.speaker == "caller" and t.text]
    except StoreError as exc:
        log.warning("call %s: summary without the caller's words: %s", call_id, exc)
        return summary
    return build(said)


def interrupted_summary(call: CallRecord, settings: Settings) -> dict[str, Any] | None:
    """The summary of a call a crashed process left open, closed at start-up as
    ``interrupted`` (agi.booking.recovery): from what it had collected."""
    tenant = next((t for t in settings.tenants if t.id == call.tenant_id), None)
    if tenant is None:
        return None
    return call_summary(call_id=call.call_id, tenant=tenant, outcome="interrupted",
                        data=call.data, settings=settings.summaries)


# what the e-mail says ---------------------------------------------------------------------
_TEXT: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "title": "Résumé d'appel",
        MESSAGE: "Message laissé", CALLBACK: "Demande de rappel", TRANSFER: "Appel transféré",
        "transfer_answered": "Transfert pris", "transfer_refused": "Transfert refusé",
        "transfer_no_answer": "Transfert sans réponse", "transfer_busy": "Transfert : occupé",
        "transfer_failed": "Transfert en échec",
        BOOKING_NOTED: "Rendez-vous à confirmer", BOOKING_FAILED: "Rendez-vous non enregistré",
        HUNG_UP: "Appel interrompu en cours de demande", FAILED: "Appel coupé (incident technique)",
        "ask_booking": "prendre un rendez-vous", "ask_move": "déplacer un rendez-vous",
        "ask_cancel": "annuler un rendez-vous", "ask_message": "laisser un message",
        "ask_callback": "être rappelé", "ask_human": "parler à quelqu'un",
        "ask_other": "non précisé",
        "done_" + MESSAGE: "Le message est enregistré.",
        "done_" + CALLBACK: "La demande de rappel est enregistrée.",
        "done_" + TRANSFER: "L'appel a été transféré{to}.",
        "done_transfer_answered": "L'appel a été transféré{to} et pris.",
        "done_transfer_refused": "Le transfert{to} a été refusé ; l'appelant est revenu à l'accueil.",
        "done_transfer_no_answer": "Le transfert{to} est resté sans réponse ; l'appelant est revenu à l'accueil.",
        "done_transfer_busy": "Le poste{to} était occupé ; l'appelant est revenu à l'accueil.",
        "done_transfer_failed": "Le transfert{to} a échoué.",
        "done_" + BOOKING_NOTED: "L'agenda était injoignable : la demande est notée, à confirmer à l'appelant.",
        "done_" + BOOKING_FAILED: "Le rendez-vous n'a pas pu être enregistré (incident technique) : "
                                  "rappelez l'appelant.",
        "done_" + HUNG_UP: "L'appelant a raccroché avant la fin : rien n'a été enregistré.",
        "done_" + FAILED: "L'appel s'est terminé sur un incident avant la fin de la demande.",
        "caller": "Appelant", "withheld": "numéro masqué", "name": "Nom", "at": "Appel du",
        "asked": "Demande", "done": "Fait", "callback_at": "Rappeler au", "wanted": "Souhaité",
        "text": "Message", "said": "L'appelant a dit", "call": "Appel", "page": "Transcription",
        "ref": "Référence", "to": " vers {target}",
    },
    "en": {
        "title": "Call summary",
        MESSAGE: "Message left", CALLBACK: "Call-back request", TRANSFER: "Call transferred",
        "transfer_answered": "Transfer answered", "transfer_refused": "Transfer refused",
        "transfer_no_answer": "Transfer not answered", "transfer_busy": "Transfer: busy",
        "transfer_failed": "Transfer failed",
        BOOKING_NOTED: "Appointment to confirm", BOOKING_FAILED: "Appointment not booked",
        HUNG_UP: "Call ended in the middle of a request", FAILED: "Call cut (technical problem)",
        "ask_booking": "book an appointment", "ask_move": "move an appointment",
        "ask_cancel": "cancel an appointment", "ask_message": "leave a message",
        "ask_callback": "be called back", "ask_human": "speak to someone",
        "ask_other": "not stated",
        "done_" + MESSAGE: "The message is saved.",
        "done_" + CALLBACK: "The call-back request is saved.",
        "done_" + TRANSFER: "The call was transferred{to}.",
        "done_transfer_answered": "The call was transferred{to} and answered.",
        "done_transfer_refused": "The transfer{to} was refused; the caller came back to the desk.",
        "done_transfer_no_answer": "The transfer{to} was not answered; the caller came back to the desk.",
        "done_transfer_busy": "The line{to} was busy; the caller came back to the desk.",
        "done_transfer_failed": "The transfer{to} failed.",
        "done_" + BOOKING_NOTED: "The diary was unreachable: the request is noted, confirm it with the caller.",
        "done_" + BOOKING_FAILED: "The appointment could not be booked (technical problem): call the caller back.",
        "done_" + HUNG_UP: "The caller hung up before the end: nothing was saved.",
        "done_" + FAILED: "The call ended on a problem before the request was complete.",
        "caller": "Caller", "withheld": "withheld number", "name": "Name", "at": "Call of",
        "asked": "Request", "done": "Done", "callback_at": "Call back on", "wanted": "Wanted",
        "text": "Message", "said": "The caller said", "call": "Call", "page": "Transcript",
        "ref": "Reference", "to": " to {target}",
    },
}


def _words(tenant: Tenant) -> Mapping[str, str]:
    return _TEXT.get(tenant.language, _TEXT["en"])


def subject(item: OutboxItem, tenant: Tenant) -> str:
    """``Résumé d'appel – Message laissé – Alice Martin (+33612345678)``."""
    w, p = _words(tenant), item.payload
    ending = str(p.get("ending") or "")
    number = p.get("caller") or p.get("callback") or w["withheld"]
    who = f"{p['name']} ({number})" if p.get("name") else number
    return f"{w['title']} – {w.get(ending, ending)} – {who}"


def body(item: OutboxItem, tenant: Tenant) -> str:
    """The plain-text summary: one labelled line per fact, then the idempotency key."""
    w, p = _words(tenant), item.payload
    ending, what = str(p.get("ending") or ""), str(p.get("asked") or "other")
    target = p.get("transfer_to") or ""
    done = w.get("done_" + ending, ending).format(to=w["to"].format(target=target) if target else "")
    started = datetime.fromisoformat(str(p["started_at"])).astimezone(tenant.tz)
    wanted = " ".join(str(p.get(k) or "") for k in ("date", "time")).strip()
    rows: list[tuple[str, Any]] = [
        ("caller", p.get("caller") or w["withheld"]), ("name", p.get("name")),
        ("at", f"{started:%Y-%m-%d %H:%M} ({tenant.timezone})"),
        ("asked", w.get("ask_" + what, what)), ("wanted", wanted), ("done", done),
        ("callback_at", p.get("callback") or p.get("caller")), ("text", p.get("text"))]
    said = (p.get("details") or {}).get("said") if isinstance(p.get("details"), Mapping) else None
    if said:
        rows.append(("said", " / ".join(str(s) for s in said)))
    rows += [("call", p.get("call_id")), ("page", p.get("link"))]
    lines = [f"{tenant.name}: {w['title']} – {w.get(ending, ending)}", ""]
    lines += [f"{w[key]}: {value}" for key, value in rows if value]
    lines += ["", f"{w['ref']}: {item.idempotency_key}"]
    return "\n".join(lines) + "\n"
