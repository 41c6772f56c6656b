"""A tenant's personal-data settings: health-data mode, call recording, transfers.

Read from the tenant's table by :func:`tenant_privacy` (agi.config calls it), kept in
:attr:`agi.config.Tenant.privacy`. Standalone (it imports only agi.errors) so that
agi.config can use it without importing the agi.privacy package, which needs agi.config.

```toml
[[tenants]]
health_data = true            # a medical practice (GDPR art. 9)
transcript_days = 30          # default 30 with health_data, else [privacy] calls_days
transfers = []                # recipients outside the EU, named (none by default)
privacy_contact = "dpo@cabinet.example"
recording = { enabled = false, purpose = "", retention_days = 183 }
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agi.errors import ConfigError

# Health-data mode keeps transcripts this long by default: long enough to read a message
# back, short for data of art. 9.
HEALTH_TRANSCRIPT_DAYS = 30
# CNIL: recordings of calls at most six months.
RECORDING_DAYS_MAX = 183
TENANT_KEYS = frozenset({"health_data", "transcript_days", "transfers", "privacy_contact",
                         "recording"})
_RECORDING_KEYS = frozenset({"enabled", "purpose", "retention_days"})


@dataclass(frozen=True)
class RecordingSettings:
    """Call recording: off unless the tenant enables it for a stated purpose; the caller
    is told first and can refuse at any moment (agi.privacy.recording)."""

    enabled: bool = False
    purpose: str = ""
    retention_days: int = RECORDING_DAYS_MAX


@dataclass(frozen=True)
class TenantPrivacy:
    health_data: bool = False
    transcript_days: int | None = None  # None: [privacy] calls_days (30 with health_data)
    transfers: tuple[str, ...] = ()
    contact: str = ""
    recording: RecordingSettings = field(default_factory=RecordingSettings)

    def transcripts_kept(self, calls_days: int) -> int:
        """Days transcripts are kept for this tenant, given the global ``calls_days``."""
        if self.transcript_days is not None:
            return min(self.transcript_days, calls_days)
        return min(HEALTH_TRANSCRIPT_DAYS, calls_days) if self.health_data else calls_days


def tenant_privacy(where: str, raw: Mapping[str, Any]) -> TenantPrivacy:
    """The tenant's privacy keys; :class:`ConfigError` naming the key otherwise."""
    health = raw.get("health_data", False)
    if not isinstance(health, bool):
        raise ConfigError(f"{where}.health_data", f"expected true or false, got {health!r}")
    days = raw.get("transcript_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                             or not 1 <= days <= 3650):
        raise ConfigError(f"{where}.transcript_days", f"{days!r} is out of range",
                          "a number of days from 1 to 3650")
    transfers = raw.get("transfers", [])
    if not isinstance(transfers, list) or not all(isinstance(t, str) and t for t in transfers):
        raise ConfigError(f"{where}.transfers", "must be a list of recipients outside the EU",
                          'e.g. ["CRM vendor, USA, standard contractual clauses"]')
    contact = raw.get("privacy_contact", "")
    if not isinstance(contact, str):
        raise ConfigError(f"{where}.privacy_contact", "must be text (an e-mail or address)")
    if health:
        _require_https(where, raw.get("notify", []))
    return TenantPrivacy(health, days, tuple(transfers), contact,
                         _recording(f"{where}.recording", raw.get("recording", {})))


def _recording(where: str, raw: Any) -> RecordingSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table", "recording = { enabled = true, purpose = ... }")
    unknown = set(raw) - _RECORDING_KEYS
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown setting",
                          f"known: {', '.join(sorted(_RECORDING_KEYS))}")
    enabled, purpose = raw.get("enabled", False), raw.get("purpose", "")
    days = raw.get("retention_days", RECORDING_DAYS_MAX)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled", f"expected true or false, got {enabled!r}")
    if not isinstance(purpose, str) or (enabled and not purpose.strip()):
        raise ConfigError(f"{where}.purpose", "required to record calls",
                          "say why calls are recorded (GDPR art. 5(1)(b)), e.g. 'training'")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= RECORDING_DAYS_MAX:
        raise ConfigError(f"{where}.retention_days", f"{days!r} is out of range",
                          f"1 to {RECORDING_DAYS_MAX} days (CNIL: six months at most)")
    return RecordingSettings(enabled, purpose.strip(), days)


def _require_https(where: str, notify: Sequence[Any]) -> None:
    """Health data never crosses the network in clear: web hooks must be HTTPS."""
    for index, target in enumerate(notify if isinstance(notify, list) else []):
        if isinstance(target, Mapping) and target.get("kind") == "webhook" and \
                not str(target.get("url", "")).lower().startswith("https://"):
            raise ConfigError(f"{where}.notify[{index}].url",
                              "must be https:// for a tenant with health_data = true",
                              "health data (GDPR art. 9) only travels encrypted")
