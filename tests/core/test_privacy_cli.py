"""``permanence privacy purge|erase|export`` on a SQLite settings file, and the [privacy]
settings: defaults, environment overrides, and errors that name the key and the fix."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from agi.booking import CallRecord, NewAppointment, SqliteStore
from agi.cli import main
from agi.config import PrivacySettings, load_settings, settings_from_dict
from agi.errors import ConfigError

ALICE, BOB = "+33612345678", "+33698765432"
NOW = datetime.now(UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The embedded defaults with the database in tmp_path."""
    text = resources.files("agi").joinpath("defaults.toml").read_text("utf-8")
    db = tmp_path / "permanence.sqlite3"
    text = text.replace('sqlite_path = "var/permanence.sqlite3"', f'sqlite_path = "{db}"')
    text = text.replace('spool_path = "var/spool.sqlite3"',
                        f'spool_path = "{tmp_path / "spool.sqlite3"}"')
    text = text.replace('key_file = "var/permanence.key"',
                        f'key_file = "{tmp_path / "permanence.key"}"')
    path = tmp_path / "permanence.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def store(config: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(load_settings(config, environ={}).store.sqlite_path)
    for call_id, phone, age in (("old", ALICE, 200), ("alice", ALICE, 1), ("bob", BOB, 1)):
        store.start_call(CallRecord(call_id=call_id, tenant_id="demo", caller=phone,
                                    started_at=NOW - timedelta(days=age)))
        store.add_turn(call_id, "caller", "bonjour", NOW - timedelta(days=age))
        store.add_message("demo", call_id, phone, "X", f"message {call_id}",
                          NOW - timedelta(days=age))
    store.book(NewAppointment(tenant_id="demo", resource="Dr Martin", service="consultation",
                              starts_at=NOW + timedelta(days=3),
                              ends_at=NOW + timedelta(days=3, minutes=30),
                              customer_name="Alice", customer_phone=ALICE))
    yield store
    store.close()


