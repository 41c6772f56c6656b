"""The metrics Permanence exports in the Prometheus format (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The counters Permanence exports; one registry per server (tests run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("permanence_calls", "Calls handled, by tenant and outcome",
                             ["tenant", "outcome"], registry=self.registry)
        self.active = Gauge("permanence_active_calls", "Calls in progress", registry=self.registry)
        self.turn_latency = Histogram(
            "permanence_turn_latency_seconds",
            "End of caller speech to first answer frame",
            buckets=(0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0), registry=self.registry)
