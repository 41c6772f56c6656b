"""The learned end-of-turn check: has the caller finished, or only paused?

smart-turn v3 (Daily, BSD-2-Clause; French and English among its 23 languages) reads the
last 8 s of a turn's audio (prosody: the fall of a finished sentence, the hold of an
unfinished one) and gives the probability that the speaker has finished. Its 8 MB ONNX
file and the numpy Whisper log-mel front end it was trained with ship inside the
``pipecat-ai`` wheel; we install that wheel with ``--no-deps`` (its own dependencies pull
numba, openai, Pillow... and pin soxr below ours) and load only those two files, run by
``onnxruntime``. Importing ``pipecat`` itself would need those dependencies (its
``__init__`` imports loguru), so the files are found with :func:`importlib.util.find_spec`
(which locates the installed package without running it) and read through
:mod:`importlib.resources`' file API.

The model hears 16 kHz; calls are 8 kHz, so the audio is upsampled with soxr. Inference
(about 40-120 ms on one core here) runs in the model's own small thread pool, never on the
event loop, and :meth:`TurnModel.is_complete` waits for it at most ``timeout_s``: late or
failing, the answer is None and the plain silence window decides.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib.resources.abc import Traversable
from pathlib import Path
from types import ModuleType
from typing import Any

from agi.config import TurnSettings
from agi.errors import ModelNotFound, SpeechError
from agi.speech.audio import SAMPLE_RATE
from agi.speech.verdict import FINISHED, Verdict, within

log = logging.getLogger(__name__)

PACKAGE = "pipecat-ai"
PACKAGE_VERSION = "1.14.0"  # as pinned in setup.cfg: the model file and its front end
_MODULE = "pipecat"
_DIR = ("audio", "turn", "smart_turn")
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
_FEATURES_FILE = "_whisper_features.py"
MODEL_RATE = 16000
MODEL_SECONDS = 8
INSTALL_HINT = (f"install it with: pip install --no-deps {PACKAGE}=={PACKAGE_VERSION} "
                "onnxruntime (only its ONNX file is used), or set turns.end_of_turn = \"silence\"")


def package_dir() -> Traversable:
    """The smart_turn directory of the installed ``pipecat-ai``; ModelNotFound if absent."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the end-of-turn model needs the {PACKAGE} package, which is not "
                            f"installed: {INSTALL_HINT}")
    root: Traversable = Path(next(iter(spec.submodule_search_locations)))
    for part in _DIR:
        root = root.joinpath(part)
    model = root.joinpath("data").joinpath(MODEL_FILE)
    if not model.is_file() or not root.joinpath(_FEATURES_FILE).is_file():
        raise ModelNotFound(f"the installed {PACKAGE} package has no {MODEL_FILE} (another "
                            f"version?): {INSTALL_HINT}")
    return root


def _load_features(root: Traversable) -> ModuleType:
    source = root.joinpath(_FEATURES_FILE)
    spec = importlib.util.spec_from_file_location("permanence_smart_turn_features", str(source))
    if spec is None or spec.loader is None:
        raise ModelNotFound(f"cannot read {source} from {PACKAGE}: {INSTALL_HINT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # numpy only
    return module


class TurnModel:
    """smart-turn v3 on CPU; one instance serves every call (ONNX sessions are thread-safe)."""

    def __init__(self, *, threshold: float = 0.5, workers: int | None = None) -> None:
        try:
            import numpy
            import onnxruntime  # type: ignore[import-untyped]
            import soxr  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ModelNotFound(f"the end-of-turn model needs {exc.name}: {INSTALL_HINT}") from exc
        root = package_dir()
        self._np, self._soxr = numpy, soxr
        self._features = _load_features(root).compute_whisper_log_mel_features
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # calls run side by side, each on one core
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        path = str(root.joinpath("data").joinpath(MODEL_FILE))
        try:
            self._session = onnxruntime.InferenceSession(path, sess_options=options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SpeechError(f"cannot load {path} from {PACKAGE}: {exc}") from exc
        self.threshold = threshold
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                        thread_name_prefix="turn-model")

    def probability(self, pcm: bytes, rate: int = SAMPLE_RATE) -> float:
        """P(the speaker has finished) for the turn audio ``pcm`` (s16le mono at ``rate``)."""
        np = self._np
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        if rate != MODEL_RATE:
            audio = self._soxr.resample(audio, rate, MODEL_RATE, quality="HQ").astype(np.float32)
        keep = MODEL_RATE * MODEL_SECONDS
        audio = audio[-keep:]
        audio = np.pad(audio, (keep - len(audio), 0))  # the model was trained left-padded
        features = self._features(audio, do_normalize=True)[None, ...]
        outputs: Any = self._session.run(None, {"input_features": features})
        return float(outputs[0].reshape(-1)[0])

    async def is_complete(self, pcm: bytes, timeout_s: float) -> bool | None:
        """Whether the turn is over by the model, or None when it failed or took too long."""
        p = await within(self._pool, self.probability, pcm, timeout_s, "end-of-turn model")
        return None if p is None else p >= self.threshold

    async def judge(self, pcm: bytes, trailing_ms: float, timeout_s: float) -> Verdict | None:
        """Finished above the threshold; below it, no verdict: the window decides (on eSpeak NG
        speech the model calls a pause finished as often as an end, so its "not finished"
        is not trusted to hold a pause). ``trailing_ms``: the model hears the pause too."""
        return FINISHED if await self.is_complete(pcm, timeout_s) else None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_shared: TurnModel | None = None
_shared_lock = threading.Lock()
_problem = ""


async def turn_model_for(turns: TurnSettings) -> TurnModel | None:
    """The model the settings ask for, or None (the silence window alone) when they ask for
    none or it cannot load; the reason is logged once, naming the package."""
    global _problem
    if turns.end_of_turn != "smart-turn" or _problem:
        return None
    try:
        return await asyncio.to_thread(shared_model, turns.threshold)
    except SpeechError as exc:
        _problem = str(exc)
        log.error("end-of-turn check off, the silence window decides: %s", exc)
        return None


def shared_model(threshold: float = 0.5) -> TurnModel:
    """The process's one TurnModel (loaded on first use, about 0.3 s)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TurnModel(threshold=threshold)
        return _shared
