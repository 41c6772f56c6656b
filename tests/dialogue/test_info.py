"""Practical questions answered from the tenant's data (agi/dialogue/info.py, [tenants.info],
[[tenants.faq]]), and the validation of those tables."""

from __future__ import annotations

import dataclasses

import pytest

from agi.config import load_settings, settings_from_dict
from agi.dialogue.info import HOURS, answer
from agi.errors import ConfigError
from agi.tenants import Tenant

SETTINGS = load_settings(None, {})
FR, EN = SETTINGS.tenant("demo"), SETTINGS.tenant("demo-en")

FR_QUESTIONS = {
    HOURS: ["vous êtes ouverts le mercredi après-midi", "quels sont vos horaires", "vous fermez à quelle heure",
            "c'est quoi vos horaires d'ouverture", "est-ce que le cabinet est ouvert samedi",
            "jusqu à quelle heure vous êtes là", "quels jours vous êtes ouverts"],
    "address": ["quelle est votre adresse", "où se trouve le cabinet", "vous êtes situés où",
                "c'est quelle rue", "vous êtes où exactement", "euh l adresse du cabinet"],
    "access": ["est-ce que c'est accessible en fauteuil roulant", "il y a un ascenseur",
               "c'est à quel étage", "quel métro pour venir", "comment venir en bus"],
    "prices": ["combien coûte une consultation", "quels sont vos tarifs", "c'est quoi le prix",
               "vous faites des dépassements d honoraires", "ça coûte combien"],
    "bring": ["qu est-ce que je dois apporter", "il faut amener la carte vitale",
              "je dois prévoir des documents", "faut il apporter l ordonnance"],
    "payment": ["je peux payer par carte bancaire", "vous prenez les chèques", "on peut régler en espèces",
                "vous faites le tiers payant", "quel moyen de paiement"],
    "parking": ["est-ce qu il y a un parking", "où est-ce que je peux me garer", "le stationnement est facile",
                "je peux venir en voiture"],
    "faq": ["vous faites les vaccins", "pour la vaccination contre la grippe"],
}
EN_QUESTIONS = {
    HOURS: ["are you open on wednesday afternoon", "what are your opening hours", "what time do you close",
            "which days are you open", "until what time are you there"],
    "address": ["what is your address", "where are you located", "where is the practice",
                "which street are you on", "how do i find you"],
    "prices": ["how much is a check-up", "what are your prices", "what does it cost", "what's the fee"],
    "bring": ["what should i bring", "do i need to bring a prescription", "what paperwork do i need"],
    "payment": ["can i pay by card", "do you take cash", "is contactless ok"],
    "parking": ["is there parking", "where can i park", "is there a car park nearby"],
    "faq": ["do you see children", "can i bring my kids"],
}


@pytest.mark.parametrize(("tenant", "topic", "question"),
                         [(FR, t, q) for t, qs in FR_QUESTIONS.items() for q in qs]
                         + [(EN, t, q) for t, qs in EN_QUESTIONS.items() for q in qs])
def test_the_topic_of_a_practical_question(tenant: Tenant, topic: str, question: str) -> None:
    found = answer(question, tenant)
    assert found.topic == topic
    if topic == "faq":
        assert found.text == tenant.faq[0].answer
    elif topic != HOURS:
        assert found.text == tenant.info[topic]


@pytest.mark.parametrize(("tenant", "question"), [
    (FR, "est-ce que vous acceptez les chiens"), (FR, "le docteur parle anglais"),
    (FR, "j ai une question"), (EN, "do you take dogs"), (EN, "does the doctor speak french"),
    (EN, "access for wheelchairs"),  # demo-en gives no access information
])
def test_a_question_with_no_answer_gets_none(tenant: Tenant, question: str) -> None:
    assert answer(question, tenant).text == ""


def test_a_topic_the_tenant_left_out_is_not_answered_with_something_else() -> None:
    bare = dataclasses.replace(FR, info={}, faq=())
    found = answer("est-ce qu il y a un parking", bare)
    assert (found.topic, found.text) == ("parking", "")


def _raw(**tenant: object) -> dict[str, object]:
    return {"tenants": [{"id": "t", "services": [{"name": "consultation", "duration_min": 30}], **tenant}]}


def test_info_and_faq_are_read() -> None:
    t = settings_from_dict(_raw(info={"parking": " Derrière le bâtiment. "},
                                faq=[{"question": "Chiens ?", "keywords": ["Chien"], "answer": "Non."}])).tenants[0]
    assert t.info == {"parking": "Derrière le bâtiment."}
    assert (t.faq[0].keywords, t.faq[0].answer) == (("chien",), "Non.")


@pytest.mark.parametrize(("tenant", "key"), [
    ({"info": {"wifi": "oui"}}, "tenants.t.info.wifi"),
    ({"info": {"parking": ""}}, "tenants.t.info.parking"),
    ({"info": {"parking": "x" * 401}}, "tenants.t.info.parking"),
    ({"faq": [{"keywords": [], "answer": "Non."}]}, "tenants.t.faq[0].keywords"),
    ({"faq": [{"keywords": ["chien"]}]}, "tenants.t.faq[0].answer"),
    ({"faq": [{"keywords": ["chien"], "answer": "Non.", "reponse": "x"}]}, "tenants.t.faq[0].reponse"),
])
def test_bad_info_or_faq_names_the_key(tenant: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(_raw(**tenant))
    assert key in str(err.value)
