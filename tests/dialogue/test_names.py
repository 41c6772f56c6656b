"""Names from what callers say (agi/dialogue/names.py), and the French read-back grammar.

The corpora are written as a recogniser writes: lower case, no punctuation, apostrophes
sometimes lost ("je m appelle"), numbers in words. Names are crossed with the ways callers
introduce them, so that no single phrasing is tuned for.
"""

from __future__ import annotations

from datetime import date

import pytest

from agi.dialogue.names import clean_name, extract_name, of_name
from agi.dialogue.normalize import speak_date
from agi.dialogue.phones import parse_phone, speak_phone

FR_PEOPLE = [("jean dupont", "Jean Dupont"), ("marie-claire martin", "Marie-Claire Martin"),
             ("alice aubert", "Alice Aubert"), ("hélène roux", "Hélène Roux"),
             ("pierre de la fontaine", "Pierre de la Fontaine"), ("yves le gall", "Yves le Gall"),
             ("fatima benali", "Fatima Benali"), ("nguyen van an", "Nguyen van An"),
             ("élodie garçon", "Élodie Garçon"), ("jean-baptiste lefèvre", "Jean-Baptiste Lefèvre"),
             ("camille d'artagnan", "Camille D'Artagnan"), ("lucas moreau", "Lucas Moreau"),
             ("inès chevalier", "Inès Chevalier"), ("thomas petit", "Thomas Petit"),
             ("zoé blanchard", "Zoé Blanchard"), ("dupont", "Dupont"), ("madeleine", "Madeleine")]
FR_LEADS_ANYWHERE = ["je m'appelle {}", "je m appelle {}", "euh je m'appelle {}", "oui je m appelle {}",
                     "mon nom est {}", "au nom de {}", "c'est au nom de {}", "mettez au nom de {}",
                     "bonjour je m'appelle {} merci", "ce sera au nom de {} s'il vous plaît",
                     "de la part de {}", "mon nom de famille est {}", "je me nomme {}"]
FR_LEADS_ASKED = ["{}", "c'est {}", "c est {}", "moi c'est {}", "oui c'est {}", "alors {}",
                  "madame {}", "monsieur {}", "{} voilà", "euh {}", "je suis {}", "ici {}"]
EN_PEOPLE = [("john smith", "John Smith"), ("mary o'brien", "Mary O'Brien"),
             ("anna jones", "Anna Jones"), ("david van der berg", "David van der Berg"),
             ("sarah-jane wilson", "Sarah-Jane Wilson"), ("oliver brown", "Oliver Brown"),
             ("priya patel", "Priya Patel"), ("liam murphy", "Liam Murphy"),
             ("emily clarke", "Emily Clarke"), ("george harris", "George Harris"),
             ("chloe evans", "Chloe Evans"), ("mohammed khan", "Mohammed Khan"),
             ("grace taylor", "Grace Taylor"), ("harris", "Harris"), ("isabella", "Isabella")]
EN_LEADS_ANYWHERE = ["my name is {}", "uh my name is {}", "yes my name is {}", "my name's {}",
                     "the name is {}", "the name's {}", "under the name {}", "in the name of {}",
                     "hello my name is {} thanks", "put it under the name of {} please",
                     "my surname is {}", "my last name is {}"]
EN_LEADS_ASKED = ["{}", "it's {}", "it is {}", "this is {}", "i'm {}", "i am {}", "yes it's {}",
                  "well {}", "mr {}", "mrs {}", "{} please", "um {}"]


def _corpus(people: list[tuple[str, str]], leads: list[str]) -> list[tuple[str, str]]:
    return [(lead.format(said), name) for said, name in people for lead in leads]


FR_NAMES = _corpus(FR_PEOPLE, FR_LEADS_ANYWHERE + FR_LEADS_ASKED)
EN_NAMES = _corpus(EN_PEOPLE, EN_LEADS_ANYWHERE + EN_LEADS_ASKED)

