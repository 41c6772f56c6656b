"""``permanence privacy ...``: personal data by hand (agi.privacy).

purge · erase · export (retention, art. 17, art. 15) · new-key · rotate-key ·
encrypt-existing (encryption at rest, art. 32). :func:`add_parser` sets the sub-commands
up, :func:`cmd_privacy` runs them; agi/cli.py only registers both.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agi.config import Settings

if TYPE_CHECKING:
    from agi.booking.store import Store

_PERSON_ACTIONS = ("erase", "export")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: argparse.ArgumentParser) -> None:
    """The ``privacy`` command and its actions."""
    privacy = sub.add_parser("privacy", parents=[common],
                             help="personal data: retention, rights, requests, encryption keys")
    acts = privacy.add_subparsers(dest="action", required=True)
    purge = acts.add_parser("purge", parents=[common], help="remove what is older than [privacy] allows")
    purge.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    erase = acts.add_parser("erase", parents=[common], help="erase everything about one phone number")
    export = acts.add_parser("export", parents=[common],
                             help="print everything held about one phone number, as JSON")
    for one in (erase, export):
        one.add_argument("--tenant", required=True, help="the tenant id holding the data")
        one.add_argument("phone", help="the number, E.164 or as dialled in the tenant's country")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    new_key = acts.add_parser("new-key", parents=[common],
                              help="write a new key file at [privacy] key_file (refuses to overwrite)")
    new_key.add_argument("--file", help="another path than [privacy] key_file")
    acts.add_parser("rotate-key", parents=[common],
                    help="add a new key to the key file and re-encrypt every row with it")
    acts.add_parser("encrypt-existing", parents=[common],
                    help="encrypt rows written in clear before encryption was on")


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``privacy`` action; exit status 0 done, 1 refused or failed, 2 bad input."""
    from agi.privacy import KeyringError

    try:
        if args.action == "new-key":
            return _new_key(Path(args.file or settings.privacy.key_file))
        if args.action == "rotate-key":
            from agi.privacy.crypto import add_key

            key_id = add_key(settings.privacy.key_file)
            print(f"added key {key_id} to {settings.privacy.key_file}; it seals from now on")
        who = _person(settings, args.tenant, args.phone) if args.action in _PERSON_ACTIONS else None
    except (ValueError, KeyringError, OSError) as exc:
        print(f"permanence privacy: {exc}", file=sys.stderr)
        return 2
    return _with_store(args, settings, who)


def _with_store(args: argparse.Namespace, settings: Settings, who: tuple[str, str] | None) -> int:
    from agi.privacy import SealedStore, run_purge
    from agi.server import open_store

    store = open_store(settings)
    try:
        if args.action == "purge":
            report = run_purge(store, settings.privacy, datetime.now(UTC), dry_run=args.dry_run)
            print(("would remove" if args.dry_run else "removed") + ": " + _counts(report.counts()))
            return 0
        if args.action in ("rotate-key", "encrypt-existing"):
            assert isinstance(store, SealedStore)  # open_store always seals
            print(f"re-encrypted {store.reseal()} value(s) with the current key")
            return 0
        assert who is not None
        tenant_id, phone = who
        if args.action == "export":
            print(json.dumps(store.personal_data(tenant_id, phone), ensure_ascii=False, indent=2))
            return 0
        return _erase(store, tenant_id, phone, ask=not args.yes)
    finally:
        store.close()


def _new_key(path: Path) -> int:
    from agi.privacy.crypto import new_key_line

    if path.exists():
        print(f"permanence privacy: {path} exists; use rotate-key to add a key to it",
              file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(new_key_line("k1"))
    print(f"wrote a new key to {path} (mode 0600): back it up apart from the database")
    return 0


def _person(settings: Settings, tenant_id: str, raw_phone: str) -> tuple[str, str]:
    """The tenant id and the E.164 number a request is about; ValueError names what is
    wrong."""
    from agi.privacy import caller_number

    tenant = next((t for t in settings.tenants if t.id == tenant_id), None)
    if tenant is None:
        raise ValueError(f"unknown tenant {tenant_id!r} (known: "
                         f"{', '.join(t.id for t in settings.tenants)})")
    return tenant.id, caller_number(raw_phone, tenant)


def _erase(store: Store, tenant_id: str, phone: str, *, ask: bool) -> int:
    if ask and not _confirm(f"Erase everything tenant {tenant_id!r} holds about {phone}? "
                            "This cannot be undone. [y/N] "):
        print("nothing erased")
        return 1
    report = store.erase_person(tenant_id, phone)
    print(f"erased {phone}: {_counts(report.counts())}")
    for appt in report.upcoming:
        print(f"  kept upcoming appointment {appt.id}: {appt.service} with {appt.resource} at "
              f"{appt.starts_at.isoformat()} (cancel it with the person if they ask)")
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes", "o", "oui")
    except EOFError:  # no terminal (a script without --yes): never erase by default
        return False
