"""Fixed phrases the call session speaks outside the Rasa responses, per language.

The automated-assistant statement (EU AI Act Art. 50: the caller must be told clearly, in
their language, no later than the first interaction, that they talk to an AI system) is
deliberately a constant here and not a tenant setting: tenants word their greeting and
privacy notice, never this sentence. :func:`opening` gives the order every call starts with.
"""

from __future__ import annotations

from agi.config import Tenant

AI_STATEMENT = {
    "fr": "Bonjour, vous parlez à un assistant vocal automatique qui répond pour {name}.",
    "en": "Hello, you are speaking with an automated voice assistant answering for {name}.",
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
    """What every call starts with, in order: AI statement, privacy notice, greeting.

    Always three items (the config rejects an empty notice; an empty greeting gets the
    default question), so the session can unpack them.
    """
    greeting = tenant.greeting or phrase(DEFAULT_GREETING, tenant.language)
    return [ai_statement(tenant), tenant.privacy_notice, greeting]
