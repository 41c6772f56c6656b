"""The end-of-turn check the settings ask for (``turns.end_of_turn``), shared by every call."""

from __future__ import annotations

import asyncio

from agi.config import TurnSettings
from agi.speech.intonation import intonation_for
from agi.speech.turn_model import turn_model_for
from agi.speech.verdict import TurnCheck


async def turn_check_for(turns: TurnSettings) -> TurnCheck | None:
    """``intonation`` (the default), ``smart-turn``, or None for ``silence``, or when the check
    cannot load (it logs why once, naming the package, and the silence window decides)."""
    if turns.end_of_turn == "intonation":
        return await asyncio.to_thread(intonation_for, turns)
    if turns.end_of_turn == "smart-turn":
        return await turn_model_for(turns)
    return None
