"""Cross-field checks of the settings sections, each error naming its key.

Kept apart from :mod:`agi.config` (which reads and casts) so that file stays about the
reading; a new section adds its ``_validate_<name>`` here and one call in
:func:`validate_sections`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agi.errors import ConfigError
from agi.tenants import LANGUAGES

if TYPE_CHECKING:
    from agi.config import (
        AmiSettings,
        ConsoleSettings,
        FreeSwitchSettings,
        PrivacySettings,
        SummarySettings,
        TurnSettings,
        UsageSettings,
    )

# Retention bounds (days) for [privacy]: at least a day, so a purge can never remove a
# call still being handled; at most ten years, the longest French legal retention
# (accounting records, Code de commerce L123-22) a business could invoke.
RETENTION_DAYS_MIN = 1
RETENTION_DAYS_MAX = 3650
# A purge more often than hourly only adds load; more than a week apart and data outlives
# its retention period by too much.
PURGE_INTERVAL_H_MIN = 1.0
PURGE_INTERVAL_H_MAX = 168.0

def _validate_freeswitch(fs: FreeSwitchSettings) -> None:
    for key in ("esl_port", "inbound_port", "media_port_min", "media_port_max"):
        if not 0 <= getattr(fs, key) <= 65535:
            raise ConfigError(f"freeswitch.{key}", f"port {getattr(fs, key)} out of range", "use 1-65535")
    if fs.media_port_min < 1024 or fs.media_port_max - fs.media_port_min < 1:
        raise ConfigError("freeswitch.media_port_min", "the UDP range must hold at least one pair",
                          "e.g. media_port_min = 24000, media_port_max = 24999")
    if not fs.allowed:
        raise ConfigError("freeswitch.allowed_hosts", "empty", "list FreeSWITCH's address, e.g. 127.0.0.1")
    for host in fs.allowed:
        try:
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise ConfigError("freeswitch.allowed_hosts", f"{host!r} is not an IP address") from exc
    if not 0 < fs.first_audio_timeout_s <= 30 or not 1 <= fs.linger_s <= 60:
        raise ConfigError("freeswitch.first_audio_timeout_s", "must be 0-30 s (and linger_s 1-60 s)")
    if fs.esl_transfers and not fs.esl_advertise and fs.esl_host in ("0.0.0.0", "::", ""):
        raise ConfigError("freeswitch.esl_advertise", f"esl_host {fs.esl_host!r} is not an address "
                          "FreeSWITCH can connect a transfer target's leg to",
                          "set esl_advertise = \"<this host's address>:<esl_port>\"")
    if fs.inbound_enabled and fs.inbound_password.strip().lower() in ("", "cluecon"):
        raise ConfigError("freeswitch.inbound_password",
                          "empty or FreeSWITCH's well-known default ClueCon",
                          "set the same long random password here and in event_socket.conf.xml")


# Credentials anyone can look up: Asterisk's configs/samples/manager.conf.sample ([mark],
# secret = mysecret), FreePBX's historical AMI default (admin / amp111), and the usual
# placeholders. A guessable AMI login can originate calls at the business's expense.
AMI_SAMPLE_SECRETS = frozenset({"mysecret", "amp111", "secret", "password", "admin",
                                "changeme", "asterisk", "manager"})
AMI_MIN_SECRET = 12


def _validate_ami(ami: AmiSettings) -> None:
    if not 0 < ami.port <= 65535:
        raise ConfigError("ami.port", f"port {ami.port} out of range", "use 1-65535 (Asterisk: 5038)")
    if not 0 < ami.login_timeout_s <= 60:
        raise ConfigError("ami.login_timeout_s", "must be 0-60 s")
    if not ami.enabled:
        return
    if not ami.username.strip():
        raise ConfigError("ami.username", "empty", "the [user] of dialplans/asterisk/manager.conf")
    if not ami.secret:
        raise ConfigError("ami.secret", "empty",
                          "set PERMANENCE_AMI_SECRET to the long random secret of manager.conf")
    if ami.secret.lower() in AMI_SAMPLE_SECRETS or ami.secret == ami.username \
            or ami.username.lower() == "mark" and ami.secret == "mysecret":
        raise ConfigError("ami.secret", "a well-known sample or default credential",
                          "generate one, e.g. openssl rand -hex 24, in manager.conf and here")
    if len(ami.secret) < AMI_MIN_SECRET:
        raise ConfigError("ami.secret", f"shorter than {AMI_MIN_SECRET} characters",
                          "generate one, e.g. openssl rand -hex 24")


# More of a stage than this only adds contention and memory on any machine Permanence targets.
MAX_WORKERS = 64


def _validate_workers(w: Any) -> None:
    for key in ("synthesis", "decoders", "dialogue", "store"):
        value = getattr(w, key)
        low = 0 if key in ("synthesis", "decoders") else 1
        if not low <= value <= MAX_WORKERS:
            raise ConfigError(f"workers.{key}", f"{value} is out of range",
                              f"use {low}-{MAX_WORKERS}" + (" (0 = one per core)" if low == 0 else ""))


def validate_sections(s: Mapping[str, Any]) -> None:
    _validate_workers(s["workers"])
    for key in ("agi_port", "audiosocket_port", "health_port"):
        port = getattr(s["server"], key)
        if not 0 <= port <= 65535:
            raise ConfigError(f"server.{key}", f"port {port} out of range", "use 1-65535")
    _validate_freeswitch(s["freeswitch"])
    _validate_ami(s["ami"])
    if s["server"].audiosocket_rate not in (8000, 16000):
        raise ConfigError("server.audiosocket_rate", f"{s['server'].audiosocket_rate} Hz is not supported",
                          "use 8000 (AudioSocket application) or 16000 (channel driver, slin16)")
    lim = s["limits"]
    for key in ("agi_command_timeout_s", "max_call_s", "max_connections", "max_calls"):
        if getattr(lim, key) <= 0:
            raise ConfigError(f"limits.{key}", f"must be positive, got {getattr(lim, key)}")
    sp = s["speech"]
    if not 0 <= sp.vad_aggressiveness <= 3:
        raise ConfigError("speech.vad_aggressiveness", "must be 0, 1, 2 or 3")
    if not 100 <= sp.endpoint_silence_ms <= 5000:
        raise ConfigError("speech.endpoint_silence_ms", "must be between 100 and 5000")
    if sp.dictation_silence_ms < sp.endpoint_silence_ms:
        raise ConfigError("speech.dictation_silence_ms", "must not be shorter than endpoint_silence_ms")
    for language, path in sp.models.items():
        if language not in LANGUAGES:
            raise ConfigError(f"speech.models.{language}", "unsupported language", "use fr or en")
        if not Path(path).is_dir():
            raise ConfigError(f"speech.models.{language}", f"{path} is not a directory",
                              "point it at an unpacked Vosk model")
    if sp.model_path and not Path(sp.model_path).is_dir():
        raise ConfigError("speech.model_path", f"{sp.model_path} is not a directory",
                          "point it at an unpacked Vosk model, or leave it empty to download by language")
    _validate_turns(s["turns"], sp.endpoint_silence_ms)
    if s["dialogue"].backend not in ("builtin", "rasa"):
        raise ConfigError("dialogue.backend", f"unknown backend {s['dialogue'].backend!r}",
                          "use 'builtin' or 'rasa'")
    for language, url in s["dialogue"].rasa_urls.items():
        if language not in LANGUAGES:
            raise ConfigError(f"dialogue.rasa_urls.{language}", "unsupported language", "use fr or en")
        if not re.match(r"^https?://[^/\s]+/?$", url):
            raise ConfigError(f"dialogue.rasa_urls.{language}", f"{url!r} is not a server URL",
                              'e.g. "http://127.0.0.1:5005"')
    if not 0.1 <= s["dialogue"].rasa_timeout_s <= 10:
        raise ConfigError("dialogue.rasa_timeout_s", "must be between 0.1 and 10 seconds")
    st = s["store"]
    if st.backend not in ("sqlite", "postgres"):
        raise ConfigError("store.backend", f"unknown backend {st.backend!r}", "use 'sqlite' or 'postgres'")
    if st.backend == "postgres" and not st.postgres_dsn:
        raise ConfigError("store.postgres_dsn", "required when store.backend = 'postgres'",
                          "e.g. postgresql://permanence@localhost/permanence")
    if (not st.postgres_schema or len(st.postgres_schema.encode()) > 63
            or st.postgres_schema.startswith("pg_")):
        raise ConfigError("store.postgres_schema", f"invalid schema name {st.postgres_schema!r}",
                          "1-63 bytes, not starting with 'pg_'")
    if not 1 <= st.postgres_pool_min <= st.postgres_pool_max <= 1000:
        raise ConfigError("store.postgres_pool_min",
                          f"pool sizes {st.postgres_pool_min}..{st.postgres_pool_max} are invalid",
                          "need 1 <= postgres_pool_min <= postgres_pool_max <= 1000")
    if len(st.controller_id) > 64 or not all(c.isprintable() and not c.isspace()
                                              for c in st.controller_id):
        raise ConfigError("store.controller_id", f"invalid controller id {st.controller_id!r}",
                          "at most 64 printable characters without spaces, or empty")
    if s["logging"].level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("logging.level", f"unknown level {s['logging'].level!r}",
                          "use DEBUG, INFO, WARNING or ERROR")
    _validate_privacy(s["privacy"])
    _validate_usage(s["usage"])
    _validate_console(s["console"])
    _validate_summaries(s["summaries"])


def _validate_usage(u: UsageSettings) -> None:
    if u.rounding not in ("minute", "second"):
        raise ConfigError("usage.rounding", f"unknown rounding {u.rounding!r}",
                          "use 'minute' (per started minute) or 'second'")
    for key, low in (("retention_days", 365), ("latency_days", 1), ("access_log_days", 30)):
        days = getattr(u, key)
        if not low <= days <= 2 * RETENTION_DAYS_MAX:
            raise ConfigError(f"usage.{key}", f"{days} days is out of range",
                              f"from {low} to {2 * RETENTION_DAYS_MAX} days")
    for key in ("alert_minutes", "alert_calls"):
        for tenant, value in getattr(u, key).items():
            if not value.isdigit() or int(value) <= 0:
                raise ConfigError(f"usage.{key}.{tenant}", f"{value!r} is not a positive number",
                                  'e.g. demo = "600"')


def _validate_console(c: ConsoleSettings) -> None:
    if not 0 <= c.port <= 65535:
        raise ConfigError("console.port", f"port {c.port} out of range", "use 1-65535")
    if not 0.1 <= c.session_hours <= 24 * 7:
        raise ConfigError("console.session_hours", "must be between 0.1 and 168 hours")
    if not 1 <= c.max_failures <= 100 or not 1 <= c.lockout_min <= 24 * 60:
        raise ConfigError("console.max_failures", "max_failures must be 1-100 and "
                          "lockout_min 1-1440")


def _validate_summaries(s: SummarySettings) -> None:
    url = s.console_url
    if url and (not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url) or url.endswith("/")):
        raise ConfigError("summaries.console_url", f"{url!r} is not the console's base address",
                          "e.g. https://accueil.cabinet.fr or https://intranet/permanence, "
                          "without a trailing slash; empty to give the call id only")


def _validate_privacy(p: PrivacySettings) -> None:
    for key in ("calls_days", "messages_days", "appointments_days", "outbox_days"):
        days = getattr(p, key)
        if not RETENTION_DAYS_MIN <= days <= RETENTION_DAYS_MAX:
            hint = (f"a number of days from {RETENTION_DAYS_MIN} to {RETENTION_DAYS_MAX}; "
                    "personal data cannot be kept forever (CNIL: set a duration)")
            raise ConfigError(f"privacy.{key}", f"{days} days is out of range", hint)
    if not PURGE_INTERVAL_H_MIN <= p.purge_interval_h <= PURGE_INTERVAL_H_MAX:
        raise ConfigError("privacy.purge_interval_h", f"{p.purge_interval_h} hours is out of range",
                          f"from {PURGE_INTERVAL_H_MIN:g} to {PURGE_INTERVAL_H_MAX:g} hours")


def _validate_turns(turns: TurnSettings, window_ms: int) -> None:
    if turns.vad not in ("silero", "webrtc"):
        raise ConfigError("turns.vad", f"unknown voice detector {turns.vad!r}", "use 'silero' or 'webrtc'")
    if turns.end_of_turn not in ("intonation", "smart-turn", "silence"):
        raise ConfigError("turns.end_of_turn", f"unknown check {turns.end_of_turn!r}",
                          "use 'intonation', 'smart-turn' or 'silence'")
    if not 0.5 <= turns.level_st < turns.fall_st <= 12:
        raise ConfigError("turns.fall_st", f"fall {turns.fall_st:g}, level {turns.level_st:g} semitones",
                          "use 0.5 <= level_st < fall_st <= 12 (defaults 1.5 and 3)")
    if not window_ms <= turns.held_ms <= 5000:
        raise ConfigError("turns.held_ms", f"{turns.held_ms} ms",
                          "use from speech.endpoint_silence_ms to 5000 ms")
    if not 60 <= turns.pause_ms < window_ms:
        raise ConfigError("turns.pause_ms", f"{turns.pause_ms} ms",
                          "use at least 60 ms and less than speech.endpoint_silence_ms")
    if not 0.0 < turns.threshold < 1.0:
        raise ConfigError("turns.threshold", f"{turns.threshold}", "use a probability between 0 and 1")
    if not 10 <= turns.model_timeout_ms <= 1000:
        raise ConfigError("turns.model_timeout_ms", f"{turns.model_timeout_ms} ms", "use 10-1000 ms")
    if not 0 <= turns.continuation_ms <= 3000:
        raise ConfigError("turns.continuation_ms", f"{turns.continuation_ms} ms",
                          "use 0 (any speech cuts the answer) to 3000 ms")
