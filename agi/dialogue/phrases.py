"""Fixed phrases the call session speaks outside the Rasa responses, per language.

The automated-assistant statement (EU AI Act Art. 50: the caller must be told clearly, in
their language, no later than the first interaction, that they talk to an AI system) is
deliberately a constant here and not a tenant setting: tenants word their greeting and
privacy notice, never this sentence. :func:`opening` gives the order every call starts with.
"""

from __future__ import annotations

from agi.config import Tenant

# Short on purpose: with the first layer of the privacy notice it ends within 8 s of the
# answer (tests/call/test_opening.py measures both with eSpeak NG).
AI_STATEMENT = {
    "fr": "Bonjour, assistant automatique de {name}.",
    "en": "Hello, automated assistant of {name}.",
}
UNKNOWN_TENANT = {
    "fr": "Désolé, ce numéro n'est pas configuré sur notre assistant vocal. Merci de rappeler plus tard. Au revoir.",
    "en": "Sorry, this number is not set up on our voice assistant. Please call again later. Goodbye.",
}
DIDNT_HEAR = {
    "fr": "Je ne vous ai pas entendu.",
    "en": "Sorry, I didn't hear you.",
}
STILL_THERE = {
    "fr": "Je ne vous entends toujours pas. N'hésitez pas à rappeler. Au revoir.",
    "en": "I still can't hear you. Please feel free to call again. Goodbye.",
}
TECHNICAL_TRANSFER = {
    "fr": "Nous rencontrons un souci technique, je vous passe un collaborateur.",
    "en": "We have a technical problem, I'm putting you through to a member of staff.",
}
TECHNICAL_MESSAGE = {
    "fr": "Nous rencontrons un souci technique. Votre appel est noté et nous vous rappellerons. Au revoir.",
    "en": "We have a technical problem. Your call has been noted and we will call you back. Goodbye.",
}
TRANSFERRING = {
    "fr": "Je vous transfère, ne quittez pas.",
    "en": "I'm putting you through, please hold.",
}
AFTER_HOURS = {
    "fr": "Notre équipe n'est pas disponible en ce moment ; je peux prendre un message ou une demande de rappel.",
    "en": "Our team is not available right now; I can take a message or a call-back request.",
}
# What the "0" key means outside staffed hours: the dialogue's own request for a human.
HUMAN_REQUEST = {
    "fr": "je voudrais parler à quelqu'un",
    "en": "I would like to speak to someone",
}
# Said at once when the caller's last words call for a write (a booking confirmed, a
# message taken) and they may still go on: the write waits for the end of that moment
# (agi/call/rest_of_turn.py), the reply that tells it follows.
NOTED = {
    "fr": "Très bien.",
    "en": "All right.",
}
GOODBYE = {
    "fr": "Merci de votre appel, au revoir !",
    "en": "Thank you for calling, goodbye!",
}
DEFAULT_GREETING = {
    "fr": "Que puis-je faire pour vous ?",
    "en": "How can I help you?",
}


def phrase(table: dict[str, str], language: str, **values: str) -> str:
    """The phrase in ``language`` (French when the language is unknown), filled in."""
    return table.get(language, table["fr"]).format(**values)


def ai_statement(tenant: Tenant) -> str:
    """The automated-assistant statement, naming the business."""
    return phrase(AI_STATEMENT, tenant.language, name=tenant.name)


def opening(tenant: Tenant) -> list[str]:
    """What every call starts with, in order: AI statement, the first layer of the privacy
    notice (one sentence; the full notice is read on request), greeting.

    Always three items (the config rejects an empty first layer; an empty greeting gets
    the default question), so the session can unpack them.
    """
    greeting = tenant.greeting or phrase(DEFAULT_GREETING, tenant.language)
    return [ai_statement(tenant), tenant.call.first_layer, greeting]


