"""Text-to-speech with pyttsx3's eSpeak NG driver, rendered to 8 kHz telephone audio.

eSpeak NG is a process-wide C library: pyttsx3's driver initialises it once and installs
ONE synthesis callback for the whole process, and ``runAndWait`` must run in a single
thread. So every render in the process goes through one worker thread owning the one
engine (:class:`_EspeakWorker`); :class:`EspeakSynthesizer` objects share it and are safe
to call from any thread or from asyncio. Output is resampled from eSpeak's 22 050 Hz to
8 kHz with soxr and trimmed of leading/trailing silence, since every millisecond before
the first sound adds to the voice-to-voice latency. ``pyttsx3`` is imported only here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from agi.config import SpeechSettings
from agi.errors import SpeechError
from agi.speech.audio import (
    SAMPLE_RATE,
    pad_to_frames,
    read_wav,
    resample,
    silence,
    trim_silence,
)

log = logging.getLogger(__name__)

INSTALL_HINT = "install eSpeak NG: apt-get install espeak-ng"
# eSpeak voice identifiers by preference, then any voice whose language starts with the code.
VOICES = {"fr": ("roa/fr", "roa/fr-be"), "en": ("gmw/en", "gmw/en-us")}
# Silence kept around a rendered phrase: enough not to clip soft onsets and endings.
KEEP_MS = 50
# Pause put back between sentences of a streamed text (each sentence is trimmed alone).
SENTENCE_PAUSE_MS = 240  # a whole number of 20 ms frames
# A render of one sentence takes milliseconds; this only guards against a stuck engine.
RENDER_TIMEOUT_S = 30.0
DEFAULT_CACHE_SIZE = 256
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+")


class Synthesizer(ABC):
    """Text in, 8 kHz s16le mono PCM out (a whole number of 20 ms frames)."""

    @abstractmethod
    def synthesize(self, text: str, language: str) -> bytes:
        """Render ``text`` in ``language``; empty text gives ``b""``."""

    def prepare(self, texts: Iterable[str], language: str) -> None:
        """Render fixed phrases ahead of calls so they play without delay."""
        for text in texts:
            self.synthesize(text, language)

    def synthesize_stream(self, text: str, language: str) -> Iterator[bytes]:
        """Yield the audio sentence by sentence, so playback starts after the first one."""
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            pcm = self.synthesize(sentence, language)
            yield pcm + silence(SENTENCE_PAUSE_MS) if index < len(sentences) - 1 else pcm

    async def synthesize_async(self, text: str, language: str) -> bytes:
        """:meth:`synthesize` without blocking the event loop."""
        return await asyncio.to_thread(self.synthesize, text, language)


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation followed by space; blank pieces are dropped."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


class _EspeakWorker:
    """The one pyttsx3 eSpeak engine of the process, driven from one dedicated thread."""

    _instance: _EspeakWorker | None = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> _EspeakWorker:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._engine: Any = None
        self._espeak: Any = None
        self._errors: list[BaseException] = []
        self._voice_list: list[tuple[str, tuple[str, ...]]] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="permanence-tts-")

    def submit(self, text: str, voice: str, rate: int) -> Future[tuple[bytes, int]]:
        """Queue a render; the future gives ``(pcm, sample_rate)`` as eSpeak produced it."""
        return self._executor.submit(self._render, text, voice, rate)

    def voices(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(voice id, languages)`` of every installed eSpeak NG voice."""
        return self._executor.submit(self._voices).result(RENDER_TIMEOUT_S)

    def _ensure_engine(self) -> Any:
        if self._engine is not None:
            return self._engine
        try:
            import pyttsx3  # type: ignore[import-untyped]
            import pyttsx3.drivers.espeak as driver  # type: ignore[import-untyped]
            from pyttsx3.drivers import _espeak
        except ImportError as exc:
            raise SpeechError(f"pyttsx3 or its eSpeak driver cannot load ({exc}); "
                              f"pip install pyttsx3 and {INSTALL_HINT}") from exc
        # The driver print()s "Audio saved to <file>" after every render; route it to the log.
        driver.print = lambda *args, **kwargs: log.debug(" ".join(map(str, args)))
        try:
            engine = pyttsx3.init("espeak")
        except Exception as exc:  # OSError (no libespeak-ng), RuntimeError (init failed)
            raise SpeechError(f"eSpeak NG cannot start ({exc}); {INSTALL_HINT}") from exc
        # pyttsx3 reports a failing command (a bad voice name...) only to 'error' listeners.
        engine.connect("error", lambda name=None, exception=None: self._errors.append(
            exception if exception is not None else RuntimeError("unknown pyttsx3 error")))
        self._engine, self._espeak = engine, _espeak
        return engine

    def _settle(self) -> None:
        """Wait until eSpeak NG's own thread is idle.

        With AUDIO_OUTPUT_RETRIEVAL (pyttsx3's mode) espeak_Synth and espeak_SetParameter are
        queued to eSpeak's internal thread while espeak_SetVoiceByName acts at once (see
        espeak-ng's speak_lib.h). Without this, a rate or voice change races the previous or
        next render: renders came out at the previous rate, in the wrong voice, or empty.
        """
        self._espeak.Synchronize()

    def _voices(self) -> list[tuple[str, tuple[str, ...]]]:
        # Listed once: espeak_ListVoices() between renders makes eSpeak NG ignore the next
        # rate change (seen with espeak-ng 1.51 through pyttsx3 2.99).
        if self._voice_list is None:
            engine = self._ensure_engine()
            self._settle()
            self._voice_list = [(v.id, tuple(v.languages or ())) for v in engine.getProperty("voices")]
        return self._voice_list

    def _render(self, text: str, voice: str, rate: int) -> tuple[bytes, int]:
        engine = self._ensure_engine()
        path = Path(self._tmp.name) / "render.wav"
        path.unlink(missing_ok=True)
        self._errors.clear()
        try:
            self._settle()
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            self._settle()
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            self._settle()
        except Exception as exc:
            raise SpeechError(f"eSpeak NG failed to render with voice {voice!r}: {exc}; "
                              f"{INSTALL_HINT}") from exc
        if self._errors:
            raise SpeechError(f"eSpeak NG failed to render with voice {voice!r}: "
                              f"{self._errors[0]}; {INSTALL_HINT}") from self._errors[0]
        if not path.is_file():
            raise SpeechError(f"eSpeak NG produced no audio for voice {voice!r}; {INSTALL_HINT}")
        return read_wav(path)


