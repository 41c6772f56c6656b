"""Tenants: the businesses one Permanence serves, read from ``[[tenants]]`` tables.

The tenant itself and its notification targets, with the parsing that validates each
table (services and resources in :mod:`agi.tenant_services`, practical information in
:mod:`agi.tenant_info`); every error names the key
(:class:`agi.errors.ConfigError`). :mod:`agi.config` re-exports all of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agi.call_settings import TENANT_KEYS as TENANT_CALL_KEYS
from agi.call_settings import TenantCall, tenant_call
from agi.errors import ConfigError
from agi.privacy_settings import TENANT_KEYS as TENANT_PRIVACY_KEYS
from agi.privacy_settings import TenantPrivacy, tenant_privacy
from agi.tenant_info import INFO_TOPICS, MAX_ANSWER_CHARS, Faq, parse_faqs, parse_info
from agi.tenant_services import (
    WEEKDAYS,
    Closure,
    Resource,
    Service,
    WeeklyHours,
    parse_closures,
    parse_hours,
    parse_resources,
    parse_services,
    whole,
)

# Re-exported: services, resources and information used to live here.
__all__ = ["DEFAULT_HORIZON_DAYS", "DEFAULT_MIN_NOTICE_MIN", "DEFAULT_PRIVACY_NOTICE",
           "FORBIDDEN_DISCLOSURE_KEYS", "INFO_TOPICS", "LANGUAGES", "MAX_ANSWER_CHARS",
           "MIN_WEBHOOK_SECRET", "WEEKDAYS", "CalDavTarget", "Closure", "EmailTarget", "Faq",
           "NotifyTarget", "Resource", "Service", "Tenant", "WebhookTarget", "WeeklyHours"]

LANGUAGES = ("fr", "en")
# Keys that would word away or remove the automated-assistant statement. The statement is
# required by the EU AI Act (Art. 50) and is not configurable; only the privacy notice is.
FORBIDDEN_DISCLOSURE_KEYS = re.compile(r"disclos|ai_statement|ai_notice|announce", re.I)
# A phone booking must reach the business before the customer does: by default no slot
# starts sooner than this after the call (tenant key min_notice_min).
DEFAULT_MIN_NOTICE_MIN = 60
# Calendars further out are not reliable (holidays, staff rotas) and the bound keeps a
# search over a full calendar small (tenant key horizon_days).
DEFAULT_HORIZON_DAYS = 60

DEFAULT_PRIVACY_NOTICE = {
    "fr": (
        "{name} traite votre appel pour répondre à votre demande. Vous pouvez accéder à vos "
        "données, les faire rectifier ou effacer en contactant {name}."
    ),
    "en": (
        "{name} processes this call to handle your request. You may access, correct or "
        "erase your data by contacting {name}."
    ),
}


@dataclass(frozen=True)
class EmailTarget:
    """E-mail the business a summary of each event (iCalendar attached for appointments)."""

    name: str
    to: tuple[str, ...]
    sender: str  # the TOML key is "from"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    kind: str = field(default="email", init=False)

    @property
    def key(self) -> str:
        """How outbox rows name this target."""
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class WebhookTarget:
    """POST each event as signed JSON to the business's own system."""

    name: str
    url: str
    secret: str = field(repr=False)
    kind: str = field(default="webhook", init=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class CalDavTarget:
    """Put appointments into the business's calendar (messages are not sent there)."""

    name: str
    url: str
    calendar: str = ""  # display name or URL of the calendar; "" = url is the calendar
    username: str = ""
    password: str = field(default="", repr=False)
    kind: str = field(default="caldav", init=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


NotifyTarget = EmailTarget | WebhookTarget | CalDavTarget


@dataclass(frozen=True)
class Tenant:
    """One business served by Permanence."""

    id: str
    name: str
    language: str = "fr"
    timezone: str = "Europe/Paris"
    greeting: str = ""
    privacy_notice: str = ""
    transfer_target: str = ""
    dids: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("default",)
    # weekday index (0 = Monday) -> ((open, close), ...)
    opening_hours: WeeklyHours = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    notify: tuple[NotifyTarget, ...] = ()
    # Hours and leave of the resources configured as [[tenants.resource]] tables (a
    # resource of ``resources`` without an entry here works the tenant's hours).
    resource_details: tuple[Resource, ...] = ()
    closures: tuple[Closure, ...] = ()
    # Country code, optionally with a subdivision ("FR", "DE-BY"): its public holidays
    # are closed days (the ``holidays`` package); "" = none.
    public_holidays: str = ""
    min_notice_min: int = DEFAULT_MIN_NOTICE_MIN
    horizon_days: int = DEFAULT_HORIZON_DAYS
    # Topic of INFO_TOPICS -> what to tell callers ("" or absent: the agent does not know).
    info: Mapping[str, str] = field(default_factory=dict)
    faq: tuple[Faq, ...] = ()
    # health-data mode, recording, transfers (agi.privacy_settings)
    privacy: TenantPrivacy = field(default_factory=TenantPrivacy)
    # the first layer of the privacy notice, the longest call (agi.call_settings)
    call: TenantCall = field(default_factory=TenantCall)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_min)

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    def resource(self, name: str) -> Resource:
        """The hours and closures of resource ``name`` (the tenant's hours if none given)."""
        for detail in self.resource_details:
            if detail.name == name:
                return detail
        return Resource(name)

    def service(self, name: str | None) -> Service:
        """The service called ``name`` (or one of its aliases); else the default one (the
        first one when none is marked ``default``)."""
        if name:
            wanted = name.strip().lower()
            for svc in self.services:
                if wanted == svc.name.lower() or wanted in (a.lower() for a in svc.aliases):
                    return svc
        return self.default_service or self.services[0]

    @property
    def default_service(self) -> Service | None:
        """What a caller who does not say what for is booked: the only service, or the one
        marked ``default``; None when the caller must be asked."""
        if len(self.services) == 1:
            return self.services[0]
        return next((s for s in self.services if s.default), None)


_TENANT_KEYS = {"id", "name", "language", "timezone", "greeting", "privacy_notice",
                "transfer_target", "dids", "resources", "opening_hours", "services", "notify",
                "resource", "closures", "public_holidays", "min_notice_min", "horizon_days",
                "info", "faq"} | TENANT_PRIVACY_KEYS | TENANT_CALL_KEYS


def _tenant(index: int, raw: Mapping[str, Any], environ: Mapping[str, str]) -> Tenant:
    where = f"tenants[{index}]"
    for key in raw:
        if FORBIDDEN_DISCLOSURE_KEYS.search(key):
            raise ConfigError(f"{where}.{key}",
                              "the automated-assistant statement cannot be changed or switched off",
                              "EU AI Act Art. 50 requires it on every call; only privacy_notice is worded by tenants")
        if key not in _TENANT_KEYS:
            raise ConfigError(f"{where}.{key}", "unknown tenant setting",
                              f"known: {', '.join(sorted(_TENANT_KEYS))}")
    tid = raw.get("id")
    if not isinstance(tid, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", tid):
        raise ConfigError(f"{where}.id", "missing or invalid", "letters, digits, '-', '_' or '.'")
    where = f"tenants.{tid}"
    language = raw.get("language", "fr")
    if language not in LANGUAGES:
        raise ConfigError(f"{where}.language", f"unsupported language {language!r}", "use 'fr' or 'en'")
    tz = raw.get("timezone", "Europe/Paris")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}.timezone", f"unknown time zone {tz!r}", "e.g. Europe/Paris") from exc
    name = raw.get("name") or tid
    notice = raw.get("privacy_notice", DEFAULT_PRIVACY_NOTICE[language].format(name=name))
    if not isinstance(notice, str) or not notice.strip():
        raise ConfigError(f"{where}.privacy_notice", "must not be empty",
                          "word the notice (controller, purpose, rights) or remove the key for the default")
    resources_, details = parse_resources(where, raw)
    services = parse_services(f"{where}.services", raw.get("services", []), resources_)
    return Tenant(
        id=tid, name=name, language=language, timezone=tz,
        greeting=raw.get("greeting", ""), privacy_notice=notice.strip(),
        transfer_target=raw.get("transfer_target", ""),
        dids=tuple(raw.get("dids", [])), resources=resources_,
        opening_hours=parse_hours(f"{where}.opening_hours", raw.get("opening_hours", {})),
        services=services,
        notify=_notify_targets(f"{where}.notify", raw.get("notify", []), environ),
        resource_details=details,
        closures=parse_closures(f"{where}.closures", raw.get("closures", [])),
        public_holidays=_holiday_country(f"{where}.public_holidays", raw.get("public_holidays", "")),
        min_notice_min=whole(f"{where}.min_notice_min", raw.get("min_notice_min"),
                              DEFAULT_MIN_NOTICE_MIN, 0, 7 * 24 * 60),
        horizon_days=whole(f"{where}.horizon_days", raw.get("horizon_days"),
                            DEFAULT_HORIZON_DAYS, 1, 730),
        info=parse_info(f"{where}.info", raw.get("info", {})),
        faq=parse_faqs(f"{where}.faq", raw.get("faq", [])),
        privacy=tenant_privacy(where, raw),
        call=tenant_call(where, raw, language),
    )


def _holiday_country(where: str, raw: Any) -> str:
    """``"FR"`` or ``"DE-BY"``, checked against what the ``holidays`` package knows."""
    if raw == "":
        return ""
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Z]{2}(-[A-Z0-9]{1,4})?", raw.strip()):
        raise ConfigError(where, f"invalid country {raw!r}", 'an ISO 3166 code such as "FR" or "DE-BY"')
    import holidays  # only tenants with public holidays need it

    country, _, subdiv = raw.strip().partition("-")
    try:
        holidays.country_holidays(country, subdiv=subdiv or None)
    except NotImplementedError as exc:
        raise ConfigError(where, f"no public holidays known for {raw!r}: {exc}",
                          "use a country the holidays package supports") from exc
    return raw.strip()



