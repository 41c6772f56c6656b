"""A tenant's call-shape settings: the first layer of the privacy notice and the longest call.

Read from the tenant's table by :func:`tenant_call` (agi.tenants calls it), kept in
:attr:`agi.config.Tenant.call`. Standalone (it imports only agi.errors), like
agi.privacy_settings.

```toml
[[tenants]]
privacy_first_layer = "..."   # one sentence, spoken after the AI statement (default below)
privacy_notice = "..."        # the full notice, read when the caller asks for it (key 9)
max_call_s = 900              # the longest call; then a polite close, the record kept
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agi.errors import ConfigError

TENANT_KEYS = frozenset({"privacy_first_layer", "max_call_s"})
# The key that reads the full notice at any point of a call, named in the first layer.
NOTICE_DIGIT = "9"
# The first layer (CNIL: the essentials at once, the rest on request): what the data is
# for and how to hear the rest, in one sentence. With the AI statement it ends within 8 s
# of the answer with eSpeak NG at the default rate (tests/call/test_opening.py measures it).
DEFAULT_FIRST_LAYER = {
    "fr": "Vos données servent à vous répondre ; vos droits : dites « données personnelles » ou tapez 9.",
    "en": "We use your data to reply; your rights: say personal data or press 9.",
}
# Longer than this and the first layer is no longer "one sentence": the config refuses it
# (the spoken-length warning of agi.call.opening comes much earlier).
MAX_FIRST_LAYER_CHARS = 300
# A quarter of an hour holds any booking, move or message comfortably; a call past it is
# stuck (a caller who left the line open, a loop) and only costs a line.
DEFAULT_MAX_CALL_S = 900.0
MIN_MAX_CALL_S, MAX_MAX_CALL_S = 5.0, 4 * 3600.0


@dataclass(frozen=True)
class TenantCall:
    first_layer: str = DEFAULT_FIRST_LAYER["fr"]
    max_call_s: float = DEFAULT_MAX_CALL_S


def tenant_call(where: str, raw: Mapping[str, Any], language: str) -> TenantCall:
    """The tenant's call keys; :class:`ConfigError` naming the key otherwise."""
    layer = raw.get("privacy_first_layer", DEFAULT_FIRST_LAYER.get(language, DEFAULT_FIRST_LAYER["fr"]))
    if not isinstance(layer, str) or not layer.strip():
        raise ConfigError(f"{where}.privacy_first_layer", "must not be empty",
                          "one sentence: what the data is for, and 'say ... or press 9' for the rest; "
                          "remove the key for the default")
    if len(layer) > MAX_FIRST_LAYER_CHARS:
        raise ConfigError(f"{where}.privacy_first_layer", f"longer than {MAX_FIRST_LAYER_CHARS} characters",
                          "keep one short sentence; the rest belongs in privacy_notice, read on request")
    if not re.search(r"9|\bneuf\b|\bnine\b", layer, re.I):
        raise ConfigError(f"{where}.privacy_first_layer", f"does not tell callers to press {NOTICE_DIGIT}",
                          "callers must learn how to hear the full notice, e.g. '... ou tapez 9'")
    limit = raw.get("max_call_s", DEFAULT_MAX_CALL_S)
    if (not isinstance(limit, (int, float)) or isinstance(limit, bool)
            or not MIN_MAX_CALL_S <= limit <= MAX_MAX_CALL_S):
        raise ConfigError(f"{where}.max_call_s", f"invalid value {limit!r}",
                          f"seconds, from {MIN_MAX_CALL_S:.0f} to {MAX_MAX_CALL_S:.0f}")
    return TenantCall(first_layer=layer.strip(), max_call_s=float(limit))
