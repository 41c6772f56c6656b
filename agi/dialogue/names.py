"""Person names: taken from what a caller says, refused when it is not a name, said back.

A name comes only from a name-like answer. The lead-in ("je m'appelle", "c'est", "au nom
de", "my name is", "this is"...) is dropped, even as a recogniser writes it ("je m
appelle", "c est"); a spelled name ("d u p o n t", "d comme denis u comme ursule", "d for
david", "dupont d u p o n t") is assembled. What is left must look like a name: one to
four words (particles such as "de", "le", "van" aside), none of them a date or time word,
a number, a filler, a word of ordinary speech (a whole sentence is not a name), or
gibberish. Otherwise :func:`extract_name` answers None and the form asks again: a wrong
name on a booking is worse than a second question.
"""

from __future__ import annotations

import re

from agi.dialogue.text import clean

# Lead-ins, longest first; "'" may be missing or a space, as recognisers write it.
_LEADS = {
    "fr": ("je m'appelle", "je me nomme", "je me prénomme", "mon nom de famille est",
           "mon nom de famille c'est", "mon nom est", "mon nom c'est", "mon nom", "le nom c'est",
           "le nom est", "moi c'est", "c'est au nom de", "ce sera au nom de", "mettez au nom de",
           "vous pouvez mettre au nom de", "notez au nom de", "c'est au nom du", "au nom du",
           "au nom de", "à mon nom",
           "de la part de", "c'est de la part de", "ici", "c'est", "je suis", "nom"),
    "en": ("my name is", "my name's", "my surname is", "my last name is", "the name is",
           "the name's", "name's", "under the name of", "under the name", "in the name of",
           "put it under", "it's under", "under", "this is", "it's", "it is", "i'm", "i am",
           "call me", "name"),
}
_WEAK_LEADS = {
    "fr": frozenset({"ici", "c'est", "je suis", "nom", "mon nom", "moi c'est"}),
    "en": frozenset({"under", "this is", "it's", "it is", "i'm", "i am", "call me", "name"}),
}
# Said before or after the name, meaning nothing about it.
_AROUND = {
    "fr": ("oui", "alors", "donc", "bonjour", "bonsoir", "voilà", "ok", "d'accord", "bien sûr",
           "madame", "monsieur", "mademoiselle", "s'il vous plaît", "svp", "merci", "c'est ça",
           "tout simplement",
           # titles: the name is booked without them ("au nom du docteur Martin": Martin)
           "le docteur", "la docteure", "docteure", "docteur", "maître", "professeur", "dr"),
    "en": ("yes", "yeah", "yep", "so", "well", "hello", "hi", "ok", "okay", "sure", "mr", "mrs",
           "ms", "miss", "mister", "please", "thanks", "thank you", "that's right", "right",
           "doctor", "dr", "professor"),
}
# Name particles: lower case inside a name, never a name on their own.
_PARTICLES = frozenset("de du des d' le la van von der den da di del della dos ben bin mac mc st saint sainte".split())
# Words that are never part of a name: dates and times, numbers, ordinary speech.
_NOT_NAME = {
    "fr": frozenset("""
        lundi mardi mercredi jeudi vendredi samedi dimanche janvier février fevrier mars avril
        mai juin juillet août aout septembre octobre novembre décembre decembre demain hier
        aujourd'hui aujourdhui après-demain avant-hier dernier dernière prochain prochaine semaine
        mois année matin matinée fin début midi minuit soir soirée après-midi heure heures minute minutes quart
        demie zéro un une deux trois quatre cinq six sept huit neuf dix onze douze treize
        quatorze quinze seize vingt trente quarante cinquante soixante cent mille premier
        deuxième troisième je j' tu il elle nous vous ils elles on me m' te moi toi lui leur
        mon ma mes ton ta tes son sa ses notre votre nos vos ce cet cette ces ça ca cela qui que
        quoi qu' où ou comment pourquoi quand combien quel quelle quels quelles est suis es sont
        êtes sommes être ai as avons avez ont avoir veux veut voudrais voudrait voulais souhaite
        souhaiterais aimerais peux peut pouvez pourrais pourriez faire fait dois doit pour par
        avec sans sur sous dans chez vers à au aux et mais donc or ni car si pas ne n' non oui
        plus moins très bien rendez-vous rendez vous rdv rappeler rappelez appeler appelle
        annuler déplacer prendre message docteur médecin secrétaire ouvert ouverts ouverte fermé
        horaires adresse prix tarif merci bonjour bonsoir revoir allô allo euh hein bah ben hum
        voilà alors quelqu'un personne rien tout tous chose truc machin comprends compris sais
        désolé désolée pardon excusez attendez attends numéro téléphone portable malade
        disponible dispo là ici pressé pressée retard urgent urgence grave content contente
        fatigué fatiguée prêt prête libre occupé occupée enceinte patient patiente nouveau
        nouvelle client cliente place fils fille mari femme enfant bébé mère père""".split()),
    "en": frozenset("""
        monday tuesday wednesday thursday friday saturday sunday january february march april
        may june july august september october november december today tomorrow yesterday
        tonight next last week weekend month year morning noon midnight evening afternoon night
        o'clock hour hours minute minutes quarter half zero one two three four five six seven
        eight nine ten eleven twelve thirteen fourteen fifteen twenty thirty forty fifty sixty
        hundred thousand first second third i i'm me my mine you your he she it it's we they
        them us our their this that these those what who whom whose where when why how which is
        am are was were be been being have has had do does did want wants wanted would could
        should can will shall like need to for with without from at on in into about by of and
        or but not no yes please thanks thank hello hi bye goodbye appointment booking book
        cancel move message call back number phone doctor open opening hours address price
        sorry pardon um uh erm hmm well just the a an any some anyone someone nothing something
        thing okay ok right know understand wait sick ill here there available free busy late
        calling ringing sorry afraid fine good urgent emergency nobody anybody everybody new
        patient customer ready pregnant tired son daughter husband wife child baby mother
        father space room""".split()),
}
# Sounds and placeholders in both languages, never a name.
_NOISE = frozenset("bla blah blabla blablabla blah-blah tralala lalala hop ouais mouais hein heu uh um "
                   "huh mmh mhm ah oh eh aie ouh pff bof hum hmm".split())
