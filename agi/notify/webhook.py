"""Signed web hook notifications: one HTTP POST of JSON per outbox item (``httpx``).

Headers the receiver relies on:

* ``Idempotency-Key``: the outbox row's key, the same on every attempt; the receiver keeps
  the keys it has processed and answers 2xx to a repeat without doing it again. This is
  what turns our at-least-once delivery into exactly-once processing.
* ``X-Permanence-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the
  target's secret (the GitHub web hook convention), so the receiver knows the body came
  from us unaltered. Compare it in constant time.
* ``X-Permanence-Timestamp``: when this attempt was made (Unix seconds). It is not signed;
  the signed body carries ``created_at``, and a replayed body is a repeat of a key the
  receiver already processed.

Answers: 2xx delivered; 408 and 429 (honouring ``Retry-After`` in seconds) and 5xx
retried; any other 4xx is permanent (the receiver will never take this body); 3xx is
permanent too, because a signed POST must not be re-sent to wherever a redirect points:
configure the final URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from agi.booking.store import OutboxItem
from agi.config import NotifyTarget, Tenant, WebhookTarget
from agi.errors import DeliveryError

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise DeliveryError("web hook notifications need httpx: pip install httpx",
                        permanent=True) from exc

# Connect, read and write each; a receiver slower than this is retried later.
HTTP_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Permanence-Signature"
TIMESTAMP_HEADER = "X-Permanence-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "Permanence-Webhook/1"


def body(item: OutboxItem) -> bytes:
    """The JSON body: stable bytes for every attempt of ``item`` (sorted, compact)."""
    document: Mapping[str, Any] = {
        "id": item.idempotency_key, "type": item.kind, "tenant": item.tenant_id,
        "created_at": item.created_at.isoformat(), "data": dict(item.payload)}
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def signature(secret: str, data: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of data>``, the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    # The HTTP-date form (RFC 9110 section 10.2.3) is rare for web hooks: back-off covers it.
    return float(value) if value.strip().isdigit() else None


class WebhookSender:
    """POST outbox items to :class:`WebhookTarget` URLs.

    ``transport`` is handed to :class:`httpx.Client` (tests may pass one; production uses
    httpx's own); ``clock`` gives the timestamp header.
    """

    kind = "webhook"

    def __init__(self, *, timeout: float = HTTP_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                    headers={"User-Agent": USER_AGENT})
        self._clock = clock

    def close(self) -> None:
        self._client.close()

    def send(self, item: OutboxItem, target: NotifyTarget, tenant: Tenant) -> None:
        if not isinstance(target, WebhookTarget):
            raise TypeError(f"WebhookSender cannot send to {target.key}")
        data = body(item)
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: item.idempotency_key,
                   SIGNATURE_HEADER: signature(target.secret, data),
                   TIMESTAMP_HEADER: str(int(self._clock()))}
        try:
            response = self._client.post(target.url, content=data, headers=headers)
        except httpx.InvalidURL as exc:
            raise DeliveryError(f"web hook URL of {target.key} is invalid: {exc}",
                                permanent=True) from exc
        except httpx.HTTPError as exc:  # connect, read, write, protocol errors, timeouts
            raise DeliveryError(f"web hook {target.key} unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise DeliveryError(f"web hook {target.key} answered {status}",
                                retry_after=_retry_after(response))
        raise DeliveryError(f"web hook {target.key} answered {status}: it will not take this "
                            "notification", permanent=True)