def run(config: Path, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["--config", str(config), "privacy", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_purge_dry_run_then_purge(config: Path, store: SqliteStore,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(config, "purge", "--dry-run", capsys=capsys)
    assert status == 0 and out.startswith("would remove: calls 1, turns 1,")
    assert store.get_call("old") is not None

    status, out, _ = run(config, "purge", capsys=capsys)
    assert status == 0 and out.startswith("removed: calls 1, turns 1,")
    assert store.get_call("old") is None and store.get_call("alice") is not None
    assert run(config, "purge", capsys=capsys)[1].startswith("removed: calls 0, turns 0,")


def test_erase_with_yes_removes_one_number_and_names_the_kept_appointment(
        config: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    # a national number, read in the tenant's numbering plan as caller ids are
    status, out, _ = run(config, "erase", "--tenant", "demo", "06 12 34 56 78", "--yes",
                         capsys=capsys)

    assert status == 0
    assert out.startswith(f"erased {ALICE} (request 1): calls 2, turns 2, callers 1, messages 2,")
    assert "kept upcoming appointment" in out
    assert [m.text for m in store.messages("demo")] == ["message bob"]


def test_erase_asks_first_and_does_nothing_without_a_yes(
        config: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    status, out, _ = run(config, "erase", "--tenant", "demo", ALICE, capsys=capsys)

    assert status == 1 and "nothing erased" in out
    assert len(store.messages("demo")) == 3


def test_export_prints_the_number_s_data_as_json(config: Path, store: SqliteStore,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(config, "export", "--tenant", "demo", ALICE, capsys=capsys)

    assert status == 0
    held: dict[str, Any] = json.loads(out)
    assert held["phone"] == ALICE and held["version"] == 1
    assert [c["call_id"] for c in held["calls"]] == ["old", "alice"]
    assert [m["text"] for m in held["messages"]] == ["message old", "message alice"]
    assert [a["customer_name"] for a in held["appointments"]] == ["Alice"]


@pytest.mark.parametrize("argv, message", [
    (("export", "--tenant", "nobody", ALICE), "unknown tenant 'nobody'"),
    (("erase", "--tenant", "demo", "not a number", "--yes"), "is not a phone number"),
])
def test_a_bad_tenant_or_number_is_refused(config: Path, store: SqliteStore,
                                           capsys: pytest.CaptureFixture[str],
                                           argv: tuple[str, ...], message: str) -> None:
    status, _, err = run(config, *argv, capsys=capsys)
    assert status == 2 and message in err
    assert len(store.messages("demo")) == 3


# the other rights and the register ---------------------------------------------------------
def test_rectify_restrict_object_and_the_register(config: Path, store: SqliteStore,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(config, "rectify", "--tenant", "demo", ALICE, "--new-phone",
                         "06 11 11 11 11", "--name", "Alice Martin", "--identity",
                         "called back", "--by", "anna", capsys=capsys)
    assert status == 0 and out.startswith(f"rectified {ALICE} (request 1): calls 2,")
    assert [a.customer_phone for a in store.appointments_for_caller("demo", "+33611111111")]
    status, out, _ = run(config, "restrict", "--tenant", "demo", BOB, "--identity", "ID card",
                         capsys=capsys)
    assert status == 0 and out == f"{BOB} restricted (request 2)\n"
    assert run(config, "object", "--tenant", "demo", BOB, capsys=capsys)[1] == \
        f"{BOB} objected (request 3)\n"
    assert run(config, "unrestrict", "--tenant", "demo", BOB, capsys=capsys)[1] == \
        f"{BOB}: restricted lifted\n"

    status, out, _ = run(config, "requests", capsys=capsys)
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert lines[0].startswith(f"#1 demo rectification {ALICE} received ")
    assert "[identity: called back]: answered" in lines[0] and lines[0].endswith("by anna")
    assert "[identity: not stated]" in lines[2]
    assert run(config, "requests", "--open", capsys=capsys)[1] == "no open request\n"


def test_an_open_request_is_extended_then_answered(config: Path, store: SqliteStore,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from agi.privacy import PrivacyRights, SealedStore
    from agi.privacy.crypto import Keyring, new_key_line
    from agi.privacy.rights import add_months

    rights = PrivacyRights(SealedStore(store, Keyring.parse(new_key_line("k1"), "t")))
    request = rights.receive("demo", ALICE, "access", "letter with ID copy")
    out = run(config, "requests", "--open", capsys=capsys)[1]
    assert out.startswith(f"#{request.id} demo access {ALICE}") and "day(s) left" in out
    assert f"(due {request.due_at.date().isoformat()})" in out
    status, _, err = run(config, "request", str(request.id), "--extend", "2", capsys=capsys)
    assert status == 1 and "needs its reason" in err
    out = run(config, "request", str(request.id), "--extend", "2", "--reason", "archives",
              capsys=capsys)[1]
    due = add_months(request.received_at, 3).date().isoformat()
    assert f"(due {due}, extended: archives)" in out
    out = run(config, "request", str(request.id), "--answer", "--note", "sent", capsys=capsys)[1]
    assert "answered" in out
    assert rights.register.request(request.id).details == {"note": "sent"}  # type: ignore[union-attr]


def test_encrypt_existing_then_a_missing_key_is_a_clear_error(
        config: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(config, "encrypt-existing", capsys=capsys)
    assert status == 0 and out == "re-encrypted 9 value(s) with the current key\n"
    assert all(t.text.startswith("enc1:k1:") for t in store.transcript("alice"))
    status, out, _ = run(config, "rotate-key", capsys=capsys)
    assert out.startswith("added key k2") and "re-encrypted 9 value(s)" in out
    assert all(t.text.startswith("enc1:k2:") for t in store.transcript("alice"))
    export = json.loads(run(config, "export", "--tenant", "demo", BOB, capsys=capsys)[1])
    assert export["calls"][0]["transcript"][0]["text"] == "bonjour"

    (config.parent / "permanence.key").unlink()
    text = config.read_text().replace("create_key = true", "create_key = false")
    config.write_text(text)
    status, _, err = run(config, "export", "--tenant", "demo", BOB, capsys=capsys)
    assert status == 1 and "privacy.key_file" in err and "does not exist" in err
    config.write_text(text.replace("create_key = false", "create_key = true"))
    status, _, err = run(config, "export", "--tenant", "demo", BOB, capsys=capsys)
    assert status == 1 and "sealed with key 'k2', which the keyring does not hold" in err


# settings ---------------------------------------------------------------------------------
def _settings(privacy: dict[str, Any], environ: dict[str, str] | None = None) -> PrivacySettings:
    raw = {"privacy": privacy, "tenants": [{
        "id": "t", "name": "T", "services": [{"name": "s", "duration_min": 30}],
        "resources": ["R"], "opening_hours": {"mon": ["09:00-12:00"]}}]}
    return settings_from_dict(raw, environ or {}).privacy


def test_privacy_defaults_and_environment_override() -> None:
    assert _settings({}) == PrivacySettings(calls_days=90, messages_days=365,
                                            appointments_days=365, outbox_days=30,
                                            purge_interval_h=24.0)
    assert _settings({"calls_days": 30},
                     {"PERMANENCE_PRIVACY_CALLS_DAYS": "60"}).calls_days == 60


@pytest.mark.parametrize("key, value, message", [
    ("calls_days", 0, "privacy.calls_days: 0 days is out of range"),
    ("messages_days", 3651, "privacy.messages_days: 3651 days is out of range"),
    ("outbox_days", -1, "privacy.outbox_days"),
    ("appointments_days", "a year", "privacy.appointments_days: expected int"),
    ("purge_interval_h", 0.5, "privacy.purge_interval_h: 0.5 hours is out of range"),
    ("keep_forever", True, "privacy.keep_forever: unknown setting"),
])
def test_privacy_errors_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings({key: value})
    assert message in str(caught.value)


def test_zero_days_says_a_duration_is_required() -> None:
    with pytest.raises(ConfigError, match="cannot be kept forever"):
        _settings({"calls_days": 0})