_NOTIFY_KEYS = {
    "email": {"kind", "name", "to", "from", "smtp_host", "smtp_port", "smtp_starttls",
              "smtp_user", "smtp_password", "smtp_password_env"},
    "webhook": {"kind", "name", "url", "secret", "secret_env"},
    "caldav": {"kind", "name", "url", "calendar", "username", "password", "password_env"},
}
# An HMAC key shorter than this can be guessed offline from one signed request.
MIN_WEBHOOK_SECRET = 16


def _notify_targets(where: str, raw: Any, environ: Mapping[str, str]) -> tuple[NotifyTarget, ...]:
    """``[[tenants.notify]]`` tables; names are unique per kind (they key outbox rows)."""
    if not isinstance(raw, list):
        raise ConfigError(where, "must be a list of tables", "write [[tenants.notify]] entries")
    targets = tuple(_notify_target(f"{where}[{i}]", t, environ) for i, t in enumerate(raw))
    keys = [t.key for t in targets]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ConfigError(f"{where}[{i}].name", f"two {targets[i].kind} targets are named "
                              f"{targets[i].name!r}", "give each one its own name")
    return targets


def _notify_target(where: str, raw: Any, environ: Mapping[str, str]) -> NotifyTarget:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table", 'e.g. { kind = "email", to = "..." }')
    kind = raw.get("kind")
    if kind not in _NOTIFY_KEYS:
        raise ConfigError(f"{where}.kind", f"unknown notification kind {kind!r}",
                          "use 'email', 'webhook' or 'caldav'")
    for key in raw:
        if key not in _NOTIFY_KEYS[kind]:
            raise ConfigError(f"{where}.{key}", f"unknown {kind} setting",
                              f"known: {', '.join(sorted(_NOTIFY_KEYS[kind]))}")
    name = _text(where, raw, "name", "default")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigError(f"{where}.name", f"invalid name {name!r}", "letters, digits, '-', '_' or '.'")
    if kind == "email":
        return _email_target(where, name, raw, environ)
    url = _text(where, raw, "url", "")
    if not re.fullmatch(r"https?://[^\s/]+\S*", url):
        raise ConfigError(f"{where}.url", f"missing or invalid URL {url!r}", "give an http:// or https:// URL")
    if kind == "webhook":
        secret = _secret(where, raw, "secret", environ, required=True)
        if len(secret) < MIN_WEBHOOK_SECRET:
            raise ConfigError(f"{where}.secret", f"shorter than {MIN_WEBHOOK_SECRET} characters",
                              "use a long random value, e.g. from 'openssl rand -hex 32'")
        return WebhookTarget(name=name, url=url, secret=secret)
    username = _text(where, raw, "username", "")
    password = _secret(where, raw, "password", environ, required=bool(username))
    return CalDavTarget(name=name, url=url, calendar=_text(where, raw, "calendar", ""),
                        username=username, password=password)


