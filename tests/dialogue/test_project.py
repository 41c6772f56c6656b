"""Loading and validating the Rasa projects in nlu/: the shipped ones load, broken copies
fail with the file and line of the mistake, unsupported parts are reported."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from agi.config import DialogueSettings
from agi.dialogue.actions import ACTIONS
from agi.dialogue.project import load_project, parse_example
from agi.errors import NluProjectError

NLU = DialogueSettings().project_dir
REQUIRED_INTENTS = {"greet", "book", "cancel", "info", "human", "message", "affirm", "deny",
                    "goodbye", "out_of_scope", "inform"}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_shipped_project_is_complete(lang: str) -> None:
    p = load_project(NLU / lang)
    counts = Counter(e.intent for e in p.examples)
    assert REQUIRED_INTENTS <= set(counts)
    assert min(counts[i] for i in REQUIRED_INTENTS) >= 15
    annotated = {ent for e in p.examples for _, _, ent in e.entities}
    assert {"name", "date", "time", "phone"} <= annotated
    assert set(p.actions) <= set(ACTIONS)
    assert p.forms["booking_form"] == ("service", "name", "date", "time")
    assert p.fallback_threshold == 0.35
    assert p.stories == 1
    assert any("TEDPolicy" in note for note in p.unsupported)
    submit = [r for r in p.rules if r.after_form == "booking_form"]
    assert submit[0].actions == ("action_check_availability",)


def test_examples_keep_entity_spans() -> None:
    ex = parse_example("je voudrais un rendez-vous [jeudi](date) à [dix heures](time)", "book")
    assert ex.text == "je voudrais un rendez-vous jeudi à dix heures"
    assert [ex.text[s:e] for s, e, _ in ex.entities] == ["jeudi", "dix heures"]
    assert parse_example('[marie]{"entity": "name"} ici', "inform").entities == ((0, 5, "name"),)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    target = tmp_path / "fr"
    shutil.copytree(NLU / "fr", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in ln)


def test_undeclared_intent_points_at_the_nlu_line(broken: Path) -> None:
    nlu = broken / "data" / "nlu.yml"
    _edit(nlu, "- intent: cancel", "- intent: annuler")
    with pytest.raises(NluProjectError, match=rf"nlu.yml:{_line_of(nlu, 'intent: annuler')}: intent 'annuler'"):
        load_project(broken)


def test_unknown_mapping_type_points_at_the_domain_line(broken: Path) -> None:
    domain = broken / "domain.yml"
    _edit(domain, "      - type: from_entity\n        entity: date", "      - type: from_magic\n        entity: date")
    with pytest.raises(NluProjectError, match=rf"domain.yml:{_line_of(domain, 'from_magic')}: slot 'date'"):
        load_project(broken)


def test_rule_with_unknown_action(broken: Path) -> None:
    rules = broken / "data" / "rules.yml"
    _edit(rules, "      - action: action_answer_info", "      - action: action_open_sesame")
    line = _line_of(rules, "rule: practical information, answered")
    with pytest.raises(NluProjectError, match=rf"rules.yml:{line}: .*action 'action_open_sesame' not declared"):
        load_project(broken)


def test_missing_response_for_a_rule(broken: Path) -> None:
    _edit(broken / "domain.yml", "  utter_greet:\n", "  utter_greeting:\n")
    with pytest.raises(NluProjectError, match="response 'utter_greet' not declared"):
        load_project(broken)


def test_form_with_undeclared_slot(broken: Path) -> None:
    domain = broken / "domain.yml"
    _edit(domain, "      - date\n      - time\n", "      - date\n      - hour\n")
    with pytest.raises(NluProjectError, match=r"domain.yml:\d+: form 'booking_form' requires undeclared slot 'hour'"):
        load_project(broken)


def test_invalid_yaml_gives_the_line(broken: Path) -> None:
    nlu = broken / "data" / "nlu.yml"
    _edit(nlu, "  - intent: greet\n", "  - intent: greet\n   bad: [\n")
    with pytest.raises(NluProjectError, match=r"nlu.yml:\d+: not valid YAML"):
        load_project(broken)


def test_examples_must_be_a_block(broken: Path) -> None:
    nlu = broken / "data" / "nlu.yml"
    _edit(nlu, "  - intent: greet\n    examples: |\n", "  - intent: greet\n    examples:\n")
    with pytest.raises(NluProjectError, match=rf"nlu.yml:{_line_of(nlu, 'intent: greet')}: 'examples' must be"):
        load_project(broken)


def test_unsupported_parts_are_reported_not_fatal(broken: Path) -> None:
    rules = broken / "data" / "rules.yml"
    rules.write_text(rules.read_text("utf-8") + """
  - rule: with a checkpoint
    steps:
      - intent: greet
      - checkpoint: somewhere
  - rule: at the start
    conversation_start: true
    steps:
      - intent: greet
      - action: utter_greet
""", "utf-8")
    _edit(broken / "domain.yml", "      - type: from_entity\n        entity: phone",
          "      - type: from_trigger_intent\n        intent: inform\n        value: x")
    p = load_project(broken)
    notes = "\n".join(p.unsupported)
    assert "checkpoint" in notes and "conversation_start" in notes and "from_trigger_intent" in notes
    assert not any(r.name in ("with a checkpoint", "at the start") for r in p.rules)
