"""Services and resources in the tenant settings (agi/tenant_services.py): defaults,
aliases, how a practitioner is said; errors name the key."""

from __future__ import annotations

from typing import Any

import pytest

from agi.config import settings_from_dict
from agi.dialogue.catalogue import spoken_resource
from agi.errors import ConfigError


def tenant(**extra: Any) -> dict[str, Any]:
    return {"tenants": [{"id": "t", "services": [{"name": "consultation", "duration_min": 30}], **extra}]}


def test_a_single_service_is_the_default_and_several_need_one_marked_or_a_question() -> None:
    one = settings_from_dict(tenant()).tenants[0]
    assert one.default_service is not None and one.default_service.name == "consultation"
    two = settings_from_dict(tenant(services=[{"name": "a", "duration_min": 30},
                                              {"name": "b", "duration_min": 45}])).tenants[0]
    assert two.default_service is None and two.service(None).name == "a"
    marked = settings_from_dict(tenant(services=[{"name": "a", "duration_min": 30},
                                                 {"name": "b", "duration_min": 45, "default": True}])).tenants[0]
    assert marked.default_service is not None and marked.service(None).name == "b"


@pytest.mark.parametrize(("services", "key", "message"), [
    ([{"name": "a", "duration_min": 30, "aliases": "x"}], "tenants.t.services[0].aliases",
     "expected a list of words"),
    ([{"name": "a", "duration_min": 30, "aliases": [""]}], "tenants.t.services[0].aliases",
     "expected a list of words"),
    ([{"name": "a", "duration_min": 30, "aliases": ["soin"]},
      {"name": "b", "duration_min": 30, "aliases": ["Soin"]}], "tenants.t.services[1].aliases",
     "'soin' also names 'a'"),
    ([{"name": "a", "duration_min": 30, "default": True},
      {"name": "b", "duration_min": 30, "default": True}], "tenants.t.services", "more than one"),
    ([{"name": "a", "duration_min": 30, "default": "yes"}], "tenants.t.services[0].default",
     "expected true or false"),
    ([{"name": "a", "duration_min": 30, "resources": ["Dr X"]}], "tenants.t.services[0].resources",
     "unknown resource"),
])
def test_bad_services_name_the_key(services: list[dict[str, Any]], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(tenant(services=services))
    assert err.value.key == key and message in str(err.value)


def test_resource_aliases_and_spoken_are_checked() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(tenant(resource=[{"name": "Dr A", "aliases": [3]}]))
    assert err.value.key == "tenants.t.resource[0].aliases"
    with pytest.raises(ConfigError) as err:
        settings_from_dict(tenant(resource=[{"name": "Dr A", "spoken": 1}]))
    assert err.value.key == "tenants.t.resource[0].spoken"


@pytest.mark.parametrize(("name", "lang", "spoken"), [
    ("Dr Martin", "fr", "le docteur Martin"),
    ("Docteur Martin", "fr", "le docteur Martin"),
    ("Dre Sophie Leroy", "fr", "la docteure Sophie Leroy"),
    ("Docteure Leroy", "fr", "la docteure Leroy"),
    ("Me Roux", "fr", "maître Roux"),
    ("Maître Roux", "fr", "maître Roux"),
    ("Mme Petit", "fr", "madame Petit"),
    ("Sophie", "fr", "Sophie"),
    ("Dr Smith", "en", "Dr Smith"),
    ("Doctor Smith", "en", "Dr Smith"),
    ("Sarah Brown", "en", "Sarah Brown"),
])
def test_a_practitioner_is_said_with_the_title_and_gender_of_the_name(name: str, lang: str, spoken: str) -> None:
    settings = settings_from_dict(tenant(language=lang, resource=[{"name": name}]))
    assert spoken_resource(settings.tenants[0].resource(name), lang) == spoken


def test_the_spoken_setting_wins() -> None:
    settings = settings_from_dict(tenant(resource=[{"name": "Sophie L.", "spoken": "la docteure Leroy"}]))
    assert spoken_resource(settings.tenants[0].resource("Sophie L."), "fr") == "la docteure Leroy"
