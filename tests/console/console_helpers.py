"""Console test data: settings on ephemeral ports, a seeded store of two tenants (calls,
transcripts, messages, leads, appointments, usage) and users of each role."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking import CallRecord, NewAppointment
from agi.booking.access_log import ConsoleUser
from agi.booking.store import Store
from agi.config import Settings, settings_from_dict
from agi.console.auth import hash_password

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(hours=2)  # when the seeded calls started
MONTH = START.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m")  # the month they count in


def console_settings(tmp_path: Path) -> Settings:
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["store"]["sqlite_path"] = str(tmp_path / "console.sqlite3")
    raw["console"].update(port=0, secret_path=str(tmp_path / "console.key"), max_failures=3)
    return settings_from_dict(raw, {})


def seed(store: Store) -> dict[str, str]:
    """Two tenants' data; the ids the tests need."""
    start = START
    store.start_call(CallRecord("call-demo-1", "demo", "+33612345678", start))
    store.add_turn("call-demo-1", "agent", "Bonjour, ici l'assistant automatique du cabinet.", start)
    store.add_turn("call-demo-1", "caller", "Je voudrais un rendez-vous jeudi matin", start)
    store.update_call_data("call-demo-1", {"service": "consultation", "name": "Alice Martin"})
    store.book(NewAppointment("demo", "Dr Martin", "consultation", NOW + timedelta(hours=3),
                              NOW + timedelta(hours=3, minutes=30), "Alice Martin",
                              "+33612345678", call_id="call-demo-1"))
    store.end_call("call-demo-1", start + timedelta(seconds=95), "booked")
    store.start_call(CallRecord("call-demo-2", "demo", "+33698765432", start))
    message = store.add_message("demo", "call-demo-2", "+33698765432", "Bob Durand",
                                "Merci de me rappeler pour un devis", start)
    store.add_lead("demo", "call-demo-2", "+33698765432", "callback", {"when": "demain"}, start)
    store.end_call("call-demo-2", start + timedelta(seconds=61), "message")
    store.start_call(CallRecord("call-en-1", "demo-en", "+441632960001", start))
    store.add_turn("call-en-1", "caller", "secret english words", start)
    store.end_call("call-en-1", start + timedelta(seconds=30), "transfer")
    for name, role, tenants in (("admin", "admin", ()), ("alice", "staff", ("demo",)),
                                ("bill", "billing", ())):
        store.save_user(ConsoleUser(name, hash_password(PASSWORD), role, tenants,
                                    "en" if name == "bill" else "fr"), NOW)
    return {"message": str(message.id)}


@dataclass
class Served:
    url: str
    store: Store
    ids: dict[str, str]


