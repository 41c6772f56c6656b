"""The eSpeak NG process pool: renders side by side, and a dead process is replaced.

The dying renderers are doubles for a crash of the native engine (which cannot be caused
on demand); the processes, the pool and eSpeak NG itself are real.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
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


KILLED_SERVER = """
import os, signal, sys
from agi.speech.espeak import EspeakPool
pool = EspeakPool(2)
assert pool.submit("Bonjour.", "roa/fr", 165).result(60)
print(*pool._current()._processes, flush=True)  # the synthesis processes' pids
os.kill(os.getpid(), signal.SIGKILL)  # as a crash or kill -9: the pool is never shut down
"""


def running(pid: int) -> bool:
    """The process exists and has not exited (an exited orphan may stay a zombie here)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_synthesis_processes_leave_when_their_server_is_killed() -> None:
    """Without their watch, a SIGKILLed server's processes (started on demand: one here)
    waited on their queue for ever (each make test left four behind, from the crash-recovery
    tests). They also hold the server's output open: without the watch, this run never ends."""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", KILLED_SERVER], capture_output=True, text=True,
                          timeout=WAIT_S, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == -9, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(pid) for pid in pids)
