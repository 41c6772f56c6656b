"""Usage reports (table, CSV, JSON), the console's KPIs, and its server-side SVG chart."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from html import escape

from agi.booking.latency import percentile
from agi.booking.store import Store
from agi.booking.usage import COUNTERS, UsageDay, totals

# Outcomes where the caller left before anything was done for them.
ABANDONED = frozenset({"hangup", "hangup_during_disclosure", "no_input", "not_understood"})
FORMATS = ("table", "csv", "json")


def usage_csv(rows: Sequence[UsageDay]) -> str:
    """One line per tenant, local day and outcome; billed minutes as a decimal."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tenant", "day", "outcome", *COUNTERS, "billed_minutes"])
    for r in rows:
        writer.writerow([r.tenant_id, r.day.isoformat(), r.outcome,
                         *(getattr(r, c) for c in COUNTERS), f"{r.billed_s / 60:.2f}"])
    return out.getvalue()


def usage_json(month: str, rows: Sequence[UsageDay]) -> str:
    doc = {"month": month, "tenants": [
        {"tenant": t.tenant_id, **{c: getattr(t, c) for c in COUNTERS},
         "billed_minutes": round(t.billed_minutes, 2), "by_outcome": dict(t.by_outcome)}
        for t in totals(rows)],
        "days": [{"tenant": r.tenant_id, "day": r.day.isoformat(), "outcome": r.outcome,
                  **{c: getattr(r, c) for c in COUNTERS}} for r in rows]}
    return json.dumps(doc, ensure_ascii=False, indent=2)


def usage_table(month: str, rows: Sequence[UsageDay]) -> str:
    head = ("tenant", "calls", "billed min", "connected", "bookings", "moves", "cancels",
            "messages", "leads", "transfers")
    lines = [" ".join(f"{h:>11}" for h in head)]
    for t in totals(rows):
        cells = (t.tenant_id, t.calls, f"{t.billed_minutes:.2f}", duration(t.connected_s),
                 t.bookings, t.moves, t.cancellations, t.messages, t.leads, t.transfers)
        lines.append(" ".join(f"{c:>11}" for c in cells))
    if len(lines) == 1:
        lines.append(f"no usage in {month}")
    return "\n".join(lines)


def duration(seconds: int | float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass(frozen=True)
class Kpis:
    answered: int
    booked: int
    transferred: int
    abandoned: int
    p50_ms: float | None
    p95_ms: float | None


def kpis(store: Store, zones: Mapping[str, tzinfo], since: datetime, until: datetime) -> Kpis:
    """Calls answered, booked, transferred, abandoned (from the usage aggregates of each
    tenant's local days, so they survive the purge) and voice-to-voice p50/p95 over the
    turns of the period; ``zones``: the tenants to count, with their time zones."""
    rows = [r for tenant, zone in zones.items()
            for r in store.usage_days(since.astimezone(zone).date(), until.astimezone(zone).date(),
                                      tenant)]
    voice = [t.voice_ms for t in store.turn_figures(since, until, list(zones))
             if t.voice_ms is not None]
    return Kpis(answered=sum(r.calls for r in rows),
                booked=sum(r.calls for r in rows if r.bookings),
                transferred=sum(r.transfers for r in rows),
                abandoned=sum(r.calls for r in rows if r.outcome in ABANDONED),
                p50_ms=percentile(voice, 50), p95_ms=percentile(voice, 95))


def calls_chart(rows: Sequence[UsageDay], first: date, last: date, label: str) -> str:
    """A bar per day of calls, as inline SVG markup (no script, no inline style: it
    passes the console's Content-Security-Policy)."""
    per_day: dict[date, int] = {}
    for r in rows:
        per_day[r.day] = per_day.get(r.day, 0) + r.calls
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    top = max([*per_day.values(), 1])
    width, height, pad = 24 * len(days) + 40, 180, 24
    bars = []
    for i, day in enumerate(days):
        n = per_day.get(day, 0)
        h = round((height - 2 * pad) * n / top)
        x, y = 30 + i * 24, height - pad - h
        bars.append(f'<rect x="{x}" y="{y}" width="18" height="{h}" fill="#2f6f8f">'
                    f'<title>{day.isoformat()}: {n}</title></rect>')
        if day.day == 1 or day.day % 5 == 0:
            bars.append(f'<text x="{x + 9}" y="{height - 6}" text-anchor="middle" '
                        f'font-size="10" fill="#555">{day.day}</text>')
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<text x="4" y="14" font-size="11" fill="#555">{top}</text>'
            f'<line x1="28" y1="{height - pad}" x2="{width - 6}" y2="{height - pad}" '
            f'stroke="#999"/>{"".join(bars)}</svg>')
