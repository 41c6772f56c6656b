"""The builtin engine's intent classifier: what the caller wants, from a recogniser's words.

Texts go through :func:`intent_text` first, which folds the variants a recogniser writes for
the same words into one spelling: accents ("à"/"a", "déplacer"/"deplacer"), apostrophes
("j'ai"/"j ai", "c'est"/"c est") and hyphens ("rendez-vous"/"rendez vous") become plain
letters and spaces, and hesitations ("euh", "ben", "bah", "um", "erm") are dropped. Unlike
:func:`agi.dialogue.normalize.clean`, which prepares dates and names, "bon" is kept: "c'est
bon" is a yes.

The model is TF-IDF on character n-grams within words (robust to a misheard syllable and to
unseen inflections) plus word uni- and bigrams (word order: "pas bon" vs "bon"), into a
multinomial logistic regression whose probabilities are the confidence the engine compares
with config.yml's FallbackClassifier threshold. ``permanence nlu test`` cross-validates and
scores the held-out files with exactly this pipeline (:func:`build_pipeline`).

Callers open with a greeting and go on to their request in one breath ("allô bonjour
madame je cherche un rendez-vous"); the greeting's words can outweigh the request's in
such a sentence. :func:`after_greeting` takes off the greetings it opens with (the
trainer's own ``greet`` examples), so the engine can read the request on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

# Hesitations a recogniser writes and that say nothing about the intent.
_HESITATIONS = re.compile(r"\b(?:euh+|heu+|bah|ben|hum+|uh+|um+|erm+|er|hmm+|mh+)\b")
_NOT_LETTERS = re.compile(r"[^\w]+|_")
# The regularisation of the logistic regression: high C trusts the (small, hand-written)
# training data; probabilities stay spread enough on unseen words to reach the fallback.
C = 20.0


def intent_text(text: str) -> str:
    """``text`` as the classifier reads it: lower case, unaccented, no fillers or punctuation."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = _NOT_LETTERS.sub(" ", folded)
    return " ".join(_HESITATIONS.sub(" ", folded).split())


def build_pipeline() -> Pipeline:
    """The untrained intent classifier, fed texts already through :func:`intent_text`.

    One function so that the engine and ``permanence nlu test`` (cross-validation and the
    held-out files, agi/dialogue/evaluation.py) measure exactly the same model.
    """
    return Pipeline([
        ("features", FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        ])),
        ("clf", LogisticRegression(C=C, solver="newton-cg", max_iter=1000)),
    ])


class IntentClassifier:
    """One language's trained intent model: ``predict(text) -> (intent, confidence)``."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        self._pipeline = build_pipeline()
        self._pipeline.fit([intent_text(t) for t in texts], list(labels))

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self._pipeline.classes_)

    def predict(self, text: str) -> tuple[str, float]:
        """The most probable intent and its probability (the caller applies the threshold)."""
        probs = self._pipeline.predict_proba([intent_text(text)])[0]
        best = int(probs.argmax())
        return str(self._pipeline.classes_[best]), float(probs[best])


def greetings(examples: Sequence[str]) -> tuple[str, ...]:
    """The greeting examples as :func:`after_greeting` matches them: folded, longest first."""
    return tuple(sorted({intent_text(t) for t in examples} - {""}, key=len, reverse=True))


def after_greeting(text: str, greeting_texts: Sequence[str]) -> str:
    """``text`` (folded by :func:`intent_text`) after the greetings it opens with; "" when it
    is nothing but greetings. ``greeting_texts`` comes from :func:`greetings`."""
    return _strip_greetings(intent_text(text), greeting_texts)


def _strip_greetings(rest: str, greeting_texts: Sequence[str]) -> str:
    while rest:
        opening = next((g for g in greeting_texts if rest == g or rest.startswith(g + " ")), None)
        if opening is None:
            break
        rest = rest[len(opening) + 1:]
    return rest


class Greetings:
    """One language's greeting examples, as a turn that opens with them is read: a greeting
    asks for nothing, so what matters is what follows it."""

    def __init__(self, examples: Sequence[str]) -> None:
        self.texts = greetings(examples)
        # what may follow a greeting and still be nothing but one ("monsieur", "madame",
        # "à vous", "c'est pour" ...)
        self.words = frozenset(w for g in self.texts for w in g.split())

    def after(self, text: str) -> str | None:
        """What follows the greetings ``text`` opens with, folded ("" when nothing does);
        None when it opens with none."""
        folded = intent_text(text)
        rest = _strip_greetings(folded, self.texts)
        return None if rest == folded else rest

    def only(self, rest: str) -> bool:
        """Whether ``rest`` (from :meth:`after`) says nothing but the greetings' own words."""
        return all(w in self.words for w in rest.split())

    def greets_only(self, text: str) -> bool:
        """Whether ``text`` opens with a greeting and says nothing but the greetings' own
        words after it ("bonsoir monsieur", "allô oui bonjour madame" when the trainer wrote
        "bonjour madame" and "allô oui"): a greeting, whatever the classifier weighs. A bare
        "oui" or "madame" opens with no greeting, so it stays the classifier's."""
        rest = self.after(text)
        return rest is not None and self.only(rest)
