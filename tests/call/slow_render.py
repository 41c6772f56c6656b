"""The slow eSpeak renderer of test_no_serialisation.py, in a module of its own: the eSpeak
processes unpickle it by module name, and importing the test module there would import a
``conftest`` (which one depends on the run: the wrong one breaks the import)."""

from __future__ import annotations

import time
from pathlib import Path

from agi.speech.espeak import render

WAIT_S = 30.0  # the held-up call is always let go after this, so a failing test still ends


def slow_render(gate: str, text: str, voice: str, rate: int) -> bytes:
    """Runs in an eSpeak process: French renders wait for ``release``."""
    folder = Path(gate)
    if voice.startswith("roa/fr"):
        (folder / "blocked").touch()
        deadline = time.monotonic() + WAIT_S
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return render(text, voice, rate)
