"""The eSpeak NG process pool: renders side by side, and a dead process is replaced.

The dying renderers are doubles for a crash of the native engine (which cannot be caused
on demand); the processes, the pool and eSpeak NG itself are real.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from agi.errors import SpeechError
from agi.speech import audio
from agi.speech.espeak import EspeakPool, render

WAIT_S = 60.0


def die_once(marker: str, text: str, voice: str, rate: int) -> bytes:
    """The first render kills its process; the next ones render for real."""
    if not Path(marker).exists():
        Path(marker).touch()
        os._exit(3)
    return render(text, voice, rate)


def always_die(text: str, voice: str, rate: int) -> bytes:
    os._exit(3)


def test_a_render_survives_its_process_dying(tmp_path: Path) -> None:
    pool = EspeakPool(1, renderer=functools.partial(die_once, str(tmp_path / "died")))
    pcm = pool.submit("Bonjour.", "roa/fr", 165).result(WAIT_S)
    assert audio.duration_s(pcm) > 0.2 and audio.rms(pcm) > 500  # real speech, after a retry
    assert pool.restarts == 1 and (tmp_path / "died").exists()
    assert pool.submit("Au revoir.", "roa/fr", 165).result(WAIT_S)  # the new process serves on


def test_processes_that_keep_dying_give_a_clear_error() -> None:
    pool = EspeakPool(1, renderer=always_die)
    with pytest.raises(SpeechError, match="eSpeak NG synthesis processes keep dying"):
        pool.submit("Hello.", "gmw/en", 165).result(WAIT_S)


def test_a_pool_needs_a_process() -> None:
    with pytest.raises(ValueError, match="at least one process"):
        EspeakPool(0)