class EspeakSynthesizer(Synthesizer):
    """French and English speech from eSpeak NG, cached per ``(language, text)`` (LRU).

    ``renders`` counts the phrases actually rendered (cache misses).
    """

    def __init__(self, settings: SpeechSettings, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._rate = settings.tts_rate
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._pending: dict[tuple[str, str], Future[bytes]] = {}
        self._lock = threading.Lock()
        self._voices: dict[str, str] = {}
        self._worker = _EspeakWorker.shared()
        self.renders = 0

    def voice_for(self, language: str) -> str:
        """The eSpeak NG voice id used for ``language``; SpeechError when none is installed."""
        if language not in self._voices:
            installed = self._worker.voices()
            ids = {voice_id for voice_id, _ in installed}
            chosen = next((v for v in VOICES.get(language, ()) if v in ids), None)
            if chosen is None:
                chosen = next((voice_id for voice_id, langs in installed
                               if any(lang.split("-")[0] == language for lang in langs)), None)
            if chosen is None:
                raise SpeechError(f"no eSpeak NG voice for language {language!r}; {INSTALL_HINT} "
                                  "(the package espeak-ng-data holds the voices)")
            self._voices[language] = chosen
        return self._voices[language]

    def synthesize(self, text: str, language: str) -> bytes:
        return self._wait(self._future(text, language))

    def prepare(self, texts: Iterable[str], language: str) -> None:
        for future in [self._future(text, language) for text in texts]:
            self._wait(future)

    async def synthesize_async(self, text: str, language: str) -> bytes:
        # shield: the render future may be shared with other callers of the same phrase, so
        # cancelling this task (barge-in, hang-up) must not cancel it for them.
        shared = asyncio.wrap_future(self._future(text, language))
        try:
            return await asyncio.wait_for(asyncio.shield(shared), RENDER_TIMEOUT_S)
        except TimeoutError as exc:
            raise SpeechError(f"eSpeak NG did not answer within {RENDER_TIMEOUT_S} s") from exc

    @staticmethod
    def _wait(future: Future[bytes]) -> bytes:
        try:
            return future.result(RENDER_TIMEOUT_S)
        except FutureTimeout as exc:
            raise SpeechError(f"eSpeak NG did not answer within {RENDER_TIMEOUT_S} s") from exc

    def synthesize_stream(self, text: str, language: str) -> Iterator[bytes]:
        # All sentences are queued at once, in order: the worker renders the first while
        # nothing else waits, and the next ones while the first is playing. On barge-in the
        # consumer just stops; the few renders left (milliseconds each) end up in the cache.
        sentences = split_sentences(text)
        futures = [self._future(s, language) for s in sentences]
        for index, future in enumerate(futures):
            pcm = self._wait(future)
            yield pcm + silence(SENTENCE_PAUSE_MS) if index < len(futures) - 1 else pcm

    def _future(self, text: str, language: str) -> Future[bytes]:
        """A future for the audio: done at once from the cache, shared while rendering."""
        text = " ".join(text.split())
        key = (language, text)
        result: Future[bytes] = Future()
        if not text:
            result.set_result(b"")
            return result
        voice = self.voice_for(language)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                result.set_result(self._cache[key])
                return result
            if key in self._pending:
                return self._pending[key]
            self._pending[key] = result
            self.renders += 1
        raw = self._worker.submit(text, voice, self._rate)
        raw.add_done_callback(lambda done: self._finish(key, done, result))
        return result

    def _finish(self, key: tuple[str, str], raw: Future[tuple[bytes, int]],
                result: Future[bytes]) -> None:
        with self._lock:
            self._pending.pop(key, None)
        error = raw.exception()
        if error is not None:
            result.set_exception(error)
            return
        pcm, rate = raw.result()
        audio = pad_to_frames(trim_silence(resample(pcm, rate, SAMPLE_RATE), keep_ms=KEEP_MS))
        with self._lock:
            self._cache[key] = audio
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        result.set_result(audio)
