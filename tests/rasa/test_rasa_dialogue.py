"""The Rasa backend against real Rasa 3.6 servers and the real action server (nlu/actions/).

One session fixture builds what is missing (Rasa venv, models: fingerprinted, so a cached
model is reused while nlu/<lang>/ is unchanged), then starts one Rasa server per language
and the action server from the controller's venv, all reading one SQLite database through
a Permanence settings file (PERMANENCE_CONFIG). Runs when the Rasa venv exists (``make
rasa`` or ``rasa_env.py install``) or PERMANENCE_RASA_TESTS=1 is set (``make test`` sets it).

The end-to-end calls replace only the recogniser with the scripted double of
tests/call/conftest.py (no French or English Vosk model can exist here); the PBX is the
emulator over real FastAGI/AudioSocket, dialogue goes through Rasa over HTTP.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import httpx
import pytest

from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import Settings, load_settings
from agi.dialogue.base import CallContext
from agi.dialogue.builtin import BuiltinEngine
from agi.dialogue.parity import compare, load_suite, play
from agi.dialogue.rasa import FALLBACK_KEY, RasaEngine
from agi.pbx.emulator import CallerTurn, emulate_call, speak
from agi.server import PermanenceServer
from agi.speech.asr import Recognizer, RecognizerFactory, Transcript
from agi.speech.tts import EspeakSynthesizer

REPO = Path(__file__).resolve().parents[2]
NLU = REPO / "nlu"
SCRIPT = REPO / "deploy" / "rasa" / "rasa_env.py"
VENV = Path(os.environ.get("RASA_VENV", str(REPO / ".rasa-venv")))
MODELS = Path(os.environ.get("PERMANENCE_RASA_MODELS", str(REPO / "models")))
HOME = REPO / ".rasa" / "home"
READY_TIMEOUT_S = 900  # two servers loading TensorFlow graphs on two busy cores

# `make test` sets PERMANENCE_RASA_TESTS=1 (after `make rasa-ready`), `make test RASA=no` 0;
# unset, the tests run when the Rasa venv is there.
_WANTED = os.environ.get("PERMANENCE_RASA_TESTS", "1" if VENV.is_dir() else "0") == "1"
pytestmark = pytest.mark.skipif(
    not _WANTED, reason="Rasa tests off: `make test` runs them (PERMANENCE_RASA_TESTS=1); "
    "`make test RASA=no` or no Rasa venv leaves them out")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


rasa_env = _load("rasa_env_for_dialogue", SCRIPT)
call_fixtures = _load("call_fixtures", REPO / "tests" / "call" / "conftest.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RasaStack:
    settings: Settings  # what the action server reads (PERMANENCE_CONFIG)
    urls: dict[str, str]
    servers: dict[str, subprocess.Popen[bytes]]

    def engine(self, fallback: BuiltinEngine, timeout_s: float = 10.0) -> RasaEngine:
        # generous here: the suite checks behaviour, not speed, on a loaded machine
        return RasaEngine(replace(self.settings.dialogue, rasa_urls=self.urls,
                                  rasa_timeout_s=timeout_s), fallback)

    def store(self) -> SqliteStore:
        return SqliteStore(self.settings.store.sqlite_path)

    def kill_rasa(self, lang: str) -> None:
        """SIGKILL the ``rasa run`` process behind ``lang`` (its supervisor then stops)."""
        supervisor = self.servers[lang].pid
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        for pid in children:
            if "rasa" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(pid), signal.SIGKILL)


@pytest.fixture(scope="session")
def builtin() -> BuiltinEngine:
    return BuiltinEngine(NLU)


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    rasa_env.install(VENV, rasa_env.LOCK_FILE, None, False)  # a no-op when installed
    models = {lang: rasa_env.train(VENV, NLU / lang, MODELS, f"permanence-{lang}", False, HOME)
              for lang in ("fr", "en")}
    tmp = tmp_path_factory.mktemp("rasa-stack")
    defaults = (REPO / "agi" / "defaults.toml").read_text("utf-8")
    config = tmp / "permanence.toml"
    config.write_text("\n".join(
        f'sqlite_path = "{tmp / "calls.sqlite3"}"' if line.startswith("sqlite_path") else line
        for line in defaults.splitlines()))
    actions_port = free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    env = {**os.environ, "PERMANENCE_CONFIG": str(config)}
    urls, servers = {}, {}
    for lang in ("fr", "en"):
        port = free_port()
        urls[lang] = f"http://127.0.0.1:{port}"
        # the French stack also runs the action server (our venv); English shares it
        extra = (["--actions-port", str(actions_port), "--actions-python", sys.executable]
                 if lang == "fr" else ["--no-actions"])
        servers[lang] = subprocess.Popen(
            [sys.executable, str(SCRIPT), "serve", "--venv", str(VENV), "--model", str(models[lang]),
             "--port", str(port), "--endpoints", str(endpoints), "--home", str(HOME), *extra],
            env=env, start_new_session=True)
    stack = RasaStack(load_settings(config, {}), urls, servers)
    try:
        for lang, url in urls.items():
            ready = subprocess.run(
                [sys.executable, str(SCRIPT), "status", "--url", url, "--timeout", str(READY_TIMEOUT_S),
                 *(["--actions-url", f"http://127.0.0.1:{actions_port}"] if lang == "fr" else [])],
                capture_output=True, text=True, timeout=READY_TIMEOUT_S + 60, check=False)
            assert ready.returncode == 0, f"Rasa {lang} not ready: {ready.stderr[-2000:]}"
        yield stack
    finally:
        for server in servers.values():
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
        for server in servers.values():
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def new_call(stack: RasaStack, tenant_id: str, caller: str, now: datetime) -> CallContext:
    store = stack.store()
    tenant = stack.settings.tenant(tenant_id)
    call_id = f"rasa-test-{os.urandom(6).hex()}"
    store.start_call(CallRecord(call_id, tenant.id, caller, now, language=tenant.language))
    return CallContext(call_id, tenant, store, caller, now=lambda: now)


PARIS, LONDON = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London")
MONDAY_PARIS = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
MONDAY_LONDON = datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)


# ------------------------------------------------------------------ the conversation suite

@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_conversation_suite_passes_on_both_backends_with_the_same_actions_and_slots(
        rasa_stack: RasaStack, builtin: BuiltinEngine, tmp_path: Path, lang: str) -> None:
    suite = load_suite(NLU / "tests" / f"conversations_{lang}.yml")
    on_builtin = play(suite, builtin, rasa_stack.settings, SqliteStore(tmp_path / "builtin.sqlite3"))
    store = rasa_stack.store()
    try:
        on_rasa = play(suite, rasa_stack.engine(builtin), rasa_stack.settings, store)
    finally:
        _cancel_parity_bookings(store, suite.tenant, suite.now)
    assert [p.failures for p in on_builtin] == [() for _ in on_builtin]
    assert [p.failures for p in on_rasa] == [() for _ in on_rasa]
    assert all(FALLBACK_KEY not in t.reply.data for p in on_rasa for t in p.turns)
    # every slot of every turn, normalised values included ("11:00", E.164, never the words)
    assert compare(on_builtin, on_rasa, list(builtin.models[lang].project.slots)) == []


def _cancel_parity_bookings(store: SqliteStore, tenant_id: str, since: datetime) -> None:
    """The Rasa action server books into the database the other tests share: free the
    suite's slots so a later test asking for "mardi à onze heures" finds them open."""
    for appt in store.appointments(tenant_id, since, since + timedelta(days=120)):
        if appt.call_id and appt.call_id.startswith("parity-"):
            store.cancel(appt.id)


