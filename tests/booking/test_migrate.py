"""Migrations on a real PostgreSQL server: applied once and recorded, idempotent, each in a
transaction, refused when a released file changed or the database is newer, serialised
between concurrent runners, confined to the configured schema, and the DBA's instructions
when the user may not install btree_gist."""

from __future__ import annotations

import hashlib
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from agi.booking.migrate import (
    latest_version,
    load_migrations,
    main_migrate,
    migrate,
)
from agi.booking.postgres import PostgresStore
from agi.config import settings_from_dict
from agi.errors import StoreError

if TYPE_CHECKING:
    from pg_server import PgServer

PACKAGED = Path(str(resources.files("agi.booking") / "migrations"))
AT = datetime(2026, 3, 12, 9, tzinfo=UTC)
TENANTS = [{"id": "demo", "services": [{"name": "consultation", "duration_min": 30}]}]


@pytest.fixture
def fresh_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name nobody has migrated yet; dropped after the test if it was created."""
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def with_extra(tmp_path: Path, **files: str) -> Path:
    """The packaged migrations plus ``files`` (name -> SQL) in a directory of their own."""
    folder = tmp_path / "migrations"
    shutil.copytree(PACKAGED, folder)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def next_file(name: str) -> str:
    """The file name of the migration after the packaged ones."""
    return f"{latest_version() + 1:04d}_{name}.sql"


def packaged_versions() -> list[int]:
    return [m.version for m in load_migrations()]


def tables(dsn: str, schema: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        return {r[0] for r in rows}


def test_migrate_applies_once_and_records_it(postgres_dsn: str, fresh_schema: str) -> None:
    packaged = load_migrations()
    assert migrate(postgres_dsn, fresh_schema) == [m.version for m in packaged]
    assert migrate(postgres_dsn, fresh_schema) == []  # idempotent
    assert tables(postgres_dsn, fresh_schema) >= {
        "schema_migrations", "calls", "turns", "appointments", "messages", "outbox", "callers",
        "leads", "usage_daily", "access_log"}
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT version, name, checksum, applied_at FROM {}").format(
            sql.Identifier(fresh_schema, "schema_migrations"))).fetchall()
    assert sorted((v, n, c) for v, n, c, _ in rows) == [
        (m.version, m.name, hashlib.sha256((PACKAGED / m.filename).read_bytes()).hexdigest())
        for m in packaged]
    assert rows[0][3].tzinfo is not None
    assert latest_version() == packaged[-1].version


def test_a_new_migration_is_applied_alone(postgres_dsn: str, fresh_schema: str,
                                          tmp_path: Path) -> None:
    migrate(postgres_dsn, fresh_schema)
    nxt = latest_version() + 1
    folder = with_extra(tmp_path, **{f"{nxt:04d}_message_note.sql":
                                     "ALTER TABLE messages ADD COLUMN note text;"})
    assert migrate(postgres_dsn, fresh_schema, load_migrations(folder)) == [nxt]
    with psycopg.connect(postgres_dsn) as conn:
        found = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
                             "AND table_name = 'messages' AND column_name = 'note'", (fresh_schema,))
        assert found.fetchone() is not None
    # The store refuses a schema newer than the code it runs.
    with pytest.raises(StoreError, match="newer than this Permanence"):
        PostgresStore(postgres_dsn, fresh_schema)
    with pytest.raises(StoreError, match="does not know"):
        migrate(postgres_dsn, fresh_schema)


def test_a_failing_migration_leaves_nothing_behind(postgres_dsn: str, fresh_schema: str,
                                                   tmp_path: Path) -> None:
    migrate(postgres_dsn, fresh_schema)
    folder = with_extra(tmp_path, **{next_file("broken"): "CREATE TABLE half_done (id int);\n"
                                                        "ALTER TABLE no_such_table ADD COLUMN x int;"})
    with pytest.raises(StoreError, match="no_such_table") as info:
        migrate(postgres_dsn, fresh_schema, load_migrations(folder))
    assert isinstance(info.value.__cause__, psycopg.errors.UndefinedTable)
    assert "half_done" not in tables(postgres_dsn, fresh_schema)
    assert migrate(postgres_dsn, fresh_schema) == []  # still at the packaged version
    PostgresStore(postgres_dsn, fresh_schema).close()


def test_a_changed_released_migration_is_refused(postgres_dsn: str, fresh_schema: str) -> None:
    migrate(postgres_dsn, fresh_schema)
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(sql.SQL("UPDATE {} SET checksum = 'edited' WHERE version = 1").format(
            sql.Identifier(fresh_schema, "schema_migrations")))
    with pytest.raises(StoreError, match="0001_initial.sql was changed after it was applied"):
        migrate(postgres_dsn, fresh_schema)


def test_concurrent_runs_apply_each_migration_exactly_once(postgres_dsn: str, fresh_schema: str,
                                                           tmp_path: Path) -> None:
    folder = with_extra(tmp_path, **{next_file("message_note"):
                                     "ALTER TABLE messages ADD COLUMN note text;"})
    migrations = load_migrations(folder)
    barrier = threading.Barrier(8)
    results: list[list[int]] = []
    errors: list[StoreError] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(postgres_dsn, fresh_schema, migrations))
        except StoreError as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 8
    assert sorted(v for applied in results for v in applied) == [m.version for m in migrations]


def test_schema_name_is_an_identifier_not_sql(postgres_dsn: str) -> None:
    odd = f'Cabinet "Dupont"; DROP TABLE x; -- {uuid.uuid4().hex[:6]}'
    try:
        assert migrate(postgres_dsn, odd) == packaged_versions()
        assert "appointments" in tables(postgres_dsn, odd)
        store = PostgresStore(postgres_dsn, odd)
        try:
            store.add_message("demo", "", "", "", "hello", AT)
            assert [m.text for m in store.messages("demo")] == ["hello"]
        finally:
            store.close()
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(odd)))


def test_the_store_refuses_an_unmigrated_schema(postgres_dsn: str, fresh_schema: str) -> None:
    with pytest.raises(StoreError, match="version 0.*run 'permanence db migrate'"):
        PostgresStore(postgres_dsn, fresh_schema)


def test_invalid_schema_names_are_refused(postgres_dsn: str) -> None:
    for bad in ("", "pg_mine", "x" * 64):
        with pytest.raises(StoreError, match="invalid schema name"):
            migrate(postgres_dsn, bad)


def test_misnamed_or_duplicate_migration_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="misnamed"):
        load_migrations(with_extra(tmp_path, **{"2_Oops.sql": "SELECT 1;"}))
    shutil.rmtree(tmp_path / "migrations")
    with pytest.raises(StoreError, match="versions are unique"):
        load_migrations(with_extra(tmp_path, **{"0005_twice.sql": "SELECT 1;"}))


def test_a_migration_numbered_below_an_applied_one_is_refused(
        tmp_path: Path, postgres_dsn: str, pg_schema: str) -> None:
    # branches number files side by side (0005 may land before 0004): a gap is fine, but a
    # file arriving below what the database already has must be renumbered, not run late
    packaged = load_migrations()
    missing = next(v for v in range(1, packaged[-1].version) if v not in
                   {m.version for m in packaged}) if len(packaged) < packaged[-1].version else None
    if missing is None:
        pytest.skip("no gap in the packaged migrations to slip a late file into")
    late = with_extra(tmp_path, **{f"{missing:04d}_late.sql": "SELECT 1;"})
    with pytest.raises(StoreError, match="renumber it after"):
        migrate(postgres_dsn, pg_schema, load_migrations(late))


def test_a_user_who_may_not_install_btree_gist_is_told_what_the_dba_runs(
        pg_server: PgServer | None) -> None:
    if pg_server is None:
        pytest.skip("needs the tests' own server: it creates a database and a role")
    name = f"nopriv_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(pg_server.dsn, autocommit=True)
    try:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # The DBA gave the application its schema but no right to install extensions.
        with psycopg.connect(pg_server.dsn_for(name), autocommit=True) as db:
            db.execute(sql.SQL("CREATE SCHEMA permanence AUTHORIZATION {}").format(sql.Identifier(name)))
        as_app = pg_server.dsn_for(name, user=name)
        with pytest.raises(StoreError) as info:
            migrate(as_app, "permanence")
        assert "CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;" in str(info.value)
        assert isinstance(info.value.__cause__, psycopg.errors.InsufficientPrivilege)
        # Once the DBA has run it, the application migrates on its own.
        with psycopg.connect(pg_server.dsn_for(name), autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public")
        assert migrate(as_app, "permanence") == packaged_versions()
        PostgresStore(as_app, "permanence").close()
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


def test_main_migrate_prints_what_it_applied(postgres_dsn: str, fresh_schema: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_from_dict({"store": {"backend": "postgres", "postgres_dsn": postgres_dsn,
                                             "postgres_schema": fresh_schema},
                                   "tenants": TENANTS})
    assert main_migrate(settings) == 0
    out = capsys.readouterr().out
    assert "applied 0001_initial.sql" in out and "applied 0002_outbox.sql" in out
    assert f"schema '{fresh_schema}' is at version {latest_version()}" in out
    assert main_migrate(settings) == 0
    assert "nothing to apply" in capsys.readouterr().out


def test_main_migrate_reports_failure_with_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = f"host={tmp_path} port=1 user=postgres dbname=postgres connect_timeout=2"
    settings = settings_from_dict({"store": {"backend": "postgres", "postgres_dsn": nowhere},
                                   "tenants": TENANTS})
    assert main_migrate(settings) == 1
    assert "permanence db migrate: migrating schema 'permanence' failed" in capsys.readouterr().err


def test_main_migrate_on_sqlite_creates_the_file(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "var" / "permanence.sqlite3"
    settings = settings_from_dict({"store": {"sqlite_path": str(path)}, "tenants": TENANTS})
    assert main_migrate(settings) == 0
    assert path.is_file() and "up to date" in capsys.readouterr().out
