"""The layered opening: how long it sounds (real eSpeak NG), the words that ask for the full
notice (broad corpora of phrasings, and every training example as a negative), and the
settings and configuration warning of the first layer."""

from __future__ import annotations

import itertools
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import yaml

from agi.call.opening import (
    FIRST_LAYER_WARN_S,
    asks_for_notice,
    estimated_speech_s,
    first_layer_warnings,
    notice_reply_texts,
    spoken_seconds,
)
from agi.config import settings_from_dict
from agi.dialogue import phrases
from agi.errors import ConfigError

from conftest import Shared

NLU = Path(__file__).resolve().parents[2] / "nlu"
# The caller may speak once the statement and the first layer have played (the greeting
# after them can be interrupted): with the default texts that is within 8 s of the answer.
SPEAK_WITHIN_S = 8.0


def default_raw() -> dict:
    return tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))


def test_with_the_default_texts_the_caller_can_speak_within_8_s(shared: Shared) -> None:
    settings = settings_from_dict(default_raw(), {})
    for tenant in settings.tenants:
        statement, first_layer, greeting = phrases.opening(tenant)
        seconds = [spoken_seconds(shared.synthesizer.synthesize(text, tenant.language))
                   for text in (statement, first_layer)]
        assert sum(seconds) < SPEAK_WITHIN_S, (tenant.id, seconds)
        assert seconds[1] < FIRST_LAYER_WARN_S
        assert first_layer_warnings([tenant], lambda text, lang: spoken_seconds(
            shared.synthesizer.synthesize(text, lang))) == []
        # the estimate used without a voice stays within a quarter of the real length
        for text, real in zip((statement, first_layer), seconds, strict=True):
            assert abs(estimated_speech_s(text, tenant.language) - real) < real / 4, (text, real)


def test_a_long_first_layer_is_warned_about_with_its_key(shared: Shared) -> None:
    raw = default_raw()
    raw["tenants"][0]["privacy_first_layer"] = (
        "Le Cabinet Médical du Parc, responsable du traitement, enregistre votre appel et vos "
        "coordonnées pour gérer vos rendez-vous pendant trois ans ; pour exercer vos droits "
        "d'accès, de rectification ou d'effacement ou en savoir plus, dites « données "
        "personnelles » ou tapez 9.")
    settings = settings_from_dict(raw, {})
    measured = first_layer_warnings(settings.tenants, lambda text, lang: spoken_seconds(
        shared.synthesizer.synthesize(text, lang)))
    [warning] = measured
    assert warning.startswith("tenants.demo.privacy_first_layer: about ")
    assert first_layer_warnings(settings.tenants) != []  # the estimate agrees


@pytest.mark.parametrize(("patch", "error"), [
    ({"privacy_first_layer": " "}, "privacy_first_layer: must not be empty"),
    ({"privacy_first_layer": "Vos données servent à vous répondre."}, "does not tell callers to press 9"),
    ({"privacy_first_layer": "Tapez 9. " + "x" * 300}, "longer than 300 characters"),
    ({"max_call_s": 2}, "max_call_s: invalid value 2"),
    ({"max_call_s": "long"}, "max_call_s: invalid value 'long'"),
])
def test_bad_opening_settings_name_the_key(patch: dict, error: str) -> None:
    raw = default_raw()
    raw["tenants"][0].update(patch)
    with pytest.raises(ConfigError, match=error):
        settings_from_dict(raw, {})


def test_the_first_layer_and_the_longest_call_are_read_per_tenant() -> None:
    raw = default_raw()
    raw["tenants"][1].update(privacy_first_layer="Data used to reply; press nine for more.", max_call_s=600)
    fr, en = settings_from_dict(raw, {}).tenants
    assert "9" in fr.call.first_layer and fr.call.max_call_s == 900
    assert en.call.first_layer == "Data used to reply; press nine for more." and en.call.max_call_s == 600


def test_the_full_notice_names_the_authority_and_goes_back_to_the_question() -> None:
    fr = settings_from_dict(default_raw(), {}).tenants[0]
    notice, resume = notice_reply_texts(fr, "Pour quel jour souhaitez-vous le rendez-vous ?")
    assert notice.startswith(fr.privacy_notice) and "CNIL" in notice
    assert resume == "Reprenons : Pour quel jour souhaitez-vous le rendez-vous ?"


# --------------------------------------------------------------------------- the words

