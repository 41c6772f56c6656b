"""From settings to the store's usage policy, and the monthly usage alerts.

The alerts go through the outbox as a ``message`` to the tenant's targets (the channels
the business already reads), once per tenant, month and kind (minutes or calls): the
claim and the outbox row are separate transactions, so a crash between them loses the
alert rather than repeating it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agi.booking.store import Store
from agi.booking.usage import UsagePolicy, month_days, totals
from agi.config import Settings

log = logging.getLogger(__name__)

ALERT_TEXT = {
    "fr": "Permanence : {tenant} a dépassé {limit} {unit} ce mois-ci ({month} : {value}).",
    "en": "Permanence: {tenant} went over {limit} {unit} this month ({month}: {value}).",
}
UNITS = {"minutes": {"fr": "minutes facturées", "en": "billed minutes"},
         "calls": {"fr": "appels", "en": "calls"}}


def usage_policy(settings: Settings) -> UsagePolicy:
    """The billing rounding and each tenant's zone (its local day), for the store."""
    return UsagePolicy(rounding=settings.usage.rounding,  # type: ignore[arg-type]
                       zones={t.id: t.timezone for t in settings.tenants})


def check_alerts(store: Store, settings: Settings, tenant_id: str, now: datetime) -> list[str]:
    """Notify the tenant once per month and kind when its usage crosses a threshold;
    the kinds notified by this call."""
    limits = {"minutes": settings.usage.alert_minutes.get(tenant_id),
              "calls": settings.usage.alert_calls.get(tenant_id)}
    if not any(limits.values()):
        return []
    tenant = next((t for t in settings.tenants if t.id == tenant_id), None)
    if tenant is None:
        return []
    month = now.astimezone(tenant.tz).strftime("%Y-%m")
    found = totals(store.usage_days(*month_days(month), tenant_id))
    if not found:
        return []
    values = {"minutes": found[0].billed_minutes, "calls": float(found[0].calls)}
    sent = []
    for kind, limit in limits.items():
        if not limit or values[kind] < int(limit):
            continue
        if not store.claim_usage_alert(tenant_id, month, kind, now):
            continue
        lang = tenant.language
        text = ALERT_TEXT[lang].format(tenant=tenant.name, limit=limit, unit=UNITS[kind][lang],
                                       month=month, value=f"{values[kind]:g}")
        store.add_message(tenant_id, "", "", "Permanence", text, now)
        log.info("usage alert %s for %s (%s)", kind, tenant_id, month)
        sent.append(kind)
    return sent
