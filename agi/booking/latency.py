"""Per-turn latency figures, kept so the console can show voice-to-voice p50/p95.

One row per answered turn: where the time went (endpointing, recognition, dialogue,
synthesis) and the whole voice-to-voice time. No words, no number: only the call id (to
group a call's turns) and milliseconds. Kept ``[usage] latency_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agi.booking.usage import LedgerRunner, as_utc

STAGES = ("endpoint_ms", "recognition_ms", "dialogue_ms", "synthesis_ms", "voice_ms")


@dataclass(frozen=True)
class TurnFigures:
    tenant_id: str
    call_id: str
    at: datetime
    endpoint_ms: float
    recognition_ms: float
    dialogue_ms: float
    synthesis_ms: float
    voice_ms: float | None  # None: the answer never played (the caller hung up)


def record_turn(run: LedgerRunner, turn: TurnFigures) -> None:
    """Keep one turn's figures; the tenant is the call's (``turn.tenant_id`` "" lets the
    store take it from the call row, as the server's turn hook does)."""
    run(f"record_turn {turn.call_id}", [(
        "INSERT INTO {turn_latency} (tenant_id, call_id, at, " + ", ".join(STAGES) + ") "
        "SELECT CASE WHEN ? = '' THEN tenant_id ELSE ? END, call_id, ?, ?, ?, ?, ?, ? "
        "FROM {calls} WHERE call_id = ?",
        (turn.tenant_id, turn.tenant_id, turn.at, turn.endpoint_ms, turn.recognition_ms,
         turn.dialogue_ms, turn.synthesis_ms, turn.voice_ms, turn.call_id))])


def read_turns(run: LedgerRunner, since: datetime, until: datetime,
               tenant_ids: Sequence[str] | None = None) -> list[TurnFigures]:
    """Turns answered in [since, until), oldest first (``tenant_ids`` None: all)."""
    (rows,) = run("turns", [(
        "SELECT tenant_id, call_id, at, " + ", ".join(STAGES) + " FROM {turn_latency} "
        "WHERE at >= ? AND at < ? ORDER BY at, id", (since, until))])
    wanted = None if tenant_ids is None else set(tenant_ids)
    return [TurnFigures(r[0], r[1], as_utc(r[2]), float(r[3]), float(r[4]), float(r[5]),
                        float(r[6]), None if r[7] is None else float(r[7]))
            for r in rows if wanted is None or r[0] in wanted]


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def purge_turns(run: LedgerRunner, before: datetime) -> int:
    (rows,) = run("purge turns", [("DELETE FROM {turn_latency} WHERE at < ? RETURNING 1",
                                   (before,))])
    return len(rows)