# ------------------------------------------------------------------ conversations over HTTP

def test_english_booking_through_rasa_writes_the_appointment(
        rasa_stack: RasaStack, builtin: BuiltinEngine) -> None:
    ctx = new_call(rasa_stack, "demo-en", "+447700900101", MONDAY_LONDON)
    conv = rasa_stack.engine(builtin).conversation(ctx)
    for text in ("i'd like to make an appointment", "my name is mary brown", "next wednesday",
                 "at two pm"):
        reply = conv.respond(text)
    assert "Wednesday" in " ".join(reply.say) and reply.data["time"] == "14:00"
    booked = conv.respond("yes")
    assert booked.outcome == "booked" and FALLBACK_KEY not in booked.data
    day = datetime(2026, 12, 2, tzinfo=LONDON)
    # the conversation suite shares this database: only this call's appointments
    rows = [a for a in ctx.store.appointments("demo-en", day, day.replace(hour=23)) if a.call_id == ctx.call_id]
    assert [(a.starts_at.astimezone(LONDON).hour, a.customer_name, a.call_id) for a in rows] == [(14, "Mary Brown", ctx.call_id)]


def test_cancel_through_rasa_cancels_the_callers_appointment(
        rasa_stack: RasaStack, builtin: BuiltinEngine) -> None:
    from agi.booking.availability import book_slot

    ctx = new_call(rasa_stack, "demo", "+33612000101", MONDAY_PARIS)
    appt = book_slot(ctx.store, ctx.tenant, ctx.tenant.service(None),
                     datetime(2026, 12, 7, 11, 0, tzinfo=PARIS),
                     name="Luc Bernard", phone=ctx.caller, call_id=ctx.call_id, now=MONDAY_PARIS)
    conv = rasa_stack.engine(builtin).conversation(ctx)
    asked = conv.respond("bonjour je dois annuler mon rendez-vous")
    assert "lundi 7 décembre" in " ".join(asked.say)
    done = conv.respond("oui annulez le")
    assert done.outcome == "cancelled"
    # both listings leave cancelled appointments out: gone from the caller's and the day's
    assert ctx.store.appointments_for_caller("demo", ctx.caller) == []
    day = datetime(2026, 12, 7, tzinfo=PARIS)
    assert [a.id for a in ctx.store.appointments("demo", day, day.replace(hour=23))
            if a.id == appt.id] == []


