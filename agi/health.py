"""``/health`` (JSON, for IT teams and systemd checks) and ``/metrics`` (Prometheus).

Served by the standard library's WSGI server in a daemon thread so a busy event loop
never makes the health check lie about liveness in the other direction; prometheus_client
renders the metrics.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from agi.metrics import Metrics

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("health: " + format, *args)


class HealthServer:
    """Serves ``/health`` from ``status()`` and ``/metrics`` from ``metrics``."""

    def __init__(self, host: str, port: int, status: Callable[[], Mapping[str, Any]],
                 metrics: Metrics) -> None:
        self._status = status
        self._metrics_app = make_wsgi_app(metrics.registry)
        self._server: WSGIServer = make_server(host, port, self._app, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path in ("/health", "/"):
            status = dict(self._status())
            code = "200 OK" if status.get("status") == "ok" else "503 Service Unavailable"
            body = json.dumps(status, ensure_ascii=False, indent=2).encode()
            start_response(code, [("Content-Type", "application/json; charset=utf-8"),
                                   ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /health or /metrics\n"]
