"""Versioned SQL migrations for the PostgreSQL store (``permanence db migrate``).

The migrations are the files ``agi/booking/migrations/NNNN_name.sql``, applied in version
order, each in its own transaction, with ``search_path`` set to the configured schema only,
so Permanence's tables can live in a schema of the business's existing database. Each
applied file is recorded in ``<schema>.schema_migrations (version, name, applied_at,
checksum)``; running again applies only what is missing (idempotent).

Safety rules, each an error rather than a guess:

* an applied migration whose file changed since (SHA-256 differs) stops the run: released
  migrations are never edited, a new file is added instead;
* a database holding a version this code does not know (a newer Permanence migrated it)
  stops the run;
* concurrent ``migrate()`` calls (two hosts starting at once) are serialised by a
  transaction-level advisory lock keyed on the schema name, and each re-reads what is
  applied once it holds the lock, so every migration runs exactly once.

psycopg is imported here only: this module is the PostgreSQL adapter's, like
:mod:`agi.booking.postgres`.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agi.errors import StoreError

if TYPE_CHECKING:
    import psycopg

    from agi.config import Settings

DEFAULT_SCHEMA = "permanence"
MIGRATIONS_TABLE = "schema_migrations"
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
# First half of the advisory lock key: "PERM" in ASCII, so the lock is recognisable in
# pg_locks (classid) next to the schema's hash (objid).
_LOCK_CLASS = 0x5045524D


@dataclass(frozen=True)
class Migration:
    """One migration file: ``0001_initial.sql`` is version 1, name ``initial``."""

    version: int
    name: str
    sql: str
    checksum: str  # SHA-256 of the file's bytes, hex

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    applied_at: datetime
    checksum: str


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """The migration files of ``directory`` (default: the packaged ones), in version order.

    :class:`StoreError` on a badly named file, a gap or a duplicate version: a mistake in a
    new migration must not reach a database.
    """
    folder = directory if directory is not None else resources.files("agi.booking") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            raise StoreError(f"migration file {entry.name!r} is misnamed: use NNNN_lowercase_name.sql")
        data = entry.read_bytes()
        found.append(Migration(int(match[1]), match[2], data.decode("utf-8"),
                               hashlib.sha256(data).hexdigest()))
    found.sort(key=lambda m: m.version)
    # Gaps are allowed (branches add numbered files side by side: 0005 may be written
    # before 0004 lands); duplicates are not, and _verify refuses a file numbered below
    # what a database already has, so the order of application never depends on luck.
    for before, migration in zip(found, found[1:], strict=False):
        if migration.version == before.version:
            raise StoreError(f"migration {migration.filename}: version {migration.version:04d} "
                             f"is also {before.filename} (versions are unique)")
    if found and found[0].version != 1:
        raise StoreError(f"migration {found[0].filename}: versions start at 0001")
    if not found:
        raise StoreError(f"no migration files in {folder}")
    return found


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    """The schema version this code expects after ``migrate()``."""
    return (migrations or load_migrations())[-1].version


def check_schema_name(schema: str) -> str:
    """``schema`` if PostgreSQL allows it as a user schema; :class:`StoreError` otherwise."""
    if not schema or len(schema.encode()) > 63 or schema.startswith("pg_") or "\x00" in schema:
        raise StoreError(f"invalid schema name {schema!r}: 1-63 bytes, not starting with 'pg_'")
    return schema


def lock_key(schema: str) -> int:
    """The second half of the advisory lock key for ``schema`` (a signed 32-bit integer)."""
    digest = hashlib.sha256(schema.encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def migrate(dsn: str, schema: str = DEFAULT_SCHEMA,
            migrations: Sequence[Migration] | None = None) -> list[int]:
    """Bring ``schema`` of the database at ``dsn`` to the latest version.

    Creates the schema when missing. Returns the versions applied by this call, in order
    (``[]`` when already up to date). Raises :class:`StoreError` for every failure, with
    what to do when it is a matter of privileges or of a changed migration file.
    """
    import psycopg

    check_schema_name(schema)
    todo = list(migrations) if migrations is not None else load_migrations()
    applied_now: list[int] = []
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while (step := _apply_next(conn, schema, todo)) is not None:
                applied_now.append(step)
    except psycopg.Error as exc:
        raise _explain(exc, schema) from exc
    return applied_now


def _apply_next(conn: psycopg.Connection[Any], schema: str, todo: Sequence[Migration]) -> int | None:
    """Apply the first pending migration in one transaction; ``None`` when none is left."""
    from psycopg import sql

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, lock_key(schema)))
        _ensure_migrations_table(conn, schema)
        applied = {a.version: a for a in _read_applied(conn, schema)}
        _verify(applied, todo, schema)
        pending = [m for m in todo if m.version not in applied]
        if not pending:
            return None
        step = pending[0]
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(step.sql.encode())  # no parameters: several statements are allowed
        conn.execute(sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)")
                     .format(sql.Identifier(schema, MIGRATIONS_TABLE)),
                     (step.version, step.name, step.checksum))
        return step.version


def _ensure_migrations_table(conn: psycopg.Connection[Any], schema: str) -> None:
    from psycopg import sql

    # Look before creating: CREATE SCHEMA IF NOT EXISTS still demands CREATE on the
    # database, which a role given a ready-made schema by its DBA does not have.
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if exists is None:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now(),"
        " checksum text NOT NULL)").format(sql.Identifier(schema, MIGRATIONS_TABLE)))


def _read_applied(conn: psycopg.Connection[Any], schema: str) -> list[AppliedMigration]:
    from psycopg import sql

    rows = conn.execute(sql.SQL("SELECT version, name, applied_at, checksum FROM {} ORDER BY version")
                        .format(sql.Identifier(schema, MIGRATIONS_TABLE))).fetchall()
    return [AppliedMigration(*row) for row in rows]


def _verify(applied: dict[int, AppliedMigration], known: Sequence[Migration], schema: str) -> None:
    by_version = {m.version: m for m in known}
    newest = max(applied, default=0)
    late = [m for m in known if m.version < newest and m.version not in applied]
    if late:
        raise StoreError(f"migration {late[0].filename} is numbered below version {newest:04d}, "
                         f"already applied to schema {schema!r}: renumber it after {newest:04d}")
    for version, done in sorted(applied.items()):
        mine = by_version.get(version)
        if mine is None:
            raise StoreError(f"schema {schema!r} has migration {version:04d}_{done.name}, which this "
                             "Permanence does not know (a newer version migrated it): upgrade Permanence")
        if mine.checksum != done.checksum:
            raise StoreError(f"migration {mine.filename} was changed after it was applied to schema "
                             f"{schema!r} (checksum {done.checksum[:12]} in the database, "
                             f"{mine.checksum[:12]} on disk): restore the released file and put "
                             "the change in a new migration")


def applied_migrations(dsn: str, schema: str = DEFAULT_SCHEMA) -> list[AppliedMigration]:
    """What ``schema`` records as applied (``[]`` if it was never migrated)."""
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return read_applied_if_any(conn, schema)
    except psycopg.Error as exc:
        raise _explain(exc, schema) from exc


def read_applied_if_any(conn: psycopg.Connection[Any], schema: str) -> list[AppliedMigration]:
    """Like :func:`applied_migrations` on an open connection (used by the store at open)."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{_quote(schema)}.{MIGRATIONS_TABLE}",)).fetchone()
    if found is None or found[0] is None:
        return []
    return _read_applied(conn, schema)


