"""Fixed phrases rendered once at start-up, per tenant and language, and played from memory.

A call says the same few things every time: the automated-assistant statement, the
privacy notice, the greeting (or the after-hours one, with the staffed hours: most night
calls open with it) and the common prompts (didn't hear, transfer, goodbye...).
They are rendered before the first call and pinned in the synthesiser (never evicted by
the phrase cache), sentence by sentence since that is how a call streams them, so the
first words of every call cost no synthesis at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from agi.call.staffed import after_hours_greeting
from agi.config import Tenant
from agi.dialogue import phrases
from agi.speech.tts import Synthesizer, split_sentences

# The prompts any call may need whatever the conversation, from agi.dialogue.phrases.
COMMON_PROMPTS = (phrases.DIDNT_HEAR, phrases.STILL_THERE, phrases.TECHNICAL_TRANSFER,
                  phrases.TECHNICAL_MESSAGE, phrases.TRANSFERRING, phrases.GOODBYE,
                  phrases.REASK[""], phrases.NOT_UNDERSTOOD_END, phrases.TIME_LIMIT, phrases.NOTED)


def fixed_phrases(tenant: Tenant) -> list[str]:
    """Every fixed text a call of ``tenant`` may speak, split as calls stream it."""
    texts = [*phrases.opening(tenant), after_hours_greeting(tenant), phrases.full_notice(tenant),
             *(phrases.phrase(table, tenant.language) for table in COMMON_PROMPTS)]
    return sentences(texts)


def sentences(texts: Iterable[str]) -> list[str]:
    """The distinct sentences of ``texts``, in order."""
    return list(dict.fromkeys(s for text in texts for s in split_sentences(text)))


def render_fixed_phrases(synthesizer: Synthesizer, tenants: Iterable[Tenant]) -> int:
    """Render and pin every tenant's fixed phrases (and the unknown-number apology in both
    languages); returns how many sentences are now held in memory."""
    by_language: dict[str, list[str]] = {}
    for tenant in tenants:
        by_language.setdefault(tenant.language, []).extend(fixed_phrases(tenant))
    for language in ("fr", "en"):  # an unknown number hears both (agi.call.session)
        by_language.setdefault(language, []).extend(
            sentences([phrases.phrase(phrases.UNKNOWN_TENANT, language)]))
    total = 0
    for language, texts in by_language.items():
        unique = list(dict.fromkeys(texts))
        synthesizer.pin(unique, language)
        total += len(unique)
    return total
