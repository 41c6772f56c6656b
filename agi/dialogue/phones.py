"""Phone numbers: spoken digits to E.164, and E.164 read back the way people say numbers."""

from __future__ import annotations

import re

import phonenumbers

from agi.dialogue.text import clean, digits

_EN_DOUBLE = re.compile(r"\b(double|triple) (\d)\b")
# Fewer digits than this is a time, a day or a count, not a phone number.
MIN_PHONE_DIGITS = 6


def parse_phone(text: str, lang: str, region: str | None = None) -> str | None:
    """A spoken phone number as E.164 ("zéro six douze ..." -> "+33612345678"), or None.

    UK callers say "oh" for zero and "double seven": both are expanded before
    phonenumbers validates the number for the tenant's region.
    """
    t = clean(text)
    if lang == "en":
        t = re.sub(r"\b(?:oh|o)\b", "0", t)
    t = digits(t, lang)
    if lang == "en":
        t = _EN_DOUBLE.sub(lambda m: m[2] * (2 if m[1] == "double" else 3), t)
        t = re.sub(r"\b(double|triple) 0\b", lambda m: "0" * (2 if m[1] == "double" else 3), t)
    t = t.replace("plus", "+")
    raw = "".join(re.findall(r"[+\d]", t))
    if len(re.sub(r"\D", "", raw)) < MIN_PHONE_DIGITS:
        return None
    return to_e164(raw, region or ("FR" if lang == "fr" else "GB"))


def to_e164(raw: str, region: str, *, strict: bool = True) -> str | None:
    """``raw`` digits (national or international) as E.164 in ``region``'s numbering plan.

    ``strict`` asks phonenumbers for a valid number (spoken numbers must be real ones);
    otherwise a possible number is enough (caller ids of private networks).
    """
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(num) if strict else phonenumbers.is_possible_number(num)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) if ok else None


_FR_UNITS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
_FR_TENS = {10: "dix", 11: "onze", 12: "douze", 13: "treize", 14: "quatorze", 15: "quinze",
            16: "seize", 20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante",
            60: "soixante", 80: "quatre-vingt"}
_EN_UNITS = ("oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _fr_pair(n: int) -> str:
    """A two-digit group as French says it: "06" -> "zéro six", "71" -> "soixante et onze"."""
    if n < 10:
        return f"zéro {_FR_UNITS[n]}"
    if n in _FR_TENS:
        return _FR_TENS[n] + ("s" if n == 80 else "")
    tens, unit = divmod(n, 10)
    if tens in (7, 9):
        base, rest = _FR_TENS[60 if tens == 7 else 80], 10 + unit
        joiner = " et " if n == 71 else "-"
        return f"{base}{joiner}{_FR_TENS[rest] if rest in _FR_TENS else 'dix-' + _FR_UNITS[unit]}"
    word = _FR_TENS[tens * 10]
    return f"{word} et un" if unit == 1 and tens != 8 else f"{word}-{_FR_UNITS[unit]}"


def speak_phone(e164: str, lang: str) -> str:
    """The number read back as people say it: French in pairs ("zéro six, douze, trente-quatre,
    ..."), English digit by digit in groups ("oh seven seven, ...")."""
    num = phonenumbers.parse(e164, None)
    national = phonenumbers.national_significant_number(num)
    local = "0" + national if num.country_code in (33, 44) else national
    if lang == "fr":
        pairs = [local[i:i + 2] for i in range(0, len(local), 2)]
        return ", ".join(_fr_pair(int(p)) if len(p) == 2 else _FR_UNITS[int(p)] for p in pairs)
    groups = [local[:5], local[5:8], local[8:]] if len(local) == 11 else \
        [local[i:i + 3] for i in range(0, len(local), 3)]
    return ", ".join(" ".join(_EN_UNITS[int(d)] for d in g) for g in groups if g)
