"""Practical questions: which topic a caller asks about, and the tenant's own answer to it.

The intent stays ``info``; the topic comes from the caller's words: the tenant's own FAQ
keywords first (the business knows its callers' words), then a keyword lexicon per topic
and language. Words are compared without accents, case or a plural ``s``/``x``, so
"horaires", "Horaire" and "horaire" are one word. A question with no topic, or a topic the
tenant gave no answer for, is answered by nothing else: the caller is offered a message
(hours are only given to an hours question).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agi.tenants import Tenant

HOURS = "hours"
# topic -> language -> keywords (single words or phrases), as callers say them.
LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    HOURS: {
        "fr": ("horaire", "ouvert", "ouverte", "ouvrez", "ouverture", "ferme", "fermez", "fermeture",
               "a quelle heure vous", "jusqu a quelle heure", "quelle heure fermez",
               "quels jours", "permanence"),
        "en": ("hour", "open", "opening", "close", "closing", "what time do you", "until what time",
               "which days", "what days"),
    },
    "address": {
        "fr": ("adresse", "ou etes vous", "ou vous trouvez", "ou se trouve", "vous etes ou",
               "situe", "situes", "ou est le cabinet", "quelle rue", "localisation", "venir chez vous"),
        "en": ("address", "where are you", "where is", "located", "location", "which street",
               "find you", "get to you"),
    },
    "access": {
        "fr": ("acces", "accessible", "fauteuil", "ascenseur", "escalier", "metro", "bus", "tram",
               "transport", "handicap", "etage", "comment venir", "pmr"),
        "en": ("access", "accessible", "wheelchair", "lift", "elevator", "stairs", "tube", "bus",
               "train", "station", "disabled", "floor", "how do i get"),
    },
    "prices": {
        "fr": ("prix", "tarif", "combien ca coute", "combien coute", "cout", "coute", "honoraire",
               "depassement", "cher", "combien je vais payer", "combien faut il payer"),
        "en": ("price", "cost", "how much", "fee", "charge", "expensive", "rate"),
    },
    "bring": {
        "fr": ("apporter", "amener", "ramener", "prevoir", "carte vitale", "document", "papier",
               "ordonnance", "mutuelle", "quoi prendre avec"),
        "en": ("bring", "need to have", "document", "paperwork", "prescription", "insurance card",
               "what do i need"),
    },
    "payment": {
        "fr": ("payer", "paiement", "regler", "reglement", "carte bancaire", "carte bleue", "cheque",
               "espece", "liquide", "tiers payant", "cb"),
        "en": ("pay", "payment", "card", "cash", "cheque", "check", "contactless", "invoice"),
    },
    "parking": {
        "fr": ("parking", "garer", "stationner", "stationnement", "place pour la voiture", "voiture"),
        "en": ("parking", "park", "car park", "parking lot", "car"),
    },
}


def fold(text: str) -> str:
    """Lower case, accents, apostrophes and hyphens removed, a plural ``s``/``x`` dropped."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", text)
    return " ".join(w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in words)


def _says(folded: str, keyword: str) -> bool:
    return re.search(rf"(?:^|\s){re.escape(fold(keyword))}(?:\s|$)", folded) is not None


@dataclass(frozen=True)
class Answer:
    """The topic asked about and what to say; ``text`` is "" when the tenant has no answer."""

    topic: str | None
    text: str = ""


def answer(text: str, tenant: Tenant) -> Answer:
    """The tenant's answer to the practical question in ``text`` (hours are the caller's
    phrasing of an hours question only; the hours sentence itself is built by the caller)."""
    folded = fold(text)
    for faq in tenant.faq:
        if any(_says(folded, k) for k in faq.keywords):
            return Answer("faq", faq.answer)
    lang = tenant.language
    # The hours last: "à quelle heure vous fermez le samedi" is about hours, but "le parking
    # est ouvert" is about parking.
    for topic, words in LEXICON.items():
        if topic != HOURS and any(_says(folded, k) for k in words[lang]):
            return Answer(topic, tenant.info.get(topic, ""))
    if any(_says(folded, k) for k in LEXICON[HOURS][lang]):
        return Answer(HOURS)
    return Answer(None)
