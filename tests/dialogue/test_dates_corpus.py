"""The date/time corpora (nlu/tests/dates_*.yml) through the real component, with their report.

Thresholds from issue #8: at least 95 % per language and 90 % in every category, on the
tuning corpora and on the held-out ones (never used to tune). Failures are printed.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from agi.dialogue import dates_report as r
from agi.errors import NluProjectError

NLU = Path(__file__).resolve().parents[2] / "nlu"
CORPORA = sorted((NLU / "tests").glob("dates_*.yml"))


def test_the_corpora_are_there_and_big_enough() -> None:
    sizes = {p.name: len(r.load(p)[1]) for p in CORPORA}
    assert sizes["dates_fr.yml"] >= 350 and sizes["dates_en.yml"] >= 250
    assert sizes["dates_heldout_fr.yml"] >= 75 and sizes["dates_heldout_en.yml"] >= 75


@pytest.mark.parametrize("path", CORPORA, ids=[p.stem for p in CORPORA])
def test_accuracy_per_language_and_category(path: Path) -> None:
    lang, cases = r.load(path)
    outcomes = r.evaluate(lang, cases)
    for o in outcomes:
        if not o.ok:
            print(f"{path.name} [{o.case.category}] {o.case.text!r}: expected {o.case.expected}, got {o.got}")
    table = r.scores(outcomes)
    ok, total = table.pop("all")
    assert ok / total >= 0.95, f"{path.name}: {ok}/{total}"
    low = {c: f"{a}/{n}" for c, (a, n) in table.items() if a / n < 0.90}
    assert not low, f"{path.name}: categories under 90 %: {low}"


def test_the_report_command_prints_a_table_per_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "dates_fr.yml"
    corpus.write_text(
        "language: fr\nreferences:\n  lundi: 2026-11-30T09:00:00+01:00[Europe/Paris]\n"
        "default_reference: lundi\ncategories:\n  weekday:\n    - [jeudi, \"2026-12-03\"]\n"
        "    - [jeudi, \"2026-12-10\"]\n", encoding="utf-8")
    out = io.StringIO()
    args = argparse.Namespace(corpus=[corpus], lang=None, no_failures=False)
    assert r.cmd_dates(args, NLU, out) == 0
    text = out.getvalue()
    assert "weekday" in text and "50.0%" in text
    assert "expected 2026-12-10, got 2026-12-03" in text


def test_a_malformed_corpus_is_named(tmp_path: Path) -> None:
    corpus = tmp_path / "bad.yml"
    corpus.write_text("language: fr\nreferences: {}\ndefault_reference: x\ncategories: {a: []}\n",
                      encoding="utf-8")
    with pytest.raises(NluProjectError, match="bad.yml: default_reference 'x'"):
        r.load(corpus)
    out = io.StringIO()
    assert r.cmd_dates(argparse.Namespace(corpus=[corpus], lang=None, no_failures=True), NLU, out) == 1
    assert "bad.yml" in out.getvalue()
