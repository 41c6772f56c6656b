"""eSpeak NG through pyttsx3, one engine per process, in a pool of synthesis processes.

eSpeak NG is a process-wide C library: pyttsx3's driver initialises it once and installs
ONE synthesis callback for the whole process, and ``runAndWait`` must run in a single
thread. One process can therefore render one phrase at a time, for every call. So the
renders run in :class:`EspeakPool`, several processes each owning one engine
(:class:`_Engine`, driven from the process's single task thread): calls synthesising at
the same moment use several cores and never queue behind each other's phrases. A process
that dies is replaced and its render tried once more on a fresh one; a render that hangs
past its timeout restarts the pool. A process whose server is gone (killed, so it never
shut the pool down) leaves too, instead of waiting on its queue for ever. ``pyttsx3`` is
imported only here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from agi.errors import SpeechError
from agi.speech.audio import SAMPLE_RATE, pad_to_frames, read_wav, resample, trim_silence

log = logging.getLogger(__name__)

INSTALL_HINT = "install eSpeak NG: apt-get install espeak-ng"
# Silence kept around a rendered phrase: enough not to clip soft onsets and endings.
KEEP_MS = 50
# A render of one sentence takes milliseconds; this only guards against a stuck engine.
RENDER_TIMEOUT_S = 30.0
# A process that died is replaced and its render retried this many times before the
# caller of the render gets the error.
RETRIES = 1

# How often a synthesis process looks whether the server that started it is still there.
PARENT_CHECK_S = 1.0

Renderer = Callable[[str, str, int], bytes]


class _Engine:
    """The one pyttsx3 eSpeak engine of this process (used from one thread only)."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._espeak: Any = None
        self._errors: list[BaseException] = []
        self._voice_list: list[tuple[str, tuple[str, ...]]] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="permanence-tts-")

    def _ensure(self) -> Any:
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

    def voices(self) -> list[tuple[str, tuple[str, ...]]]:
        # Listed once: espeak_ListVoices() between renders makes eSpeak NG ignore the next
        # rate change (seen with espeak-ng 1.51 through pyttsx3 2.99).
        if self._voice_list is None:
            engine = self._ensure()
            self._settle()
            self._voice_list = [(v.id, tuple(v.languages or ())) for v in engine.getProperty("voices")]
        return self._voice_list

    def render(self, text: str, voice: str, rate: int) -> tuple[bytes, int]:
        engine = self._ensure()
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


# This process's engine: eSpeak NG itself is per process, so its owner is too.
_engine: _Engine | None = None


def _local() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def _leave_with(parent: int) -> None:
    """A synthesis process's initializer: exit once ``parent`` is gone. A server killed
    with SIGKILL never shuts its pool down, and the executor's processes then wait on
    their queue for ever (each holds the queue's other end, so it never reads as closed)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def render(text: str, voice: str, rate: int) -> bytes:
    """One phrase as 8 kHz telephone audio, trimmed, in whole 20 ms frames (in a pool process).

    Resampling and trimming happen here too, so they use the pool's cores, not the calls'.
    """
    pcm, native = _local().render(text, voice, rate)
    return pad_to_frames(trim_silence(resample(pcm, native, SAMPLE_RATE), keep_ms=KEEP_MS))


def list_voices() -> list[tuple[str, tuple[str, ...]]]:
    """``(voice id, languages)`` of every installed eSpeak NG voice (in a pool process)."""
    return _local().voices()


class EspeakPool:
    """``processes`` eSpeak NG processes rendering phrases side by side.

    ``renderer`` is the function run in a process (a module-level function, so it pickles);
    tests give a deliberately slow one. Processes start on first use, with ``spawn`` since
    the calling process has threads.
    """

    _shared: EspeakPool | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls, processes: int) -> EspeakPool:
        """The process's pool (made with the first caller's size): every synthesiser in a
        process shares it, as they shared the one engine before."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(processes)
            return cls._shared

    def __init__(self, processes: int, renderer: Renderer = render) -> None:
        if processes < 1:
            raise ValueError(f"an eSpeak pool needs at least one process, got {processes}")
        self.processes = processes
        self._renderer = renderer
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.processes,
                                                 mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_leave_with, initargs=(os.getpid(),))
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool) -> None:
        with self._lock:
            if self._pool is not pool:
                return  # another render already replaced it
            self._pool = None
            self.restarts += 1
        if kill:  # a hung eSpeak: the executor has no public way to stop its processes
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def voices(self) -> list[tuple[str, tuple[str, ...]]]:
        """The installed voices, as one of the processes lists them."""
        pool = self._current()
        try:
            return pool.submit(list_voices).result(RENDER_TIMEOUT_S)
        except BrokenProcessPool as exc:
            self._discard(pool, kill=False)
            raise SpeechError(f"an eSpeak NG process died while listing voices; {INSTALL_HINT}") from exc
        except TimeoutError as exc:
            self._discard(pool, kill=True)
            raise SpeechError(f"eSpeak NG did not list its voices within {RENDER_TIMEOUT_S} s") from exc

    def submit(self, text: str, voice: str, rate: int) -> Future[bytes]:
        """Queue a render; the future gives the finished 8 kHz audio or a SpeechError."""
        result: Future[bytes] = Future()
        self._attempt(result, (text, voice, rate), RETRIES)
        return result

    def timed_out(self) -> None:
        """A render passed its timeout: its process is stuck, start afresh."""
        with self._lock:
            pool = self._pool
        if pool is not None:
            log.error("eSpeak NG stuck for %s s: synthesis processes restarted", RENDER_TIMEOUT_S)
            self._discard(pool, kill=True)

    def _attempt(self, result: Future[bytes], job: tuple[str, str, int], retries: int) -> None:
        pool = self._current()
        try:
            raw = pool.submit(self._renderer, *job)
        except (BrokenProcessPool, RuntimeError) as exc:  # broken or shut down meanwhile
            self._discard(pool, kill=False)
            if retries:
                self._attempt(result, job, retries - 1)
            else:
                result.set_exception(SpeechError(f"eSpeak NG processes unavailable ({exc})"))
            return
        raw.add_done_callback(lambda done: self._settle(result, job, retries, pool, done))

    def _settle(self, result: Future[bytes], job: tuple[str, str, int], retries: int,
                pool: ProcessPoolExecutor, raw: Future[bytes]) -> None:
        if raw.cancelled():
            result.set_exception(SpeechError("the eSpeak NG render was cancelled (pool restarted)"))
            return
        error = raw.exception()
        if isinstance(error, BrokenProcessPool):
            log.error("an eSpeak NG synthesis process died: replaced%s",
                      ", render retried" if retries else "")
            self._discard(pool, kill=False)
            if retries:
                self._attempt(result, job, retries - 1)
            else:
                result.set_exception(SpeechError(
                    f"eSpeak NG synthesis processes keep dying ({error}); {INSTALL_HINT}"))
        elif error is not None:
            result.set_exception(error)
        else:
            result.set_result(raw.result())
