"""``permanence privacy ...``: personal data by hand (agi.privacy).

purge (retention) · erase · export · rectify · restrict · unrestrict · object · unobject
(the rights, each recorded in the register of requests) · requests · request (the
register: deadlines, extensions, answers) · register (the record of processing, art. 30)
· new-key · rotate-key · encrypt-existing (encryption at rest, art. 32). :func:`add_parser` sets the sub-commands
up, :func:`cmd_privacy` runs them; agi/cli.py only registers both.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from agi.booking.privacy_register import Flag, PrivacyRequest, RequestKind
from agi.config import Settings
from agi.privacy import PrivacyRights, SealedStore, caller_number, run_purge
from agi.privacy.rights import days_left

_PERSON_ACTIONS = ("erase", "export", "rectify", "restrict", "unrestrict", "object", "unobject")
# what --identity records when the operator did not say how the identity was checked
NOT_STATED = "not stated"


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
    export.add_argument("--portability", action="store_true",
                        help="record the request as portability (art. 20) rather than access")
    rectify = acts.add_parser("rectify", parents=[common],
                              help="correct the number or the name on everything about a person")
    rectify.add_argument("--new-phone", help="the right number")
    rectify.add_argument("--name", help="the right name")
    flags = [acts.add_parser(name, parents=[common], help=text) for name, text in (
        ("restrict", "keep the person's data but stop using or sending it (art. 18)"),
        ("unrestrict", "lift a restriction (tell the person first, art. 18(3))"),
        ("object", "do not contact: no call-back, no notification about the person (art. 21)"),
        ("unobject", "the person withdrew their objection"))]
    for one in (erase, export, rectify, *flags):
        one.add_argument("--tenant", required=True, help="the tenant id holding the data")
        one.add_argument("phone", help="the number, E.164 or as dialled in the tenant's country")
        one.add_argument("--identity", default=NOT_STATED,
                         help="how the person's identity was checked (kept in the register)")
        one.add_argument("--by", default="", help="who acts (default: cli:<login>)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    requests = acts.add_parser("requests", parents=[common],
                               help="the register of requests, earliest deadline first")
    requests.add_argument("--open", action="store_true", help="only those not answered yet")
    requests.add_argument("--tenant", help="one tenant only")
    request = acts.add_parser("request", parents=[common],
                              help="extend or answer one request of the register")
    request.add_argument("id", type=int)
    what = request.add_mutually_exclusive_group(required=True)
    what.add_argument("--extend", type=int, metavar="MONTHS", choices=(1, 2),
                      help="push the deadline by 1 or 2 months (art. 12(3)), with --reason")
    what.add_argument("--answer", action="store_true", help="record that it was answered")
    request.add_argument("--reason", default="", help="why it is extended (tell the person)")
    request.add_argument("--note", default="", help="what was answered")
    request.add_argument("--by", default="", help="who acts (default: cli:<login>)")
    register = acts.add_parser("register", parents=[common],
                               help="the tenant's record of processing (GDPR art. 30)")
    register.add_argument("--tenant", required=True)
    register.add_argument("--format", choices=("md", "json"), default="md")
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
        if args.action == "register":
            return _record(settings, args.tenant, args.format)
        if args.action == "new-key":
            return _new_key(Path(args.file or settings.privacy.key_file))
        if args.action == "rotate-key":
            from agi.privacy.crypto import add_key

            key_id = add_key(settings.privacy.key_file)
            print(f"added key {key_id} to {settings.privacy.key_file}; it seals from now on")
        who = _person(settings, args.tenant, args.phone) if args.action in _PERSON_ACTIONS else None
        if args.action == "rectify" and args.new_phone:  # read like the number it replaces
            args.new_phone = _person(settings, args.tenant, args.new_phone)[1]
    except (ValueError, KeyringError, OSError) as exc:
        print(f"permanence privacy: {exc}", file=sys.stderr)
        return 2
    return _with_store(args, settings, who)


def _with_store(args: argparse.Namespace, settings: Settings, who: tuple[str, str] | None) -> int:
    from agi.server import open_store

    store = open_store(settings)
    try:
        if args.action == "purge":
            report = run_purge(store, settings.privacy, datetime.now(UTC), dry_run=args.dry_run,
                               tenants=settings.tenants)
            print(("would remove" if args.dry_run else "removed") + ": " + _counts(report.counts()))
            return 0
        if args.action in ("rotate-key", "encrypt-existing"):
            assert isinstance(store, SealedStore)  # open_store always seals
            print(f"re-encrypted {store.reseal()} value(s) with the current key")
            return 0
        rights = PrivacyRights(store, settings=settings)
        if args.action in ("requests", "request"):
            return _register(args, rights)
        assert who is not None
        return _right(args, rights, *who)
    except ValueError as exc:  # a request the register refuses (answered, no reason...)
        print(f"permanence privacy: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _actor(args: argparse.Namespace) -> str:
    return args.by or f"cli:{getpass.getuser()}"


def _right(args: argparse.Namespace, rights: PrivacyRights, tenant_id: str, phone: str) -> int:
    by, check = _actor(args), args.identity
    if args.action == "export":
        kind: RequestKind = "portability" if args.portability else "access"
        done = rights.access(tenant_id, phone, identity_check=check, by=by, kind=kind)
        print(json.dumps(done.result, ensure_ascii=False, indent=2))
        return 0
    if args.action == "erase":
        return _erase(rights, tenant_id, phone, check, by, ask=not args.yes)
    if args.action == "rectify":
        done = rights.rectify(tenant_id, phone, identity_check=check, by=by,
                              new_phone=args.new_phone, new_name=args.name)
        print(f"rectified {phone} (request {done.request.id}): {_counts(done.result.counts())}")
        return 0
    if args.action in ("restrict", "object"):
        act = rights.restrict if args.action == "restrict" else rights.object
        done = act(tenant_id, phone, identity_check=check, by=by)
        print(f"{phone} {'restricted' if args.action == 'restrict' else 'objected'} "
              f"(request {done.request.id})")
        return 0
    flag: Flag = "restricted" if args.action == "unrestrict" else "objected"
    rights.lift(tenant_id, phone, flag, by=by)
    print(f"{phone}: {flag} lifted")
    return 0


def _register(args: argparse.Namespace, rights: PrivacyRights) -> int:
    now = datetime.now(UTC)
    if args.action == "request":
        if args.extend:
            done = rights.extend(args.id, args.extend, args.reason)
        else:
            done = rights.answer(args.id, _actor(args), {"note": args.note} if args.note else {})
        print(_request_line(done, now))
        return 0
    found = rights.register.requests(args.tenant, open_only=args.open)
    for request in found:
        print(_request_line(request, now))
    if not found:
        print("no open request" if args.open else "no request")
    return 0


def _request_line(r: PrivacyRequest, now: datetime) -> str:
    if r.is_open:
        left = days_left(r, now)
        state = f"open, {left} day(s) left" if left >= 0 else f"OVERDUE by {-left} day(s)"
        state += f" (due {r.deadline.date().isoformat()}"
        state += f", extended: {r.extension_reason})" if r.extended_to else ")"
    else:
        state = f"answered {r.answered_at.date().isoformat() if r.answered_at else ''} by {r.answered_by}"
    return (f"#{r.id} {r.tenant_id} {r.kind} {r.phone} received "
            f"{r.received_at.date().isoformat()} [identity: {r.identity_check}]: {state}")


def _record(settings: Settings, tenant_id: str, form: str) -> int:
    from agi.privacy.records import as_markdown, record_of_processing

    record = record_of_processing(settings, tenant_id)
    print(json.dumps(record, ensure_ascii=False, indent=2) if form == "json"
          else as_markdown(record))
    return 0


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

    tenant = next((t for t in settings.tenants if t.id == tenant_id), None)
    if tenant is None:
        raise ValueError(f"unknown tenant {tenant_id!r} (known: "
                         f"{', '.join(t.id for t in settings.tenants)})")
    return tenant.id, caller_number(raw_phone, tenant)


def _erase(rights: PrivacyRights, tenant_id: str, phone: str, check: str, by: str, *,
           ask: bool) -> int:
    if ask and not _confirm(f"Erase everything tenant {tenant_id!r} holds about {phone}? "
                            "This cannot be undone. [y/N] "):
        print("nothing erased")
        return 1
    done = rights.erase(tenant_id, phone, identity_check=check, by=by)
    print(f"erased {phone} (request {done.request.id}): {_counts(done.result.counts())}")
    for appt in done.result.upcoming:
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
