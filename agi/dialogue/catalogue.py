"""Which of the tenant's services and practitioners a caller's words name.

"un détartrage", "deux détartrages", "un detartage" (a recogniser's typo), "a cleaning",
"avec le docteur Martin", "with Dr Smith", "chez Sophie": the words are matched against
each service's name and aliases and each resource's name (its title dropped) and aliases,
accents, case, plurals and one or two wrong letters forgiven. A phrase that names two
services as well as each other names none: the caller is asked, never guessed for.

A practitioner is heard only after a lead-in ("avec", "chez", "with", "see") or a title
("docteur", "Dr", "Maître", "Madame"): "je m'appelle Sophie Martin" books no practitioner.
Linear in the words said (bounded by :data:`MAX_WORDS`), no state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from agi.config import Resource, Service, Tenant

# Longer turns are cut: nobody names a service after the 80th word.
MAX_WORDS = 80
# Titles said before a practitioner's name, by what they read back as (the French gender).
_TITLES_FR = {
    "docteur": "le docteur", "dr": "le docteur", "doc": "le docteur",
    "docteure": "la docteure", "doctoresse": "la docteure", "dre": "la docteure",
    "maitre": "maître", "me": "maître", "madame": "madame", "mme": "madame",
    "monsieur": "monsieur", "m": "monsieur", "mademoiselle": "madame", "professeur": "le professeur",
    "pr": "le professeur",
}
_TITLES_EN = {"doctor": "Dr", "dr": "Dr", "mr": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss",
              "professor": "Professor", "prof": "Professor", "nurse": "Nurse"}
_TITLES = set(_TITLES_FR) | set(_TITLES_EN) | {"la", "le", "l", "the"}
# Titles that announce a practitioner in a caller's words: not "m" ("j m appelle") nor "me".
_HEARD_TITLES = _TITLES - {"m", "me", "la", "le", "l", "the"}
# Words after which a name is a practitioner's (within LEAD_IN_SPAN words before it).
_LEAD_INS = {"avec", "chez", "voir", "aupres", "par", "with", "see", "seeing", "by"}
LEAD_IN_SPAN = 3
# ... unless the caller is introducing themself: "c'est madame Leroy (à l'appareil)",
# "this is Mrs Jones speaking", "je suis le docteur Martin".
_SELF_BEFORE = {"suis", "appelle", "ici", "nom", "name", "this", "im"}
_SELF_AFTER = {"appareil", "speaking", "here"}


def fold(text: str) -> list[str]:
    """Lower-case words without accents or punctuation ("Check-up" -> ["check", "up"])."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+", plain)[:MAX_WORDS]


def _stem(word: str) -> str:
    """Plural and feminine endings off: "détartrages", "visites", "docteure", "ups"."""
    for end in ("aux", "es", "s", "x", "e"):
        if len(word) > max(len(end) + 3, 3 if end in "sx" else 0) and word.endswith(end):
            return word[: -len(end)]
        if len(end) == 1 and len(word) == 3 and word.endswith(end) and end in "sx":
            return word[:-1]
    return word


def _close(said: str, term: str) -> bool:
    """Same word, forgiving a plural and, on longer words, one (two from nine letters) typo."""
    if said == term or _stem(said) == _stem(term):
        return True
    # Typos on the words as said, not on stems: "rappelle" (calling back) is no "rappel".
    allowed = 0 if len(term) < 5 else 1 if len(term) < 9 else 2
    return allowed > 0 and abs(len(said) - len(term)) <= allowed and _distance(said, term, allowed) <= allowed


