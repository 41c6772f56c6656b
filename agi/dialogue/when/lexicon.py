"""Spoken French and English as a recogniser writes it, turned into one canonical string.

The grammar of :mod:`agi.dialogue.when` is written against that string: lower case, no
accents, no punctuation, hyphens and apostrophes as spaces, hesitations dropped, and every
number said in words as digits ("vingt et un" -> ``21``, "septante-deux" -> ``72``,
"twenty first" -> ``21e``: an ordinal ends in ``e``). Sequences of three or more numbers in a
row are a dictated phone number (or a postcode, an account): they become ``#`` so that no
date or time is ever read out of them.

Numbers are parsed here rather than by ``text2num``: its ``alpha2digit`` joins an article to
the next number ("un rendez-vous à neuf heures" loses the nine) and knows neither ordinals
as dates need them nor "oh"/"double" of British dictation. One pass over the words, so the
cost is linear in the length of the sentence.
"""

from __future__ import annotations

import re
import unicodedata

# A run of this many numbers in a row is a dictated phone number, never a date or a time.
PHONE_RUN = 3

FILLERS = {
    "fr": frozenset("euh euhh heu heuu hum hmm bah ben bon alors voila disons mettons genre quoi hein "
                    "ah oh beh bref".split()),
    "en": frozenset("um umm uh uhh er erm hmm hm well like so okay ok ah right".split()),
}

_FR_UNITS = {"zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
             "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
             "quatorze": 14, "quinze": 15, "seize": 16}
_FR_TENS = {"vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
            "septante": 70, "huitante": 80, "octante": 80, "nonante": 90}
_FR_ORD_STEMS = {"cinqu": "cinq", "neuv": "neuf", "un": "un"}

_EN_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
             "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
             "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_EN_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
           "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
           "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17,
           "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30}
# "a second", "one second", "just a second" are not the 2nd.
_NOT_ORDINAL_SECOND = frozenset({"a", "one", "per", "just"})

_DIGIT_ORD = re.compile(r"^(\d{1,2})(?:er|ere|re|eme|e|st|nd|rd|th)$")


