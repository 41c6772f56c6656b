"""Who read or changed personal data, and the console's own records (users, handled marks).

The access log answers "who saw this transcript, who exported or erased this person,
who signed in": every entry says who (a console user, or the system user running the
CLI), what (the action and what it was about), when and from where (the address, or the
terminal). It is kept ``[usage] access_log_days`` (12 months by default) and never purged
with the data it is about: an erasure leaves the trace that it happened. A phone number
an entry is about is kept masked (``+336******78``): enough to answer a person asking
"who looked at my data", not a copy of the data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from agi.booking.usage import LedgerRunner, as_utc

AccessAction = Literal["sign_in", "sign_in_failed", "transcript_read", "export", "erase",
                       "usage_export", "access_log_export", "user_change",
                       # the other rights (agi.privacy.rights)
                       "rectify", "restrict", "object", "lift_restriction", "lift_objection"]
ACCESS_ACTIONS: tuple[str, ...] = AccessAction.__args__  # type: ignore[attr-defined]
Role = Literal["admin", "staff", "billing"]
ROLES: tuple[str, ...] = ("admin", "staff", "billing")
HandledKind = Literal["message", "lead"]


@dataclass(frozen=True)
class AccessEntry:
    at: datetime
    actor: str  # console user name, or "cli:<system user>"
    action: str  # one of ACCESS_ACTIONS
    tenant_id: str = ""
    subject: str = ""  # a call id, a masked number, a month...
    source: str = ""  # client address, or "tty:<host>"
    channel: str = "console"  # console or cli
    id: int = 0


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    password_hash: str  # argon2id (agi.console.auth), never the password
    role: str  # one of ROLES
    tenants: tuple[str, ...] = ()  # staff: the tenants it may see (admin: all)
    language: str = "fr"
    created_at: datetime | None = None


@dataclass(frozen=True)
class Handled:
    """A message or lead marked done in the console: by whom and when."""

    kind: str
    item_id: int
    by: str
    at: datetime


def mask_phone(phone: str) -> str:
    """``+33612345678`` -> ``+336******78``: recognisable to its owner, not a copy."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:]


_ACTION = re.compile(r"[a-z][a-z_ ]{0,39}")
_ACCESS_COLS = "id, at, actor, action, tenant_id, subject, source, channel"


def log_access(run: LedgerRunner, entry: AccessEntry) -> None:
    """Append one entry. ``action`` is one of ACCESS_ACTIONS or another short lower-case
    name (the privacy rights add theirs: "rectify", "restriction", "lift objection"...)."""
    if not _ACTION.fullmatch(entry.action):
        raise ValueError(f"unknown access action {entry.action!r}: a short lower-case name")
    run(f"access log {entry.action}", [(
        "INSERT INTO {access_log} (at, actor, action, tenant_id, subject, source, channel) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (entry.at, entry.actor, entry.action, entry.tenant_id,
                                         entry.subject, entry.source, entry.channel))])


def read_access(run: LedgerRunner, since: datetime | None = None,
                limit: int = 10_000) -> list[AccessEntry]:
    """Entries at or after ``since``, newest first."""
    where, args = ("WHERE at >= ? ", [since, limit]) if since is not None else ("", [limit])
    (rows,) = run("access log", [(
        f"SELECT {_ACCESS_COLS} FROM {{access_log}} {where}ORDER BY at DESC, id DESC LIMIT ?",
        args)])
    return [AccessEntry(as_utc(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], int(r[0]))
            for r in rows]


def purge_access(run: LedgerRunner, before: datetime) -> int:
    (rows,) = run("purge access log", [("DELETE FROM {access_log} WHERE at < ? RETURNING 1",
                                        (before,))])
    return len(rows)


# console users --------------------------------------------------------------------------
_USER_COLS = "name, password_hash, role, tenants, language, created_at"


def _user(row: Sequence[object]) -> ConsoleUser:
    name, hashed, role, tenants, language, created = row
    return ConsoleUser(str(name), str(hashed), str(role),
                       tuple(t for t in str(tenants).split(",") if t), str(language),
                       as_utc(created))


def save_user(run: LedgerRunner, user: ConsoleUser, now: datetime) -> None:
    """Insert or replace the user (its creation time is kept)."""
    if user.role not in ROLES:
        raise ValueError(f"role {user.role!r} is not one of {', '.join(ROLES)}")
    run(f"save user {user.name}", [(
        f"INSERT INTO {{console_users}} ({_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
        "role = excluded.role, tenants = excluded.tenants, language = excluded.language",
        (user.name, user.password_hash, user.role, ",".join(user.tenants), user.language,
         user.created_at or now))])


def get_user(run: LedgerRunner, name: str) -> ConsoleUser | None:
    (rows,) = run("user", [(f"SELECT {_USER_COLS} FROM {{console_users}} WHERE name = ?",
                            (name,))])
    return _user(rows[0]) if rows else None


def list_users(run: LedgerRunner) -> list[ConsoleUser]:
    (rows,) = run("users", [(f"SELECT {_USER_COLS} FROM {{console_users}} ORDER BY name", ())])
    return [_user(r) for r in rows]


def remove_user(run: LedgerRunner, name: str) -> bool:
    (rows,) = run(f"remove user {name}", [
        ("DELETE FROM {console_users} WHERE name = ? RETURNING 1", (name,))])
    return bool(rows)


# handled marks ----------------------------------------------------------------------------
def mark_handled(run: LedgerRunner, kind: HandledKind, item_id: int, tenant_id: str, by: str,
                 at: datetime) -> Handled:
    """Mark a message or lead done (the first mark stands); the mark in force."""
    (_, rows) = run(f"mark {kind} {item_id}", [
        ("INSERT INTO {handled} (kind, item_id, tenant_id, by_user, at) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT DO NOTHING", (kind, item_id, tenant_id, by, at)),
        ("SELECT kind, item_id, by_user, at FROM {handled} WHERE kind = ? AND item_id = ?",
         (kind, item_id))])
    r = rows[0]
    return Handled(str(r[0]), int(r[1]), str(r[2]), as_utc(r[3]))


def read_handled(run: LedgerRunner, tenant_id: str) -> dict[tuple[str, int], Handled]:
    (rows,) = run("handled", [("SELECT kind, item_id, by_user, at FROM {handled} "
                               "WHERE tenant_id = ?", (tenant_id,))])
    return {(str(r[0]), int(r[1])): Handled(str(r[0]), int(r[1]), str(r[2]), as_utc(r[3]))
            for r in rows}


def purge_handled(run: LedgerRunner) -> int:
    """Marks of messages and leads that no longer exist (purged or erased) go with them."""
    (a, b) = run("purge handled", [
        ("DELETE FROM {handled} WHERE kind = 'message' AND item_id NOT IN "
         "(SELECT id FROM {messages}) RETURNING 1", ()),
        ("DELETE FROM {handled} WHERE kind = 'lead' AND item_id NOT IN "
         "(SELECT id FROM {leads}) RETURNING 1", ())])
    return len(a) + len(b)
