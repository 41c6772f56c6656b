"""The conversation suite (nlu/tests/) on the builtin engine, and its file checks.

The same suite against a real Rasa server, compared turn by turn, is in
tests/rasa/test_rasa_dialogue.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agi.booking.sqlite import SqliteStore
from agi.config import load_settings
from agi.dialogue.builtin import BuiltinEngine
from agi.dialogue.parity import load_suite, play
from agi.errors import NluProjectError

NLU = Path(__file__).resolve().parents[2] / "nlu"


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(NLU)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_conversation_suite_passes_on_the_builtin_engine(
        engine: BuiltinEngine, tmp_path: Path, lang: str) -> None:
    suite = load_suite(NLU / "tests" / f"conversations_{lang}.yml")
    played = play(suite, engine, load_settings(None, {}), SqliteStore(tmp_path / "s.sqlite3"))
    assert {p.conversation.name: p.failures for p in played} == {
        p.conversation.name: () for p in played}
    booked = [t for p in played for t in p.turns if t.reply.outcome == "booked"]
    assert booked and all("action_book_appointment" in t.actions for t in booked)


def test_a_wrong_expectation_is_reported_with_file_and_line(engine: BuiltinEngine, tmp_path: Path) -> None:
    path = tmp_path / "suite.yml"
    path.write_text('tenant: demo\nnow: "2026-11-30T09:00:00+01:00"\nconversations:\n'
                    "  - conversation: wrong\n    turns:\n"
                    "      - user: je voudrais parler à la secrétaire\n"
                    "        responses: [utter_goodbye]\n")
    played = play(load_suite(path), engine, load_settings(None, {}), SqliteStore(tmp_path / "s.sqlite3"))
    assert played[0].failures == (
        f"{path}:6: responses ['utter_transfer'], expected ['utter_goodbye']",)


def test_an_unknown_turn_key_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "suite.yml"
    path.write_text('tenant: demo\nnow: "2026-11-30T09:00:00+01:00"\nconversations:\n'
                    "  - conversation: typo\n    turns:\n      - user: bonjour\n        respones: []\n")
    with pytest.raises(NluProjectError, match=rf"{path}:6: unknown turn key 'respones'"):
        load_suite(path)
