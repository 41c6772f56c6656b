"""``permanence usage|calls|appointments|users|access-log``: the console's data over SSH.

Registered by :func:`add_commands` from :mod:`agi.cli`; each handler opens the configured
store, prints, closes. Reading a transcript (``calls show``), exporting and erasing
personal data (``privacy export|erase``, see :func:`log_cli_access`) and exporting the
access log leave an access-log entry naming the system user and where they came from.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from agi.booking.access_log import ROLES, AccessEntry, ConsoleUser
from agi.booking.store import Store
from agi.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def cli_actor() -> tuple[str, str]:
    """Who runs the command and from where: the system user, and the SSH client's
    address when there is one (else this host's terminal)."""
    ssh = os.environ.get("SSH_CLIENT", "").split()
    return f"cli:{getpass.getuser()}", f"ssh:{ssh[0]}" if ssh else f"tty:{socket.gethostname()}"


def log_cli_access(store: Store, action: str, tenant_id: str = "", subject: str = "") -> None:
    actor, source = cli_actor()
    store.log_access(AccessEntry(datetime.now(UTC), actor, action, tenant_id, subject, source,
                                 "cli"))


def _open(settings: Settings) -> Store:
    from agi.server import open_store

    return open_store(settings)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"permanence: --since {text!r} is not a date (YYYY-MM-DD)") from exc
    return datetime.combine(day, time(0), UTC)


# usage ----------------------------------------------------------------------------------
def cmd_usage(args: argparse.Namespace, settings: Settings) -> int:
    from agi.booking.usage import month_days
    from agi.console.reports import usage_csv, usage_json, usage_table

    month = args.month or datetime.now(UTC).strftime("%Y-%m")
    try:
        first, last = month_days(month)
    except ValueError as exc:
        print(f"permanence usage: {exc}", file=sys.stderr)
        return 2
    store = _open(settings)
    try:
        rows = store.usage_days(first, last, args.tenant)
    finally:
        store.close()
    out = {"csv": usage_csv, "json": lambda r: usage_json(month, r),
           "table": lambda r: usage_table(month, r)}[args.format](rows)
    print(out, end="" if out.endswith("\n") else "\n")
    return 0


# calls and appointments -------------------------------------------------------------------
def cmd_calls(args: argparse.Namespace, settings: Settings) -> int:
    from agi.console.reports import duration

    store = _open(settings)
    try:
        if args.action == "show":
            return _show_call(store, args.call_id)
        since = _since(args.since)
        tenants = [args.tenant] if args.tenant else [t.id for t in settings.tenants]
        found = [c for t in tenants for c in store.list_calls(t, args.limit)
                 if (since is None or c.started_at >= since)
                 and (not args.outcome or c.outcome == args.outcome)]
    finally:
        store.close()
    found.sort(key=lambda c: c.started_at, reverse=True)
    for c in found[:args.limit]:
        length = duration((c.ended_at - c.started_at).total_seconds()) if c.ended_at else "-"
        print(f"{c.started_at.isoformat(timespec='seconds')}  {c.tenant_id:<12} "
              f"{c.caller or '-':<16} {length:>8}  {c.outcome or '-':<14} {c.call_id}")
    return 0


