"""One prompt's frames on their way to the caller (agi/call/media.py plays them)."""

from __future__ import annotations

import asyncio
import collections

from agi.speech.audio import FRAME_BYTES


class Playback:
    """Frames queued for one prompt, and whether it ran to the end."""

    def __init__(self, interruptible: bool) -> None:
        self.frames: collections.deque[bytes] = collections.deque()
        self.interruptible = interruptible
        self.feeding = True  # synthesis still producing frames
        self.done = asyncio.Event()
        self.interrupted = False
        self.first_frame_at: float | None = None

    def queue(self, pcm: bytes) -> bytes:
        """Queue the whole frames of ``pcm``; returns the part of a frame left over."""
        if self.interrupted:
            return b""
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        for i in range(0, whole, FRAME_BYTES):
            self.frames.append(pcm[i:i + FRAME_BYTES])
        return pcm[whole:]

    def finish_if_drained(self) -> None:
        if not self.frames and not self.feeding:
            self.done.set()