def fold(text: str) -> str:
    """Lower case without accents, punctuation, hyphens or apostrophes (one space between words)."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(\d)[h:](\d)", r"\1 h \2", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def canonical(text: str, lang: str) -> str:
    """``text`` as the date grammar reads it (see the module docstring)."""
    words = [w for w in fold(text).split() if w not in FILLERS.get(lang, frozenset())]
    tokens = _numbers_fr(words) if lang == "fr" else _numbers_en(words)
    return " ".join(_mask_phones(tokens))


def _mask_phones(tokens: list[str]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if tok.isdigit():
            run.append(tok)
            continue
        clock = len(run) == PHONE_RUN and run[1] == "0" and run[0][0] != "0" and int(run[0]) <= 23
        if (len(run) >= PHONE_RUN and not clock) or any(len(r) > 4 or (len(r) > 1 and r[0] == "0") for r in run):
            out.append("#")
        else:
            out.extend(run)
        run = []
        if tok:
            out.append(tok)
    return out


# French ----------------------------------------------------------------------------------
def _fr_ordinal(word: str) -> int | None:
    if word in ("premier", "premiere", "1er", "1ere", "1re"):
        return 1
    m = _DIGIT_ORD.match(word)
    if m and not word.endswith(("st", "nd", "rd", "th")):
        return int(m[1])
    if word.endswith("ieme") and len(word) > 5:
        stem = word[:-4]
        for cand in (_FR_ORD_STEMS.get(stem, stem), stem + "e"):
            if cand in _FR_UNITS:
                return _FR_UNITS[cand]
            if cand in _FR_TENS:
                return _FR_TENS[cand]
    return None


def _fr_below_100(words: list[str], i: int) -> tuple[int, int] | None:
    """The number starting at ``words[i]`` below 100 and the index after it."""
    w = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if w == "quatre" and nxt in ("vingt", "vingts"):
        value, i = 80, i + 2
    elif w in _FR_TENS:
        value, i = _FR_TENS[w], i + 1
    elif w == "dix" and nxt in ("sept", "huit", "neuf"):
        return 10 + _FR_UNITS[nxt], i + 2
    elif w in _FR_UNITS:
        return _FR_UNITS[w], i + 1
    elif w.isdigit():
        return int(w), i + 1
    else:
        return None
    rest = words[i:i + 3]
    if rest[:2] in (["et", "un"], ["et", "une"]) and value < 80:
        return value + 1, i + 2
    if rest[:2] == ["et", "onze"] and value == 60:
        return 71, i + 2
    if rest and value in (60, 80):
        if rest[0] == "dix" and len(rest) > 1 and rest[1] in ("sept", "huit", "neuf"):
            return value + 10 + _FR_UNITS[rest[1]], i + 2
        if rest[0] in _FR_UNITS and 10 <= _FR_UNITS[rest[0]] <= 16:
            return value + _FR_UNITS[rest[0]], i + 1
    if rest and rest[0] in _FR_UNITS and 1 <= _FR_UNITS[rest[0]] <= 9 and rest[0] not in ("une",):
        return value + _FR_UNITS[rest[0]], i + 1
    return value, i


def _numbers_fr(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        ordinal = _fr_ordinal(words[i])
        if ordinal is not None:
            # Days are said with cardinals in French, except "le premier": "le deuxième" is a
            # choice among offered slots, so it keeps a form no day rule reads.
            out.append("1e" if ordinal == 1 else f"{ordinal}ieme")
            i += 1
            continue
        found = _fr_below_100(words, i)
        if found is None:
            out.append(words[i])
            i += 1
            continue
        value, i = found
        if i < len(words) and words[i] in ("mille", "mil"):  # deux mille vingt-sept
            value, i = value * 1000, i + 1
            tail = _fr_below_100(words, i) if i < len(words) else None
            if tail:
                value, i = value + tail[0], tail[1]
        out.append(str(value))
    return out


# English ---------------------------------------------------------------------------------
def _en_below_100(words: list[str], i: int) -> tuple[int, int, bool] | None:
    """(value, next index, is ordinal) of the number starting at ``words[i]``."""
    w = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    m = _DIGIT_ORD.match(w)
    if m:
        return int(m[1]), i + 1, True
    if w in _EN_TENS:
        value = _EN_TENS[w]
        if nxt in _EN_UNITS and 1 <= _EN_UNITS[nxt] <= 9:
            return value + _EN_UNITS[nxt], i + 2, False
        if nxt in _EN_ORD and _EN_ORD[nxt] <= 9:
            return value + _EN_ORD[nxt], i + 2, True
        return value, i + 1, False
    if w in _EN_UNITS:
        return _EN_UNITS[w], i + 1, False
    if w in _EN_ORD and not (w == "second" and i and words[i - 1] in _NOT_ORDINAL_SECOND):
        return _EN_ORD[w], i + 1, True
    if w.isdigit():
        return int(w), i + 1, False
    return None


def _numbers_en(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        spoken_digit = nxt in _EN_UNITS or nxt in ("oh", "o", "double", "triple") or nxt.isdigit()
        if w in ("oh", "o") and nxt != "clock" and (spoken_digit or (out and out[-1].isdigit())):
            out.append("0")
            i += 1
            continue
        if w in ("double", "triple") and (nxt in _EN_UNITS or nxt in ("oh", "o")):
            digit = "0" if nxt in ("oh", "o") else str(_EN_UNITS[nxt])
            out.extend([digit] * (2 if w == "double" else 3))
            i += 2
            continue
        found = _en_below_100(words, i)
        if found is None:
            out.append(w)
            i += 1
            continue
        value, i, ordinal = found
        if not ordinal and i < len(words) and words[i] == "thousand":  # two thousand and twenty
            value, i = value * 1000, i + 1
            if i < len(words) and words[i] == "and":
                i += 1
            tail = _en_below_100(words, i) if i < len(words) else None
            if tail:
                value, i = value + tail[0], tail[1]
        out.append(f"{value}e" if ordinal else str(value))
    return out
