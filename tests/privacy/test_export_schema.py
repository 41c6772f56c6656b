"""The export (access, portability) validates against the published JSON Schema
docs/privacy-export.schema.json, on both stores, with every kind of record present."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from agi.booking import CallRecord, NewAppointment
from agi.booking.store import OutboxKind
from agi.privacy import PrivacyRights, SealedStore
from agi.privacy.crypto import Keyring, new_key_line

if TYPE_CHECKING:
    from conftest import StoreFactory

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "privacy-export.schema.json")
                    .read_text("utf-8"))
ALICE = "+33612345678"


def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
    return ("webhook:crm", "email:office")


def test_the_schema_itself_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_an_export_with_every_record_validates(make_store: StoreFactory) -> None:
    store = SealedStore(make_store(targets_for=targets), Keyring.parse(new_key_line("k1"), "t"))
    now = datetime.now(UTC)
    store.start_call(CallRecord(call_id="c1", tenant_id="demo", caller=ALICE, started_at=now,
                                data={"service": "consultation", "day": now}))
    store.add_turn("c1", "caller", "je voudrais un rendez-vous", now)
    store.end_call("c1", now + timedelta(minutes=2), "booked")
    store.touch_caller("demo", ALICE, now, name="Alice")
    appt = store.book(NewAppointment(tenant_id="demo", resource="A", service="consultation",
                                     starts_at=now + timedelta(days=1),
                                     ends_at=now + timedelta(days=1, minutes=30),
                                     customer_name="Alice", customer_phone=ALICE, call_id="c1"))
    store.move(appt.id, now + timedelta(days=2), now + timedelta(days=2, minutes=30))
    store.add_message("demo", "c1", ALICE, "Alice", "merci", now)
    store.add_lead("demo", "c1", ALICE, "devis", {"what": "bilan"}, now)
    rights = PrivacyRights(store)
    rights.restrict("demo", ALICE, identity_check="ID card", by="t")

    document = rights.access("demo", ALICE, identity_check="ID card", by="t",
                             kind="portability").result
    document = json.loads(json.dumps(document))  # exactly what the CLI prints
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document["restricted_since"] and document["objected_since"] is None
    assert len(document["outbox"]) == 8 and document["caller"]["name"] == "Alice"

    empty = json.loads(json.dumps(rights.access("demo", "+33600000000", identity_check="x",
                                                by="t").result))
    jsonschema.validate(empty, SCHEMA, cls=jsonschema.Draft202012Validator)
    broken = {**document, "calls": [{**document["calls"][0], "extra": 1}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA, cls=jsonschema.Draft202012Validator)
