"""Words left open, on a generated corpus: a caller who stops on a verb that still wants its
object ("je voudrais ...", "I'd like to book ...") or on a small word is not done; a request
that says what it wants is. (agi/speech/unfinished.py; ~600 phrasings, subjects x verbs x
objects, none taken from the bench.)"""

from __future__ import annotations

import itertools

import pytest

from agi.speech.unfinished import left_open

SUBJECTS = {
    "fr": ["je", "bonjour je", "oui alors je", "allô madame je", "euh je", "moi je"],
    "en": ["i", "hello i", "yes so i", "hi there i", "um i", "well i"],
}
# a verb still waiting for what it is about, and objects that finish it
OPEN_VERBS = {
    "fr": ["voudrais", "aimerais", "souhaiterais", "veux", "voulais", "cherche", "voudrais prendre",
           "aimerais laisser", "voudrais parler", "souhaite avoir", "vous appelle", "voudrais faire",
           "aimerais joindre", "cherchais"],
    "en": ["would like", "want", "need", "would like to book", "want to leave", "need to speak",
           "was calling", "am looking", "would like to make", "wanted", "could", "am trying"],
}
OBJECTS = {
    "fr": ["un rendez-vous", "un message", "le docteur", "une consultation", "la secrétaire", "un créneau",
           "rendez-vous mardi", "des nouvelles", "le cabinet"],
    "en": ["an appointment", "a message", "the doctor", "a check-up", "the receptionist", "a slot",
           "an appointment on tuesday", "some news", "the office"],
}
# small words after which a sentence goes on
OPEN_TAILS = {
    "fr": ["pour", "avec le", "au nom de", "vers", "et", "le", "à", "mais"],
    "en": ["for", "with the", "on", "at", "and", "the", "to", "but"],
}


def phrasings(lang: str) -> tuple[list[str], list[str]]:
    subjects, verbs, objects = SUBJECTS[lang], OPEN_VERBS[lang], OBJECTS[lang]
    unfinished = [f"{s} {v}" for s, v in itertools.product(subjects, verbs)]
    unfinished += [f"{s} {v} {o} {t}" for s, v, o, t in
                   itertools.islice(itertools.product(subjects, verbs, objects, OPEN_TAILS[lang]), 0, None, 37)]
    finished = [f"{s} {v} {o}" for s, v, o in itertools.product(subjects, verbs, objects)]
    return unfinished, finished


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_verb_waiting_for_its_object_is_left_open_and_the_request_is_not(lang: str) -> None:
    unfinished, finished = phrasings(lang)
    assert len(unfinished) + len(finished) > 500
    assert [t for t in unfinished if not left_open(t, lang)] == []
    assert [t for t in finished if left_open(t, lang)] == []


@pytest.mark.parametrize(("text", "lang", "open_"), [
    ("yes that's", "en", True), ("it's", "en", True), ("i'm", "en", True), ("well we're", "en", True),
    ("yes that's right", "en", False), ("that's it", "en", False), ("i'd like", "en", True),
    ("oui c'est", "fr", True), ("je voudrais l'", "fr", True), ("c'est d'accord", "fr", False),
    ("aujourd'hui", "fr", False), ("jusqu'à", "fr", True),
])
def test_contractions_are_judged_whole_and_by_their_parts(text: str, lang: str, open_: bool) -> None:
    assert left_open(text, lang) is open_
