"""``permanence serve``: build the shared services once, then listen for calls.

Start-up order matters for the first caller: the store opens, the dialogue engine trains
from nlu/, speech models load and fixed prompts are synthesised, and only then do the
FastAGI and AudioSocket listeners open. A missing speech model does not stop the server:
calls are then handed to a human after the AI statement, ``/health`` says "degraded" and
the log says exactly which model to install.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agi.booking.probe import StoreProbe
from agi.booking.recovery import controller_id, recover, recovery_scope
from agi.booking.spool import Spool
from agi.booking.sqlite import SqliteStore
from agi.booking.store import Store
from agi.call.recording import recordings_for
from agi.call.services import CallServices, TurnTiming
from agi.call.session import handle_call
from agi.config import Settings
from agi.console.metering import usage_policy
from agi.console.turns import TurnRecorder
from agi.dialogue.base import DialogueEngine
from agi.dialogue.builtin import BuiltinEngine
from agi.errors import ModelNotFound, PermanenceError, SpeechError
from agi.health import HealthServer
from agi.loopwatch import StallMonitor
from agi.metrics import Metrics
from agi.notify import OutboxWorker, targets_for
from agi.notify.summary import interrupted_summary
from agi.pbx.ami import AmiClient
from agi.pbx.asterisk import AgiChannel, AudioSocketServer, FastAgiServer
from agi.pbx.asterisk_call import AsteriskCall
from agi.pbx.freeswitch import FreeSwitchCall, OutboundEslServer
from agi.pbx.freeswitch_inbound import InboundEsl
from agi.pbx.overload import RefusalLog, install_exception_handler
from agi.privacy import SealedStore, load_keyring, purge_forever
from agi.privacy.rights import privacy_status
from agi.speech.asr import Recognizer, RecognizerFactory, VoskRecognizerFactory
from agi.speech.espeak import EspeakPool
from agi.speech.phrase_cache import render_fixed_phrases
from agi.speech.recognizer_pool import IDLE_PER_CORE
from agi.speech.tts import EspeakSynthesizer, Synthesizer
from agi.speech.turn_check import turn_check_for
from agi.speech.warmup import warm_recognizers
from agi.workers import Workers, machine_cores

log = logging.getLogger(__name__)

# On stop, calls in progress get this long to end on their own (systemd's TimeoutStopSec
# in deploy/systemd/permanence.service is longer).
DRAIN_GRACE_S = 30.0
# How often the spool tries the database again while it holds writes.
SPOOL_REPLAY_EVERY_S = 2.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def open_store(settings: Settings) -> Store:
    """The configured store (SQLite by default)."""
    st, p = settings.store, settings.privacy
    usage = usage_policy(settings)
    # transcripts and free text are sealed at rest (agi.privacy.sealed); the key first, so
    # a missing one stops the start before anything is written
    keyring = load_keyring(p.key_file, p.key_env, create=p.create_key)
    owner = controller_id(st.controller_id, Path(st.spool_path).parent)
    if st.backend == "sqlite":
        return SealedStore(SqliteStore(st.sqlite_path, targets_for=targets_for(settings),
                                       usage=usage, owner=owner), keyring)
    from agi.booking.postgres import PostgresStore  # psycopg is imported only for this backend

    return SealedStore(PostgresStore(st.postgres_dsn, st.postgres_schema, st.postgres_pool_min,
                                     st.postgres_pool_max, targets_for=targets_for(settings),
                                     usage=usage, owner=owner), keyring)


def build_dialogue(settings: Settings) -> DialogueEngine:
    """The configured dialogue: the builtin engine trained from nlu/, wrapped by Rasa over
    HTTP when ``dialogue.backend = "rasa"`` (the builtin then takes over a call whose
    Rasa fails)."""
    builtin = BuiltinEngine(settings.dialogue.project_dir)
    if settings.dialogue.backend != "rasa":
        return builtin
    from agi.dialogue.rasa import RasaEngine  # httpx only for this backend

    return RasaEngine(settings.dialogue, fallback=builtin)


class _KnownGaps(RecognizerFactory):
    """Recognisers for the languages whose model loaded; the others fail at once, without
    trying a download again on every call."""

    def __init__(self, factory: RecognizerFactory, failed: Mapping[str, str]) -> None:
        self._factory = factory
        self._failed = dict(failed)

    def new(self, language: str) -> Recognizer:
        if language in self._failed:
            raise ModelNotFound(self._failed[language])
        return self._factory.new(language)

    def warm(self, language: str, audio: Sequence[bytes], count: int) -> int:
        return 0 if language in self._failed else self._factory.warm(language, audio, count)


class PermanenceServer:
    """The FastAGI and AudioSocket listeners plus everything calls share."""

    def __init__(self, settings: Settings, *, store: Store | None = None,
                 dialogue: DialogueEngine | None = None,
                 recognizers: RecognizerFactory | None = None,
                 synthesizer: Synthesizer | None = None,
                 health: bool = True,
                 clock: Callable[[], datetime] | None = None,
                 spool: Spool | None = None) -> None:
        self.settings = settings
        self._store = store
        self._dialogue = dialogue
        self._recognizers = recognizers
        self._synthesizer = synthesizer
        self._health_enabled = health
        self._clock = clock
        self.metrics = Metrics()
        self.turns: list[TurnTiming] = []  # recent turn timings, for the bench
        self.services: CallServices | None = None
        self._agi: FastAgiServer | None = None
        self._audiosocket: AudioSocketServer | None = None
        self._esl: OutboundEslServer | None = None
        self._ami: AmiClient | None = None  # [ami] enabled: transfers that come back
        self._health: HealthServer | None = None
        self._started_at = 0.0
        self._outbox_stop = asyncio.Event()
        self._outbox_task: asyncio.Task[None] | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self.probe: StoreProbe | None = None
        self._spool = spool
        self.spool: Spool | None = None
        self.console: Any = None  # agi.console.service.ConsoleServer when [console] enabled
        self._turns = TurnRecorder(self.metrics, settings)
        self._call_refusals = RefusalLog("calls")
        self.stalls = StallMonitor()
        self.metrics.watch_loop(self.stalls)  # /metrics: the stall counter and longest stall
        self._stall_task: asyncio.Task[None] | None = None

    @property
    def agi_port(self) -> int:
        assert self._agi is not None
        return self._agi.port

    @property
    def audiosocket_port(self) -> int:
        assert self._audiosocket is not None
        return self._audiosocket.port

    @property
    def esl_port(self) -> int:
        """The outbound-ESL port FreeSWITCH's socket application connects to."""
        assert self._esl is not None
        return self._esl.port

    @property
    def health_port(self) -> int:
        assert self._health is not None
        return self._health.port

    async def start(self) -> None:
        s = self.settings
        if s.ami.enabled:  # first: wrong credentials stop the start, before anything runs
            self._ami = AmiClient(s.ami)
            await self._ami.connect()
        store = self._store
        if store is None:
            store = await asyncio.to_thread(open_store, s)
        # deliveries to the business (e-mail, web hook, calendar) run beside the calls
        self._outbox_task = asyncio.create_task(OutboxWorker(store, s).run_forever(self._outbox_stop))
        # retention: what is past its [privacy] period goes, now and every purge_interval_h
        self._purge_task = asyncio.create_task(purge_forever(store, s.privacy, self._outbox_stop,
                                                             self._clock, s.tenants))
        dialogue = self._dialogue
        if dialogue is None:
            dialogue = await asyncio.to_thread(build_dialogue, s)
        warm_up = getattr(dialogue, "warm_up", None)
        if warm_up is not None:  # Rasa: its first turn is slow, keep it off the first caller
            await asyncio.to_thread(warm_up)
        self.workers = Workers(s.workers)  # per-stage executors (agi/workers.py)
        synthesizer = self._synthesizer or EspeakSynthesizer(
            s.speech, pool=EspeakPool.shared(self.workers.synthesis_processes))
        recognizers, problem = self._recognizers, ""
        if recognizers is None:
            recognizers, problem = await asyncio.to_thread(self._load_speech)
        await asyncio.to_thread(self._prepare_prompts, synthesizer)
        self._audiosocket = AudioSocketServer(s.server.audiosocket_host, s.server.audiosocket_port,
                                              max_connections=s.limits.max_connections,
                                              pbx_hosts=s.limits.pbx_hosts)
        await self._audiosocket.start()
        server = s.server
        if server.audiosocket_port == 0 and not server.audiosocket_advertise:
            # an ephemeral port (tests, bench): advertise the one actually bound
            server = replace(server, audiosocket_port=self._audiosocket.port)
            self.settings = s = replace(s, server=server)
        # sealed with the store's key: the spool holds transcripts while the database is down
        self.spool = self._spool or Spool(s.store.spool_path, sealer=getattr(store, "keyring", None))
        # before any new call: a crashed process's spool and open calls (agi/booking/recovery.py)
        close_open, owner = recovery_scope(s.store.backend, store.owner)
        await asyncio.to_thread(recover, store, self.spool, (self._clock or _utcnow)(),
                                close_open=close_open, owner=owner,
                                summarize=lambda call: interrupted_summary(call, s))
        self._replay_task = asyncio.create_task(self._replay_forever(store, self.spool))
        # the slow parts of /health (database counts, Rasa's /status) are read here, in the
        # probe's worker thread; /health only reads the probe's snapshot
        self.probe = StoreProbe(store, self.spool, s.store.backend,
                                privacy=lambda: privacy_status(store, (self._clock or _utcnow)()),
                                rasa=lambda: self._rasa_reachability(dialogue))
        await asyncio.to_thread(self.probe.probe)  # /health is truthful from its first answer
        self._probe_task = asyncio.create_task(self.probe.run_forever(self._outbox_stop))
        self._stall_task = asyncio.create_task(self.stalls.run_forever(self._outbox_stop))
        await self._turns.start(store, lambda: self.spool, self._clock)
        if s.console.enabled:  # the business's web console, in this same loop
            from agi.console.service import ConsoleServer

            self.console = ConsoleServer(s, store, clock=self._clock)
            await self.console.start()
        self.services = CallServices(
            settings=s, store=store, dialogue=dialogue, synthesizer=synthesizer,
            recognizers=recognizers, speech_problem=problem,
            on_turn=self._record_turn, spool=self.spool,
            recordings=recordings_for(s, store),  # None unless a tenant records calls
            workers=self.workers, turn_check=await turn_check_for(s.turns))
        if self._clock is not None:
            self.services.clock = self._clock
        self._agi = FastAgiServer(self._handle, s.server.agi_host, s.server.agi_port,
                                  command_timeout=s.limits.agi_command_timeout_s,
                                  max_connections=s.limits.max_connections)
        await self._agi.start()
        if s.freeswitch.enabled:
            inbound = InboundEsl(s.freeswitch) if s.freeswitch.inbound_enabled else None
            self._esl = OutboundEslServer(self._handle_freeswitch, s.freeswitch, inbound,
                                          max_connections=s.limits.max_connections)
            await self._esl.start()
        if self._health_enabled:
            self._health = HealthServer(s.server.health_host, s.server.health_port,
                                        self.status, self.metrics)
            self._health.start()
        self._started_at = time.monotonic()
        log.info("serving FastAGI on %s:%s, AudioSocket on %s:%s (advertised %s), %d tenant(s)",
                 s.server.agi_host, self.agi_port, s.server.audiosocket_host,
                 self.audiosocket_port, s.server.audiosocket_address, len(s.tenants))

    def _load_speech(self) -> tuple[RecognizerFactory | None, str]:
        """Load every tenant language's model now; a language without one is reported
        (log and /health) and its calls are handed over, the others are served."""
        factory = VoskRecognizerFactory(self.settings.speech, models=self.settings.speech.models)
        failed: dict[str, str] = {}
        languages = sorted({t.language for t in self.settings.tenants})
        for language in languages:
            try:
                factory.model(language)
            except SpeechError as exc:
                log.error("speech recognition unavailable for %s: %s", language, exc)
                failed[language] = str(exc)
        if len(failed) == len(languages):
            return None, " ".join(failed.values())
        if failed:
            return _KnownGaps(factory, failed), " ".join(failed.values())
        return factory, ""

    async def warm_recognizers(self) -> None:
        """Warm as many recognisers per tenant language as the pool keeps idle, on one
        decoder thread while calls are served (agi/speech/warmup.py)."""
        services = self.services
        if services is None or services.recognizers is None:
            return
        languages = sorted({t.language for t in self.settings.tenants})
        try:
            await asyncio.get_running_loop().run_in_executor(
                services.workers.decoders, warm_recognizers, services.recognizers,
                services.synthesizer, languages, IDLE_PER_CORE * machine_cores())
        except RuntimeError:
            pass  # the decoders shut down first: the server is stopping

    def _prepare_prompts(self, synthesizer: Synthesizer) -> None:
        count = render_fixed_phrases(synthesizer, self.settings.tenants)
        log.info("%d fixed phrases rendered and held in memory", count)

    def _asterisk_call(self, channel: AgiChannel) -> AsteriskCall:
        assert self._audiosocket is not None
        server = self.settings.server
        return AsteriskCall(channel, self._audiosocket, server.audiosocket_address,
                            server.audiosocket_rate, self.settings.limits.max_call_s, ami=self._ami)

    async def _handle_freeswitch(self, call: FreeSwitchCall) -> None:
        await self._handle(call)

    async def _handle(self, channel: AgiChannel | FreeSwitchCall) -> None:
        assert self.services is not None
        call = self._asterisk_call(channel) if isinstance(channel, AgiChannel) else channel
        if len(self.services.active_calls) >= self.settings.limits.max_calls:
            # no command, no variable: the dialplan's fallback takes the call (a human)
            self._call_refusals.refused(call.info.channel_name or call.info.call_id,
                                        f"{self.settings.limits.max_calls} calls in progress")
            await call.close()
            return
        self.metrics.active.inc()
        try:
            session_outcome = await handle_call(call, self.services)
        finally:
            self.metrics.active.dec()
        if session_outcome is not None:
            tenant, outcome = session_outcome
            self.metrics.calls.labels(tenant=tenant, outcome=outcome).inc()
            self._turns.call_ended(tenant)

    async def _replay_forever(self, store: Store, spool: Spool) -> None:
        """Write what the spool holds as soon as the database answers again."""
        while not self._outbox_stop.is_set():
            if spool.pending():
                await asyncio.to_thread(spool.replay, store)
            try:
                await asyncio.wait_for(self._outbox_stop.wait(), SPOOL_REPLAY_EVERY_S)
            except TimeoutError:
                continue

    def _record_turn(self, timing: TurnTiming) -> None:
        self.turns.append(timing)
        del self.turns[:-1000]
        if timing.first_frame_at is not None:
            self.metrics.turn_latency.observe(max(timing.first_frame_at - timing.speech_ended_at, 0))
        self._turns.record(timing)

    def _rasa_reachability(self, started_with: object) -> Mapping[str, bool] | None:
        """Rasa's answer per language, for the probe thread (blocking, bounded by Rasa's
        status timeout); the dialogue in use now, after a reload too."""
        engine = self.services.dialogue if self.services is not None else started_with
        reach = getattr(engine, "reachability", None)
        return reach() if callable(reach) else None

    def status(self) -> Mapping[str, Any]:
        """What ``/health`` reports: from memory only (the probe's snapshot, counters), so
        a hanging database or Rasa never delays it."""
        services = self.services
        problems = []
        if services is not None and services.speech_problem:
            problems.append(services.speech_problem)
        last = self.probe.last if self.probe is not None else None
        rasa = last.rasa if last is not None else None
        if self.probe is not None:
            problems += self.probe.problems()
        return {
            "status": "ok" if services is not None and not problems else "degraded",
            "problems": problems,
            "active_calls": len(services.active_calls) if services else 0,
            "uptime_s": round(time.monotonic() - self._started_at, 1) if self._started_at else 0,
            "tenants": [t.id for t in self.settings.tenants],
            "dialogue_backend": self.settings.dialogue.backend,
            **({"rasa": rasa} if rasa is not None else {}),
            "store_backend": self.settings.store.backend,
            "spooled_writes": self.spool.pending() if self.spool else 0,
            "dead_notifications": self.probe.last.dead_notifications if self.probe else 0,
            **self.stalls.status(),
            # requests of the GDPR register: counts, and a warning when one is overdue
            **(dict(last.privacy) if last is not None else {}),
            "probe_age_s": self.probe.age() if self.probe is not None else None,
        }

    async def reload_dialogue(self) -> None:
        """Retrain the dialogue from nlu/ and use it for new calls (SIGHUP).

        Calls in progress keep the engine they started with; a project that no longer
        loads leaves the running engine in place and logs why.
        """
        assert self.services is not None
        try:
            engine = await asyncio.to_thread(build_dialogue, self.settings)
        except PermanenceError as exc:
            log.error("reload refused, keeping the running dialogue: %s", exc)
            return
        self.services.dialogue = engine
        log.info("dialogue reloaded from %s", self.settings.dialogue.project_dir)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop taking calls; calls in progress get ``grace`` seconds to finish."""
        if self._agi is not None:
            await self._agi.stop(grace)
        if self._esl is not None:
            await self._esl.stop(grace)
        if self._audiosocket is not None:
            await self._audiosocket.stop()
        if self._ami is not None:
            await self._ami.close()
        if self._health is not None:
            self._health.stop()
        if self.console is not None:
            await self.console.stop()
        await self._turns.stop()
        self._outbox_stop.set()
        for task in (self._outbox_task, self._replay_task, self._purge_task, self._probe_task,
                     self._stall_task):
            if task is not None:
                await task
        if self.services is not None:
            self.services.store.close()
            self.services.workers.shutdown()


async def serve_forever(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT (draining calls in progress); SIGHUP reloads nlu/."""
    loop = asyncio.get_running_loop()
    install_exception_handler(loop)  # accept errors at the fd limit: one line per minute
    server = PermanenceServer(settings)
    await server.start()
    # What start-up built (models, trained dialogue, prompts) lives as long as the process:
    # out of the collector's sight, so a collection never walks it in the middle of a call.
    gc.freeze()
    warming = loop.create_task(server.warm_recognizers())  # beside the first calls
    stop = asyncio.Event()
    reloads: set[asyncio.Task[None]] = set()

    def reload() -> None:
        task = loop.create_task(server.reload_dialogue())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await stop.wait()
        log.info("stopping: no new calls, %d in progress get up to %.0f s",
                 len(server.services.active_calls) if server.services else 0, DRAIN_GRACE_S)
    finally:
        warming.cancel()
        await server.stop(DRAIN_GRACE_S)