def test_a_transfer_request_through_rasa_hands_over_to_the_tenant_target(
        rasa_stack: RasaStack, builtin: BuiltinEngine) -> None:
    ctx = new_call(rasa_stack, "demo", "+33612000102", MONDAY_PARIS)
    reply = rasa_stack.engine(builtin).conversation(ctx).respond("je voudrais parler à quelqu'un")
    assert reply.transfer == "PJSIP/secretariat" and reply.outcome == "transfer"
    assert reply.say and not reply.hangup


class _GiveUpAfterForwarding(httpx.BaseTransport):
    """The real network, except that webhook request number ``give_up_at`` reaches Rasa, is
    answered, and then the client times out anyway: what a Rasa slower than the budget
    does (it finishes the turn, actions included, after the controller gave up). Rasa
    cannot be made slow on demand, so this one time-out is the double; Rasa is real."""

    def __init__(self, give_up_at: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._give_up_at, self._posts = give_up_at, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/webhook"):
            self._posts += 1
            if self._posts - 1 == self._give_up_at:
                response.read()
                raise httpx.ReadTimeout("budget exceeded (test)", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize("give_up_at", range(5))
def test_a_booking_stays_right_whichever_turn_rasa_is_too_slow_for(
        rasa_stack: RasaStack, builtin: BuiltinEngine, give_up_at: int) -> None:
    """Rasa completes the turn the controller gave up on (its action may even have booked):
    the builtin engine replays that turn from the slots before it, and the caller ends up
    with the one appointment they asked for."""
    ctx = new_call(rasa_stack, "demo", f"+3361200020{give_up_at}", MONDAY_PARIS)
    engine = RasaEngine(replace(rasa_stack.settings.dialogue, rasa_urls=rasa_stack.urls,
                                rasa_timeout_s=10.0), builtin,
                        transport=_GiveUpAfterForwarding(give_up_at))
    conv = engine.conversation(ctx)
    # the cases share the stack's database with the conversation suite: a day the suite
    # leaves alone, one hour per case
    hour, spoken = [(9, "neuf"), (10, "dix"), (14, "quatorze"), (15, "quinze"), (16, "seize")][give_up_at]
    for text in ("bonjour je voudrais prendre rendez-vous", "je m'appelle claire petit",
                 "mardi huit décembre", f"à {spoken} heures", "oui"):
        reply = conv.respond(text)
    assert reply.outcome == "booked" and reply.data[FALLBACK_KEY] == "builtin"
    day = datetime(2026, 12, 8, tzinfo=PARIS)
    rows = [a for a in ctx.store.appointments("demo", day, day.replace(hour=23)) if a.call_id == ctx.call_id]
    assert [(a.starts_at.astimezone(PARIS).hour, a.customer_name) for a in rows] == [(hour, "Claire Petit")]


# ------------------------------------------------------------------ whole calls, emulated PBX

class _KillingRecognizer(Recognizer):
    """The scripted double of tests/call/conftest.py that runs ``before(i)`` before
    returning utterance ``i``: the test kills Rasa between two caller turns."""

    def __init__(self, script: list[str], before: Callable[[int], None]) -> None:
        self._inner = call_fixtures.ScriptedRecognizer(list(script))
        self._before, self._given = before, 0

    def accept(self, pcm: bytes) -> str | None:
        return self._inner.accept(pcm)

    def final(self) -> Transcript:
        transcript = self._inner.final()
        if transcript.text:
            self._before(self._given)
            self._given += 1
        return transcript

    def reset(self) -> None:
        self._inner.reset()


class _Factory(RecognizerFactory):
    def __init__(self, recognizer: Recognizer) -> None:
        self._recognizer = recognizer

    def new(self, language: str) -> Recognizer:
        return self._recognizer


def _call(stack: RasaStack, builtin: BuiltinEngine, tmp_path: Path, tenant: str, script: list[str],
          voice: str, now: datetime, recognizers: RecognizerFactory) -> tuple[str, SqliteStore]:
    settings = call_fixtures.make_settings(tmp_path)
    store = stack.store()

    async def scenario() -> str:
        # the stack's generous budget: these calls check what Rasa does, on a loaded machine;
        # a turn Rasa is too slow for is test_a_booking_stays_right_whichever_turn_...'s case
        server = PermanenceServer(settings, store=store, dialogue=stack.engine(builtin),
                                  recognizers=recognizers, synthesizer=EspeakSynthesizer(settings.speech),
                                  health=False, clock=lambda: now)
        await server.start()
        try:
            call = await emulate_call("127.0.0.1", server.agi_port, path=tenant,
                                      turns=[CallerTurn(speak(t, voice=voice)) for t in script],
                                      max_duration=180)
            return call.uniqueid
        finally:
            await server.stop()

    call_id = asyncio.run(scenario())
    # the server closes the store it was given when it stops: read back through a new one
    return call_id, stack.store()


def test_a_french_booking_call_through_rasa_end_to_end(
        rasa_stack: RasaStack, builtin: BuiltinEngine, tmp_path: Path) -> None:
    """Booked through Rasa; the sentence Rasa did not understand first is not lost: it is
    in the transcript and in the call's data."""
    unclear = "gloubi boulga zim patatras"
    script = [unclear, "bonjour je voudrais prendre rendez-vous", "je m'appelle claire petit",
              "mardi prochain", "à onze heures", "oui", "non merci au revoir"]
    call_id, store = _call(rasa_stack, builtin, tmp_path, "demo", script, "fr", MONDAY_PARIS,
                           call_fixtures.ScriptedRecognizerFactory(script))
    day = datetime(2026, 12, 1, tzinfo=PARIS)
    # the conversation suite shares this database: only this call's appointments
    rows = [a for a in store.appointments("demo", day, day.replace(hour=23)) if a.call_id == call_id]
    # stores answer in UTC: compare the tenant's wall-clock hour
    assert [(a.starts_at.astimezone(PARIS).hour, a.customer_name, a.call_id) for a in rows] == [(11, "Claire Petit", call_id)]
    record = store.get_call(call_id)
    assert record.outcome == "booked" and FALLBACK_KEY not in record.data
    assert record.data["unclear"] == [unclear]
    assert ("caller", unclear) in [(t.speaker, t.text) for t in store.transcript(call_id)]


def test_rasa_killed_mid_call_the_call_goes_on_with_the_builtin_engine(
        rasa_stack: RasaStack, builtin: BuiltinEngine, tmp_path: Path) -> None:
    """Last on purpose: it kills the English Rasa server."""
    script = ["hello i would like to book an appointment", "my name is peter green",
              "next thursday", "at eleven am", "yes", "no thanks goodbye"]

    def kill_before_third_turn(index: int) -> None:
        if index == 2:
            rasa_stack.kill_rasa("en")
            rasa_stack.servers["en"].wait(timeout=60)

    recognizer = _KillingRecognizer(script, kill_before_third_turn)
    call_id, store = _call(rasa_stack, builtin, tmp_path, "demo-en", script, "en", MONDAY_LONDON,
                           _Factory(recognizer))
    day = datetime(2026, 12, 3, tzinfo=LONDON)
    # the conversation suite shares this database: only this call's appointments
    rows = [a for a in store.appointments("demo-en", day, day.replace(hour=23)) if a.call_id == call_id]
    # the name Rasa collected before it died reached the appointment the builtin wrote
    assert [(a.starts_at.astimezone(LONDON).hour, a.customer_name, a.call_id) for a in rows] == [(11, "Peter Green", call_id)]
    record = store.get_call(call_id)
    assert record.outcome == "booked"
    assert record.data[FALLBACK_KEY] == "builtin" and record.data["name"] == "Peter Green"
