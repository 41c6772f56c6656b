"""What the bench runs share: their settings, real Vosk decoding of the caller audio with scripted words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from agi.config import Settings, load_settings
from agi.speech.asr import Recognizer, RecognizerFactory, Transcript


def bench_settings(folder: Path) -> Settings:
    """The embedded defaults on ephemeral loopback ports, a throwaway database, no console."""
    settings = load_settings(environ={})
    return replace(
        settings,
        server=replace(settings.server, agi_port=0, audiosocket_port=0, health_port=0),
        store=replace(settings.store, sqlite_path=str(folder / "bench.sqlite3"),
                      spool_path=str(folder / "spool.sqlite3")),
        console=replace(settings.console, enabled=False))


class DecodedScript(Recognizer):
    """Real Vosk decoding of the caller audio, the script's words as the result (bench only:
    no French or English model exists here, the Korean one does the real work)."""

    def __init__(self, real: Recognizer, script: list[str]) -> None:
        self._real, self._script = real, script

    def accept(self, pcm: bytes) -> str | None:
        self._real.accept(pcm)
        return None

    def final(self) -> Transcript:
        self._real.final()
        return Transcript(self._script.pop(0) if self._script else "", None)

    def reset(self) -> None:
        self._real.reset()

    def close(self) -> None:
        self._real.close()


class DecodedScriptFactory(RecognizerFactory):
    """Each new call decodes with the Korean model and hears ``script``."""

    def __init__(self, real: RecognizerFactory, script: list[str]) -> None:
        self._real, self._script = real, script

    def new(self, language: str) -> Recognizer:
        return DecodedScript(self._real.new("ko"), list(self._script))

    def warm(self, language: str, audio: Sequence[bytes], count: int) -> int:
        return self._real.warm("ko", audio, count)
