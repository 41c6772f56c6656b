"""Settings: one frozen object read once at start-up from a TOML file plus environment.

Each component receives its own slice (``settings.speech``, ``settings.store``...) through
its constructor; nothing reads the environment later. Every validation error names the
key and says how to fix it (:class:`agi.errors.ConfigError`).

Environment overrides: ``PERMANENCE_<SECTION>_<KEY>`` for scalar keys of the
``server``, ``speech``, ``dialogue``, ``store``, ``logging``, ``privacy``, ``usage``,
``ami`` and ``console`` sections, and
``PERMANENCE_CONFIG`` for the file itself.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

from agi.config_checks import validate_sections
from agi.errors import ConfigError, UnknownTenant

# The tenant part lives in agi.tenants; re-exported so ``from agi.config import Tenant`` works.
from agi.tenants import (  # noqa: F401
    DEFAULT_HORIZON_DAYS,
    DEFAULT_MIN_NOTICE_MIN,
    DEFAULT_PRIVACY_NOTICE,
    FORBIDDEN_DISCLOSURE_KEYS,
    INFO_TOPICS,
    LANGUAGES,
    MIN_WEBHOOK_SECRET,
    WEEKDAYS,
    CalDavTarget,
    Closure,
    EmailTarget,
    Faq,
    NotifyTarget,
    Resource,
    Service,
    Tenant,
    WebhookTarget,
    WeeklyHours,
    _tenant,
)

ENV_PREFIX = "PERMANENCE_"
# `make rasa` serves French on 5005; English is the second server.
DEFAULT_RASA_URLS = {"fr": "http://127.0.0.1:5005", "en": "http://127.0.0.1:5006"}


@dataclass(frozen=True)
class ServerSettings:
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 4574
    audiosocket_advertise: str = ""
    audiosocket_rate: int = 8000  # 16000: the AudioSocket channel driver with slin16 (Asterisk 22.7+)
    health_host: str = "127.0.0.1"
    health_port: int = 8089
    unknown_tenant_extension: str = ""

    @property
    def audiosocket_address(self) -> str:
        """The ``host:port`` Asterisk must dial for AudioSocket."""
        return self.audiosocket_advertise or f"{self.audiosocket_host}:{self.audiosocket_port}"


@dataclass(frozen=True)
class FreeSwitchSettings:
    """[freeswitch]: the outbound-ESL front (dialplans/freeswitch/)."""

    enabled: bool = False
    esl_host: str = "127.0.0.1"  # the dialplan's socket application connects here
    esl_port: int = 8084
    # host:port the socket application of a transfer target's leg connects to (ESL
    # transfers); "" is esl_host:esl_port, which must then not be a wildcard address
    esl_advertise: str = ""
    # FreeSWITCH does not authenticate outbound ESL: connections from other addresses are closed
    allowed_hosts: str = "127.0.0.1"  # comma-separated IP addresses
    media_host: str = "127.0.0.1"  # our UDP end of unicast (FreeSWITCH's remote-ip)
    freeswitch_media_host: str = "127.0.0.1"  # FreeSWITCH's UDP end (its local-ip)
    media_port_min: int = 24000  # each call takes two ports: ours (even) and FreeSWITCH's (odd)
    media_port_max: int = 24999
    first_audio_timeout_s: float = 2.0  # a failed bind on FreeSWITCH's side is silent
    linger_s: int = 5  # how long FreeSWITCH keeps the socket after the caller hangs up
    inbound_enabled: bool = False  # the inbound ESL client (api: uuid_transfer, uuid_kill)
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 8021
    inbound_password: str = ""
    # transfers that come back (ESL originate + uuid_bridge, docs/transfers.md); false: the
    # dialplan dials permanence_transfer
    esl_transfers: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(h.strip() for h in self.allowed_hosts.split(",") if h.strip())


@dataclass(frozen=True)
class AmiSettings:
    """[ami]: the Asterisk Manager Interface, for transfers that come back (issue #11).

    Off by default; when on, Permanence logs in at start-up (a refused login stops it) and
    the credentials must be this deployment's own (agi.config_checks refuses Asterisk's
    sample ones and empty secrets). dialplans/asterisk/manager.conf is the matching user.
    """

    enabled: bool = False
    host: str = "127.0.0.1"  # AMI is clear text: loopback, or a private filtered link
    port: int = 5038
    username: str = ""
    secret: str = field(default="", repr=False)  # PERMANENCE_AMI_SECRET keeps it out of the file
    login_timeout_s: float = 5.0


@dataclass(frozen=True)
class LimitsSettings:
    """[limits]: what one connection or a flood of them may cost (issue #9)."""

    agi_command_timeout_s: float = 30.0  # each AGI command's answer (EXEC AudioSocket: max_call_s)
    max_call_s: float = 3600.0  # the longest conversation; bounds EXEC AudioSocket
    max_connections: int = 256  # open connections per listener (FastAGI, AudioSocket, ESL)
    max_calls: int = 100  # concurrent calls; more are refused to the dialplan's fallback
    pbx_addresses: str = ""  # comma-separated extra addresses allowed to open AudioSocket media

    @property
    def pbx_hosts(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.pbx_addresses.split(",") if a.strip())


@dataclass(frozen=True)
class SpeechSettings:
    model_path: str = ""
    # per-language model directories ([speech.models] fr = "...", en = "..."); model_path
    # serves the languages not listed here
    models: Mapping[str, str] = field(default_factory=dict)
    endpoint_silence_ms: int = 500
    dictation_silence_ms: int = 1200
    no_input_timeout_s: float = 8.0
    max_turn_s: float = 30.0
    vad_aggressiveness: int = 2
    tts_rate: int = 165


@dataclass(frozen=True)
class TurnSettings:
    """Turn-taking (agi/call/pauses.py, agi/call/speculate.py): [turns]."""

    vad: str = "webrtc"  # webrtc | silero: the voice detector (docs/turns.md has the numbers)
    end_of_turn: str = "intonation"  # intonation | smart-turn | silence: the check at each pause
    pause_ms: int = 200  # silence after which the check runs and a reply is prepared
    fall_st: float = 3.0  # intonation: a last syllable this many semitones low ends the turn now
    level_st: float = 1.5  # intonation: no lower than this, the voice is held up: wait held_ms
    held_ms: int = 1000  # intonation: the silence window of a pause whose voice is held up
    threshold: float = 0.5  # smart-turn probability above which the turn is over
    model_timeout_ms: int = 150  # the check answers within this, else the window decides
    speculate: bool = True  # prepare the reply during the pause; dropped if the caller goes on
    continuation_ms: int = 1000  # speech this soon after a turn cuts the answer only by its words


@dataclass(frozen=True)
class DialogueSettings:
    backend: str = "builtin"
    nlu_path: str = ""
    # backend = "rasa": one Rasa server per language (deploy/rasa/, `make rasa`)
    rasa_urls: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RASA_URLS))
    # Budget for one caller turn through Rasa (webhook + tracker), connect included: past
    # it the call goes on with the builtin engine, so silence stays under ~2 s.
    rasa_timeout_s: float = 1.5

    @property
    def project_dir(self) -> Path:
        """The Rasa project directory (nlu/ beside the package when not configured)."""
        if self.nlu_path:
            return Path(self.nlu_path)
        return Path(__file__).resolve().parent.parent / "nlu"


