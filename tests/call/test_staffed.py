"""Staffed hours: when a transfer may be offered, what an after-hours caller hears, and
the [tenants.staffed] settings with errors that name the key."""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agi.call.staffed import after_hours_greeting, is_staffed, may_transfer, staffed_hours_sentence
from agi.call.transfer import screening_summary
from agi.config import Settings, settings_from_dict
from agi.errors import ConfigError

PARIS = ZoneInfo("Europe/Paris")


def settings(**demo: Any) -> Settings:
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["tenants"][0].update(demo)
    return settings_from_dict(raw, {})


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def test_without_staffed_hours_the_opening_hours_are_the_staffed_hours() -> None:
    demo = settings().tenant("demo")  # mon-fri mornings, afternoons but wednesday
    assert is_staffed(demo, at(7, 9, 0)) and is_staffed(demo, at(7, 11, 59))
    assert not is_staffed(demo, at(7, 12, 0))  # closing time itself is closed
    assert not is_staffed(demo, at(9, 15, 0))  # wednesday afternoon
    assert not is_staffed(demo, at(5, 23, 10))  # saturday night: the case of issue #11
    assert not may_transfer(demo, at(5, 23, 10)) and may_transfer(demo, at(7, 10, 0))


def test_staffed_hours_may_differ_from_booking_hours() -> None:
    demo = settings(staffed={"hours": {"mon": ["10:00-11:00"], "sat": ["09:00-10:00"]}}).tenant("demo")
    assert not is_staffed(demo, at(7, 9, 30)) and is_staffed(demo, at(7, 10, 30))
    assert is_staffed(demo, at(5, 9, 30))  # saturday: staffed though closed for bookings
    assert staffed_hours_sentence(demo) == (
        "Notre équipe répond au téléphone le lundi de 10 heures à 11 heures, "
        "le samedi de 9 heures à 10 heures.")


def test_closures_and_public_holidays_close_the_staffed_hours() -> None:
    demo = settings(closures=["2026-12-08", "2026-12-07T14:00/2026-12-07T16:00"],
                    public_holidays="FR").tenant("demo")
    assert not is_staffed(demo, at(8, 10))  # a closed day
    assert not is_staffed(demo, at(7, 15)) and is_staffed(demo, at(7, 16, 30))  # an afternoon off
    assert not is_staffed(demo, at(25, 10))  # Christmas, a friday
    assert is_staffed(demo, at(7, 10))


def test_a_tenant_without_any_hours_is_always_staffed_but_not_on_holidays() -> None:
    demo = settings(opening_hours={}, public_holidays="FR").tenant("demo")
    assert is_staffed(demo, at(5, 23, 10))
    assert not is_staffed(demo, at(25, 10))
    assert not may_transfer(settings(opening_hours={}, transfer_target="").tenant("demo"), at(7, 10))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_staffed(settings().tenant("demo"), datetime(2026, 12, 7, 10))


def test_after_hours_greeting_gives_the_hours_and_never_a_transfer() -> None:
    demo, english = settings().tenant("demo"), settings().tenant("demo-en")
    for tenant in (demo, english):
        text = after_hours_greeting(tenant).lower()
        assert "transf" not in text and "put you through" not in text
        assert "message" in text and ("rappel" in text or "call-back" in text)
    assert "du lundi au mardi de 9 heures à midi et de 14 heures à 18 heures" in after_hours_greeting(demo)
    own = settings(staffed={"after_hours_greeting": "Le cabinet est fermé."}).tenant("demo")
    assert after_hours_greeting(own).startswith("Le cabinet est fermé. Notre équipe répond")


@pytest.mark.parametrize(("staffed", "key"), [
    ({"hours": {"lun": ["09:00-10:00"]}}, "tenants.demo.staffed.hours.lun"),
    ({"hours": {"mon": ["9h-10h"]}}, "tenants.demo.staffed.hours.mon"),
    ({"hours": ["09:00-10:00"]}, "tenants.demo.staffed.hours"),
    ({"transfer": "warm"}, "tenants.demo.staffed.transfer"),
    ({"ring_s": 3}, "tenants.demo.staffed.ring_s"),
    ({"ring_s": "20"}, "tenants.demo.staffed.ring_s"),
    ({"emergency": 15}, "tenants.demo.staffed.emergency"),
    ({"emergency": "x" * 301}, "tenants.demo.staffed.emergency"),
    ({"after_hours_greetings": "typo"}, "tenants.demo.staffed.after_hours_greetings"),
    ("attended", "tenants.demo.staffed"),
])
def test_bad_staffed_settings_name_their_key(staffed: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(staffed=staffed)
    assert caught.value.key == key


def test_staffed_settings_are_read() -> None:
    demo = settings(staffed={"transfer": "attended", "ring_s": 15,
                             "emergency": " En cas d'urgence, composez le 15. "}).tenant("demo")
    assert demo.staffed.attended and demo.staffed.ring_s == 15
    assert demo.staffed.emergency == "En cas d'urgence, composez le 15."
    assert not settings().tenant("demo").staffed.attended


def test_the_screening_summary_says_who_which_number_and_what() -> None:
    fr = screening_summary("fr", "Jean Dupont", "+33612345678", "je voudrais  parler au docteur")
    assert fr == ("Appel de Jean Dupont, au zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit. "
                  "Sa demande : « je voudrais parler au docteur ». "
                  "Tapez 1 pour prendre l'appel, ou raccrochez pour le refuser.")
    assert screening_summary("fr", "", "", "").startswith("Appel d'un correspondant. Tapez 1")
    en = screening_summary("en", "", "not a number", "x" * 500)
    assert en.startswith("Call from a caller. They said: \"" + "x" * 160 + "\". Press 1")
