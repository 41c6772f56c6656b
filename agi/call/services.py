"""What every call shares (:class:`CallServices`), and where one turn's time went.

Built once by ``permanence serve`` (agi.server) and handed to each
:class:`agi.call.session.CallSession`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agi.booking.spool import Spool
from agi.booking.store import Store
from agi.call.recording import Recordings
from agi.config import Settings
from agi.dialogue.base import DialogueEngine
from agi.speech.asr import RecognizerFactory
from agi.speech.tts import Synthesizer
from agi.speech.verdict import TurnCheck
from agi.workers import Workers

__all__ = ["CallServices", "TurnTiming"]


@dataclass(frozen=True)
class TurnTiming:
    """Where the voice-to-voice time of one turn went (for the bench)."""

    call_id: str
    turn: int
    speech_ended_at: float  # monotonic
    endpoint_wait_ms: float
    final_ms: float
    dialogue_ms: float
    store_ms: float
    tts_first_ms: float
    first_frame_at: float | None  # monotonic time the first answer frame left


@dataclass
class CallServices:
    """What every call shares, built once by ``permanence serve``."""

    settings: Settings
    store: Store
    dialogue: DialogueEngine
    synthesizer: Synthesizer
    recognizers: RecognizerFactory | None  # None: no speech model (see speech_problem)
    speech_problem: str = ""
    on_turn: Callable[[TurnTiming], None] | None = None
    active_calls: set[str] = field(default_factory=set)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    spool: Spool | None = None  # where writes go while the database is unreachable
    recordings: Recordings | None = None  # call recording by consent (agi.call.recording)
    workers: Workers = field(default_factory=Workers)  # per-stage executors (agi.workers)
    turn_check: TurnCheck | None = None  # the end-of-turn check at each pause (agi.speech.turn_check)
