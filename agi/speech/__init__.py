"""Speech: the endpointer (VAD), streaming recognition (Vosk) and synthesis (eSpeak NG).

Heavy engines are imported lazily inside their adapters, so importing this package is
cheap and a missing engine is reported when it is first used, with the fix.
"""

from agi.speech.asr import (
    Recognizer,
    RecognizerFactory,
    Transcript,
    VoskRecognizer,
    VoskRecognizerFactory,
    korean_test_model_path,
    load_model,
)
from agi.speech.audio import (
    FRAME_BYTES,
    FRAME_MS,
    FRAME_S,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    SILENCE_FRAME,
    FrameBuffer,
    is_silent,
    read_wav,
    read_wav_8k,
    resample,
    rms,
    write_wav,
)
from agi.speech.endpoint import (
    Endpointer,
    EndpointEvent,
    MaxTurn,
    NoInput,
    SpeechEnded,
    SpeechStarted,
)
from agi.speech.tts import EspeakSynthesizer, Synthesizer, split_sentences

__all__ = [
    "FRAME_BYTES", "FRAME_MS", "FRAME_S", "FRAME_SAMPLES", "SAMPLE_RATE", "SAMPLE_WIDTH",
    "SILENCE_FRAME", "EndpointEvent", "Endpointer", "EspeakSynthesizer", "FrameBuffer",
    "MaxTurn", "NoInput", "Recognizer", "RecognizerFactory", "SpeechEnded", "SpeechStarted",
    "Synthesizer", "Transcript", "VoskRecognizer", "VoskRecognizerFactory", "is_silent",
    "korean_test_model_path", "load_model", "read_wav", "read_wav_8k", "resample", "rms",
    "split_sentences", "write_wav",
]
