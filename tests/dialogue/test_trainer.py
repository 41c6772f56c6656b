"""``permanence nlu validate | test``: findings point at file:line on seeded mistakes, and
the report's numbers are computed from the data (a corrupted intent scores lower), on
temporary copies of the real nlu/ projects. Rasa itself is not run here (each fold
trains DIET for about a minute); its report files are read from literal JSON."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from agi.config import DialogueSettings, load_settings
from agi.dialogue.evaluation import evaluate_project, gold_value, markdown, read_rasa_results
from agi.dialogue.project import load_project
from agi.dialogue.trainer import add_nlu_parser, cmd_nlu, example_lines, run_test, run_validate, validate_project
from agi.errors import DialogueError

NLU = DialogueSettings().project_dir
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FOLDS = 3  # few folds: fast, and still every example predicted by a model that did not see it


@pytest.fixture
def fr(tmp_path: Path) -> Path:
    target = tmp_path / "nlu" / "fr"
    shutil.copytree(NLU / "fr", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text("utf-8").splitlines(), 1) if ln.strip() == needle)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_shipped_projects_validate_with_25_examples_per_intent(lang: str) -> None:
    problems = validate_project(NLU / lang)
    assert [p for p in problems if p.error] == []
    counts = Counter(e.intent for e in load_project(NLU / lang).examples)
    assert min(counts.values()) >= 25
    annotated = {ent for e in load_project(NLU / lang).examples for _, _, ent in e.entities}
    assert {"name", "date", "time", "phone", "service"} <= annotated


def test_example_lines_are_the_lines_in_the_file(fr: Path) -> None:
    nlu = fr / "data" / "nlu.yml"
    lines = nlu.read_text("utf-8").splitlines()
    found = list(example_lines(fr))
    assert len(found) == len(load_project(fr).examples)
    for ex in found:
        assert lines[ex.line - 1].strip() == f"- {ex.raw}"


def test_duplicate_across_intents_is_an_error_with_both_lines(fr: Path) -> None:
    nlu = fr / "data" / "nlu.yml"
    _edit(nlu, "      - je voudrais un rendez-vous\n",
          "      - je voudrais un rendez-vous\n      - je voudrais annuler mon rendez-vous\n")
    seeded = _line_of(nlu, "- je voudrais annuler mon rendez-vous")  # under book, first in the file
    original = [i for i, ln in enumerate(nlu.read_text("utf-8").splitlines(), 1)
                if ln.strip() == "- je voudrais annuler mon rendez-vous"][1]
    [dup] = [p for p in validate_project(fr) if "already an example" in p.message]
    assert dup.error and dup.where == f"{nlu}:{original}"
    assert f"nlu.yml:{seeded}" in dup.message and "'book'" in dup.message and "'cancel'" in dup.message
    out = io.StringIO()
    assert run_validate(fr.parent, ["fr"], out) == 1
    assert f"{nlu}:{original}: error:" in out.getvalue()


def test_undeclared_entity_and_broken_annotation_point_at_their_lines(fr: Path) -> None:
    nlu = fr / "data" / "nlu.yml"
    _edit(nlu, "- je peux venir [mardi](date)", "- je peux venir [mardi](jour)")
    _edit(nlu, "- est-ce que je peux passer [demain](date)", "- est-ce que je peux passer [demain(date)")
    problems = validate_project(fr)
    assert any(p.where == f"{nlu}:{_line_of(nlu, '- je peux venir [mardi](jour)')}"
               and "entity 'jour' is not declared" in p.message for p in problems)
    # load_project stops at the first error; the others are still reported, by line
    fixed = fr.parent / "fr2"
    shutil.copytree(fr, fixed)
    _edit(fixed / "data" / "nlu.yml", "[mardi](jour)", "[mardi](date)")
    [broken] = [p for p in validate_project(fixed) if "broken entity annotation" in p.message]
    assert broken.where.endswith(f"nlu.yml:{_line_of(nlu, '- est-ce que je peux passer [demain(date)')}")


def test_too_few_examples_is_an_error() -> None:
    problems = validate_project(NLU / "en", min_examples=1000)
    short = {p.message.split("'")[1] for p in problems if "fewer than 1000" in p.message}
    assert short == set(load_project(NLU / "en").intents) - {"nlu_fallback"}


def test_report_numbers_come_from_the_data(tmp_path: Path) -> None:
    out = io.StringIO()
    report = run_test(NLU, ["fr"], tmp_path / "report", out, folds=FOLDS, venv=None)
    project = load_project(NLU / "fr")
    saved = json.loads((tmp_path / "report" / "report.json").read_text("utf-8"))
    assert saved == json.loads(json.dumps(report))
    lang = saved["languages"]["fr"]
    counts = Counter(e.intent for e in project.examples)
    assert {k: v["support"] for k, v in lang["intents"].items()} == dict(counts)
    matrix = lang["confusion_matrix"]
    diagonal = sum(matrix[i][i] for i in range(len(lang["labels"])))
    assert sum(map(sum, matrix)) == len(project.examples) == lang["examples"]
    assert lang["accuracy"] == pytest.approx(diagonal / len(project.examples))
    assert len(lang["errors"]) == len(project.examples) - diagonal
    annotated = Counter(ent for e in project.examples for _, _, ent in e.entities)
    assert {k: s["support"] for k, s in lang["entities"].items()} == dict(annotated)
    assert lang["folds"] == FOLDS and lang["entity_matching"] == "normalised value" and lang["rasa"] is None
    assert {"precision", "recall", "f1-score", "support"} <= set(lang["macro avg"])
    assert {"precision", "recall", "f1-score", "support", "tp", "fp", "fn"} <= set(lang["entities"]["date"])
    png = (tmp_path / "report" / lang["confusion_png"]).read_bytes()
    assert png.startswith(PNG_MAGIC) and 10_000 < len(png) < 2_000_000
    md = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "Rasa: not installed" in md and "| goodbye |" in md and "confusion-fr.png" in md
    assert f"builtin fr: accuracy {lang['accuracy']:.3f}" in out.getvalue()
    held = lang["heldout"]
    assert held["file"].endswith("heldout_fr.yml") and held["examples"] >= 300 and held["rasa"] is None
    assert sum(s["support"] for s in held["intents"].values()) == held["examples"]
    assert held["accuracy"] == pytest.approx(1 - len(held["errors"]) / held["examples"])
    assert f"builtin fr: held-out accuracy {held['accuracy']:.3f}" in out.getvalue()
    row = f"| fr | {lang['accuracy']:.2f} | {held['accuracy']:.2f} | – | – | {held['examples']} |"
    assert row in md
    # printed too: cross-validated and held-out, builtin beside Rasa, under their headings
    printed = out.getvalue().splitlines()
    assert printed[-3:] == ["| language | builtin cross-validated | builtin held-out | Rasa cross-validated "
                            "| Rasa held-out | held-out phrasings |", "|---|---|---|---|---|---|", row]
    assert f"### Held-out: {held['examples']} phrasings never trained on" in md


def test_corrupting_one_intent_drops_its_f1(fr: Path) -> None:
    before = evaluate_project(load_project(fr), FOLDS, entities=False).intent_report
    nlu = fr / "data" / "nlu.yml"
    text = nlu.read_text("utf-8")
    # goodbye's examples replaced by greet's: two intents that say the same thing
    greet = text.split("  - intent: greet\n")[1].split("\n\n")[0]
    head, rest = text.split("  - intent: goodbye\n")
    _, tail = rest.split("\n\n", 1)
    nlu.write_text(f"{head}  - intent: goodbye\n{greet}\n\n{tail}", "utf-8")
    after = evaluate_project(load_project(fr), FOLDS, entities=False).intent_report
    assert after["goodbye"]["f1-score"] < before["goodbye"]["f1-score"] - 0.3
    assert after["greet"]["f1-score"] < before["greet"]["f1-score"] - 0.2
    assert abs(after["cancel"]["f1-score"] - before["cancel"]["f1-score"]) < 0.15
    assert after["macro avg"]["f1-score"] < before["macro avg"]["f1-score"]


def test_gold_values_are_normalised_like_the_extractor() -> None:
    fr, en = load_project(NLU / "fr"), load_project(NLU / "en")
    assert gold_value("date", "mardi prochain", fr) == "2026-12-01"  # from Thursday 26 Nov 2026
    assert gold_value("time", "quinze heures trente", fr) == "15:30"
    assert gold_value("phone", "zéro six douze trente quatre cinquante six soixante dix huit", fr) == "+33612345678"
    assert gold_value("name", "jean dupont", fr) == "jean dupont"
    assert gold_value("service", "Check-up", en) == "check-up"
    assert gold_value("date", "cette semaine", fr) == "cette semaine"  # unreadable: can only be missed


def test_rasa_numbers_sit_beside_the_builtin_ones(tmp_path: Path) -> None:
    rasa_dir = tmp_path / "rasa-fr"
    rasa_dir.mkdir()
    # the shape `rasa test nlu --cross-validation` writes (sklearn's dict + confused_with)
    (rasa_dir / "intent_report.json").write_text(json.dumps({
        "greet": {"precision": 0.9, "recall": 0.8, "f1-score": 0.85, "support": 28, "confused_with": {}},
        "accuracy": 0.77,
        "macro avg": {"precision": 0.7, "recall": 0.7, "f1-score": 0.7, "support": 300},
        "weighted avg": {"precision": 0.71, "recall": 0.71, "f1-score": 0.71, "support": 300}}))
    rasa = read_rasa_results(rasa_dir)
    data = {"generated": "now", "seed": 0, "entity_matching": "normalised value", "eval_now": "x",
            "rasa": "rasa test nlu", "languages": {"fr": {
                "examples": 300, "folds": 3, "accuracy": 0.8, "errors": [], "entities": {},
                "confusion_png": "confusion-fr.png", "rasa": rasa,
                "intents": {"greet": {"precision": 1.0, "recall": 0.5, "f1-score": 0.667, "support": 28.0}},
                "macro avg": {"precision": 0.8, "recall": 0.8, "f1-score": 0.8, "support": 300.0},
                "weighted avg": {"precision": 0.8, "recall": 0.8, "f1-score": 0.8, "support": 300.0}}}}
    held_rasa = {"intents": {"greet": {"precision": 1.0, "recall": 0.75, "f1-score": 0.86, "support": 20},
                             "accuracy": 0.91,
                             "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 300}}}
    data["languages"]["fr"]["heldout"] = {
        "file": "nlu/tests/heldout_fr.yml", "examples": 300, "accuracy": 0.95, "rasa": held_rasa,
        "intents": {"greet": {"precision": 1.0, "recall": 0.9, "f1-score": 0.95, "support": 20.0}},
        "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 300.0},
        "errors": [{"text": "salut la compagnie", "intent": "greet", "predicted": "nlu_fallback"}]}
    md = markdown(data)
    assert "| greet | 1.00 | 0.50 | 0.67 | 28 | 0.90 | 0.80 | 0.85 |" in md
    assert "Accuracy: builtin 0.80, Rasa 0.77." in md
    assert "| fr | 0.80 | 0.95 | 0.77 | 0.91 | 300 |" in md  # the summary: cross-validated, held-out
    assert "| greet | 0.90 | 0.95 | 20 | 0.75 | 0.86 |" in md
    assert "Held-out accuracy: builtin 0.95, Rasa 0.91." in md
    assert '- "salut la compagnie": greet → nlu_fallback' in md
    with pytest.raises(DialogueError, match="no intent_report.json"):
        read_rasa_results(tmp_path)


def test_cli_validate_and_test_through_cmd_nlu(fr: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="permanence")
    add_nlu_parser(parser.add_subparsers(dest="command"))
    settings = replace(load_settings(environ={}), dialogue=DialogueSettings(nlu_path=str(fr.parent)))
    out = io.StringIO()
    assert cmd_nlu(parser.parse_args(["nlu", "validate", "--lang", "fr"]), settings, out) == 0
    assert "nlu fr: 0 error(s)" in out.getvalue()
    _edit(fr / "data" / "nlu.yml", "      - bonsoir\n", "      - bonsoir\n      - oui\n")
    assert cmd_nlu(parser.parse_args(["nlu", "validate", "--lang", "fr"]), settings, out) == 1
    bad = parser.parse_args(["nlu", "test", "--lang", "fr", "--folds", "99", "--no-rasa",
                             "--out", str(tmp_path / "r2")])
    assert cmd_nlu(bad, settings, out) == 1
    assert "99-fold cross-validation needs at least 99 examples per intent" in out.getvalue()

