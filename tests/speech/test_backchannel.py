"""Acknowledgements (agi/speech/backchannel.py) on a generated corpus: words that only agree
or thank are told from words that say something (a correction, a question, a refusal, a
new request). Several hundred phrasings, built from parts; none taken from the bench."""

from __future__ import annotations

import itertools

import pytest

from agi.speech.backchannel import MAX_WORDS, acknowledges

AGREE = {
    "fr": ["oui", "ouais", "d'accord", "parfait", "très bien", "c'est ça", "c'est bien ça", "exactement",
           "tout à fait", "ok", "okay", "super", "entendu", "voilà", "impeccable", "nickel", "bon",
           "ça marche", "absolument", "effectivement", "génial", "c'est parfait", "hm hm", "bah oui"],
    "en": ["yes", "yeah", "yep", "okay", "ok", "alright", "all right", "perfect", "great", "that's right",
           "exactly", "sure", "fine", "lovely", "good", "excellent", "cool", "brilliant", "right",
           "got it", "sounds good", "i see", "absolutely", "mhm"],
}
THANK = {
    "fr": ["", "merci", "merci beaucoup", "je vous remercie", "merci bien", "mille mercis", "s'il vous plaît"],
    "en": ["", "thanks", "thank you", "thank you very much", "cheers", "thanks a lot", "please"],
}
# what a caller says that the agent must hear as a turn of its own
SAYING = {
    "fr": ["non", "non attendez", "enfin non plutôt mercredi", "attendez", "pardon", "comment",
           "pas mardi", "c'est une erreur", "je voulais dire jeudi", "et pour ma fille",
           "vous pouvez répéter", "à quelle heure", "c'est combien", "je préfère le matin",
           "annulez", "c'est pas ça", "mais à quelle adresse", "et le parking"],
    "en": ["no", "no wait", "actually no make it wednesday", "wait", "sorry", "what",
           "not tuesday", "that's wrong", "i meant thursday", "and for my daughter",
           "can you repeat that", "what time", "how much is it", "i'd rather have the morning",
           "cancel it", "that's not it", "but what address", "and the parking"],
}


def agreeing(lang: str) -> list[str]:
    pairs = itertools.product(AGREE[lang], THANK[lang])
    said = [f"{a} {t}".strip() for a, t in pairs]
    said += [f"{t} {a}".strip() for a, t in itertools.product(AGREE[lang][::3], THANK[lang][1:])]
    said += [f"{a} {b}" for a, b in itertools.product(AGREE[lang][:8], AGREE[lang][8:16])]
    return said


def saying(lang: str) -> list[str]:
    said = list(SAYING[lang])
    # an acknowledgement that goes on to say something is no longer one
    said += [f"{a} {s}" for a, s in itertools.product(AGREE[lang][::2], SAYING[lang][::2])]
    said += [f"{t} {s}" for t, s in itertools.product(THANK[lang][1:], SAYING[lang][1::3])]
    return said


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_words_that_only_agree_or_thank_acknowledge(lang: str) -> None:
    said = agreeing(lang)
    assert len(said) > 200
    assert [t for t in said if not acknowledges(t, lang)] == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_words_that_say_something_do_not(lang: str) -> None:
    said = saying(lang)
    assert len(said) > 100
    assert [t for t in said if acknowledges(t, lang)] == []


def test_case_accents_and_punctuation_do_not_matter() -> None:
    assert acknowledges("Très bien, MERCI !", "fr")
    assert acknowledges("tres bien merci", "fr")
    assert acknowledges("Voila. C’est parfait.", "fr")
    assert acknowledges("That's great, thanks!", "en")


def test_nothing_said_a_long_sentence_or_another_language_is_not_an_acknowledgement() -> None:
    assert not acknowledges("", "fr") and not acknowledges("  ", "en")
    assert not acknowledges(" ".join(["oui"] * (MAX_WORDS + 1)), "fr")
    assert acknowledges(" ".join(["oui"] * MAX_WORDS), "fr")
    assert not acknowledges("merci", "de")  # no lists for this language: every word counts
    assert not acknowledges("merci", "en") and not acknowledges("thanks", "fr")
