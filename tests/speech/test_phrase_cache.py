"""Fixed phrases are rendered once at start-up, per tenant and language, and kept."""

from __future__ import annotations

import tomllib
from importlib import resources

from agi.call.staffed import after_hours_greeting
from agi.config import SpeechSettings, settings_from_dict
from agi.dialogue import phrases
from agi.speech.phrase_cache import fixed_phrases, render_fixed_phrases
from agi.speech.tts import EspeakSynthesizer, split_sentences


def tenants():  # the shipped demo tenants: one French, one English
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    return settings_from_dict(raw, {}).tenants


def test_fixed_phrases_are_the_sentences_a_call_streams() -> None:
    french = next(t for t in tenants() if t.language == "fr")
    sentences = fixed_phrases(french)
    for text in [*phrases.opening(french), after_hours_greeting(french),
                 phrases.phrase(phrases.STILL_THERE, "fr")]:
        assert set(split_sentences(text)) <= set(sentences)  # as a call splits them
    assert len(sentences) == len(set(sentences))


def test_pinned_phrases_play_from_memory_whatever_else_is_said() -> None:
    synth = EspeakSynthesizer(SpeechSettings(), cache_size=4)
    all_tenants = tenants()
    count = render_fixed_phrases(synth, all_tenants)
    rendered = synth.renders
    assert count == rendered  # each fixed sentence rendered once
    synth.prepare([f"Phrase number {n}." for n in range(10)], "en")  # floods the small LRU
    for tenant in all_tenants:
        for text in phrases.opening(tenant):
            assert list(synth.synthesize_stream(text, tenant.language))  # streamed from memory
    apology = phrases.phrase(phrases.UNKNOWN_TENANT, "en")
    assert list(synth.synthesize_stream(apology, "en"))
    assert synth.renders == rendered + 10  # only the flood was rendered
