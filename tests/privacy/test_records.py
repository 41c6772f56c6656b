"""The record of processing (GDPR art. 30) drafted from a test configuration: JSON and
Markdown through ``permanence privacy register``, checked field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agi.cli import main

CONFIG = """
[privacy]
calls_days = 60
messages_days = 200
appointments_days = 400
outbox_days = 20

[[tenants]]
id = "med"
name = "Cabinet du Parc"
health_data = true
privacy_contact = "dpo@parc.example"
resources = ["Dr A"]
recording = { enabled = true, purpose = "formation des secrétaires", retention_days = 90 }
[[tenants.services]]
name = "consultation"
duration_min = 30
[[tenants.notify]]
kind = "email"
name = "desk"
to = ["desk@parc.example"]
from = "permanence@parc.example"
smtp_host = "mail.parc.example"
[[tenants.notify]]
kind = "webhook"
name = "crm"
url = "https://crm.parc.example/hook"
secret = "0123456789abcdef0123456789abcdef"

[[tenants]]
id = "shop"
name = "Garage"
transfers = ["CRM vendor, USA, standard contractual clauses"]
resources = ["atelier"]
[[tenants.services]]
name = "révision"
duration_min = 60
[[tenants.notify]]
kind = "caldav"
name = "agenda"
url = "http://cal.garage.example/dav/"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "permanence.toml"
    path.write_text(CONFIG, "utf-8")
    return path


def register(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["--config", str(config), "privacy", "register", *argv]) == 0
    return capsys.readouterr().out


def test_the_json_record_of_a_medical_tenant(config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads(register(config, capsys, "--tenant", "med", "--format", "json"))
    assert record["controller"] == {"name": "Cabinet du Parc", "tenant_id": "med",
                                    "contact": "dpo@parc.example"}
    assert record["purposes"][-1] == ("recording calls, with the caller's consent: "
                                      "formation des secrétaires")
    kept = {row["category"].split(" (")[0].split(",")[0]: row["retention_days"]
            for row in record["categories"]}
    assert kept["caller's phone number"] == 60
    assert kept["transcript of the call"] == 30  # health-data mode
    assert kept["messages and call-back requests"] == 200
    assert kept["appointments"] == 400 and kept["call audio recordings"] == 90
    assert record["special_categories"] == ["health data (art. 9): the practice's patients"]
    assert record["recipients"] == [
        {"kind": "email", "name": "desk", "to": ["desk@parc.example"],
         "via": "mail.parc.example:587", "encrypted_in_transit": True},
        {"kind": "webhook", "name": "crm", "host": "crm.parc.example",
         "encrypted_in_transit": True}]
    assert record["transfers_outside_eu"] == []
    info = record["information_to_callers"]  # the two layers callers hear (art. 13)
    assert info["ai_statement"] == "Bonjour, assistant automatique de Cabinet du Parc."
    assert "tapez 9" in info["first_layer"] and "pressing 9" in info["on_request"]
    assert info["full_notice"].startswith("Cabinet du Parc traite votre appel") and "CNIL" in info["full_notice"]


def test_the_markdown_record_of_an_ordinary_tenant(config: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = register(config, capsys, "--tenant", "shop")
    assert text.startswith("# Record of processing: Garage\n")
    assert "| transcript of the call (what the caller and the assistant said), encrypted | " \
           "60 days | deleted |" in text
    assert "recordings" not in text
    assert "## Special categories\n- none\n" in text
    assert "- caldav `agenda`: cal.garage.example (NOT encrypted in transit)" in text
    assert "## Transfers outside the EU\n- CRM vendor, USA, standard contractual clauses\n" in text
    assert "## Information given to callers (art. 13)\n\n- First, on every call: « Bonjour, " \
           "assistant automatique de Garage. » then « Vos données servent à vous répondre" in text


def test_an_unknown_tenant(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "privacy", "register", "--tenant", "nope"]) == 2
    assert "unknown tenant 'nope'" in capsys.readouterr().err