# The full privacy notice, read on request ("données personnelles", key 9), ends with the
# supervisory authority (GDPR Art. 13(2)(d)) and goes back to where the call was.
NOTICE_END = {
    "fr": "Vous pouvez aussi adresser une réclamation à la CNIL.",
    "en": "You may also complain to the data protection authority.",
}
RESUME = {
    "fr": "Reprenons : {question}",
    "en": "Back to your call: {question}",
}
# A silence re-asks the last question in other words: by what it asked for.
REASK = {
    "": {
        "fr": "Je peux prendre, annuler ou déplacer un rendez-vous, ou noter un message. Que souhaitez-vous ?",
        "en": "I can book, cancel or move an appointment, or take a message. What would you like?",
    },
    "date": {
        "fr": "Quel jour vous arrangerait ? Dites par exemple « demain » ou « lundi 14 », "
              "ou tapez le jour puis le mois, puis dièse.",
        "en": "Which day suits you? Say for example 'tomorrow' or 'Monday the 14th', "
              "or key the day then the month, then hash.",
    },
    "time": {
        "fr": "À quelle heure souhaitez-vous venir ? Par exemple « dix heures » ou « quinze heures trente ».",
        "en": "What time would you like? For example 'ten am' or 'half past three'.",
    },
    "name": {
        "fr": "Quel est votre nom, s'il vous plaît ?",
        "en": "What name should I use, please?",
    },
    "message": {
        "fr": "Quel message voulez-vous laisser ? Je vous écoute.",
        "en": "What message would you like to leave? I'm listening.",
    },
    "callback": {
        "fr": "À quel numéro pouvons-nous vous rappeler ? Tapez-le sur le clavier puis dièse, ou dites-le.",
        "en": "Which number can we call you back on? Key it in followed by hash, or say it.",
    },
}
REASK_AGAIN = {
    "fr": "Je vous redemande : {question}",
    "en": "Let me ask again: {question}",
}
KEYPAD_MENU = {
    "fr": "Vous pouvez aussi utiliser le clavier : tapez 1 pour prendre rendez-vous, 2 pour l'annuler, "
          "3 pour le déplacer, 4 pour laisser un message{human}.",
    "en": "You can also use the keypad: press 1 to book an appointment, 2 to cancel one, "
          "3 to move one, 4 to leave a message{human}.",
}
KEYPAD_MENU_HUMAN = {
    "fr": ", ou 0 pour parler à quelqu'un",
    "en": ", or 0 to speak to someone",
}
# What a menu key stands for: a training example of the intent (nlu/<lang>/data/nlu.yml),
# so both dialogue backends understand it as the caller saying it.
KEYPAD_CHOICES = {
    "1": {"fr": "je voudrais prendre rendez-vous", "en": "i'd like to make an appointment"},
    "2": {"fr": "je voudrais annuler mon rendez-vous", "en": "i need to cancel my appointment"},
    "3": {"fr": "je voudrais déplacer mon rendez-vous", "en": "can i move my appointment"},
    "4": {"fr": "je voudrais laisser un message", "en": "i'd like to leave a message"},
}
KEYED_DATE = {
    "fr": "Vous avez tapé le {date}.",
    "en": "You keyed {date}.",
}
KEYED_BAD_DATE = {
    "fr": "Je n'ai pas reconnu cette date. Tapez le jour puis le mois, par exemple 2 5 1 2 "
          "pour le 25 décembre, puis dièse.",
    "en": "I didn't recognise that date. Key the day then the month, for example 2 5 1 2 "
          "for the 25th of December, then hash.",
}
NOT_UNDERSTOOD_END = {
    "fr": "Je suis désolé, je ne parviens pas à vous comprendre. Votre appel est noté. "
          "N'hésitez pas à rappeler. Au revoir.",
    "en": "I'm sorry, I can't understand you. Your call has been noted. "
          "Please feel free to call again. Goodbye.",
}
TIME_LIMIT = {
    "fr": "Cet appel a atteint sa durée maximale. Ce que vous avez dit est noté. Au revoir.",
    "en": "This call has reached its time limit. What you told us has been noted. Goodbye.",
}


def full_notice(tenant: Tenant) -> str:
    """The full privacy notice as spoken on request: the tenant's wording, then the
    supervisory authority."""
    return f"{tenant.privacy_notice} {phrase(NOTICE_END, tenant.language)}"
