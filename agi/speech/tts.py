"""Text-to-speech with pyttsx3's eSpeak NG driver, rendered to 8 kHz telephone audio.

eSpeak NG is one engine per process, so renders run in a pool of eSpeak processes
(:mod:`agi.speech.espeak`): calls speaking at the same moment render side by side.
:class:`EspeakSynthesizer` objects share the pool and are safe to call from any thread or
from asyncio; they cache phrases and never make the event loop wait. Output is resampled
from eSpeak's 22 050 Hz to 8 kHz with soxr and trimmed of leading/trailing silence, since
every millisecond before the first sound adds to the voice-to-voice latency.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from agi.config import SpeechSettings
from agi.errors import SpeechError
from agi.speech.audio import silence
from agi.speech.espeak import INSTALL_HINT, RENDER_TIMEOUT_S, EspeakPool
from agi.workers import machine_cores

log = logging.getLogger(__name__)

# eSpeak voice identifiers by preference, then any voice whose language starts with the code.
VOICES = {"fr": ("roa/fr", "roa/fr-be"), "en": ("gmw/en", "gmw/en-us")}
# Pause put back between sentences of a streamed text (each sentence is trimmed alone).
SENTENCE_PAUSE_MS = 240  # a whole number of 20 ms frames
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

    def pin(self, texts: Iterable[str], language: str) -> None:
        """Render ``texts`` now and keep them for the life of the process (fixed phrases)."""
        self.prepare(texts, language)

    def synthesize_stream(self, text: str, language: str) -> Iterator[bytes]:
        """Yield the audio sentence by sentence, so playback starts after the first one."""
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            pcm = self.synthesize(sentence, language)
            yield pcm + silence(SENTENCE_PAUSE_MS) if index < len(sentences) - 1 else pcm

    async def synthesize_async(self, text: str, language: str) -> bytes:
        """:meth:`synthesize` without blocking the event loop."""
        return await asyncio.to_thread(self.synthesize, text, language)

    async def stream_async(self, text: str, language: str) -> AsyncIterator[bytes]:
        """:meth:`synthesize_stream` for the event loop: one sentence rendered at a time,
        so one call never holds more than one synthesis worker."""
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            pcm = await self.synthesize_async(sentence, language)
            yield pcm + silence(SENTENCE_PAUSE_MS) if index < len(sentences) - 1 else pcm


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation followed by space; blank pieces are dropped."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


class EspeakSynthesizer(Synthesizer):
    """French and English speech from eSpeak NG, cached per ``(language, text)`` (LRU).

    ``renders`` counts the phrases actually rendered (cache misses). ``pool`` is the eSpeak
    process pool (by default the process's shared one, one process per core).
    """

    def __init__(self, settings: SpeechSettings, cache_size: int = DEFAULT_CACHE_SIZE,
                 pool: EspeakPool | None = None) -> None:
        self._rate = settings.tts_rate
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._pending: dict[tuple[str, str], Future[bytes]] = {}
        # fixed phrases (agi.speech.phrase_cache): kept apart from the LRU, never evicted
        self._pinned: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._voices: dict[str, str] = {}
        self._worker = pool or EspeakPool.shared(machine_cores())
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

    def pin(self, texts: Iterable[str], language: str) -> None:
        keys = [(language, " ".join(text.split())) for text in texts]
        futures = [self._future(text, language) for _, text in keys]  # all queued at once
        audio = [self._wait(future) for future in futures]
        with self._lock:
            self._pinned.update(zip(keys, audio, strict=True))

    async def synthesize_async(self, text: str, language: str) -> bytes:
        return await self._await(self._future(text, language))

    async def _await(self, future: Future[bytes]) -> bytes:
        # shield: the render future may be shared with other callers of the same phrase, so
        # cancelling this task (barge-in, hang-up) must not cancel it for them.
        shared = asyncio.wrap_future(future)
        try:
            return await asyncio.wait_for(asyncio.shield(shared), RENDER_TIMEOUT_S)
        except TimeoutError as exc:
            self._worker.timed_out()
            raise SpeechError(f"eSpeak NG did not answer within {RENDER_TIMEOUT_S} s") from exc

    def _wait(self, future: Future[bytes]) -> bytes:
        try:
            return future.result(RENDER_TIMEOUT_S)
        except FutureTimeout as exc:
            self._worker.timed_out()
            raise SpeechError(f"eSpeak NG did not answer within {RENDER_TIMEOUT_S} s") from exc

    def synthesize_stream(self, text: str, language: str) -> Iterator[bytes]:
        # The next sentence is queued as soon as the previous one is ready, so it renders
        # while that one plays, and one call never holds more than one eSpeak process.
        sentences = split_sentences(text)
        ahead = self._future(sentences[0], language) if sentences else None
        for index in range(len(sentences)):
            assert ahead is not None
            pcm = self._wait(ahead)
            last = index == len(sentences) - 1
            ahead = None if last else self._future(sentences[index + 1], language)
            yield pcm if last else pcm + silence(SENTENCE_PAUSE_MS)

    async def stream_async(self, text: str, language: str) -> AsyncIterator[bytes]:
        sentences = split_sentences(text)
        ahead = self._future(sentences[0], language) if sentences else None
        for index in range(len(sentences)):
            assert ahead is not None
            pcm = await self._await(ahead)
            last = index == len(sentences) - 1
            ahead = None if last else self._future(sentences[index + 1], language)
            yield pcm if last else pcm + silence(SENTENCE_PAUSE_MS)

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
            if key in self._pinned:
                result.set_result(self._pinned[key])
                return result
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

    def _finish(self, key: tuple[str, str], raw: Future[bytes], result: Future[bytes]) -> None:
        with self._lock:
            self._pending.pop(key, None)
        error = raw.exception()
        if error is not None:
            result.set_exception(error)
            return
        audio = raw.result()
        with self._lock:
            self._cache[key] = audio
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        result.set_result(audio)
