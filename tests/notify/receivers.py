"""Real receivers on loopback for the delivery tests, each able to die in mid-delivery and
come back on the same port:

* :class:`WebhookReceiver`: an ``http.server`` app that checks the HMAC signature, keeps
  the Idempotency-Keys it processed and answers 200 to a repeat without processing it.
* :class:`SmtpReceiver`: aiosmtpd, keeping the Message-IDs it accepted.
* :class:`Radicale`: the Radicale CalDAV server as a subprocess with its own storage folder.
* :class:`CuttingProxy`: a TCP proxy that lets one request reach the server and then cuts
  the connection before the answer comes back (the server did it, the client cannot know).

Each receiver counts *arrivals* (every delivery, repeats included) and *processed*
(distinct keys, what the business acts on): exactly once means processed == the number of
notifications, whatever the arrivals.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

READY_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, *, up: bool, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'}")


class Killable:
    """A receiver that dies mid-delivery (``die_at``): ``stop`` runs on a thread of its own
    so the request that killed it can end, and ``wait_dead`` joins that thread."""

    die_at: int | None = None  # the arrival (1-based) after which the receiver dies
    _killer: threading.Thread | None = None

    def stop(self) -> None:
        raise NotImplementedError

    def kill_in_background(self) -> None:
        killer = threading.Thread(target=self.stop)
        killer.start()
        self._killer = killer  # only once started: wait_dead may join it at once
        self.die_at = None  # and only then does the receiver read as dead

    def wait_dead(self) -> None:
        killer = self._killer
        assert killer is not None, "the receiver was not killed"
        killer.join()
        self._killer = None


# web hook ----------------------------------------------------------------------------------
class WebhookReceiver(Killable):
    def __init__(self, secret: str, port: int = 0) -> None:
        self.secret = secret.encode()
        self.port = port or free_port()
        self.arrivals: list[str] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.answer = 200  # the status every signed request gets
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.accept(data, self.headers):
                    self.send_response(401)
                    self.end_headers()
                    return
                if receiver.die_at is not None and len(receiver.arrivals) == receiver.die_at:
                    receiver.kill_in_background()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # no answer: killed mid-delivery
                    return
                self.send_response(receiver.answer)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return  # the test output stays readable; arrivals are recorded instead

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def accept(self, data: bytes, headers: Any) -> bool:
        expected = "sha256=" + hmac.new(self.secret, data, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Permanence-Signature", "")):
            self.bad_signatures += 1
            return False
        key = headers["Idempotency-Key"]
        with self._lock:
            self.arrivals.append(key)
            if key not in self.processed:
                self.processed[key] = json.loads(data)
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# SMTP ---------------------------------------------------------------------------------------
class SmtpReceiver(Killable):
    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.arrivals: list[str] = []
        self.processed: dict[str, Message] = {}
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mid = str(msg["Message-ID"]).strip()  # a long header may arrive folded
        self.arrivals.append(mid)
        self.processed.setdefault(mid, msg)
        if self.die_at is not None and len(self.arrivals) == self.die_at:
            self.kill_in_background()
            server.transport.abort()  # the message is in, the "250" never leaves
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


# CalDAV --------------------------------------------------------------------------------------
class Radicale:
    """``python -m radicale`` on loopback, no authentication (any user name is accepted)."""

    def __init__(self, storage: Path, port: int = 0) -> None:
        self.storage = storage
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}/"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", "", "--server-hosts",
             f"127.0.0.1:{self.port}", "--storage-filesystem-folder", str(self.storage),
             "--auth-type", "none", "--auth-delay", "0", "--rights-type", "owner_only",
             "--logging-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "HOME": str(self.storage)})
        try:
            wait_port(self.port, up=True)
        except TimeoutError:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as when the business's server crashes."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            self._proc = None
            wait_port(self.port, up=False)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None

    def event_files(self, user: str, calendar: str) -> list[Path]:
        folder = self.storage / "collection-root" / user / calendar
        return sorted(folder.glob("*.ics"))


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a server; :attr:`cut_method` set (e.g. b"PUT") makes it
    forward the next such request and then drop the connection instead of the answer."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_method: bytes | None = None
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._pipe_pair, args=(client,), daemon=True).start()

    def _pipe_pair(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()  # server down: the client sees the connection end
            return
        cut = threading.Event()
        threading.Thread(target=self._upstream, args=(client, server, cut), daemon=True).start()
        try:
            while data := server.recv(65536):
                if cut.is_set():
                    self.cuts += 1
                    break  # the server answered; the client never hears it
                client.sendall(data)
        except OSError:
            return  # either side closing ends the pipe, which is the point
        finally:
            client.close()
            server.close()

    def _upstream(self, client: socket.socket, server: socket.socket, cut: threading.Event) -> None:
        try:
            while data := client.recv(65536):
                if self.cut_method is not None and data.startswith(self.cut_method + b" "):
                    self.cut_method = None
                    cut.set()
                server.sendall(data)
        except OSError:
            return
