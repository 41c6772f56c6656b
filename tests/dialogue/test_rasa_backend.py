"""The Rasa backend without Rasa: what a call does when the server is down or too slow.

Real sockets only: a port nobody listens on, and a real HTTP server on loopback that
answers later than the configured budget. Conversations through a real Rasa server are
in tests/rasa/test_rasa_dialogue.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import DialogueSettings, load_settings, settings_from_dict
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinEngine
from agi.dialogue.rasa import FALLBACK_KEY, RasaEngine
from agi.errors import ConfigError

NLU = Path(__file__).resolve().parents[2] / "nlu"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(scope="module")
def builtin() -> BuiltinEngine:
    return BuiltinEngine(NLU, ("fr",))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: connections are refused


class _Slow(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(2.0)  # longer than the budget below: the client is gone by then
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"[]")
        except BrokenPipeError:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        return None  # keep the test output clean


@pytest.fixture()
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def call(tmp_path: Path) -> CallContext:
    settings = load_settings(None, {})
    store = SqliteStore(tmp_path / "calls.sqlite3")
    tenant = settings.tenant("demo")
    store.start_call(CallRecord("c1", tenant.id, "+33612345678", NOW))
    return CallContext("c1", tenant, store, "+33612345678", now=lambda: NOW)


@pytest.mark.parametrize("server", ["refused", "slow"])
def test_when_rasa_is_down_or_slow_the_call_goes_on_with_the_builtin_engine(
        builtin: BuiltinEngine, tmp_path: Path, slow_server: str, server: str) -> None:
    url = slow_server if server == "slow" else f"http://127.0.0.1:{closed_port()}"
    engine = RasaEngine(DialogueSettings(backend="rasa", rasa_urls={"fr": url}, rasa_timeout_s=0.3),
                        builtin)
    conv = engine.conversation(call(tmp_path))
    first = conv.respond("bonjour je voudrais prendre rendez-vous")
    assert first.say == ("À quel nom dois-je noter le rendez-vous ?",)
    assert first.expecting == "name" and first.data[FALLBACK_KEY] == "builtin"
    second = conv.respond("je m'appelle marie dupont")
    assert second.data == {"name": "Marie Dupont", "service": "consultation", FALLBACK_KEY: "builtin"}
    assert conv.data[FALLBACK_KEY] == "builtin"
    assert engine.reachability() == {"fr": False}


def test_rasa_urls_are_validated() -> None:
    raw = {"tenants": [{"id": "t", "name": "T", "language": "fr"}]}
    with pytest.raises(ConfigError, match="dialogue.rasa_urls.de: unsupported language"):
        settings_from_dict({**raw, "dialogue": {"rasa_urls": {"de": "http://127.0.0.1:5005"}}})
    with pytest.raises(ConfigError, match="dialogue.rasa_urls.fr: '127.0.0.1:5005' is not a server URL"):
        settings_from_dict({**raw, "dialogue": {"rasa_urls": {"fr": "127.0.0.1:5005"}}})


def test_warm_up_waits_for_a_slow_first_turn_and_reports_a_dead_server(
        builtin: BuiltinEngine, slow_server: str) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    engine = RasaEngine(DialogueSettings(backend="rasa", rasa_urls={"fr": slow_server, "en": dead},
                                         rasa_timeout_s=0.5), builtin)
    try:
        # the 2 s answer is far over the per-turn budget, well within the warm-up's
        assert engine.warm_up(timeout_s=10) == {"fr": True, "en": False}
    finally:
        engine.close()
