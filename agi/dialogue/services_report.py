"""The service and practitioner recognition corpus (nlu/tests/services_<lang>.yml), scored.

Each carrier sentence is played with each way of naming a service or a practitioner, then
the held-out sentences; :func:`score` gives, per category, how many came out right and how
many were a wrong guess (a service or practitioner named when another, or none, was meant:
the worst error, since the agent would book it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from agi.config import Settings
from agi.dialogue.catalogue import find_resource, find_service
from agi.errors import NluProjectError, UnknownTenant


@dataclass(frozen=True)
class Case:
    category: str  # services, practitioners, held_out
    tenant: str
    text: str
    what: str  # service or practitioner
    expected: str | None


@dataclass(frozen=True)
class Score:
    category: str
    total: int
    right: int
    wrong_guesses: int
    misses: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def load_cases(path: str | Path) -> list[Case]:
    """The corpus's cases: carriers x mentions, then the held-out sentences."""
    raw: Any = yaml.safe_load(Path(path).read_text("utf-8"))
    if not isinstance(raw, dict):
        raise NluProjectError(f"{path}: expected a mapping with services, practitioners, held_out")
    return [*_product(raw, "services", "service"), *_product(raw, "practitioners", "practitioner"),
            *_held_out(path, raw.get("held_out") or [])]


def _product(raw: dict[str, Any], key: str, what: str) -> Iterator[Case]:
    carriers = raw.get(f"{what}_carriers") or []
    for tenant, by_value in (raw.get(key) or {}).items():
        for value, mentions in by_value.items():
            for mention in mentions:
                for carrier in carriers:
                    yield Case(key, tenant, carrier.replace("{x}", mention), what,
                               None if value in (None, "null") else str(value))


def _held_out(path: str | Path, rows: list[Any]) -> Iterator[Case]:
    for row in rows:
        if not isinstance(row, dict) or "tenant" not in row or "text" not in row:
            raise NluProjectError(f"{path}: each held_out row needs tenant and text, got {row!r}")
        for what in ("service", "practitioner"):
            if what in row:
                yield Case("held_out", row["tenant"], row["text"], what,
                           None if row[what] is None else str(row[what]))


def found(case: Case, settings: Settings) -> str | None:
    tenant = settings.tenant(case.tenant)
    hit = find_service(case.text, tenant) if case.what == "service" else find_resource(case.text, tenant)
    return hit.name if hit is not None else None


def score(cases: list[Case], settings: Settings) -> list[Score]:
    """Accuracy and wrong guesses per category, in corpus order."""
    out = []
    for category in dict.fromkeys(c.category for c in cases):
        mine = [c for c in cases if c.category == category]
        got = [(c, found(c, settings)) for c in mine]
        misses = tuple(f"{c.text!r}: {g!r}, expected {c.expected!r}" for c, g in got if g != c.expected)
        wrong = sum(1 for c, g in got if g is not None and g != c.expected)
        out.append(Score(category, len(mine), len(mine) - len(misses), wrong, misses))
    return out


def table(lang: str, scores: list[Score]) -> str:
    lines = [f"{'language':<9}{'category':<15}{'cases':>6}{'right':>8}{'wrong guesses':>15}"]
    lines += [f"{lang:<9}{s.category:<15}{s.total:>6}{s.accuracy:>8.1%}{s.wrong_guesses:>15}"
              for s in scores]
    return "\n".join(lines)


def add_services_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``permanence nlu services`` under the ``nlu`` command."""
    services = sub.add_parser("services", help="service and practitioner recognition: accuracy per category")
    services.add_argument("--lang", choices=("fr", "en"), help="one language (default: both)")
    services.add_argument("--no-failures", action="store_true", help="only the tables")


def cmd_services(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    """Score nlu/tests/services_<lang>.yml against the configured tenants it names."""
    root = settings.dialogue.project_dir
    for lang in [args.lang] if args.lang else ["fr", "en"]:
        path = root / "tests" / f"services_{lang}.yml"
        try:
            scores = score(load_cases(path), settings)
        except (OSError, NluProjectError, UnknownTenant) as exc:
            out.write(f"permanence nlu services: {exc}\n")
            return 1
        out.write(table(lang, scores) + "\n")
        if not args.no_failures:
            out.writelines(f"  {s.category}: {miss}\n" for s in scores for miss in s.misses)
    return 0
