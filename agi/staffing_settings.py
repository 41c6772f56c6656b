"""A tenant's staffing: when humans take transfers, what callers hear when they do not.

Read from the tenant's ``[tenants.staffed]`` table by :func:`tenant_staffed` (agi.tenants
calls it), kept in :attr:`agi.config.Tenant.staffed`. Standalone like
:mod:`agi.privacy_settings`: the weekly-hours parser is passed in, so this module imports
only agi.errors.

```toml
[tenants.staffed]
hours = { mon = ["09:00-12:00"], tue = ["14:00-17:00"] }  # absent: the opening hours
after_hours_greeting = "Le cabinet est fermé. Je peux prendre un message."
emergency = "En cas d'urgence, composez le 15."  # said when the caller's words call for it
transfer = "attended"   # "blind" (default) or "attended": the human hears who and why first
ring_s = 20             # a target that has not answered by then is "no answer"
```

Closures and public holidays of the tenant close the staffed hours too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from agi.errors import ConfigError

TENANT_KEY = "staffed"
TRANSFER_KINDS = ("blind", "attended")
_KEYS = frozenset({"hours", "after_hours_greeting", "emergency", "transfer", "ring_s"})
# A phone rings about every 5 s: fewer than two rings is no chance to answer; past a
# minute the caller has waited too long to still leave a message.
RING_S_MIN, RING_S_MAX, RING_S_DEFAULT = 10, 60, 20
# Sentences read out on a phone line: longer ones are not listened to.
MAX_SENTENCE_CHARS = 300

HoursParser = Callable[[str, Mapping[str, Any]], Mapping[int, tuple[tuple[time, time], ...]]]


@dataclass(frozen=True)
class StaffedSettings:
    """When a human can take the call, and what the agent does when none can."""

    hours: Mapping[int, tuple[tuple[time, time], ...]] | None = None  # None: opening hours
    after_hours_greeting: str = ""  # "" = the default phrase (agi.dialogue.phrases)
    emergency: str = ""  # "" = no emergency sentence
    transfer: str = "blind"
    ring_s: int = RING_S_DEFAULT

    @property
    def attended(self) -> bool:
        return self.transfer == "attended"


def tenant_staffed(where: str, raw: Mapping[str, Any], parse_hours: HoursParser) -> StaffedSettings:
    """The tenant's ``staffed`` table; :class:`ConfigError` naming the key otherwise."""
    table = raw.get(TENANT_KEY, {})
    where = f"{where}.{TENANT_KEY}"
    if not isinstance(table, Mapping):
        raise ConfigError(where, "must be a table", "e.g. [tenants.staffed] transfer = \"attended\"")
    for key in table:
        if key not in _KEYS:
            raise ConfigError(f"{where}.{key}", "unknown setting", f"known: {', '.join(sorted(_KEYS))}")
    hours = None
    if "hours" in table:
        if not isinstance(table["hours"], Mapping):
            raise ConfigError(f"{where}.hours", "must be a table of days",
                              'e.g. hours = { mon = ["09:00-12:00"] }')
        hours = parse_hours(f"{where}.hours", table["hours"])
    transfer = table.get("transfer", "blind")
    if transfer not in TRANSFER_KINDS:
        raise ConfigError(f"{where}.transfer", f"unknown kind {transfer!r}",
                          f"use one of {', '.join(TRANSFER_KINDS)}")
    ring = table.get("ring_s", RING_S_DEFAULT)
    if not isinstance(ring, int) or isinstance(ring, bool) or not RING_S_MIN <= ring <= RING_S_MAX:
        raise ConfigError(f"{where}.ring_s", f"invalid value {ring!r}",
                          f"whole seconds from {RING_S_MIN} to {RING_S_MAX}")
    return StaffedSettings(hours=hours,
                           after_hours_greeting=_sentence(f"{where}.after_hours_greeting",
                                                          table.get("after_hours_greeting", "")),
                           emergency=_sentence(f"{where}.emergency", table.get("emergency", "")),
                           transfer=transfer, ring_s=ring)


def _sentence(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(where, f"expected a sentence, got {value!r}")
    if len(value) > MAX_SENTENCE_CHARS:
        raise ConfigError(where, f"longer than {MAX_SENTENCE_CHARS} characters",
                          "callers hear it read out: keep it short")
    return value.strip()
