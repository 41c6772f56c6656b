"""Words a sentence cannot end on: a pause after them is a hesitation, not the end of a turn.

"Je voudrais un rendez-vous pour ... mardi", "my number is ... oh seven": when the
recogniser's partial words end on a preposition, an article, a conjunction, a possessive,
a filler, a number word (a phone number is dictated in groups, so a pause after any number
waits, "at ten" too) or a verb that still wants its object ("je voudrais ...", "I'd like
to book ..."), the caller is thinking, not done. The endpointer then waits the dictation
window for that pause
(:meth:`agi.speech.endpoint.Endpointer.hold`) instead of ending the turn, and no
end-of-turn model may end it early. Deterministic and explainable: a trainer can read the
lists below.
"""

from __future__ import annotations

_FR_NUMBERS = frozenset("""zéro un deux trois quatre cinq six sept huit neuf dix onze douze
treize quatorze quinze seize vingt trente quarante cinquante soixante cent mille""".split())
_FR = _FR_NUMBERS | frozenset("""
à au aux de du des d le la les l un une mon ma mes ton ta tes son sa ses notre nos votre vos
leur leurs ce cet cette ces pour par avec sans sur sous dans en vers chez entre et ou mais
donc que qu qui quoi dont si comme est c suis je j tu il elle on nous vous ils elles me m
te t se s lui y euh heu ben bah hum alors enfin voilà genre fin plutôt très plus moins
numéro
voudrais voudrait voudrions aimerais aimerait souhaiterais souhaiterait souhaite veux voulais
cherche cherchais prendre laisser avoir faire parler joindre appelle appelais besoin
""".split())
_EN = frozenset("""
a an the my your his her our their its this that these those to for of with without on in at
by from into about and or but so because if than then is are was am i'm it's i you he she we
they me um uh er erm like well oh zero one two three four five six seven eight nine ten
eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty
forty fifty sixty seventy eighty ninety hundred double triple number is my
that's there's here's what's where's who's you're we're they're i've you've we've i'll we'll
would want wanted need needed can could may leave make book see speak talk get
calling looking trying
""".split())
WORDS = {"fr": _FR, "en": _EN}


def left_open(text: str, language: str) -> bool:
    """True when ``text`` (words so far) stops on a word no sentence ends on."""
    words = text.casefold().replace("’", "'").split()
    if not words:
        return False
    last = words[-1].strip(".,;:!?")
    if "-" in last and all(part in _FR_NUMBERS or part == "et" for part in last.split("-")):
        return True  # "cinquante-six", "soixante-et-onze": a number
    known = WORDS.get(language, frozenset())
    # a contraction as a whole ("that's", "i'm") or by its last part ("c'est"; "l'" by its first)
    head, _, tail = last.rpartition("'")
    return last in known or (tail or head) in known