_VOWELS = "aeiouyàâäéèêëîïôöùûüÿæœ"
_LETTER = re.compile(r"^[a-zàâäçéèêëîïôöùûüÿæœ]$")
_SPELL_LINK = {"fr": ("comme",), "en": ("for", "as in", "like")}
_WORD = re.compile(r"^[a-zàâäçéèêëîïôöùûüÿæœñ'-]+$")
MAX_NAME_WORDS = 4


def _lead_pattern(lead: str) -> str:
    return re.escape(lead).replace("'", "['\\s]?").replace("\\ ", "\\s+")


def _strip_around(text: str, lang: str) -> str:
    words = "|".join(_lead_pattern(w) for w in sorted(_AROUND[lang], key=len, reverse=True))
    text = re.sub(rf"^(?:(?:{words})\s+)+", "", text + " ").strip()
    return re.sub(rf"(?:\s+(?:{words}))+$", "", " " + text).strip()


def _after_lead(text: str, lang: str, asked: bool) -> str | None:
    """What follows the lead-in. A lead-in of several words ("je m'appelle") counts anywhere;
    a weak one ("c'est", "je suis", "i'm": "je suis malade" is no name) only at the start of
    an answer to the name question, which may also be the bare name."""
    for lead in _LEADS[lang]:
        m = re.search(rf"(?:^|\s){_lead_pattern(lead)}(?:\s+|$)(.*)$", text)
        if m is None:
            continue
        if lead in _WEAK_LEADS[lang] and not (asked and m.start() == 0):
            continue
        return _up_to_speech(_strip_around(m.group(1), lang), lang)
    return text if asked else None


def _up_to_speech(text: str, lang: str) -> str:
    """The words after a lead-in up to where the sentence goes on ("... dupont pour jeudi")."""
    words = text.split()
    for i, word in enumerate(words):
        if word in _NOT_NAME[lang] and word not in _PARTICLES:
            return " ".join(words[:i])
    return text