FR_NOT_NAMES = [
    "lundi dernier", "mardi prochain", "jeudi", "demain", "après-demain", "aujourd'hui",
    "la semaine prochaine", "le douze mars", "le premier décembre", "vendredi matin",
    "à dix heures", "dix heures trente", "midi", "en fin de matinée", "ce soir", "mercredi après-midi",
    "zéro six douze trente quatre cinquante six", "un deux trois", "quarante-deux", "12", "2026",
    "vingt et un", "cent", "euh", "hum", "bah", "ben euh", "hein", "voilà", "oui", "non", "merci",
    "d'accord", "bonjour", "allô", "je ne sais pas", "je voudrais prendre rendez-vous",
    "je veux annuler mon rendez-vous", "c'est pour un rendez-vous", "vous êtes ouverts le samedi",
    "je suis malade", "je suis désolé", "c'est pour mon fils", "pouvez-vous me rappeler",
    "est-ce que le docteur est là", "je voudrais parler à la secrétaire", "quel est votre adresse",
    "attendez une seconde", "pardon vous pouvez répéter", "je n'ai pas compris", "rien",
    "c'est quoi les horaires", "c'est combien", "je rappellerai plus tard", "pour jeudi",
    "au nom de", "je m'appelle", "c'est", "blablabla", "blabla bla", "bla bla bla", "xkcd",
    "pfff", "mmmh", "tsss", "azertyuiop", "grrrr", "lalala", "hmm hmm", "aaaa", "brrr krrr",
    "qsdfghjklm", "tralala", "mhm", "zzz", "je voudrais un rendez-vous jeudi à dix heures",
    "mon fils a de la fièvre depuis hier", "il faudrait que je vienne avec ma carte vitale",
    "est-ce que je peux venir avec mon chien", "je voulais savoir si vous faites les vaccins",
    "c'est urgent", "oui c'est ça", "non merci au revoir", "au revoir", "le premier",
    "le deuxième", "le dernier", "le matin", "l'après-midi", "plutôt le soir", "vers quinze heures",
    "dans deux semaines", "le mois prochain", "en janvier", "fin décembre", "huit heures et quart",
    "onze heures moins le quart", "zéro un quarante", "six", "trente", "deux mille vingt-six",
    "c'est moi", "moi", "personne", "quelqu'un", "le docteur", "la secrétaire", "mon numéro",
    "je suis disponible", "je suis là", "ok", "bon ben", "alors euh", "donc voilà",
    "j'appelle pour un renseignement", "c'est pour une consultation", "avez-vous de la place",
]
EN_NOT_NAMES = [
    "last monday", "next tuesday", "thursday", "tomorrow", "today", "the day after tomorrow",
    "next week", "the twelfth of march", "december first", "friday morning", "at ten am",
    "ten thirty", "noon", "this evening", "wednesday afternoon", "in two weeks", "next month",
    "oh seven seven double oh nine", "one two three", "forty two", "12", "2026", "twenty one",
    "a hundred", "um", "uh", "erm", "hmm", "well", "yes", "no", "thanks", "okay", "hello", "bye",
    "i don't know", "i would like to book an appointment", "i want to cancel my appointment",
    "it's for an appointment", "are you open on saturday", "i'm sick", "i'm sorry",
    "it's for my son", "can you call me back", "is the doctor in", "i'd like to speak to reception",
    "what is your address", "wait a second", "sorry can you repeat", "i didn't understand",
    "nothing", "what are your hours", "how much is it", "i'll call back later", "for thursday",
    "my name is", "it's", "blah blah blah", "blah", "xkcd", "pfff", "mmmh", "tsss", "grrrr",
    "qwertyuiop", "lalala", "hmm hmm", "aaaa", "brrr krrr", "zzz", "mhm",
    "i'd like an appointment on thursday at ten", "my son has had a fever since yesterday",
    "do i need to bring anything", "can i come with my dog", "do you do vaccinations",
    "it's urgent", "yes that's right", "no thanks bye", "goodbye", "the first one",
    "the second one", "the last one", "in the morning", "the afternoon", "rather in the evening",
    "around three pm", "in january", "end of december", "quarter past eight", "quarter to eleven",
    "six", "thirty", "two thousand twenty six", "it's me", "me", "nobody", "someone",
    "the doctor", "the receptionist", "my number", "i am available", "i'm here", "right",
    "so um", "just a moment", "i'm calling about an appointment", "it's for a check-up",
    "do you have any space", "this is for an appointment", "call me back please",
]


def test_the_corpora_are_broad() -> None:
    assert len(FR_NAMES) >= 150 and len(EN_NAMES) >= 150
    assert len(set(FR_NOT_NAMES)) >= 100 and len(set(EN_NOT_NAMES)) >= 100


