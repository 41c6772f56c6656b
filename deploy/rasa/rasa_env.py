#!/usr/bin/env python3
"""Rasa's own environment for Permanence: install, lock, train, serve, status.

The controller runs on Python 3.11 and never imports rasa: Rasa 3.6 supports only
Python 3.8-3.10, so it lives in a virtual environment of its own, built from a
Python 3.10 interpreter, and the controller talks to it over HTTP. This script is
standard-library only and runs on any Python 3.8+ (the controller's, Debian's
``/usr/bin/python3``, or the Rasa venv's own, where ``install`` copies it as
``bin/permanence-rasa`` for the systemd units, its modules in ``lib/permanence-rasa/``).

    rasa_env.py install [--venv DIR]              build the venv from the lock file
    rasa_env.py lock                              regenerate requirements-rasa.lock
    rasa_env.py train PROJECT_DIR OUT_DIR         rasa train, skipped when up to date
    rasa_env.py serve --model FILE                rasa server + action server, foreground
    rasa_env.py status [--url URL]                wait for the model, warm up, say ready

This file is the command line; the work is in its modules, one noun each: rasa_venv.py
(the venv: Python 3.10, install, lock), rasa_model.py (training and its fingerprint),
rasa_server.py (serving and status), rasa_common.py (paths, errors, the environment).
Every Rasa process gets RASA_TELEMETRY_ENABLED=false. See deploy/rasa/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Beside this file in deploy/rasa/; <venv>/lib/permanence-rasa/ for bin/permanence-rasa.
_MODULES = HERE if (HERE / "rasa_common.py").is_file() else HERE.parent / "lib" / "permanence-rasa"
if str(_MODULES) not in sys.path:
    sys.path.insert(0, str(_MODULES))

from rasa_common import (  # noqa: E402 - the modules' directory is on sys.path only now
    DEFAULT_VENV,
    LOCK_FILE,
    RASA_REQUIREMENT,
    REPO,
    RasaEnvError,
    log,
)
from rasa_model import project_files, project_fingerprint, train  # noqa: E402
from rasa_server import (  # noqa: E402
    DEFAULT_ACTIONS_PORT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_STATUS_TIMEOUT,
    WARM_UP_TEXT,
    actions_command,
    actions_module,
    serve,
    server_command,
    status,
)
from rasa_venv import copy_self, find_python, install, lock, lock_text, warn_if_private  # noqa: E402

# The functions the tests and tests/rasa's fixtures call through this script.
__all__ = ["LOCK_FILE", "RasaEnvError", "actions_command", "actions_module", "copy_self",
           "find_python", "install", "lock", "lock_text", "main", "project_files",
           "project_fingerprint", "serve", "server_command", "status", "train", "warn_if_private"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="rasa_env.py", description=__doc__.split("\n\n")[0],
        epilog="Details and measured timings: deploy/rasa/README.md")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_venv(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                       help=f"Rasa's virtual environment (default {DEFAULT_VENV}; "
                            "/opt/permanence/rasa-venv in production; env RASA_VENV)")
        return p

    p = with_venv(sub.add_parser("install", help="build the venv from the lock file"))
    p.add_argument("--python", help="a Python 3.10 interpreter (env RASA_PYTHON; "
                   "default: python3.10 on PATH, then pyenv's 3.10.x)")
    p.add_argument("--lock", type=Path, default=LOCK_FILE)
    p.add_argument("--force", action="store_true", help="reinstall even if up to date")

    p = sub.add_parser("lock", help=f"regenerate the lock file from {RASA_REQUIREMENT}")
    p.add_argument("--python")
    p.add_argument("--out", type=Path, default=LOCK_FILE)
    p.add_argument("--from-venv", type=Path,
                   help="freeze this existing venv instead of installing into a scratch one")

    p = with_venv(sub.add_parser("train", help="rasa train, skipped when up to date"))
    p.add_argument("project", type=Path, help="a Rasa project (config.yml, domain.yml, data/)")
    p.add_argument("out", type=Path, help="directory for <name>.tar.gz and its fingerprint")
    p.add_argument("--fixed-model-name", help="default: permanence-<project dir name>")
    p.add_argument("--force", action="store_true")
    p.add_argument("--home", type=Path, help="HOME for rasa (keeps its files there)")

    p = with_venv(sub.add_parser("serve", help="rasa run --enable-api + action server"))
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--host", default=DEFAULT_HOST, help="interface for both servers")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--actions-port", type=int, default=DEFAULT_ACTIONS_PORT)
    p.add_argument("--actions-dir", type=Path, default=REPO / "nlu",
                   help="directory holding the actions/ package (default nlu/)")
    p.add_argument("--no-actions", action="store_true", help="do not start the action server")
    p.add_argument("--actions-python", help="interpreter for the action server (default: the "
                   "Rasa venv's); Permanence's actions need the controller's, e.g. .venv/bin/python")
    p.add_argument("--endpoints", type=Path, help="endpoints.yml (action server URL...)")
    p.add_argument("--home", type=Path, help="HOME for the servers (keeps Rasa's files there)")

    p = sub.add_parser("status", help="wait until the model is loaded, warm up, report")
    p.add_argument("--url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")
    p.add_argument("--timeout", type=float, default=DEFAULT_STATUS_TIMEOUT)
    p.add_argument("--text", default=WARM_UP_TEXT, help="the warm-up sentence")
    p.add_argument("--actions-url", help="also require GET <url>/health to answer")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Absolute, without following symlinks (a venv's python is one): training and the action
    # server run in another working directory, where `--venv .rasa-venv` would not resolve.
    for attr in ("venv", "home"):
        if getattr(args, attr, None) is not None:
            setattr(args, attr, Path(os.path.abspath(getattr(args, attr))))
    if getattr(args, "actions_python", None) and os.sep in args.actions_python:
        args.actions_python = os.path.abspath(args.actions_python)
    token = os.environ.get("RASA_AUTH_TOKEN") or None
    try:
        if args.command == "install":
            install(args.venv, args.lock, args.python, args.force)
        elif args.command == "lock":
            lock(args.python, args.out, args.from_venv)
        elif args.command == "train":
            name = args.fixed_model_name or f"permanence-{args.project.resolve().name}"
            train(args.venv, args.project, args.out, name, args.force, args.home)
        elif args.command == "serve":
            actions_dir = None if args.no_actions else args.actions_dir.resolve()
            return serve(args.venv, args.model.resolve(), args.host, args.port,
                         args.actions_port, actions_dir, args.endpoints, token, args.home,
                         args.actions_python)
        elif args.command == "status":
            status(args.url, args.timeout, args.text, token, args.actions_url)
    except RasaEnvError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