def _show_call(store: Store, call_id: str) -> int:
    call = store.get_call(call_id)
    if call is None:
        print(f"permanence calls show: no call {call_id!r}", file=sys.stderr)
        return 1
    turns = store.transcript(call_id)
    log_cli_access(store, "transcript_read", call.tenant_id, call.call_id)
    print(json.dumps({"call_id": call.call_id, "tenant": call.tenant_id, "caller": call.caller,
                      "started_at": call.started_at.isoformat(),
                      "ended_at": call.ended_at.isoformat() if call.ended_at else None,
                      "outcome": call.outcome, "data": dict(call.data),
                      "transcript": [{"speaker": t.speaker, "text": t.text,
                                      "at": t.at.isoformat()} for t in turns]},
                     ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_appointments(args: argparse.Namespace, settings: Settings) -> int:
    tenants = [t for t in settings.tenants if not args.tenant or t.id == args.tenant]
    if not tenants:
        print(f"permanence appointments: unknown tenant {args.tenant!r}", file=sys.stderr)
        return 2
    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(f"permanence appointments: --date {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    store = _open(settings)
    try:
        for tenant in tenants:
            local = day or datetime.now(tenant.tz).date()
            start = datetime.combine(local, time(0), tenant.tz)
            span = timedelta(days=1 if (day or args.today) else 7)
            for a in store.appointments(tenant.id, start, start + span):
                print(f"{a.starts_at.astimezone(tenant.tz):%Y-%m-%d %H:%M}  {tenant.id:<12} "
                      f"{a.resource:<16} {a.service:<16} {a.customer_name:<20} "
                      f"{a.customer_phone:<14} {a.status}")
    finally:
        store.close()
    return 0


# users ---------------------------------------------------------------------------------------
def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from agi.console.auth import hash_password

    store = _open(settings)
    try:
        if args.action == "list":
            for u in store.users():
                print(f"{u.name:<20} {u.role:<8} {','.join(u.tenants) or '*':<20} {u.language}")
            return 0
        if args.action == "remove":
            if not store.remove_user(args.name):
                print(f"permanence users: no user {args.name!r}", file=sys.stderr)
                return 1
            log_cli_access(store, "user_change", subject=f"remove {args.name}")
            print(f"removed {args.name}")
            return 0
        known = store.user(args.name)
        if args.action == "passwd" and known is None:
            print(f"permanence users: no user {args.name!r}", file=sys.stderr)
            return 1
        if args.action == "add" and known is not None:
            print(f"permanence users: {args.name!r} exists (use passwd)", file=sys.stderr)
            return 1
        try:
            hashed = hash_password(_password(args))
        except ValueError as exc:
            print(f"permanence users: {exc}", file=sys.stderr)
            return 2
        user = (ConsoleUser(args.name, hashed, args.role, tuple(args.tenant or ()), args.language)
                if known is None else ConsoleUser(known.name, hashed, known.role, known.tenants,
                                                  known.language, known.created_at))
        store.save_user(user, datetime.now(UTC))
        log_cli_access(store, "user_change", subject=f"{args.action} {args.name}")
        print(f"{args.action}: {args.name} ({user.role})")
        return 0
    finally:
        store.close()


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


# access log -------------------------------------------------------------------------------
def cmd_access_log(args: argparse.Namespace, settings: Settings) -> int:
    store = _open(settings)
    try:
        entries = store.access_log(_since(args.since))
        log_cli_access(store, "access_log_export", subject=args.since or "all")
    finally:
        store.close()
    rows: list[dict[str, Any]] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                                   "tenant": e.tenant_id, "subject": e.subject,
                                   "source": e.source, "channel": e.channel} for e in entries]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else
                                ["at", "actor", "action", "tenant", "subject", "source",
                                 "channel"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to ``permanence`` (each carries its handler)."""
    usage = sub.add_parser("usage", parents=[common], help="usage for billing, per tenant and month")
    usage.add_argument("--month", help="YYYY-MM (default: this month)")
    usage.add_argument("--tenant", help="one tenant id (default: all)")
    usage.add_argument("--format", choices=("table", "csv", "json"), default="table")
    usage.set_defaults(handler=cmd_usage)

    calls = sub.add_parser("calls", parents=[common], help="list calls, or show one (transcript)")
    calls.set_defaults(handler=cmd_calls, action="list")
    calls.add_argument("--tenant")
    calls.add_argument("--since", help="YYYY-MM-DD (UTC)")
    calls.add_argument("--outcome", help="booked, message, transfer, hangup...")
    calls.add_argument("--limit", type=int, default=200)
    acts = calls.add_subparsers(dest="action")
    show = acts.add_parser("show", parents=[common], help="one call with its transcript (logged)")
    show.add_argument("call_id")

    appts = sub.add_parser("appointments", parents=[common], help="today's or a day's appointments")
    appts.add_argument("--tenant")
    when = appts.add_mutually_exclusive_group()
    when.add_argument("--today", action="store_true", help="today only (default: 7 days)")
    when.add_argument("--date", help="YYYY-MM-DD, the tenant's local day")
    appts.set_defaults(handler=cmd_appointments)

    users = sub.add_parser("users", parents=[common], help="console users: add, passwd, remove, list")
    uacts = users.add_subparsers(dest="action", required=True)
    uacts.add_parser("list", parents=[common])
    for name in ("add", "passwd", "remove"):
        one = uacts.add_parser(name, parents=[common])
        one.add_argument("name")
        if name != "remove":
            one.add_argument("--password-stdin", action="store_true",
                             help="read the password from the first line of stdin")
    add = uacts.choices["add"]
    add.add_argument("--role", choices=ROLES, default="staff")
    add.add_argument("--tenant", action="append", help="a tenant a staff user sees (repeatable)")
    add.add_argument("--language", choices=("fr", "en"), default="fr")
    users.set_defaults(handler=cmd_users)

    log = sub.add_parser("access-log", parents=[common],
                         help="who read, exported or erased personal data; sign-ins")
    log.add_argument("--since", help="YYYY-MM-DD (UTC)")
    log.add_argument("--format", choices=("csv", "json"), default="csv")
    log.set_defaults(handler=cmd_access_log)
