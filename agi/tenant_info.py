"""Practical information a tenant gives callers: ``[tenants.info]`` topics and
``[[tenants.faq]]`` question/answer pairs, validated (errors name the key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agi.errors import ConfigError

# Practical information a tenant can give callers, by topic ([tenants.info]).
INFO_TOPICS = ("address", "access", "prices", "bring", "payment", "parking")


@dataclass(frozen=True)
class Faq:
    """A question the business answers itself ([[tenants.faq]]): found by its keywords."""

    question: str
    keywords: tuple[str, ...]
    answer: str


# Longer answers are read out for too long on a phone line.
MAX_ANSWER_CHARS = 400


def _answer(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, f"expected a sentence to say, got {value!r}")
    if len(value) > MAX_ANSWER_CHARS:
        raise ConfigError(where, f"longer than {MAX_ANSWER_CHARS} characters",
                          "callers hear it read out: keep it short")
    return value.strip()


def parse_info(where: str, raw: Any) -> dict[str, str]:
    """``[tenants.info]``: one sentence per topic of INFO_TOPICS."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table", 'e.g. [tenants.info] address = "12 rue du Parc"')
    for key in raw:
        if key not in INFO_TOPICS:
            raise ConfigError(f"{where}.{key}", "unknown topic", f"known: {', '.join(INFO_TOPICS)}; "
                              "other questions go in [[tenants.faq]]")
    return {key: _answer(f"{where}.{key}", value) for key, value in raw.items()}


def parse_faqs(where: str, raw: Any) -> tuple[Faq, ...]:
    """``[[tenants.faq]]``: question, keywords (what callers say), answer."""
    if not isinstance(raw, list):
        raise ConfigError(where, "must be a list of tables", "write [[tenants.faq]] entries")
    out = []
    for i, table in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(at, "must be a table", 'e.g. { question = "...", keywords = ["..."], answer = "..." }')
        for key in table:
            if key not in ("question", "keywords", "answer"):
                raise ConfigError(f"{at}.{key}", "unknown faq setting", "known: answer, keywords, question")
        keywords = table.get("keywords")
        if (not isinstance(keywords, list) or not keywords
                or not all(isinstance(k, str) and k.strip() for k in keywords)):
            raise ConfigError(f"{at}.keywords", f"expected a list of words callers say, got {keywords!r}",
                              'e.g. keywords = ["vaccin", "vaccination"]')
        question = table.get("question", "")
        if not isinstance(question, str):
            raise ConfigError(f"{at}.question", f"expected a string, got {question!r}")
        out.append(Faq(question=question.strip(), keywords=tuple(k.strip().lower() for k in keywords),
                       answer=_answer(f"{at}.answer", table.get("answer"))))
    return tuple(out)