@dataclass(frozen=True)
class StoreSettings:
    backend: str = "sqlite"
    sqlite_path: str = "var/permanence.sqlite3"
    postgres_dsn: str = ""
    # A schema of its own, so Permanence can live inside the business's existing database.
    postgres_schema: str = "permanence"
    # Connections kept open / at most. Each store call holds one for a few milliseconds;
    # ten serve dozens of simultaneous calls and stay far below PostgreSQL's default
    # max_connections (100) shared with the business's other applications.
    postgres_pool_min: int = 1
    postgres_pool_max: int = 10
    # Local journal of writes made while the database is unreachable, replayed in order.
    spool_path: str = "var/spool.sqlite3"
    # This controller's name on the calls it takes (agi.booking.recovery): at start-up it
    # closes only its own calls left open by a crash. Empty: host name + spool directory.
    controller_id: str = ""


@dataclass(frozen=True)
class PrivacySettings:
    """How long personal data is kept (GDPR article 5(1)(e)); agi.privacy applies it.

    CNIL asks for a fixed retention period per purpose, so none of these can be "forever".
    """

    # call records, transcripts, collected data and caller rows: long enough to settle a
    # dispute about what was said, short enough that transcripts do not pile up
    calls_days: int = 90
    # messages and leads: the business may take months to follow a quote request up
    messages_days: int = 365
    # appointments that ended this long ago lose name and number; the row stays for the
    # business's history and billing (the slot itself is in the past, it blocks nothing)
    appointments_days: int = 365
    # sent notifications (they copy names and numbers); pending ones are never purged
    outbox_days: int = 30
    purge_interval_h: float = 24.0
    # Encryption at rest of transcripts and free text (agi.privacy.crypto): the keyring
    # file (never in git, never beside database backups), or the environment variable
    # named by key_env holding its lines (";"-separated). create_key makes the file on
    # first start (the embedded defaults); set it false in production so a lost key is
    # an error at start-up, not a new key that cannot read the old rows.
    key_file: str = "var/permanence.key"
    key_env: str = "PERMANENCE_PRIVACY_KEYS"
    create_key: bool = True
    # encrypted call recordings, for tenants that enable them (agi.call.recording)
    recordings_dir: str = "var/recordings"


