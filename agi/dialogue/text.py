"""Caller text as the recogniser writes it, tidied for the parsers (dates, names, phones)."""

from __future__ import annotations

import re

from text_to_num import alpha2digit

# Spoken fillers an ASR keeps; they confuse the parsers and mean nothing.
FILLERS = re.compile(r"\b(?:euh+|heu+|bah|ben|bon|hum+|uh+|um+|erm|hmm+)\b", re.IGNORECASE)


def digits(text: str, lang: str) -> str:
    """``text`` with every number word as digits ("quinze heures trente" -> "15 heures 30")."""
    return alpha2digit(text, lang, threshold=0)


def clean(text: str) -> str:
    """Lower-case, fillers and punctuation removed, single spaces."""
    text = FILLERS.sub(" ", text.lower().replace("’", "'"))
    text = re.sub(r"[,;!?]+|\.(?!\d)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def same_words(a: str, b: str) -> bool:
    """The same words, whatever the case and spacing (two partial results compared)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
