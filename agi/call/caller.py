"""The caller's number as the PBX gave it, made safe and read in the tenant's numbering plan."""

from __future__ import annotations

import phonenumbers

from agi.config import Tenant
from agi.dialogue.normalize import to_e164

__all__ = ["caller_e164", "tenant_region", "MAX_CALLER_CHARS"]

# E.164 numbers have at most 15 digits; 24 leaves room for prefixes and an extension.
MAX_CALLER_CHARS = 24
_CALLER_CHARS = frozenset("0123456789+*#")


def caller_e164(callerid: str, tenant: Tenant) -> str:
    """The caller number in E.164, read in the tenant's own numbering plan; "" if withheld."""
    raw = (callerid or "").strip()
    if not raw or raw.lower() in ("unknown", "anonymous", "restricted"):
        return ""
    # Only what a phone number is made of, and no more than E.164 allows with room for
    # a national prefix and an extension: a hostile PBX value is never stored as sent.
    raw = "".join(c for c in raw[:MAX_CALLER_CHARS * 2] if c in _CALLER_CHARS)[:MAX_CALLER_CHARS]
    if not raw.strip("+*#"):
        return ""
    return to_e164(raw, tenant_region(tenant), strict=False) or raw


def tenant_region(tenant: Tenant) -> str:
    """The tenant's country, from its first dialled number in E.164, else its language."""
    for did in tenant.dids:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(did))
        except phonenumbers.NumberParseException:
            continue
        if region:
            return str(region)
    return "FR" if tenant.language == "fr" else "GB"