@dataclass(frozen=True)
class UsageSettings:
    """Usage metering for billing ([usage]); agi.booking.usage counts, agi.console shows.

    Usage aggregates hold no personal data, so they outlive the [privacy] purge.
    """

    # "minute": every started minute is billed (59 s -> 1 min, 61 s -> 2 min); "second"
    rounding: str = "minute"
    # billing records: ten years (French accounting records, Code de commerce L123-22)
    retention_days: int = 3650
    # per-turn latency figures (voice-to-voice p50/p95 in the console)
    latency_days: int = 395
    # the access log (who read, exported or erased personal data, sign-ins): 12 months
    access_log_days: int = 365
    # tenant id -> monthly threshold; the business is told once per month when crossed
    alert_minutes: Mapping[str, str] = field(default_factory=dict)
    alert_calls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsoleSettings:
    """The business's web console ([console]), served by ``permanence serve``."""

    enabled: bool = True
    # loopback by default: put a TLS reverse proxy in front to reach it from the office
    host: str = "127.0.0.1"
    port: int = 8090
    # the key signing session cookies, created (mode 0600) on first start
    secret_path: str = "var/console.key"
    session_hours: float = 12.0
    # sign-in: this many failures (per user, and per address) lock it out for lockout_min
    max_failures: int = 5
    lockout_min: int = 15


@dataclass(frozen=True)
class SummarySettings:
    """The call summary sent to the business ([summaries], agi.notify.summary)."""

    enabled: bool = True
    # the console's address as the business reaches it (https://accueil.example.fr):
    # summaries link to the call's page; empty: they give the call id only
    console_url: str = ""


@dataclass(frozen=True)
class WorkersSettings:
    """How many threads and processes each stage of the calls gets (agi/workers.py).

    0 means "follow the machine": one per core this process may run on.
    """

    synthesis: int = 0  # eSpeak NG processes (eSpeak is one engine per process)
    decoders: int = 0  # Vosk decoding threads (Kaldi runs with the GIL released)
    dialogue: int = 8  # dialogue turns at once (Rasa turns mostly wait on HTTP)
    store: int = 4  # store writes at once (SQLite writes one at a time anyway)


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = ServerSettings()
    limits: LimitsSettings = LimitsSettings()
    speech: SpeechSettings = SpeechSettings()
    turns: TurnSettings = TurnSettings()
    dialogue: DialogueSettings = DialogueSettings()
    store: StoreSettings = StoreSettings()
    logging: LoggingSettings = LoggingSettings()
    privacy: PrivacySettings = PrivacySettings()
    freeswitch: FreeSwitchSettings = FreeSwitchSettings()
    ami: AmiSettings = AmiSettings()
    usage: UsageSettings = UsageSettings()
    console: ConsoleSettings = ConsoleSettings()
    summaries: SummarySettings = SummarySettings()
    workers: WorkersSettings = WorkersSettings()
    tenants: tuple[Tenant, ...] = ()

    def tenant(self, path: str = "", dialled: str = "") -> Tenant:
        """The tenant named by the FastAGI path, else the one owning the dialled number."""
        key = path.strip("/").split("?", 1)[0]
        for tenant in self.tenants:
            if key and tenant.id == key:
                return tenant
        digits = _digits(dialled)
        if digits:
            for tenant in self.tenants:
                if any(_digits(did) == digits for did in tenant.dids):
                    return tenant
        raise UnknownTenant(f"no tenant for path {key!r} or dialled number {dialled!r}")


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number or "")


_SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "limits": LimitsSettings,
    "speech": SpeechSettings,
    "turns": TurnSettings,
    "dialogue": DialogueSettings,
    "store": StoreSettings,
    "logging": LoggingSettings,
    "privacy": PrivacySettings,
    "freeswitch": FreeSwitchSettings,
    "ami": AmiSettings,
    "usage": UsageSettings,
    "console": ConsoleSettings,
    "summaries": SummarySettings,
    "workers": WorkersSettings,
}


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the file (or the embedded defaults), apply environment overrides, validate."""
    env = os.environ if environ is None else environ
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    if path is None:
        text = resources.files("agi").joinpath("defaults.toml").read_text("utf-8")
        origin = "embedded defaults"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError("config", f"cannot read {path}: {exc.strerror}",
                              "give an existing TOML file with --config") from exc
        origin = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{origin} is not valid TOML: {exc}") from exc
    return settings_from_dict(raw, env)


def settings_from_dict(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Build and validate :class:`Settings` from parsed TOML plus environment overrides."""
    raw = dict(raw)
    unknown = set(raw) - set(_SECTIONS) - {"tenants"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown section",
                          f"known sections: {', '.join(sorted(_SECTIONS))}, tenants")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        values = dict(raw.get(name, {}))
        values.update(_env_overrides(name, cls, environ or {}))
        sections[name] = _build(name, cls, values)
    validate_sections(sections)
    tenants_raw = raw.get("tenants", [])
    if not isinstance(tenants_raw, list) or not tenants_raw:
        raise ConfigError("tenants", "at least one [[tenants]] table is required",
                          "see agi/defaults.toml for an example")
    tenants = tuple(_tenant(i, t, environ or {}) for i, t in enumerate(tenants_raw))
    ids = [t.id for t in tenants]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ConfigError("tenants.id", f"duplicate tenant id {sorted(dupes)[0]!r}",
                          "each tenant needs its own id")
    return Settings(tenants=tenants, **sections)


def _env_overrides(section: str, cls: type, environ: Mapping[str, str]) -> dict[str, str]:
    prefix = f"{ENV_PREFIX}{section.upper()}_"
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in environ.items():
        if key.startswith(prefix):
            name = key[len(prefix):].lower()
            if name not in names:
                raise ConfigError(key, "unknown setting", f"known: {', '.join(sorted(names))}")
            out[name] = value
    return out


def _build(section: str, cls: type, values: Mapping[str, Any]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{section}.{key}", "unknown setting",
                              f"known: {', '.join(sorted(known))}")
        kwargs[key] = _cast(f"{section}.{key}", hints[key], value)
    return cls(**kwargs)


def _cast(key: str, kind: Any, value: Any) -> Any:
    if getattr(kind, "__origin__", None) is Mapping:
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigError(key, f"expected a table of strings, got {value!r}", 'e.g. fr = "/path"')
        return dict(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(key, f"expected true or false, got {value!r}")
    try:
        if kind is int and not isinstance(value, bool):
            return int(value)
        if kind is float and not isinstance(value, bool):
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(key, f"expected {kind.__name__}, got {value!r}") from exc
    raise ConfigError(key, f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
