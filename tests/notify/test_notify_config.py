"""[[tenants.notify]] settings: each kind parsed, secrets from the environment, and every
mistake a ConfigError naming the key and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from agi.config import CalDavTarget, EmailTarget, WebhookTarget, settings_from_dict
from agi.errors import ConfigError
from agi.notify import targets_for

SERVICES = [{"name": "consultation", "duration_min": 30}]
SECRET = "0123456789abcdef0123"


def parse(*notify: Any, env: dict[str, str] | None = None) -> tuple[Any, ...]:
    settings = settings_from_dict({"tenants": [{"id": "demo", "services": SERVICES,
                                                "notify": list(notify)}]}, env or {})
    return settings.tenants[0].notify


def test_each_kind_with_secrets_from_the_environment() -> None:
    email, hook, cal = parse(
        {"kind": "email", "to": "desk@ex.org", "from": "bot@ex.org", "smtp_host": "mail.ex.org",
         "smtp_user": "bot", "smtp_password_env": "SMTP_PW"},
        {"kind": "webhook", "name": "crm", "url": "https://crm.ex.org/hook", "secret_env": "HOOK"},
        {"kind": "caldav", "url": "https://dav.ex.org/", "calendar": "Agenda",
         "username": "doc", "password": "pw"},
        env={"SMTP_PW": "hunter2", "HOOK": SECRET})
    assert isinstance(email, EmailTarget) and email.to == ("desk@ex.org",)
    assert email.smtp_password == "hunter2" and email.smtp_port == 587 and email.smtp_starttls
    assert "hunter2" not in repr(email)
    assert isinstance(hook, WebhookTarget) and hook.secret == SECRET and hook.key == "webhook:crm"
    assert SECRET not in repr(hook)
    assert isinstance(cal, CalDavTarget) and cal.key == "caldav:default"


def test_targets_for_sends_messages_to_no_calendar() -> None:
    settings = settings_from_dict({"tenants": [
        {"id": "demo", "services": SERVICES, "notify": [
            {"kind": "email", "to": "a@ex.org", "from": "b@ex.org"},
            {"kind": "caldav", "url": "http://127.0.0.1/cal/"}]},
        {"id": "quiet", "services": SERVICES}]}, {})
    find = targets_for(settings)
    assert find("demo", "appointment_booked") == ("email:default", "caldav:default")
    assert find("demo", "message") == ("email:default",)
    assert find("quiet", "message") == () and find("gone", "message") == ()


@pytest.mark.parametrize(("entry", "env", "key", "words"), [
    ({"kind": "fax"}, {}, "notify[0].kind", "unknown notification kind"),
    ({"kind": "email", "to": "desk", "from": "b@ex.org"}, {}, "notify[0].to", "invalid address"),
    ({"kind": "email", "to": "a@ex.org"}, {}, "notify[0].from", "invalid address"),
    ({"kind": "email", "to": "a@ex.org", "from": "b@ex.org", "smtp_port": 0}, {},
     "notify[0].smtp_port", "invalid port"),
    ({"kind": "email", "to": "a@ex.org", "from": "b@ex.org", "smtp_user": "u"}, {},
     "notify[0].smtp_password", "missing"),
    ({"kind": "email", "to": "a@ex.org", "from": "b@ex.org", "smtp_host": "mail.ex.org",
      "smtp_user": "u", "smtp_password": "p", "smtp_starttls": False}, {},
     "notify[0].smtp_starttls", "in clear"),
    ({"kind": "email", "to": "a@ex.org", "from": "b@ex.org", "smtp_user": "u",
      "smtp_password_env": "NOPE"}, {}, "notify[0].smtp_password_env", "'NOPE' is not set"),
    ({"kind": "email", "to": "a@ex.org", "from": "b@ex.org", "bcc": "x"}, {},
     "notify[0].bcc", "unknown email setting"),
    ({"kind": "webhook", "url": "ftp://x"}, {}, "notify[0].url", "invalid URL"),
    ({"kind": "webhook", "url": "https://x/h"}, {}, "notify[0].secret", "missing"),
    ({"kind": "webhook", "url": "https://x/h", "secret": "short"}, {}, "notify[0].secret",
     "shorter than 16"),
    ({"kind": "webhook", "url": "https://x/h", "secret": SECRET, "secret_env": "S"}, {"S": SECRET},
     "notify[0].secret_env", "both"),
    ({"kind": "caldav", "url": "https://x/", "username": "u"}, {}, "notify[0].password", "missing"),
    ({"kind": "caldav", "url": "https://x/", "name": "a b"}, {}, "notify[0].name", "invalid name"),
])
def test_mistakes_name_the_key_and_the_fix(entry: dict[str, Any], env: dict[str, str], key: str,
                                           words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        parse(entry, env=env)
    assert info.value.key == f"tenants.demo.{key}"


def test_two_targets_of_one_kind_need_their_own_names() -> None:
    hook = {"kind": "webhook", "url": "https://x/h", "secret": SECRET}
    with pytest.raises(ConfigError, match="give each one its own name") as info:
        parse(hook, hook)
    assert info.value.key == "tenants.demo.notify[1].name"
    assert len(parse(hook, {**hook, "name": "backup"})) == 2
