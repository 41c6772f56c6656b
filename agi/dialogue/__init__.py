"""The dialogue: what the agent understands and answers, reading the Rasa project in nlu/.

Public surface: the interface (:class:`DialogueEngine`, :class:`Conversation`,
:class:`BotReply`, :class:`CallContext`), the fixed phrases (:func:`opening`), and — loaded
lazily because they import scikit-learn and dateparser — :class:`BuiltinEngine` and
:func:`run_chat`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agi.dialogue.base import (
    DICTATION_SLOTS,
    BotReply,
    CallContext,
    Conversation,
    DialogueEngine,
)
from agi.dialogue.phrases import ai_statement, opening

if TYPE_CHECKING:
    from agi.dialogue.builtin import BuiltinEngine
    from agi.dialogue.chat import run_chat

__all__ = ["DICTATION_SLOTS", "BotReply", "BuiltinEngine", "CallContext", "Conversation",
           "DialogueEngine", "ai_statement", "opening", "run_chat"]


def __getattr__(name: str) -> Any:
    if name == "BuiltinEngine":
        from agi.dialogue.builtin import BuiltinEngine
        return BuiltinEngine
    if name == "run_chat":
        from agi.dialogue.chat import run_chat
        return run_chat
    raise AttributeError(f"module 'agi.dialogue' has no attribute {name!r}")