def _distance(a: str, b: str, bound: int) -> int:
    """Levenshtein distance, stopping once every path is over ``bound``."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > bound:
            return bound + 1
        previous = current
    return previous[-1]


def _found(words: Sequence[str], term: Sequence[str]) -> list[tuple[int, int]]:
    """The spans [start, end) of ``words`` where ``term`` is said: word by word, or written
    together ("checkup" for "check up", "check up" for "checkup")."""
    if not term:
        return []
    joined = "".join(term)
    hits = []
    for i in range(len(words)):
        window = words[i:i + len(term)]
        if len(window) == len(term) and all(_close(w, t) for w, t in zip(window, term, strict=True)):
            hits.append((i, i + len(term)))
            continue
        for n in (1, 2, 3):
            if n != len(term) and i + n <= len(words) and _close("".join(words[i:i + n]), joined):
                hits.append((i, i + n))
                break
    return hits


def _terms(name: str, aliases: Iterable[str]) -> list[list[str]]:
    return [t for t in (fold(x) for x in (name, *aliases)) if t]


def find_service(text: str, tenant: Tenant) -> Service | None:
    """The one service ``text`` names; None when it names none, or two ("une consultation ou
    un vaccin", "un détartrage et un contrôle": the caller is asked). A name said inside a
    longer one of another service ("bilan" in "bilan de santé") counts as the longer one."""
    words = fold(text)
    spans = [(start, end, svc.name) for svc in tenant.services
             for term in _terms(svc.name, svc.aliases) for start, end in _found(words, term)]
    named = {name for start, end, name in spans
             if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)}
    return tenant.service(named.pop()) if len(named) == 1 else None


def _resource_terms(resource: Resource) -> list[list[str]]:
    """The words that name a resource: its full name and each name word without the title
    ("Dr Sophie Leroy": "sophie leroy", "sophie", "leroy"), and its aliases."""
    words = [w for w in fold(resource.name) if w not in _TITLES]
    terms = [words] if words else []
    terms += [[w] for w in words if len(w) > 2] if len(words) > 1 else []
    return terms + _terms("", resource.aliases)


def find_resource(text: str, tenant: Tenant) -> Resource | None:
    """The practitioner ``text`` asks for after a lead-in or a title ("avec le docteur
    Martin", "with Dr Smith", "chez Sophie"); None for none, or for a name two share."""
    if len(tenant.resources) < 2:
        return None
    words = fold(text)
    best: dict[str, int] = {}
    for name in tenant.resources:
        resource = tenant.resource(name)
        for term in _resource_terms(resource):
            for at, end in _found(words, term):
                before = words[max(0, at - LEAD_IN_SPAN):at]
                if not any(w in _LEAD_INS for w in before) and (
                        _introduces_self(words, at) or set(words[end:end + 3]) & _SELF_AFTER):
                    continue
                if any(w in _LEAD_INS or w in _HEARD_TITLES for w in before):
                    best[name] = max(best.get(name, 0), len("".join(term)))
    if not best:
        return None
    top = max(best.values())
    winners = [name for name, score in best.items() if score == top]
    return tenant.resource(winners[0]) if len(winners) == 1 else None


def _introduces_self(words: Sequence[str], at: int) -> bool:
    """"c'est madame Leroy", "je suis", "this is", "it's Mrs Jones": the caller's own name."""
    before = words[max(0, at - LEAD_IN_SPAN):at]
    pairs = {" ".join(words[i:i + 2]) for i in range(max(0, at - LEAD_IN_SPAN), at)}
    return bool(set(before) & _SELF_BEFORE or pairs & {"c est", "it s", "i am"})


def is_resource_word(name: str, resource: Resource) -> bool:
    """True if ``name`` is only words of the practitioner's name or aliases: "Sophie" taken
    for the caller's name from "chez Sophie" (a recogniser-side tagger may do that)."""
    words = set(fold(name))
    own = {w for term in (fold(resource.name), *(fold(a) for a in resource.aliases)) for w in term}
    return bool(words) and words <= own


def spoken_resource(resource: Resource, lang: str) -> str:
    """How the agent names a practitioner in a sentence: its ``spoken`` setting, else from the
    name: "Dr Martin" -> "le docteur Martin", "Dre Leroy" -> "la docteure Leroy",
    "Me Roux" -> "maître Roux" (English: "Dr Smith" as written)."""
    if resource.spoken:
        return resource.spoken
    first, _, rest = resource.name.partition(" ")
    key = fold(first)[0] if fold(first) else ""
    titles = _TITLES_FR if lang == "fr" else _TITLES_EN
    if rest and key in titles:
        return f"{titles[key]} {rest}"
    return resource.name


def spoken_services(tenant: Tenant, lang: str) -> str:
    """The services listed for a question: "consultation, vaccination ou détartrage"."""
    names = [s.name for s in tenant.services]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + (" ou " if lang == "fr" else " or ") + names[-1]


def able(tenant: Tenant, service: Service, resource: str | None) -> bool:
    """True if ``resource`` may perform ``service`` (None: anyone may)."""
    return resource is None or resource in (service.resources or tenant.resources)


def booked_service(tenant: Tenant, value: object) -> Service:
    """The service a ``service`` slot value names; the default (or first) when it is empty."""
    return tenant.service(str(value) if value else None)


def booked_resource(tenant: Tenant, service: Service, value: object) -> str | None:
    """The practitioner a ``practitioner`` slot value names, if the tenant has it and it may
    perform ``service``; None: whoever is free."""
    name = str(value) if value else ""
    return name if name in tenant.resources and able(tenant, service, name) else None


def read_back(tenant: Tenant, service_slot: object, practitioner_slot: object) -> dict[str, str]:
    """``{service_name}`` and ``{with_practitioner}`` (" avec le docteur Martin", " with Dr
    Smith", "" for whoever is free) for the read-back and the confirmation."""
    service = booked_service(tenant, service_slot)
    resource = booked_resource(tenant, service, practitioner_slot)
    joiner = " avec " if tenant.language == "fr" else " with "
    who = spoken_resource(tenant.resource(resource), tenant.language) if resource else ""
    # "la docteure Leroy ne consulte pas": capitalised at the start of a sentence
    return {"service_name": service.name, "with_practitioner": joiner + who if who else "",
            "practitioner_spoken": who[:1].upper() + who[1:]}
