"""Silero VAD (v6, MIT) for the endpointer, from the ONNX file of the ``silero-vad`` wheel.

Not the default (``turns.vad = "webrtc"``): it misses short words such as "oui" under the
endpointer's start rule (docs/turns.md). Measured on line noise (bench/vad.py: hiss, hum,
rumble, mu-law, crackle mixed with eSpeak NG speech), Silero calls no noise frame speech
where WebRTC VAD calls up to half of them, and finds more of the speech than the gated
WebRTC VAD; it costs about 4 ms of CPU per second of audio. The wheel is installed with
``--no-deps`` (the package itself imports torch): only its ONNX file is read, run by
onnxruntime at 8 kHz on 256-sample windows.

:class:`SileroVad` has WebRTC VAD's interface (``is_speech(frame, rate)`` per 20 ms frame):
frames are buffered into windows, and each frame gets the probability of the last window
completed (at most 12 ms old). One instance per call: the model's recurrent state is the
call's; the ONNX session is shared.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

from agi.errors import ModelNotFound
from agi.speech.audio import SAMPLE_RATE

PACKAGE = "silero-vad"
PACKAGE_VERSION = "6.2.3"
WINDOW = 256  # samples at 8 kHz (32 ms), the model's unit
CONTEXT = 32
THRESHOLD = 0.5
INSTALL_HINT = (f"install it with: pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}, "
                "or set turns.vad = \"webrtc\"")

_session: Any = None
_lock = threading.Lock()


def model_path() -> Path:
    spec = importlib.util.find_spec("silero_vad")  # locates the package without importing torch
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the Silero VAD needs the {PACKAGE} package, which is not installed: "
                            f"{INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ModelNotFound(f"the installed {PACKAGE} package has no {path.name}: {INSTALL_HINT}")
    return path


def _shared_session() -> Any:
    global _session
    with _lock:
        if _session is None:
            try:
                import onnxruntime  # type: ignore[import-untyped]
            except ImportError as exc:
                raise ModelNotFound(f"the Silero VAD needs onnxruntime: {INSTALL_HINT}") from exc
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            _session = onnxruntime.InferenceSession(str(model_path()), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
        return _session


class SileroVad:
    """Streaming Silero VAD for one call's 8 kHz s16le frames."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        import numpy

        self._np = numpy
        self._session = _shared_session()
        self._threshold = threshold
        self._state = numpy.zeros((2, 1, 128), numpy.float32)
        self._context = numpy.zeros((1, CONTEXT), numpy.float32)
        self._pending = numpy.zeros(0, numpy.float32)
        self._rate = numpy.array(SAMPLE_RATE, numpy.int64)
        self.probability = 0.0

    def is_speech(self, frame: bytes, rate: int = SAMPLE_RATE) -> bool:
        np = self._np
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, samples])
        while self._pending.size >= WINDOW:
            window = np.concatenate([self._context, self._pending[None, :WINDOW]], axis=1)
            self._pending = self._pending[WINDOW:]
            out, self._state = self._session.run(None, {"input": window, "state": self._state,
                                                        "sr": self._rate})
            self._context = window[:, -CONTEXT:]
            self.probability = float(out.reshape(-1)[0])
        return self.probability >= self._threshold
