"""The entities of one caller turn, for the builtin engine: values normalised as slots keep them.

Dates (``YYYY-MM-DD``) and times (``HH:MM``) from :mod:`agi.dialogue.normalize`, phones as
E.164 (:mod:`agi.dialogue.phones`), names only from a name-like answer
(:mod:`agi.dialogue.names`), plus the regex and lookup entities of nlu.yml, their values
mapped through its synonyms.
"""

from __future__ import annotations

import re
from datetime import datetime

from agi.dialogue import normalize
from agi.dialogue.events import Entity
from agi.dialogue.names import extract_name
from agi.dialogue.phones import parse_phone
from agi.dialogue.project import Project


def extract_entities(project: Project, text: str, now: datetime,
                     requested_slot: str | None) -> list[Entity]:
    """The entities in ``text``; ``requested_slot`` is what the agent has just asked for."""
    lang = project.language
    found: list[Entity] = []
    phone = parse_phone(text, lang)
    if phone:
        # Digits dictated as a phone number are never a date or a time.
        found.append(Entity("phone", phone, text))
    else:
        when = normalize.parse_when(text, lang, now, bare_time=requested_slot == "time")
        found += [Entity(slot, value, text) for slot, value in normalize.slot_values(when).items()]
    name = extract_name(text, lang, asked=requested_slot == "name")
    if name:
        found.append(Entity("name", name, text))
    cleaned = normalize.clean(text)
    for entity, patterns in project.regexes.items():
        for pattern in patterns:
            m = re.search(pattern, cleaned)
            if m:
                found.append(Entity(entity, m.group(0), m.group(0)))
    for entity, values in project.lookups.items():
        for value in values:
            if re.search(rf"\b{re.escape(value.lower())}\b", cleaned):
                found.append(Entity(entity, value, value))
    return [Entity(e.entity, project.synonyms.get(str(e.value).lower(), e.value), e.text)
            for e in found]
