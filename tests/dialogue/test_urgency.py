"""The emergency-sentence trigger over a broad corpus of French and English phrasings:
hundreds built from who/what/how combinations, plus the requests that must stay quiet."""

from __future__ import annotations

import itertools

import pytest

from agi.dialogue.urgency import calls_for_emergency

FR_LEADS = ("", "bonjour ", "allô, ", "oui bonjour, ", "excusez-moi mais ", "s'il vous plaît ")
FR_URGENT = (
    "c'est urgent", "c'est une urgence", "j'ai une urgence", "il y a urgence", "c'est très grave",
    "j'ai très mal à la poitrine", "j'ai une douleur dans la poitrine", "mon mari a une douleur thoracique",
    "je crois que je fais une crise cardiaque", "ma mère fait un AVC", "mon fils fait des convulsions",
    "je n'arrive plus à respirer", "ma fille a du mal à respirer", "il ne respire plus", "j'étouffe",
    "elle saigne beaucoup", "il saigne sans arrêt", "une hémorragie", "il a perdu connaissance",
    "ma femme s'est évanouie", "mon père est inconscient", "il a fait un malaise", "elle s'est effondrée",
    "mon grand-père ne se réveille pas", "le bébé ne réagit plus", "j'ai le bras paralysé",
    "il a avalé des médicaments", "une intoxication", "mon fils a fait une overdose",
    "je veux me suicider", "j'ai envie d'en finir", "je n'ai plus envie de vivre",
    "il fait un choc anaphylactique", "sa gorge gonfle", "ses lèvres enflent", "une réaction allergique grave",
    "il s'est gravement brûlé", "on a eu un accident", "il a une fracture ouverte",
    "j'ai une douleur insupportable", "des douleurs atroces", "il a quarante de fièvre",
    "le bébé devient bleu", "appelez le 15", "au secours", "à l'aide", "il faut le SAMU",
    "il faut appeler les pompiers", "envoyez une ambulance", "je perds beaucoup de sang",
    "elle est en danger", "ma femme perd les eaux", "je fais une fausse couche", "il a reçu un coup de couteau",
)
FR_TAILS = ("", " !", ", aidez-moi", ", que dois-je faire ?", " depuis ce matin")
EN_LEADS = ("", "hello, ", "hi, ", "sorry, ", "please, ", "yes hello ")
EN_URGENT = (
    "it's an emergency", "this is urgent", "I have an emergency", "it's really urgent",
    "I have chest pain", "my husband has pains in his chest", "I think I'm having a heart attack",
    "my mother is having a stroke", "my son is having a seizure", "I can't breathe",
    "my daughter is struggling to breathe", "he's not breathing", "she is choking",
    "he's bleeding heavily", "she's bleeding badly", "there is a lot of blood", "he is unconscious",
    "my wife passed out", "she fainted", "my dad collapsed", "grandma won't wake up",
    "the baby is unresponsive", "his face is drooping", "my arm is paralysed",
    "he took an overdose", "she swallowed too many pills", "I think he was poisoned",
    "I feel suicidal", "I want to kill myself", "I don't want to live anymore",
    "she's having an allergic reaction", "his throat is swelling", "her tongue is swelling",
    "he's badly burned", "we had an accident", "he has a broken neck", "I fell and can't get up",
    "I'm in unbearable pain", "the pain is excruciating", "he has a very high fever",
    "the baby is turning blue", "call an ambulance", "help me", "she's in danger",
    "my waters broke", "I think I'm having a miscarriage", "he was stabbed", "he has a head injury",
)
EN_TAILS = ("", "!", ", please help", ", what should I do?", " since this morning")

QUIET = (
    "je voudrais prendre rendez-vous", "je voudrais un rendez-vous jeudi prochain à 10 heures",
    "ce n'est pas urgent, je voudrais un rendez-vous", "rien d'urgent, juste une question",
    "ce n'est pas grave, je rappellerai", "je voudrais annuler mon rendez-vous de demain",
    "pouvez-vous déplacer mon rendez-vous", "quels sont vos horaires", "où se trouve le cabinet",
    "je voudrais laisser un message", "c'est pour un renouvellement d'ordonnance",
    "je m'appelle Jean Dupont", "mon numéro est le 06 12 34 56 78", "oui", "non merci",
    "est-ce qu'il y a un parking", "combien coûte la consultation", "faites-vous les vaccins",
    "I'd like to book an appointment", "not urgent, I just need a check-up",
    "it's not an emergency, I'd like to move my appointment", "nothing serious, just a question",
    "can I cancel my appointment on Friday", "what time do you open", "where are you",
    "I would like to leave a message", "my name is John Smith", "yes please", "no thanks",
    "do you see children", "how much is a check-up", "please call me back tomorrow",
    "", "   ", "euh", "bonjour", "hello",
)


def _corpus(leads: tuple[str, ...], cores: tuple[str, ...], tails: tuple[str, ...]) -> list[str]:
    return [f"{lead}{core}{tail}" for lead, core, tail in itertools.product(leads, cores, tails)]


def test_french_emergencies_are_heard_in_hundreds_of_phrasings() -> None:
    corpus = _corpus(FR_LEADS, FR_URGENT, FR_TAILS)
    assert len(corpus) > 1000
    missed = [text for text in corpus if not calls_for_emergency(text)]
    assert missed == []


def test_english_emergencies_are_heard_in_hundreds_of_phrasings() -> None:
    corpus = _corpus(EN_LEADS, EN_URGENT, EN_TAILS)
    assert len(corpus) > 1000
    missed = [text for text in corpus if not calls_for_emergency(text)]
    assert missed == []


def test_ordinary_requests_and_denials_stay_quiet() -> None:
    loud = [text for text in QUIET if calls_for_emergency(text)]
    assert loud == []


@pytest.mark.parametrize("text", [
    "ce n'est pas urgent mais j'ai très mal à la poitrine",  # a denial does not hide a symptom
    "not urgent, but he's not breathing",
    "C'EST URGENT", "Emergency!", "il ne respire plus" + " très" * 400,
])
def test_a_cue_next_to_a_denial_or_in_odd_text_still_counts(text: str) -> None:
    assert calls_for_emergency(text)
