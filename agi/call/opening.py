"""The layered opening of a call, and the full privacy notice on request.

Every call starts with the automated-assistant statement (a constant, EU AI Act Art. 50)
and the first layer of the privacy notice: one sentence saying what the data is for and
how to hear the rest (CNIL's advice for telephone information: the essentials at once,
the rest on request). The full notice (the tenant's ``privacy_notice``, GDPR Art. 13) is
read whenever the caller asks for it, by words (:func:`asks_for_notice`) or by key 9, and
the call then goes on where it was.

:func:`first_layer_warnings` is the configuration check on the first layer's spoken
length: past about :data:`FIRST_LAYER_WARN_S` seconds callers start hanging up before
they can say a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from agi.call_settings import NOTICE_DIGIT
from agi.config import Settings, Tenant
from agi.dialogue import phrases
from agi.speech.audio import SAMPLE_RATE

__all__ = ["NOTICE_DIGIT", "FIRST_LAYER_WARN_S", "asks_for_notice", "notice_reply_texts",
           "first_layer_warnings", "estimated_speech_s", "config_warnings", "spoken_seconds"]

FIRST_LAYER_WARN_S = 6.0
# Characters eSpeak NG says a second at the default rate (165 wpm), pauses included: French
# spelling has more letters per sound than English (measured on the default texts;
# tests/call/test_opening.py keeps the estimate within a quarter of the real length).
# Used only when no voice is at hand.
_CHARS_PER_S = {"fr": 19.5, "en": 15.5}

# Ways of asking for the notice, matched on whole words of the text folded to lower-case
# ASCII (so "données" is "donnees" and "coordonnées" never matches "donnees"). A bare "en
# savoir plus" is not one of them: "en savoir plus sur vos horaires" asks something else.
_ASKS = {
    "fr": [
        r"donnees? (?:personnelles?|perso)", r"(?:mes|vos|nos|les|ses) donnees?",
        r"vie privee", r"confidentialite", r"rgpd", r"gdpr", r"cnil",
        r"protection des donnees?", r"traitement des donnees?",
        r"(?:mes|vos|les) droits", r"droits? d'?\s?acces", r"droit a l'?\s?oubli",
        r"informations? personnelles?", r"mentions? legales?",
        r"en savoir plus sur (?:mes|vos|les) (?:donnees?|droits)",
    ],
    "en": [
        r"personal (?:data|details|information|info)", r"(?:my|your|our|the) data",
        r"privacy", r"gdpr", r"data protection", r"data (?:policy|notice|rights|processing)",
        r"(?:my|your) rights", r"right to (?:access|erasure|be forgotten)",
        r"(?:my|your) (?:information|info|details) (?:is |are )?(?:used|kept|stored|processed)",
        r"press nine",
    ],
}
_PATTERNS = {lang: re.compile(r"\b(?:" + "|".join(asks) + r")\b") for lang, asks in _ASKS.items()}


def _fold(text: str) -> str:
    """Lower-case ASCII with single spaces: accents, apostrophes and punctuation fold away."""
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"[’`´]", "'", ascii_text)
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", ascii_text).split())


def asks_for_notice(text: str, language: str) -> bool:
    """True when the caller's words ask about their data or rights (the full notice)."""
    pattern = _PATTERNS.get(language, _PATTERNS["fr"])
    return bool(text) and pattern.search(_fold(text[:2000])) is not None


def notice_reply_texts(tenant: Tenant, question: str) -> tuple[str, ...]:
    """What the agent says when asked for the notice: the full notice, then the question
    the call was at (the call goes on where it was)."""
    texts = [phrases.full_notice(tenant)]
    if question:
        texts.append(phrases.phrase(phrases.RESUME, tenant.language, question=question))
    return tuple(texts)


def estimated_speech_s(text: str, language: str) -> float:
    """About how long eSpeak NG takes to say ``text`` at the default rate."""
    return len(text) / _CHARS_PER_S.get(language, _CHARS_PER_S["fr"])


def first_layer_warnings(tenants: Iterable[Tenant],
                         measure: Callable[[str, str], float] | None = None) -> list[str]:
    """One line per tenant whose first layer takes longer than FIRST_LAYER_WARN_S to say.

    ``measure(text, language)`` gives the spoken seconds (the real synthesiser in
    ``permanence config``); without it the length is estimated from the text.
    """
    out = []
    for tenant in tenants:
        text = tenant.call.first_layer
        seconds = (measure or estimated_speech_s)(text, tenant.language)
        if seconds > FIRST_LAYER_WARN_S:
            out.append(f"tenants.{tenant.id}.privacy_first_layer: about {seconds:.1f} s of speech "
                       f"(more than {FIRST_LAYER_WARN_S:.0f} s): callers wait through it before they "
                       "can speak; keep one short sentence and move the rest to privacy_notice")
    return out


def config_warnings(settings: Settings) -> list[str]:
    """``permanence config``'s warnings on the opening, measured with the real voice
    (eSpeak NG at ``speech.tts_rate``); estimated from the text when it cannot run."""
    from agi.errors import SpeechError
    from agi.speech.tts import EspeakSynthesizer

    try:
        synthesizer = EspeakSynthesizer(settings.speech)
    except SpeechError:
        return first_layer_warnings(settings.tenants)

    def measure(text: str, language: str) -> float:
        try:
            return spoken_seconds(synthesizer.synthesize(text, language))
        except SpeechError:
            return estimated_speech_s(text, language)

    return first_layer_warnings(settings.tenants, measure)


def spoken_seconds(pcm: bytes) -> float:
    """Length of synthesised 8 kHz 16-bit mono audio."""
    return len(pcm) / (SAMPLE_RATE * 2)
