"""Does what the caller said call for the tenant's emergency sentence?

Not a diagnosis and never a triage: when the words suggest an emergency (a named
emergency, a life-threatening symptom, a call for help, a wish to die), the agent says
the tenant's emergency sentence ("en cas d'urgence, composez le 15") once, and the call
goes on. A false alarm costs one sentence; a missed one may cost much more, so the cues
are broad, and only explicit denials ("ce n'est pas urgent", "no emergency") with no
other cue keep it silent. French and English, accents and case ignored; linear regular
expressions over the normalised text (tests/dialogue/test_urgency.py holds the corpus).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["calls_for_emergency"]

# What a transcript may be: longer text is cut (a recogniser never gives more in a turn).
MAX_CHARS: Final = 1000

_FR_CUES: Final = (
    r"\burgen(?:ce|t|te|ts|tes)\b", r"\burgemment\b", r"\bsamu\b", r"\bpompiers?\b",
    r"\bambulance\b", r"\bau secours\b", r"\ba l aide\b", r"\bappele[rz]? (?:le )?(?:15|18|112)\b",
    r"\b(?:douleurs?|mal|serrement|oppression) (?:a|dans) la poitrine\b", r"\bdouleurs? thoraciques?\b",
    r"\b(?:crise|arret) cardiaque\b", r"\binfarctus\b", r"\bavc\b", r"\bcrise d epilepsie\b",
    r"\bconvuls", r"\b(?:n arrive|arrive) (?:pas|plus) a respirer\b", r"\bdu mal a respirer\b",
    r"\b(?:ne )?respire (?:plus|mal)\b", r"\betouffe", r"\bsuffoque", r"\bessouffle",
    r"\bsaigne(?:nt|ment)? (?:beaucoup|enormement|abondamment|sans arret|fort)\b",
    r"\bsaigne(?:ment)? (?:qui ne s arrete pas|abondant)\b", r"\bhemorragie\b",
    r"\bperd(?:s|u)? (?:beaucoup )?de sang\b",
    r"\b(?:perdu|perd|perdre) connaissance\b", r"\bevanoui", r"\binconscient", r"\bmalaise\b",
    r"\bs est effondre", r"\bne se reveille pas\b", r"\bne reagit (?:plus|pas)\b",
    r"\bparalys", r"\bvisage (?:qui )?(?:se )?paralys", r"\bne sent plus (?:son|sa|mon|ma) (?:bras|jambe)\b",
    r"\bintoxi", r"\bempoisonn", r"\boverdose\b", r"\bsurdose\b",
    r"\bavale (?:des|trop de) (?:medicaments|cachets|pilules)\b",
    r"\bsuicid", r"\bme tuer\b", r"\ben finir\b", r"\bmettre fin a (?:mes|ses) jours\b", r"\bplus envie de vivre\b",
    r"\bchoc anaphylactique\b", r"\breaction allergique (?:grave|severe|forte)\b",
    r"\b(?:gorge|langue|visage|levres?) (?:qui )?(?:gonfle|enfle)", r"\boedeme\b",
    r"\bbrul(?:e|ure)s? (?:grave|graves|profonde|profondes|etendue)\b", r"\bgravement (?:blesse|brule|malade)\b",
    r"\baccident\b", r"\bfracture ouverte\b",
    r"\btombe(?:e)? (?:et )?(?:ne peut|ne peux|n arrive) plus (?:se|me) relever\b",
    r"\bdouleurs? (?:est |sont )?(?:insupportables?|atroces?|terribles?|violentes?|intenses?)\b",
    r"\bc est grave\b", r"\btres grave\b", r"\bdanger de mort\b", r"\ben danger\b",
    r"\bfievre (?:tres )?(?:elevee|forte)\b", r"\b(?:40|quarante|41|quarante et un) de fievre\b",
    r"\bbebe (?:ne respire|est tout bleu|devient bleu)", r"\b(?:devient|est tout|tout) bleu\b",
    r"\bcoup de couteau\b", r"\bagress", r"\bviolence", r"\bfausse couche\b", r"\bperd(?:s)? les eaux\b",
)
_EN_CUES: Final = (
    r"\bemergenc(?:y|ies)\b", r"\burgent(?:ly)?\b", r"\burgency\b", r"\bambulance\b", r"\bparamedics?\b",
    r"\bhelp me\b", r"\bcall (?:an? )?(?:ambulance|doctor now)\b", r"\b(?:999|911|112)\b",
    r"\bchest pains?\b", r"\bpains? in (?:my|his|her|the) chest\b", r"\bheart attack\b", r"\bcardiac arrest\b",
    r"\bstroke\b", r"\bseizures?\b", r"\bfit\b(?= (?:and|now|right))", r"\bconvuls",
    r"\b(?:can ?not|cant|can t|unable to|struggling to|trouble|hard to) breath(?:e|ing)?\b",
    r"\bnot breathing\b", r"\bshort(?:ness)? of breath\b", r"\bchoking\b", r"\bsuffocat",
    r"\bbleeding (?:heavily|badly|a lot|profusely|won t stop|that won t stop|non ?stop)\b",
    r"\blot of blood\b", r"\bhaemorrhag", r"\bhemorrhag", r"\blosing (?:a lot of )?blood\b",
    r"\bunconscious\b", r"\bpassed out\b", r"\bfaint(?:ed|ing)\b", r"\bcollapsed\b", r"\bwon t wake up\b",
    r"\bunresponsive\b", r"\bparaly[sz]", r"\bface (?:is )?droop", r"\bnumb (?:arm|leg|face)\b",
    r"\boverdose", r"\bpoison", r"\bswallowed (?:too many|a lot of|all (?:my|the)) (?:pills|tablets)\b",
    r"\bsuicid", r"\bkill (?:myself|himself|herself)\b", r"\bend (?:my|it all|my life)\b",
    r"\bdon t want to live\b", r"\bwant to die\b", r"\banaphyla", r"\bsevere allergic\b",
    r"\ballergic reaction\b", r"\b(?:throat|tongue|face|lips?) (?:is |are )?swell", r"\bswollen (?:throat|tongue)\b",
    r"\bbad(?:ly)? burn", r"\bsevere(?:ly)? (?:burn|pain|bleed|injur|hurt)", r"\bseriously (?:hurt|injured|ill)\b",
    r"\baccident\b", r"\bbroken (?:bone|neck|back)\b", r"\bfell and can t get up\b",
    r"\b(?:unbearable|excruciating|agonising|agonizing|terrible|extreme) pain\b",
    r"\bpain is (?:unbearable|excruciating|agonising|agonizing|terrible|extreme)\b",
    r"\blife threatening\b", r"\bin danger\b", r"\bvery high (?:fever|temperature)\b",
    r"\bturning blue\b", r"\bstabbed\b", r"\battacked\b", r"\bassault", r"\bmiscarr", r"\bwaters? (?:have |has )?broke",
    r"\bknocked out\b", r"\bhead injury\b",
)
# "pas urgent", "rien de grave", "not an emergency": a denial, unless another cue stands.
_DENIALS: Final = (
    r"\b(?:pas|rien|sans|aucune?) (?:d |de |tres |vraiment |du tout )?(?:urgen(?:ce|t|te)|grave|presse)\b",
    r"\bn est pas (?:tres |vraiment )?(?:urgent|grave|une urgence)\b",
    r"\b(?:not|no|non|nothing|isn t|is not|not really) (?:an? |very |that |too )?(?:urgent|emergency|serious)\b",
    r"\bnothing (?:urgent|serious)\b",
)
_CUES = re.compile("|".join(_FR_CUES + _EN_CUES))
_DENIAL = re.compile("|".join(_DENIALS))


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text[:MAX_CHARS].lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def calls_for_emergency(text: str) -> bool:
    """True if the caller's words suggest an emergency (see the module docstring)."""
    plain = _normalise(text)
    if not plain:
        return False
    if _CUES.search(plain) is None:
        return False
    return _CUES.search(_DENIAL.sub(" ", plain)) is not None
