"""Service and practitioner recognition against the corpus nlu/tests/services_<lang>.yml
(carrier sentences x ways of naming each, plus held-out sentences), on the demo tenants."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from agi.config import load_settings
from agi.dialogue.services_report import load_cases, score, table

CORPUS = Path(__file__).resolve().parents[2] / "nlu" / "tests"
# Carriers x mentions: what callers say for what is configured. Held out: sentences written
# apart, some with no configured word at all ("faire nettoyer mes dents"): lower bar.
MIN_ACCURACY = {"services": 0.95, "practitioners": 0.95, "held_out": 0.80}
# A wrong guess books the wrong thing: far rarer than a miss (which only makes the agent ask).
MAX_WRONG_GUESSES = 0.02


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_services_and_practitioners_are_recognised(lang: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(None, {})
    cases = load_cases(CORPUS / f"services_{lang}.yml")
    assert len(cases) >= 300
    scores = score(cases, settings)
    with capsys.disabled():
        print("\n" + table(lang, scores))
    for s in scores:
        assert s.accuracy >= MIN_ACCURACY[s.category], (s.category, s.misses[:20])
        assert s.wrong_guesses <= MAX_WRONG_GUESSES * s.total, (s.category, s.misses[:20])


def test_the_report_command_prints_the_table_and_names_a_missing_tenant(tmp_path: Path) -> None:
    from agi.cli import build_parser
    from agi.dialogue.trainer import cmd_nlu

    settings = load_settings(None, {})
    out = io.StringIO()
    assert cmd_nlu(build_parser().parse_args(["nlu", "services", "--lang", "en", "--no-failures"]),
                   settings, out) == 0
    assert out.getvalue().splitlines()[1].startswith("en       services")
    corpus = tmp_path / "tests" / "services_fr.yml"
    corpus.parent.mkdir()
    corpus.write_text("held_out:\n  - {tenant: nobody, text: un bilan, service: bilan}\n")
    elsewhere = replace(settings, dialogue=replace(settings.dialogue, nlu_path=str(tmp_path)))
    out = io.StringIO()
    assert cmd_nlu(build_parser().parse_args(["nlu", "services", "--lang", "fr"]), elsewhere, out) == 1
    assert "nobody" in out.getvalue()
