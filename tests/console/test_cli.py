"""The console's data from the command line, on a real SQLite file through
``permanence`` itself: usage reports in three formats, calls and a transcript, today's
appointments, users; and the access log: a transcript read, an export and an erasure
each leave exactly one entry, which the personal-data purge leaves alone."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from console_helpers import MONTH, seed

from agi.booking import SqliteStore
from agi.booking.store import PurgeCutoffs
from agi.cli import main
from agi.config import load_settings
from agi.console.metering import usage_policy


@pytest.fixture
def config(tmp_path: Path) -> Path:
    text = resources.files("agi").joinpath("defaults.toml").read_text("utf-8")
    text = text.replace('sqlite_path = "var/permanence.sqlite3"',
                        f'sqlite_path = "{tmp_path / "p.sqlite3"}"')
    path = tmp_path / "permanence.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def store(config: Path) -> Iterator[SqliteStore]:
    settings = load_settings(config, environ={})
    store = SqliteStore(settings.store.sqlite_path, usage=usage_policy(settings))
    seed(store)
    yield store
    store.close()


def run(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["--config", str(config), *argv])
    out, err = capsys.readouterr()
    assert status == 0 or err, "a failure says why"
    return status, out + err


def entries(store: SqliteStore, action: str) -> list[object]:
    return [e for e in store.access_log() if e.action == action]


def test_usage_in_table_csv_and_json(config: Path, store: SqliteStore,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    month = MONTH
    status, out = run(config, capsys, "usage", "--month", month, "--format", "json")
    doc = json.loads(out)
    demo = next(t for t in doc["tenants"] if t["tenant"] == "demo")
    # 95 s and 61 s, each rounded up to whole minutes
    assert (status, demo["calls"], demo["billed_minutes"], demo["bookings"]) == (0, 2, 4.0, 1)
    status, out = run(config, capsys, "usage", "--month", month, "--tenant", "demo-en",
                      "--format", "csv")
    assert out.splitlines()[1].startswith("demo-en,") and len(out.splitlines()) == 2
    status, out = run(config, capsys, "usage", "--month", month)
    assert "demo-en" in out and "4.00" in out
    status, out = run(config, capsys, "usage", "--month", "11-2026")
    assert status == 2 and "YYYY-MM" in out


def test_calls_list_filters_and_show_logs_one_transcript_read(
        config: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(config, capsys, "calls", "--tenant", "demo", "--outcome", "booked")
    assert status == 0 and "call-demo-1" in out and "call-demo-2" not in out
    assert entries(store, "transcript_read") == []  # a list shows no transcript
    status, out = run(config, capsys, "calls", "show", "call-demo-1")
    shown = json.loads(out)
    assert shown["transcript"][1]["text"] == "Je voudrais un rendez-vous jeudi matin"
    (read,) = entries(store, "transcript_read")
    assert (read.actor.startswith("cli:"), read.subject, read.channel) == (  # type: ignore[attr-defined]
        True, "call-demo-1", "cli")
    status, out = run(config, capsys, "calls", "show", "nope")
    assert status == 1 and len(entries(store, "transcript_read")) == 1


def test_appointments_today(config: Path, store: SqliteStore,
                            capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(config, capsys, "appointments", "--tenant", "demo")
    assert status == 0 and "Alice Martin" in out and "Dr Martin" in out


def test_export_and_erase_each_leave_one_entry_and_the_purge_keeps_them(
        config: Path, store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(config, capsys, "privacy", "export", "--tenant", "demo", "0698765432")
    assert status == 0 and json.loads(out)["messages"]
    status, out = run(config, capsys, "privacy", "erase", "--tenant", "demo", "0698765432", "--yes")
    assert status == 0
    (export,), (erase,) = entries(store, "export"), entries(store, "erase")
    assert export.subject == erase.subject == "+336******32"  # type: ignore[attr-defined]
    assert "98765" not in json.dumps([e.__dict__ for e in store.access_log()], default=str)
    far = datetime.now(UTC) + timedelta(days=4000)
    before = store.access_log()
    store.purge(PurgeCutoffs(calls=far, messages=far, appointments=far, outbox=far))
    assert store.access_log() == before


def test_access_log_export_is_itself_logged(config: Path, store: SqliteStore,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run(config, capsys, "calls", "show", "call-demo-1")
    status, out = run(config, capsys, "access-log", "--format", "csv")
    assert out.splitlines()[0] == "at,actor,action,tenant,subject,source,channel"
    assert "transcript_read" in out
    status, out = run(config, capsys, "access-log", "--format", "json", "--since", "2000-01-01")
    assert {e["action"] for e in json.loads(out)} >= {"transcript_read", "access_log_export"}


def test_users_add_passwd_list_remove(config: Path, store: SqliteStore,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    status, out = run(config, capsys, "users", "add", "carol", "--role", "staff",
                      "--tenant", "demo", "--password-stdin")
    assert status == 0
    carol = store.user("carol")
    assert carol is not None and carol.tenants == ("demo",)
    assert "a long enough" not in carol.password_hash
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    status, out = run(config, capsys, "users", "passwd", "carol", "--password-stdin")
    assert status == 2 and "10 characters" in out
    status, out = run(config, capsys, "users", "list")
    assert "carol" in out and "staff" in out
    status, out = run(config, capsys, "users", "remove", "carol")
    assert status == 0 and store.user("carol") is None
