"""``permanence nlu dates``: how well dates and times are understood, per category and language.

Reads the trainers' corpora (``nlu/tests/dates_<lang>.yml`` and the held-out
``dates_heldout_<lang>.yml``; the format is described at the top of each file), runs every
expression through :func:`agi.dialogue.when.parse_when` at its reference moment and prints
accuracy per category as a table, then the failures. The held-out sets are never used to tune
the component: their score is the honest one.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import yaml

from agi.dialogue.when import When, parse_when
from agi.errors import NluProjectError

_REF = re.compile(r"^(?P<iso>[^\[]+)\[(?P<zone>[^\]]+)\]$")


@dataclass(frozen=True)
class Case:
    category: str
    text: str
    expected: str
    reference: datetime


@dataclass(frozen=True)
class Outcome:
    case: Case
    got: str

    @property
    def ok(self) -> bool:
        return self.got == self.case.expected


def render(when: When) -> str:
    """``when`` in the corpus notation (see the corpus files)."""
    if when.past:
        return "past"
    if when.ambiguous:
        return "ambiguous"
    parts = []
    if when.date:
        parts.append(when.date.isoformat())
    elif when.days:
        parts.append(f"{when.days[0].isoformat()}..{when.days[1].isoformat()}")
    if when.time:
        parts.append(when.time.strftime("%H:%M"))
    elif when.window:
        parts.append(f"{when.window[0]:%H:%M}-{when.window[1]:%H:%M}")
    return " ".join(parts) or "none"


def _moment(raw: str, where: str) -> datetime:
    m = _REF.match(str(raw).strip())
    if not m:
        raise NluProjectError(f"{where}: reference {raw!r} is not ISO-8601 followed by [Zone]")
    return datetime.fromisoformat(m["iso"]).astimezone(ZoneInfo(m["zone"]))


def load(path: Path) -> tuple[str, list[Case]]:
    """The language and the cases of one corpus file; :class:`NluProjectError` if malformed."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NluProjectError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise NluProjectError(f"{path}: expected keys language, references, categories")
    refs = {name: _moment(raw, f"{path}: references.{name}")
            for name, raw in (data.get("references") or {}).items()}
    default = data.get("default_reference")
    if default not in refs:
        raise NluProjectError(f"{path}: default_reference {default!r} is not in references")
    cases = []
    for category, items in data["categories"].items():
        for i, item in enumerate(items or []):
            if not isinstance(item, list) or len(item) not in (2, 3):
                raise NluProjectError(f"{path}: {category}[{i}] must be [text, expected(, reference)]")
            ref = str(item[2]) if len(item) == 3 else default
            if ref not in refs:
                raise NluProjectError(f"{path}: {category}[{i}] names unknown reference {ref!r}")
            cases.append(Case(str(category), str(item[0]), str(item[1]), refs[ref]))
    return str(data.get("language", "fr")), cases


def evaluate(lang: str, cases: Sequence[Case]) -> list[Outcome]:
    return [Outcome(c, render(parse_when(c.text, lang, c.reference))) for c in cases]


def scores(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, int]]:
    """(right, total) per category, in corpus order, plus ``all``."""
    table: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        ok, n = table.get(o.case.category, (0, 0))
        table[o.case.category] = (ok + o.ok, n + 1)
    table["all"] = (sum(o.ok for o in outcomes), len(outcomes))
    return table


def report(corpora: Sequence[Path], out: TextIO, *, failures: bool = True) -> bool:
    """Print the accuracy table of each corpus (and its failures); True if all were read."""
    for path in corpora:
        lang, cases = load(path)
        outcomes = evaluate(lang, cases)
        out.write(f"\n{path.name} ({lang}, {len(cases)} expressions)\n")
        out.write(f"  {'category':<16} {'right':>6} {'total':>6} {'accuracy':>9}\n")
        for category, (ok, n) in scores(outcomes).items():
            out.write(f"  {category:<16} {ok:>6} {n:>6} {100 * ok / n:>8.1f}%\n")
        if failures:
            for o in outcomes:
                if not o.ok:
                    out.write(f"  ✗ [{o.case.category}] {o.case.text!r}: expected "
                              f"{o.case.expected}, got {o.got}\n")
    return True


def corpora(project_root: Path, lang: str | None) -> list[Path]:
    langs = [lang] if lang else ["fr", "en"]
    found = []
    for name in langs:
        for stem in (f"dates_{name}", f"dates_heldout_{name}"):
            path = project_root / "tests" / f"{stem}.yml"
            if path.exists():
                found.append(path)
    return found


def add_dates_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``permanence nlu dates`` under the ``nlu`` command."""
    dates = sub.add_parser("dates", help="date/time understanding: accuracy per category")
    dates.add_argument("--lang", choices=("fr", "en"), help="one language (default: both)")
    dates.add_argument("--corpus", type=Path, action="append",
                       help="a corpus file (repeatable; default: nlu/tests/dates_*.yml)")
    dates.add_argument("--no-failures", action="store_true", help="only the tables")


def cmd_dates(args: argparse.Namespace, project_root: Path, out: TextIO = sys.stdout) -> int:
    paths = list(args.corpus or corpora(project_root, args.lang))
    if not paths:
        out.write(f"no date corpus under {project_root / 'tests'}\n")
        return 1
    try:
        report(paths, out, failures=not args.no_failures)
    except NluProjectError as exc:
        out.write(f"{exc}\n")
        return 1
    return 0
