"""Warm recognisers before the first callers, so a burst of calls after start-up is heard in time.

A Vosk recogniser on a lookahead model (the small models) expands its decoding graph as it
decodes and keeps what it expanded. Measured on the Korean model with eSpeak NG speech, a
1.9 s request cost 1.40 s of CPU on a fresh recogniser, 0.68 s on one that had decoded 2 s
of other speech, 0.17 s once it had heard those words before. Right after start-up every
recogniser is fresh: eight callers speaking at once then needed more than both cores and
their answers came 4-5 s late (`make bench` ramp, issue #12), while later turns, on warm
recognisers, were decoded within 40-250 ms.

So ``permanence serve`` decodes a few typical caller sentences (synthesised by eSpeak NG in
each tenant language) into as many recognisers as the pool keeps idle, on one decoder
thread, beside the first calls: about a second of CPU per recogniser, done once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from agi.speech.asr import RecognizerFactory
from agi.speech.tts import Synthesizer

log = logging.getLogger(__name__)

# What callers say most (the words of a first turn), two sentences per recogniser.
CALLER_SENTENCES = {
    "fr": ("Bonjour, je voudrais prendre un rendez-vous.", "Oui, mardi prochain à dix heures.",
           "Je voudrais laisser un message, rappelez-moi au zéro six douze.",
           "Non merci, au revoir.", "C'est pour annuler mon rendez-vous de jeudi.",
           "Je m'appelle Jean Dupont."),
    "en": ("Hello, I would like to book an appointment.", "Yes, next Tuesday at ten.",
           "I would like to leave a message, call me back on oh seven.",
           "No thanks, goodbye.", "It is to cancel my appointment on Thursday.",
           "My name is John Smith."),
}


def warm_recognizers(recognizers: RecognizerFactory, synthesizer: Synthesizer,
                     languages: Iterable[str], count: int) -> dict[str, int]:
    """Warm up to ``count`` recognisers per language; returns how many each got.

    A language whose model or voice fails is skipped (its calls report the problem as
    they would anyway); nothing here can stop the server.
    """
    warmed: dict[str, int] = {}
    for language in languages:
        started = time.monotonic()
        sentences = CALLER_SENTENCES.get(language, CALLER_SENTENCES["en"])
        try:
            audio = [synthesizer.synthesize(text, language) for text in sentences]
            warmed[language] = recognizers.warm(language, audio, count)
        except Exception as exc:  # noqa: BLE001 - a warm-up must never stop the server
            log.warning("no recogniser warmed for %s: %s", language, exc)
            continue
        if warmed[language]:
            log.info("%d recognisers warmed for %s in %.1f s", warmed[language], language,
                     time.monotonic() - started)
    return warmed
