"""The record of processing activities a controller keeps (GDPR art. 30), drafted from the
configuration: ``permanence privacy register --tenant T [--format md|json]``.

Everything in it comes from the settings (retention periods, notification targets,
health-data mode, recording, transfers), so it stays true when they change; the
business completes and signs it (its own name and address, other processing it does).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from agi.config import CalDavTarget, EmailTarget, Settings, Tenant, WebhookTarget

RECORD_VERSION = 1


def _recipients(tenant: Tenant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for target in tenant.notify:
        if isinstance(target, EmailTarget):
            found.append({"kind": "email", "name": target.name, "to": list(target.to),
                          "via": f"{target.smtp_host}:{target.smtp_port}",
                          "encrypted_in_transit": target.smtp_starttls})
        elif isinstance(target, WebhookTarget | CalDavTarget):
            url = urlsplit(target.url)
            found.append({"kind": target.kind, "name": target.name, "host": url.hostname or "",
                          "encrypted_in_transit": url.scheme == "https"})
    return found


def _categories(settings: Settings, tenant: Tenant) -> list[dict[str, Any]]:
    p, days = settings.privacy, tenant.privacy.transcripts_kept(settings.privacy.calls_days)
    rows: list[tuple[str, int | None, str]] = [
        ("caller's phone number, call times, outcome", p.calls_days, "deleted"),
        ("transcript of the call (what the caller and the assistant said), encrypted",
         days, "deleted"),
        ("data collected during the call (name, requested date, reason), encrypted",
         p.calls_days, "deleted"),
        ("messages and call-back requests, encrypted", p.messages_days, "deleted"),
        ("appointments (name, number, service, time)", p.appointments_days,
         "name and number removed after the appointment; the slot stays"),
        ("notifications sent to the business (copies of the above)", p.outbox_days, "deleted"),
    ]
    if tenant.privacy.recording.enabled:
        rows.append(("call audio recordings, encrypted", tenant.privacy.recording.retention_days,
                     "deleted"))
    rows.append(("register of privacy requests (who asked what, when, the answer)", None,
                 "kept as proof of the answers (art. 5(2))"))
    return [{"category": c, "retention_days": d, "then": t} for c, d, t in rows]


def _information(tenant: Tenant) -> dict[str, str]:
    """What every caller hears (art. 13), in two layers: the first at once, the full notice
    whenever they ask (agi.call.opening)."""
    from agi.dialogue import phrases

    return {"ai_statement": phrases.ai_statement(tenant), "first_layer": tenant.call.first_layer,
            "full_notice": phrases.full_notice(tenant),
            "on_request": "at any point of the call, by saying « données personnelles » "
                          "(or 'personal data', 'mes droits', 'privacy'...) or pressing 9"}


def record_of_processing(settings: Settings, tenant_id: str) -> dict[str, Any]:
    """The tenant's record as plain data (``ValueError`` for an unknown tenant)."""
    tenant = next((t for t in settings.tenants if t.id == tenant_id), None)
    if tenant is None:
        raise ValueError(f"unknown tenant {tenant_id!r}")
    tp = tenant.privacy
    purposes = ["answering calls on the business's behalf (automated assistant)",
                "managing appointments: booking, moving, cancelling",
                "taking messages and call-back requests for the business"]
    if tp.recording.enabled:
        purposes.append(f"recording calls, with the caller's consent: {tp.recording.purpose}")
    return {
        "format": "permanence-record-of-processing", "version": RECORD_VERSION,
        "controller": {"name": tenant.name, "tenant_id": tenant.id, "contact": tp.contact},
        "purposes": purposes,
        "legal_basis": "pre-contractual steps at the caller's request (art. 6(1)(b))"
                       + ("; consent for recordings (art. 6(1)(a))" if tp.recording.enabled
                          else ""),
        "data_subjects": ["callers (patients, customers, prospects)"],
        "categories": _categories(settings, tenant),
        "special_categories": (["health data (art. 9): the practice's patients"]
                               if tp.health_data else []),
        "recipients": _recipients(tenant),
        "transfers_outside_eu": list(tp.transfers),
        "information_to_callers": _information(tenant),
        "security_measures": [
            "runs on the business's own premises; no third-party service unless configured",
            "transcripts, messages, collected data"
            + (" and recordings" if tp.recording.enabled else "")
            + " encrypted at rest (AES-256-GCM), key kept outside the database",
            "retention periods enforced by a daily purge",
            "access, rectification, erasure, restriction, objection and portability "
            "recorded in a register with their deadlines",
            "erasure passed on to web hooks and calendars",
            *(["health-data mode: notifications without free text, web hooks over HTTPS only"]
              if tp.health_data else []),
            "application log without conversation content",
        ],
    }


def as_markdown(record: dict[str, Any]) -> str:
    """The record as a Markdown document to print, complete and sign."""
    c = record["controller"]
    out = [f"# Record of processing: {c['name']}", "",
           f"Controller: {c['name']} (tenant `{c['tenant_id']}`)"
           + (f", contact: {c['contact']}" if c["contact"] else ""), "",
           "## Purposes", *[f"- {p}" for p in record["purposes"]], "",
           f"Legal basis: {record['legal_basis']}", "",
           "## Data subjects", *[f"- {d}" for d in record["data_subjects"]], "",
           "## Categories of data and retention", "",
           "| data | kept | then |", "|---|---|---|"]
    for row in record["categories"]:
        kept = f"{row['retention_days']} days" if row["retention_days"] else "no fixed period"
        out.append(f"| {row['category']} | {kept} | {row['then']} |")
    out += ["", "## Special categories",
            *([f"- {s}" for s in record["special_categories"]] or ["- none"]), "",
            "## Recipients"]
    for r in record["recipients"]:
        where = ", ".join(r["to"]) if r["kind"] == "email" else r["host"]
        tls = "encrypted in transit" if r["encrypted_in_transit"] else "NOT encrypted in transit"
        out.append(f"- {r['kind']} `{r['name']}`: {where} ({tls})")
    if not record["recipients"]:
        out.append("- none (notifications are not configured)")
    out += ["", "## Transfers outside the EU",
            *([f"- {t}" for t in record["transfers_outside_eu"]] or ["- none"]), "",
            "## Security measures", *[f"- {m}" for m in record["security_measures"]], ""]
    if "information_to_callers" in record:
        info = record["information_to_callers"]
        out += ["## Information given to callers (art. 13)", "",
                f"- First, on every call: « {info['ai_statement']} » then « {info['first_layer']} »",
                f"- Read on request ({info['on_request']}): « {info['full_notice']} »", ""]
    return "\n".join(out)