def _assemble_spelling(words: list[str], lang: str) -> list[str]:
    """Letters said one by one (or "d comme denis", "d for david") joined into a word; a word
    followed by its own spelling ("dupont d u p o n t") kept once, as spelled."""
    links = _SPELL_LINK[lang]
    out: list[str] = []
    letters: list[str] = []
    i = 0

    def flush() -> None:
        if len(letters) >= 2:
            spelled = "".join(letters)
            if out and out[-1][0] == spelled[0]:
                out.pop()  # the word said before its spelling
            out.append(spelled)
        else:
            out.extend(letters)
        letters.clear()

    while i < len(words):
        word = words[i]
        if _LETTER.match(word):
            letters.append(word)
            i += 1
            for link in links:
                parts = link.split()
                if words[i:i + len(parts)] == parts and i + len(parts) < len(words):
                    i += len(parts) + 1  # the example word ("denis") is not part of the name
                    break
            continue
        flush()
        out.append(word)
        i += 1
    flush()
    return out


def _gibberish(word: str) -> bool:
    """A recogniser's noise rather than a name: no vowel, a run of five consonants, a letter
    three times in a row, or one syllable repeated ("blablabla")."""
    core = word.replace("'", "").replace("-", "")
    if not core or not any(c in _VOWELS for c in core):
        return True
    if re.search(rf"[^{_VOWELS}]{{5,}}", core) or re.search(r"(.)\1\1", core):
        return True
    if re.search(r"azert|qwert|yuiop|asdf|qsdf|hjkl|zxcv|wxcv", core):  # keyboard rows
        return True
    return bool(re.fullmatch(r"(.{2,4})\1{2,}", core)) or len(core) > 24


def _not_a_name_word(word: str, lang: str) -> bool:
    """A date, number, speech or noise word, also inside "quarante-deux", "l'après-midi"."""
    bare = re.sub(r"^[ldjmnst]'", "", word) if lang == "fr" else word
    parts = {word, bare, *bare.split("-")}
    return any(p in _NOT_NAME[lang] or p in _NOISE for p in parts) or _gibberish(word)


def _capitalise(word: str, first: bool) -> str:
    if word in _PARTICLES and not first:
        return word
    if word.startswith(("d'", "o'")) and len(word) > 2:
        return word[0].upper() + "'" + word[2:].capitalize()
    return "-".join(part.capitalize() for part in word.split("-"))


def extract_name(text: str, lang: str, *, asked: bool = False) -> str | None:
    """The person's name in ``text``, capitalised, or None when it holds no name.

    ``asked``: the agent has just asked for the name, so a bare answer ("jean dupont") or a
    one-word lead-in ("c'est ...") counts; otherwise only an explicit lead-in does."""
    t = clean(text).rstrip(".")
    t = re.sub(r"\s*'\s*", "' ", t).replace("' ", "'")  # "m ' appelle" -> "m'appelle"
    t = _strip_around(t, lang)
    rest = _after_lead(t, lang, asked)
    if rest is None:
        return None
    rest = _strip_around(rest, lang)
    words = _assemble_spelling(rest.split(), lang)
    if not words or not all(_WORD.match(w) for w in words):
        return None
    content = [w for w in words if w not in _PARTICLES]
    if not content or len(content) > MAX_NAME_WORDS or words[-1] in _PARTICLES:
        return None
    if any(_not_a_name_word(w, lang) for w in content):
        return None
    if len(content) > 1 and len(set(content)) == 1:  # "blah blah", "jean jean jean"
        return None
    return " ".join(_capitalise(w, i == 0) for i, w in enumerate(words))


def clean_name(text: str, lang: str) -> str:
    """A name given as an answer to "what name?", tidied; "" when it is not a name."""
    return extract_name(text, lang, asked=True) or ""


# Names starting with an aspirated h take no elision ("de Hardy"); other h's are mute.
_ASPIRATED_H = frozenset("hardy hamon hache haddad hainaut hallé halimi hamel harel hébert hugues "
                         "hervé huguet hulot hurel".split())


def of_name(name: str, lang: str) -> str:
    """"de Paul Martin", "d'Alice Aubert", "d'Hélène Roux" (French elision); English: the name."""
    if lang != "fr" or not name:
        return name
    first = name.split()[0].lower()
    elide = first[0] in _VOWELS or (first[0] == "h" and len(first) > 1 and first[1] in _VOWELS
                                     and first not in _ASPIRATED_H)
    return f"d'{name}" if elide else f"de {name}"
