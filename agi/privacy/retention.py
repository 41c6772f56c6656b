"""Personal data duties as product features: retention, erasure and access.

* Retention (GDPR article 5(1)(e)): :func:`cutoffs` turns ``[privacy]`` into the instants
  before which data goes, :func:`run_purge` applies them once and
  :func:`purge_forever` every ``purge_interval_h`` beside the calls (``permanence serve``).
* Erasure and access (articles 17 and 15): :meth:`agi.booking.store.Store.erase_person`
  and :meth:`~agi.booking.store.Store.personal_data`, reached through
  ``permanence privacy erase|export``; :func:`caller_number` reads the number the person
  gives the way the call controller stored it.

What stays the business's duty: telling callers (the tenant's ``privacy_notice``),
answering within a month, and erasing what left Permanence (e-mails, its CRM, calendars).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agi.booking.store import PurgeCutoffs, PurgeReport, Store, is_e164
from agi.config import PrivacySettings, Tenant
from agi.dialogue.normalize import to_e164
from agi.errors import StoreError

log = logging.getLogger(__name__)


def cutoffs(settings: PrivacySettings, now: datetime) -> PurgeCutoffs:
    """The instants before which each kind of data is purged at ``now`` (aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now.isoformat()}: give a timezone-aware datetime")
    return PurgeCutoffs(calls=now - timedelta(days=settings.calls_days),
                        messages=now - timedelta(days=settings.messages_days),
                        appointments=now - timedelta(days=settings.appointments_days),
                        outbox=now - timedelta(days=settings.outbox_days))


def run_purge(store: Store, settings: PrivacySettings, now: datetime, *,
              dry_run: bool = False, tenants: Sequence[Tenant] = ()) -> PurgeReport:
    """One purge at ``now``; logs the counts (never the data). :class:`StoreError` if the
    store is unreachable. ``tenants`` with a shorter transcript retention (health-data
    mode, ``transcript_days``) lose their older transcripts too (counted in ``turns``)."""
    before = cutoffs(settings, now)
    if not dry_run:  # a recording's file goes before its call's row takes the row with it
        _purge_recordings(store, settings, now, before.calls, tenants)
    report = store.purge(before, dry_run=dry_run)
    extra = 0
    for tenant in tenants:
        days = tenant.privacy.transcripts_kept(settings.calls_days)
        if days < settings.calls_days:  # the calls before before.calls went with the purge
            extra += store.privacy().drop_transcripts(
                tenant.id, before.calls, now - timedelta(days=days), dry_run=dry_run)
    if extra:
        report = replace(report, turns=report.turns + extra)
    if report.total:
        log.info("privacy purge%s: %s", " (dry run)" if dry_run else "",
                 ", ".join(f"{kind} {n}" for kind, n in report.counts().items() if n))
    return report


def _purge_recordings(store: Store, settings: PrivacySettings, now: datetime,
                      calls_cutoff: datetime, tenants: Sequence[Tenant]) -> None:
    """Recordings older than their tenant's ``recording.retention_days`` (or than the call
    records' retention, whichever is shorter) lose their file and row."""
    from agi.call.recording import delete_recordings  # agi.call uses agi.privacy

    days = {t.id: t.privacy.recording.retention_days for t in tenants}
    rows = store.privacy().recordings()
    old = [r for r in rows if r.started_at < max(calls_cutoff, now - timedelta(
        days=days.get(r.tenant_id, 0)))]
    if old:
        log.info("privacy purge: %d recording(s)", delete_recordings(store, old))


async def purge_forever(store: Store, settings: PrivacySettings, stop: asyncio.Event,
                        clock: Callable[[], datetime] | None = None,
                        tenants: Sequence[Tenant] = ()) -> None:
    """Purge now, then every ``purge_interval_h`` until ``stop`` is set.

    Runs at start-up too: a server restarted more often than the interval would otherwise
    never purge. A store that is down is logged and tried again at the next interval (the
    data only waits one more interval). The purge itself runs in a thread.
    """
    now = clock or (lambda: datetime.now(UTC))
    interval_s = settings.purge_interval_h * 3600
    while not stop.is_set():
        try:
            await asyncio.to_thread(lambda: run_purge(store, settings, now(), tenants=tenants))
        except StoreError as exc:
            log.warning("privacy purge failed, next try in %g h: %s",
                        settings.purge_interval_h, exc)
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            continue


def caller_number(raw: str, tenant: Tenant) -> str:
    """The E.164 form of a number given by a person asking for their data, read in the
    tenant's numbering plan as the call controller reads caller ids ("06 12 34 56 78"
    -> "+33612345678" for a French tenant); :class:`ValueError` if it is not a number."""
    from agi.call.caller import tenant_region  # lazily: agi.call uses agi.privacy

    text = raw.strip()
    number = text if is_e164(text) else to_e164(text, tenant_region(tenant), strict=False)
    if not number or not is_e164(number):
        raise ValueError(f"{raw!r} is not a phone number (write it as +33612345678 or "
                         "0612345678)")
    return number
