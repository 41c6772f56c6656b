"""A greeting and a request in one breath is the request: the builtin engine reads the
request on its own when the greeting's words would outweigh it ("allô bonjour madame je
cherche un rendez-vous" was a greeting), and a greeting alone stays one.

Real classifier trained on nlu/; a generated corpus (openings x requests, ~420 phrasings)
whose words are not the bench's nor nlu.yml's examples, checked against each request said
alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agi.config import DialogueSettings
from agi.dialogue.base import GREET_INTENT
from agi.dialogue.builtin import BuiltinEngine
from agi.dialogue.intents import Greetings, after_greeting, greetings

OPENINGS = {
    "fr": ["bonjour", "allô", "allô oui", "oui bonjour", "bonjour madame", "bonsoir monsieur", "allô bonjour",
           "bonjour docteur", "euh bonjour", "bonjour à vous", "allô oui bonjour madame", "bonsoir",
           "salut", "bonjour bonjour", "ah bonjour", "bonjour mademoiselle"],
    "en": ["hello", "hi", "hi there", "good morning", "good evening", "hello there", "hey", "hello hello",
           "oh hi", "good afternoon", "morning", "hello doctor", "hi good morning", "yes hello"],
}
REQUESTS = {
    "fr": ["je voudrais un rendez-vous", "j'aimerais voir le docteur", "je souhaite réserver un créneau",
           "il me faudrait un rendez-vous la semaine prochaine", "c'est pour une consultation",
           "je cherche un rendez-vous pour mon fils", "est-ce que je peux prendre rendez-vous",
           "je dois annuler mon rendez-vous", "je voudrais annuler le rendez-vous de demain",
           "je voudrais déplacer mon rendez-vous", "est-ce qu'on peut décaler mon rendez-vous",
           "je voudrais laisser un message", "pouvez-vous transmettre un message au docteur",
           "je voudrais parler à quelqu'un", "passez-moi la secrétaire s'il vous plaît"],
    "en": ["i'd like to make an appointment", "i need to see the doctor", "can i book a visit",
           "i want to schedule an appointment", "i'm looking for an appointment next week",
           "i need to cancel my appointment", "please cancel my booking for tomorrow",
           "i'd like to reschedule my appointment", "can we move my appointment",
           "i'd like to leave a message", "can you pass a message to the doctor",
           "can i talk to a real person", "put me through to the receptionist please"],
}
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(DialogueSettings().project_dir)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_greeting_then_a_request_is_understood_as_the_request(engine: BuiltinEngine, lang: str) -> None:
    model = engine.models[lang]
    wrong = []
    for request in REQUESTS[lang]:
        alone = model.parse(request, now=NOW).intent
        assert alone != GREET_INTENT, request
        wrong += [(f"{o} {request}", got, alone) for o in OPENINGS[lang]
                  if (got := model.parse(f"{o} {request}", now=NOW).intent) != alone]
    assert wrong == []


def test_the_greetings_come_off_the_front_only() -> None:
    known = greetings(["bonjour", "allô", "Allô bonjour madame", "bonjour c'est pour"])
    assert known[0] == "allo bonjour madame"  # longest first, folded as the classifier reads
    assert after_greeting("Allô, allô bonjour madame, je cherche un rendez-vous", known) == \
        "je cherche un rendez vous"
    assert after_greeting("bonjour c'est pour un rendez-vous", known) == "un rendez vous"
    assert after_greeting("allô bonjour", known) == ""  # nothing but greetings
    assert after_greeting("je voulais dire bonjour", known) == "je voulais dire bonjour"
    assert after_greeting("bonjournée", known) == "bonjournee"  # whole words only


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_bare_greeting_stays_a_greeting(engine: BuiltinEngine, lang: str) -> None:
    plain = {"fr": ["bonjour", "allô bonjour", "bonsoir", "oui bonjour", "bonjour madame"],
             "en": ["hello", "hi there", "good morning", "hello there", "good afternoon"]}[lang]
    assert [g for g in plain if engine.models[lang].parse(g, now=NOW).intent != GREET_INTENT] == []


GREETINGS = {
    "fr": ["bonjour", "bonsoir", "allô", "allô oui", "oui bonjour", "allô bonjour", "allô oui bonjour",
           "euh bonjour", "ah bonjour", "bonjour bonjour", "oui bonsoir", "allô bonsoir"],
    "en": ["hello", "hi", "hi there", "good morning", "good evening", "good afternoon", "hey",
           "hello hello", "yes hello", "oh hi", "hello there", "hi good morning"],
}
TITLES = {
    "fr": ["madame", "monsieur", "docteur", "mademoiselle", "madame bonjour", "monsieur bonsoir",
           "madame euh", "à vous"],
    "en": ["madam", "sir", "doctor", "miss", "sir good morning", "doctor hello", "to you", "there"],
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_greeting_with_a_title_is_a_greeting(engine: BuiltinEngine, lang: str) -> None:
    """ "bonsoir monsieur" and "allô oui bonjour madame" were read as `inform` (the title alone
    weighed more than the greeting): every greeting x title here (~190) is a greeting."""
    model = engine.models[lang]
    said = [f"{g} {t}" for g in GREETINGS[lang] for t in TITLES[lang]]
    assert [s for s in said if model.parse(s, now=NOW).intent != GREET_INTENT] == []


@pytest.mark.parametrize(("lang", "text"), [
    ("fr", "oui"), ("fr", "oui madame"), ("fr", "madame dupont"), ("fr", "bonjour c'est madame martin"),
    ("fr", "bonjour je m'appelle jean dupont"), ("en", "yes"), ("en", "hello this is john smith"),
    ("en", "hello miss smith"),
])
def test_a_title_without_a_greeting_or_with_a_name_is_not_taken_for_one(
        engine: BuiltinEngine, lang: str, text: str) -> None:
    assert engine.models[lang].parse(text, now=NOW).intent != GREET_INTENT


def test_greets_only_needs_an_opening_greeting_and_nothing_but_their_words() -> None:
    greets_only = Greetings(["bonjour", "allô oui", "bonjour madame", "bonjour c'est pour"]).greets_only
    assert greets_only("Allô oui, bonjour madame")
    assert greets_only("bonjour madame bonjour")
    assert greets_only("bonjour pour")  # the greetings' own words, left open
    assert not greets_only("madame")  # no greeting opens it
    assert not greets_only("bonjour madame dupont")
    assert not greets_only("bonjour je voudrais un rendez-vous")