def _email_target(where: str, name: str, raw: Mapping[str, Any],
                  environ: Mapping[str, str]) -> EmailTarget:
    to = raw.get("to")
    recipients = (to,) if isinstance(to, str) else tuple(to) if isinstance(to, list) else ()
    if not recipients or not all(isinstance(r, str) and _ADDRESS.fullmatch(r) for r in recipients):
        raise ConfigError(f"{where}.to", f"missing or invalid address {to!r}",
                          'e.g. to = "desk@example.org" or a list of addresses')
    sender = _text(where, raw, "from", "")
    if not _ADDRESS.fullmatch(sender):
        raise ConfigError(f"{where}.from", f"missing or invalid address {sender!r}",
                          'e.g. from = "permanence@example.org"')
    host = _text(where, raw, "smtp_host", "localhost")
    port = raw.get("smtp_port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.smtp_port", f"invalid port {port!r}", "1-65535, usually 587 or 25")
    starttls = raw.get("smtp_starttls", True)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{where}.smtp_starttls", f"expected true or false, got {starttls!r}")
    user = _text(where, raw, "smtp_user", "")
    password = _secret(where, raw, "smtp_password", environ, required=bool(user))
    if password and not user:
        raise ConfigError(f"{where}.smtp_user", "a password is set but no user", "set smtp_user")
    if user and not starttls and host not in ("localhost", "127.0.0.1", "::1"):
        raise ConfigError(f"{where}.smtp_starttls", f"the password would cross the network to "
                          f"{host} in clear", "set smtp_starttls = true")
    return EmailTarget(name=name, to=recipients, sender=sender, smtp_host=host, smtp_port=port,
                       smtp_starttls=starttls, smtp_user=user, smtp_password=password)


_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


def _text(where: str, raw: Mapping[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}", f"expected a string, got {value!r}")
    return value.strip()


def _secret(where: str, raw: Mapping[str, Any], key: str, environ: Mapping[str, str], *,
            required: bool) -> str:
    """``key`` itself, or the environment variable named by ``<key>_env`` (kept out of files)."""
    env_key = f"{key}_env"
    if key in raw and env_key in raw:
        raise ConfigError(f"{where}.{env_key}", f"both {key} and {env_key} are set", "keep one")
    if env_key in raw:
        var = _text(where, raw, env_key, "")
        value = environ.get(var, "")
        if not value:
            raise ConfigError(f"{where}.{env_key}", f"environment variable {var!r} is not set or empty",
                              f"export {var} before starting Permanence")
        return value
    value = _text(where, raw, key, "")
    if required and not value:
        raise ConfigError(f"{where}.{key}", "missing", f"set {key}, or {env_key} to the name of an "
                          "environment variable holding it")
    return value