def _quote(name: str) -> str:
    # to_regclass() takes a text name, not an identifier parameter: quote it as SQL would.
    return '"' + name.replace('"', '""') + '"'


def _explain(exc: Exception, schema: str) -> StoreError:
    """A :class:`StoreError` for a psycopg error, with the fix when it is a known one."""
    import psycopg

    text = str(exc).strip()
    if isinstance(exc, psycopg.errors.InsufficientPrivilege) and "btree_gist" in text:
        return StoreError(
            "the database user may not install the btree_gist extension, which the no-overlap "
            "constraint on appointments needs. A database administrator must run, in this "
            "database: CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public; "
            f"then run 'permanence db migrate' again ({text})")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return StoreError(f"permission denied while migrating schema {schema!r}: the database user "
                          "needs CREATE on the database, or a DBA must run "
                          f"CREATE SCHEMA {_quote(schema)} AUTHORIZATION <user>; ({text})")
    return StoreError(f"migrating schema {schema!r} failed: {text}")


def main_migrate(settings: Settings) -> int:
    """``permanence db migrate``: apply what is missing, print it; the exit status."""
    store = settings.store
    if store.backend != "postgres":
        from agi.booking.sqlite import SqliteStore

        try:
            SqliteStore(store.sqlite_path).close()  # SQLite migrates itself when opened
        except StoreError as exc:
            print(f"permanence db migrate: {exc}", file=sys.stderr)
            return 1
        print(f"SQLite store {store.sqlite_path} is up to date")
        return 0
    schema = store.postgres_schema
    try:
        migrations = load_migrations()
        done = migrate(store.postgres_dsn, schema, migrations)
    except StoreError as exc:
        print(f"permanence db migrate: {exc}", file=sys.stderr)
        return 1
    names = {m.version: m.filename for m in migrations}
    for version in done:
        print(f"applied {names[version]}")
    print(f"schema {schema!r} is at version {latest_version(migrations)}"
          + ("" if done else " (nothing to apply)"))
    return 0