FR_LEADS = ["", "euh ", "bonjour ", "oui alors ", "excusez-moi ", "je voudrais ", "j'aimerais ",
            "pouvez-vous me parler de ", "c'est quoi ", "dites-moi ", "je veux connaître ",
            "qu'est-ce que vous faites de ", "j'ai une question sur "]
FR_ASKS = ["données personnelles", "mes données personnelles", "mes données", "vos données",
           "la protection des données", "le traitement des données", "ma vie privée",
           "la confidentialité", "le RGPD", "la CNIL", "mes droits", "le droit d'accès",
           "le droit à l'oubli", "mes informations personnelles", "les mentions légales",
           "en savoir plus sur mes données", "DONNÉES PERSONNELLES", "donnee personnelle",
           "données perso"]
FR_TAILS = ["", " s'il vous plaît", " merci", " ?"]
EN_LEADS = ["", "um ", "hello ", "yes so ", "excuse me ", "i'd like to hear about ", "tell me about ",
            "what about ", "what do you do with ", "can you explain ", "i have a question about "]
EN_ASKS = ["personal data", "my personal data", "my data", "your data policy", "privacy",
           "your privacy notice", "data protection", "GDPR", "my rights", "the right to erasure",
           "the right to be forgotten", "my personal information", "personal details",
           "how my information is used", "Personal Data"]
EN_TAILS = ["", " please", " thanks", "?"]


@pytest.mark.parametrize(("language", "leads", "asks", "tails"), [
    ("fr", FR_LEADS, FR_ASKS, FR_TAILS), ("en", EN_LEADS, EN_ASKS, EN_TAILS)])
def test_hundreds_of_ways_to_ask_for_the_notice_are_heard(language: str, leads: list[str],
                                                          asks: list[str], tails: list[str]) -> None:
    phrasings = [f"{lead}{ask}{tail}" for lead, ask, tail in itertools.product(leads, asks, tails)]
    assert len(phrasings) > 500
    missed = [p for p in phrasings if not asks_for_notice(p, language)]
    assert missed == []


def training_examples(language: str) -> list[str]:
    data = yaml.safe_load((NLU / language / "data" / "nlu.yml").read_text("utf-8"))
    out = []
    for item in data["nlu"]:
        for line in str(item.get("examples", "")).splitlines():
            text = line.strip().removeprefix("- ")
            # [mardi](date) -> mardi
            while "[" in text and "](" in text:
                start = text.index("[")
                mid = text.index("](", start)
                end = text.index(")", mid)
                text = text[:start] + text[start + 1:mid] + text[end + 1:]
            if text:
                out.append(text)
    return out


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_training_example_of_the_dialogue_is_taken_for_a_notice_request(language: str) -> None:
    examples = training_examples(language)
    assert len(examples) > 300
    taken = [e for e in examples if asks_for_notice(e, language)]
    assert taken == []


@pytest.mark.parametrize(("language", "text"), [
    ("fr", "je voudrais laisser mes coordonnées"), ("fr", "je voudrais en savoir plus sur vos horaires"),
    ("fr", "je vous donne mon numéro"), ("fr", "c'est pour une ordonnance"), ("fr", ""),
    ("en", "let me give you my details"), ("en", "i'd like to know more about your prices"),
    ("en", "nine o'clock please"), ("en", "the data"[:3]),
])
def test_near_misses_are_not_taken_for_a_notice_request(language: str, text: str) -> None:
    assert not asks_for_notice(text, language)


def test_permanence_config_prints_the_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agi.cli import main

    config = tmp_path / "permanence.toml"
    config.write_text('''
[[tenants]]
id = "long"
name = "Garage"
privacy_first_layer = "Le Garage, responsable du traitement, enregistre votre appel, votre numéro et votre demande pour gérer vos rendez-vous et vous rappeler ; pour exercer vos droits d'accès, de rectification ou d'effacement, ou en savoir plus, dites « données personnelles » ou tapez 9."
[[tenants.services]]
name = "révision"
duration_min = 60
''', "utf-8")
    assert main(["--config", str(config), "config"]) == 0
    out = capsys.readouterr().out
    assert "configuration is valid" in out and "warning: tenants.long.privacy_first_layer: about " in out


def test_the_emulator_takes_keys_in_order_with_words() -> None:
    from agi.cli import build_parser

    args = build_parser().parse_args(["call", "--say", "bonjour", "--dtmf", "0612#", "--say", "oui"])
    assert args.turns == [("say", "bonjour"), ("dtmf", "0612#"), ("say", "oui")]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["call", "--dtmf", "12x"])