@pytest.mark.parametrize(("said", "name"), FR_NAMES)
def test_french_names_said_in_many_ways(said: str, name: str) -> None:
    assert extract_name(said, "fr", asked=True) == name


@pytest.mark.parametrize(("said", "name"), EN_NAMES)
def test_english_names_said_in_many_ways(said: str, name: str) -> None:
    assert extract_name(said, "en", asked=True) == name


@pytest.mark.parametrize("said", FR_NOT_NAMES)
def test_french_non_names_are_refused(said: str) -> None:
    assert extract_name(said, "fr", asked=True) is None
    assert clean_name(said, "fr") == ""


@pytest.mark.parametrize("said", EN_NOT_NAMES)
def test_english_non_names_are_refused(said: str) -> None:
    assert extract_name(said, "en", asked=True) is None


@pytest.mark.parametrize(("said", "lang", "name"), [
    ("je voudrais un rendez-vous jeudi au nom de jean dupont à dix heures", "fr", "Jean Dupont"),
    ("bonjour je m appelle alice aubert pour un rendez-vous", "fr", "Alice Aubert"),
    ("i'd like to book for thursday my name is john smith at ten", "en", "John Smith"),
])
def test_a_name_after_an_explicit_lead_in_is_taken_out_of_a_sentence(said: str, lang: str, name: str) -> None:
    assert extract_name(said, lang) == name


@pytest.mark.parametrize(("said", "lang"), [
    ("jean dupont", "fr"), ("c'est paul martin", "fr"), ("je suis jean", "fr"),
    ("john smith", "en"), ("it's anna jones", "en"), ("i'm sick", "en"),
])
def test_without_the_question_only_an_explicit_lead_in_gives_a_name(said: str, lang: str) -> None:
    assert extract_name(said, lang) is None


@pytest.mark.parametrize(("said", "lang", "name"), [
    ("d u p o n t", "fr", "Dupont"),
    ("dupont d u p o n t", "fr", "Dupont"),
    ("d comme denis u comme ursule p comme pierre o comme olga n comme noël t comme thérèse", "fr", "Dupont"),
    ("jean dupond d u p o n t", "fr", "Jean Dupont"),
    ("c'est m a r t i n", "fr", "Martin"),
    ("s m i t h", "en", "Smith"),
    ("smith s m i t h", "en", "Smith"),
    ("j for john o for oscar n for november e for echo s for sugar", "en", "Jones"),
    ("anna j as in juliet o as in oscar n e s", "en", "Anna Jones"),
])
def test_spelled_names_are_assembled(said: str, lang: str, name: str) -> None:
    assert extract_name(said, lang, asked=True) == name


@pytest.mark.parametrize(("name", "said"), [
    ("Alice Aubert", "d'Alice Aubert"), ("Hélène Roux", "d'Hélène Roux"), ("Yves Le Gall", "d'Yves Le Gall"),
    ("Élodie Garçon", "d'Élodie Garçon"), ("Paul Martin", "de Paul Martin"), ("Hardy", "de Hardy"),
    ("Inès", "d'Inès"), ("Martin", "de Martin"), ("Océane Petit", "d'Océane Petit"),
])
def test_french_read_back_elides_before_a_vowel_or_mute_h(name: str, said: str) -> None:
    assert of_name(name, "fr") == said
    assert of_name(name, "en") == name


def test_french_dates_say_the_first_of_the_month_as_premier() -> None:
    assert speak_date(date(2026, 12, 1), "fr") == "mardi 1er décembre"
    assert speak_date(date(2026, 12, 2), "fr") == "mercredi 2 décembre"


@pytest.mark.parametrize(("number", "lang", "said"), [
    ("+33612345678", "fr", "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
    ("+33171809070", "fr", "zéro un, soixante et onze, quatre-vingts, quatre-vingt-dix, soixante-dix"),
    ("+33681979921", "fr", "zéro six, quatre-vingt-un, quatre-vingt-dix-sept, quatre-vingt-dix-neuf, vingt et un"),
    ("+447911123456", "en", "oh seven nine one one, one two three, four five six"),
])
def test_phone_numbers_are_read_back_as_people_say_them(number: str, lang: str, said: str) -> None:
    assert speak_phone(number, lang) == said
    # and what is read back is heard as the same number
    assert parse_phone(said.replace(",", ""), lang) == number
