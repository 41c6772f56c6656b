"""What a booking is for and with whom: the ``service`` and ``practitioner`` slots.

Set by the actions from the caller's words (:mod:`agi.dialogue.catalogue`) on both
backends alike: at the start of each request (the service named, else the tenant's
default; none when the tenant must ask) and on each answer inside the booking form (the
answer to "which service?", a practitioner named along the way).
"""

from __future__ import annotations

from agi.dialogue.catalogue import able, find_resource, find_service, is_resource_word, spoken_services
from agi.dialogue.events import Event, SlotSet, Tracker

# The intents whose new request is a booking (rules.yml: "start booking", a date or time
# out of the blue, something said after a request); the others start a message.
BOOKING_INTENTS = frozenset({"book", "inform"})


def start_choices(tracker: Tracker) -> list[Event]:
    """A new request's service and practitioner: what the caller's sentence names, else the
    default service and whoever is free; ``services_spoken`` for the question."""
    tenant = tracker.ctx.tenant
    if tracker.intent not in BOOKING_INTENTS:  # a message: no service, none left from before
        return [SlotSet("service", None), SlotSet("practitioner", None)]
    named = find_service(tracker.text, tenant)
    service = named or tenant.default_service
    who = _practitioner(tracker, service.name if service else None)
    return [SlotSet("service", service.name if service else None), SlotSet("practitioner", who),
            SlotSet("services_spoken", spoken_services(tenant, tracker.lang)),
            *_not_the_callers_name(tracker, who)]


def validate_choices(tracker: Tracker) -> list[Event]:
    """The ``service`` slot as one of the tenant's services (the answer to the question is
    the caller's words: a service they name, else asked again), and a practitioner named in
    this answer."""
    tenant = tracker.ctx.tenant
    raw = tracker.get_slot("service")
    events: list[Event] = []
    if not raw and tracker.requested_slot != "service" and tenant.default_service is not None:
        raw = tenant.default_service.name  # a booking started without a new request
        events.append(SlotSet("service", raw))
    service = raw
    if raw:
        found = find_service(str(raw), tenant)
        service = found.name if found else None
        if service != raw:
            events.append(SlotSet("service", service))
    if tracker.requested_slot != "service" and tracker.text:
        found = find_service(tracker.text, tenant)  # "plutôt un bilan", said along the way
        if found is not None and found.name != service:
            service = found.name
            events.append(SlotSet("service", service))
    who = _practitioner(tracker, service)
    if who and who != tracker.get_slot("practitioner"):
        events.append(SlotSet("practitioner", who))
    return [*events, *_not_the_callers_name(tracker, who)]


def _not_the_callers_name(tracker: Tracker, practitioner: str | None) -> list[Event]:
    """"chez Sophie": Sophie is who the caller wants to see, not their name (unless the agent
    had asked for the name)."""
    name = tracker.get_slot("name") or next((e.value for e in tracker.entities if e.entity == "name"), None)
    if (practitioner and name and tracker.requested_slot != "name"
            and is_resource_word(str(name), tracker.ctx.tenant.resource(practitioner))):
        return [SlotSet("name", None)]
    return []


def _practitioner(tracker: Tracker, service: str | None) -> str | None:
    """The practitioner the caller's words ask for, if they may perform ``service``."""
    tenant = tracker.ctx.tenant
    resource = find_resource(tracker.text, tenant)
    if resource is None:
        return None
    return resource.name if service is None or able(tenant, tenant.service(service), resource.name) else None
