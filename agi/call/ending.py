"""How a call ends: media closed, the record closed (with its summary), the channel given back.

The session's last step (:func:`finish`), what the dialplan reads after us
(:func:`release_channel`: ``PERMANENCE_RESULT`` / ``_TRANSFER`` / ``_OUTCOME``), and the
call no tenant claims (:func:`unknown_tenant`). The record is closed before the channel
goes, so it never depends on the PBX answering.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agi.booking.store import CallRecord
from agi.call.channel import CHANNEL_ERRORS, MEDIA_CONNECT_TIMEOUT_S
from agi.dialogue import phrases
from agi.notify.summary import summary_for_call

if TYPE_CHECKING:
    from agi.call.session import CallSession

__all__ = ["finish", "release_channel", "unknown_tenant"]

log = logging.getLogger("agi.call.session")  # the call's story stays in one logger


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def finish(s: CallSession) -> None:
    """Close media, give control back to the PBX, and close the call record."""
    if s.media is not None:
        await s.media.close()
    await s.channel.end_media(MEDIA_CONNECT_TIMEOUT_S)
    if s.consent is not None:  # the call record exists: the recording's row may follow
        await asyncio.to_thread(s.consent.end)
    if s._recorded:  # before the channel goes: the record must not depend on the PBX
        summary = await asyncio.to_thread(summary_for_call, s.services.store,
                                          call_id=s.call_id, tenant=s.tenant,
                                          outcome=s.outcome, data=s.data,
                                          request=s.request, transfer_to=s.transfer_to,
                                          settings=s.settings.summaries)
        await s._store("end_call", s.call_id, _utcnow(), s.outcome, s.data or None, summary)
        if s.services.spool is not None:  # held in memory only: lost now, counted
            await asyncio.to_thread(s.services.spool.end_call, s.call_id)
    await release_channel(s)
    s.services.active_calls.discard(s.call_id)
    log.info("call %s: end outcome=%s", s.call_id, s.outcome)


async def release_channel(s: CallSession) -> None:
    variables = {"PERMANENCE_OUTCOME": s.outcome}
    if s.transfer_to:
        variables |= {"PERMANENCE_RESULT": "transfer", "PERMANENCE_TRANSFER": s.transfer_to}
    elif s.outcome == "error":
        variables["PERMANENCE_RESULT"] = "error"
    else:
        variables["PERMANENCE_RESULT"] = "hangup"
    try:
        if not s.channel.hung_up and not s.bridged:
            for name, value in variables.items():
                await s.channel.set_variable(name, value)
            if variables["PERMANENCE_RESULT"] == "hangup":
                await s.channel.hangup()
    except CHANNEL_ERRORS as exc:
        log.info("call %s: channel already gone (%s)", s.call_id, type(exc).__name__)
    finally:
        await s.channel.close()


async def unknown_tenant(s: CallSession) -> None:
    """Apologise (or send the call to the configured fallback) and record the call."""
    info = s.channel.info
    log.warning("call %s: unknown tenant for route %r", s.call_id, info.route)
    await s._store("start_call", CallRecord(
        call_id=s.call_id, tenant_id="", caller="", started_at=_utcnow(),
        channel=info.channel_name))
    fallback = s.settings.server.unknown_tenant_extension
    try:
        if fallback:
            await s.channel.set_variable("PERMANENCE_RESULT", "fallback")
            await s.channel.set_variable("PERMANENCE_FALLBACK", fallback)
        else:
            s.tenant = s.settings.tenants[0]
            await s.channel.answer()
            await s._start_media()
            apology = [phrases.phrase(phrases.UNKNOWN_TENANT, lang) for lang in ("fr", "en")]
            await s._say_all(apology, interruptible=False, record=False)
            if s.media is not None:
                await s.media.close()
            await s.channel.end_media(MEDIA_CONNECT_TIMEOUT_S)
            await s.channel.hangup()
    except CHANNEL_ERRORS as exc:
        log.info("call %s: unknown-tenant call ended early (%s)", s.call_id, type(exc).__name__)
    finally:
        await s.channel.close()
        s.outcome = "fallback" if fallback else "unknown_tenant"
        await s._store("end_call", s.call_id, _utcnow(), s.outcome, None)
