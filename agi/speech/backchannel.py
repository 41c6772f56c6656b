"""Acknowledgements: words a caller says to agree, to thank or to be polite, that ask for nothing new.

"oui ... merci", "parfait", "d'accord très bien", "thank you", "great thanks": when the
caller only paused and the agent has already begun its answer, such words finish the turn
being answered. They do not cut that answer (agi/call/continuation.py): a caller who says
"merci" over "C'est noté, votre rendez-vous est confirmé ..." hears the confirmation to its
end, and the thanks are not taken for a goodbye. Anything else ("oui ... enfin non,
mercredi", "attendez", "non", "pardon ?") is a turn of its own, as before.

Deterministic and explainable, like agi/speech/unfinished.py: an utterance acknowledges
when every word of it is in the lists below (apostrophes split words: "d'accord" is "d"
"accord", "that's" is "that" "s"), and it is short.
"""

from __future__ import annotations

import unicodedata

MAX_WORDS = 8  # "oui oui c'est parfait merci beaucoup": longer is saying something

_FR = frozenset("""
oui ouais ouai ouaip voilà merci beaucoup bien très parfait parfaitement d accord dac
ok okay oké okey c est ça bon super génial excellent nickel impeccable top entendu noté
compris exactement exact tout à fait absolument effectivement carrément hm hmm mhm mmh hum
ah oh ben bah euh marche roule je vous remercie mille mercis s il plaît plait
""".split())
_EN = frozenset("""
yes yeah yep yup ok okay alright all right that s it thanks thank you very much so lovely
perfect great good fine excellent exactly sure cool brilliant wonderful cheers got noted
absolutely indeed mhm mm hmm uh huh oh ah sounds i see right correct a lot please
""".split())
WORDS = {"fr": _FR, "en": _EN}


def _fold(text: str) -> str:
    """Lower case without accents: "Voila", "TRES bien" and "très bien" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_FOLDED = {lang: frozenset(_fold(word) for word in words) for lang, words in WORDS.items()}


def words_of(text: str) -> list[str]:
    spaced = "".join(c if c.isalnum() else " " for c in _fold(text))
    return spaced.split()


def acknowledges(text: str, language: str) -> bool:
    """True when ``text`` only agrees or thanks ("oui merci", "parfait", "thank you")."""
    words = words_of(text)
    known = _FOLDED.get(language)
    return bool(words) and known is not None and len(words) <= MAX_WORDS and all(w in known for w in words)
