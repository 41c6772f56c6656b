#!/usr/bin/env python3
"""Rasa's own environment for Permanence: install, lock, train, serve, status.

The controller runs on Python 3.11 and never imports rasa: Rasa 3.6 supports only
Python 3.8-3.10, so it lives in a virtual environment of its own, built from a
Python 3.10 interpreter, and the controller talks to it over HTTP. This script is
standard-library only and runs on any Python 3.8+ (the controller's, Debian's
``/usr/bin/python3``, or the Rasa venv's own, where ``install`` copies it as
``bin/permanence-rasa`` for the systemd units).

    rasa_env.py install [--venv DIR]              build the venv from the lock file
    rasa_env.py lock                              regenerate requirements-rasa.lock
    rasa_env.py train PROJECT_DIR OUT_DIR         rasa train, skipped when up to date
    rasa_env.py serve --model FILE                rasa server + action server, foreground
    rasa_env.py status [--url URL]                wait for the model, warm up, say ready

Every Rasa process gets RASA_TELEMETRY_ENABLED=false. See deploy/rasa/README.md.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# deploy/rasa/ in the source tree; <venv>/bin/ once copied by `install`.
REPO = HERE.parents[1] if (HERE.parents[1] / "nlu").is_dir() else Path.cwd()
RASA_REQUIREMENT = "rasa==3.6.21"
# Rasa 3.6 declares python_requires <3.11; the lock file is resolved on 3.10.
PYTHON_VERSION = (3, 10)
PYTHON_NAME = "python{}.{}".format(*PYTHON_VERSION)
LOCK_FILE = HERE / "requirements-rasa.lock"
# The installed copy (<venv>/bin/permanence-rasa) defaults to the venv it sits in.
_OWN_VENV = HERE.parent if (HERE.parent / "pyvenv.cfg").is_file() else REPO / ".rasa-venv"
DEFAULT_VENV = Path(os.environ.get("RASA_VENV", str(_OWN_VENV)))
# Written into the venv after a successful install: the sha256 of the lock it holds.
STAMP_NAME = ".permanence-lock.sha256"
INSTALLED_SCRIPT = "permanence-rasa"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
# Loading a model rebuilds the TensorFlow graphs (RasaHQ/rasa#10194): 40-50 s measured
# on 2 cores, so the default wait leaves room for a slower or busier machine.
DEFAULT_STATUS_TIMEOUT = 300.0
STATUS_POLL_INTERVAL = 1.0
WARM_UP_TEXT = "bonjour je voudrais prendre un rendez-vous"
# Files of a Rasa project that change the trained model (endpoints and credentials
# do not). Directories are walked; hidden files and caches are skipped.
PROJECT_INPUTS = ("config.yml", "domain.yml", "domain", "data")
# Grace period for the servers to stop after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 10.0


class RasaEnvError(Exception):
    """A step cannot run; the message says what is missing and how to fix it."""


# --------------------------------------------------------------------------- helpers

def rasa_environ(home: Path | None = None) -> dict[str, str]:
    """The environment for every Rasa process: telemetry off, quieter TensorFlow, and
    HOME moved to ``home`` (created) so Rasa's and matplotlib's files stay there."""
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Rasa 3.6 uses SQLAlchemy 1.4 APIs and otherwise warns on every start.
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home.resolve())
    return env


def log(message: str) -> None:
    print(f"rasa-env: {message}", file=sys.stderr, flush=True)


def venv_bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def require_venv(venv: Path) -> None:
    if not venv_bin(venv, "rasa").exists():
        raise RasaEnvError(
            f"no Rasa virtual environment at {venv} (no bin/rasa): "
            f"run `{Path(sys.argv[0]).name} install --venv {venv}` first")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


# --------------------------------------------------------------------------- python

def probe_python(candidate: str) -> str | None:
    """The real executable of ``candidate`` if it is a Python 3.10 with venv, else None."""
    code = ("import sys, venv, ensurepip; "
            "print('{}.{}'.format(*sys.version_info[:2])); print(sys.executable)")
    try:
        done = subprocess.run([candidate, "-c", code], capture_output=True, text=True,
                              timeout=30, check=False)
    except OSError:
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2:
        return None
    if "python" + lines[0] != PYTHON_NAME:
        return None
    return lines[1]


def python_candidates(explicit: str | None) -> Iterator[str]:
    if explicit:
        yield explicit
        return
    name = PYTHON_NAME
    on_path = shutil.which(name)
    if on_path:
        yield on_path
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pattern = os.path.join(pyenv_root, "versions", name[len("python"):] + ".*", "bin", name)
    yield from sorted(glob.glob(pattern), reverse=True)


def find_python(explicit: str | None = None) -> str:
    """Find a Python 3.10 interpreter able to make venvs, or say what to install."""
    tried = []
    for candidate in python_candidates(explicit):
        found = probe_python(candidate)
        if found:
            return found
        tried.append(candidate)
    wanted = PYTHON_NAME
    raise RasaEnvError(
        f"Rasa 3.6 needs Python {'.'.join(map(str, PYTHON_VERSION))} (it does not run on "
        f"3.11+) and no usable {wanted} with the venv module was found"
        + (f" (tried: {', '.join(tried)})" if tried else " on PATH or under $PYENV_ROOT")
        + f". Install it: on Ubuntu `apt-get install {wanted} {wanted}-venv`; on Debian 12, "
        f"which has no {wanted} package, `pyenv install 3.10.13` (with PYENV_ROOT=/opt/pyenv "
        f"for a system service) or build it from python.org; then pass --python "
        f"/path/to/{wanted} or set RASA_PYTHON.")


def warn_if_private(python: str, venv: Path) -> None:
    """A venv links to its base interpreter: the service user must be able to reach it."""
    base = Path(python).resolve()
    target = venv.resolve()
    if any(target.is_relative_to(mine) for mine in (REPO, Path.home())
           if hasattr(target, "is_relative_to")):
        return  # a developer's own venv: only its owner runs it
    for parent in base.parents:
        if parent.is_dir() and not os.stat(parent).st_mode & 0o001:
            log(f"warning: {base} sits under {parent}, which other users cannot enter; "
                f"the `permanence` service user (and systemd's ProtectHome=yes) will not "
                f"run {venv}. Build from a Python 3.10 under /usr/local or /opt instead.")
            return


# --------------------------------------------------------------------------- install

def install(venv: Path, lock: Path, python: str | None, force: bool) -> None:
    """Create ``venv`` from Python 3.10 and install exactly the pinned, hashed lock."""
    if not lock.is_file():
        raise RasaEnvError(f"no lock file at {lock}: run `{Path(sys.argv[0]).name} lock`")
    stamp = venv / STAMP_NAME
    wanted = sha256_file(lock)
    if (not force and stamp.is_file() and stamp.read_text().strip() == wanted
            and venv_bin(venv, "rasa").exists()):
        log(f"{venv} is up to date with {lock.name}")
        copy_self(venv)
        disable_telemetry_on_activate(venv)
        return
    interpreter = find_python(python or os.environ.get("RASA_PYTHON"))
    warn_if_private(interpreter, venv)
    started = time.monotonic()
    if not venv_bin(venv, "python").exists():
        log(f"creating {venv} from {interpreter}")
        run([interpreter, "-m", "venv", str(venv)])
    # --no-deps: the lock is the complete, hashed set; pip check proves it is consistent.
    run([str(venv_bin(venv, "python")), "-m", "pip", "install", "--no-deps",
         "--require-hashes", "--no-input", "-r", str(lock)])
    run([str(venv_bin(venv, "python")), "-m", "pip", "check"])
    copy_self(venv)
    disable_telemetry_on_activate(venv)
    stamp.write_text(wanted + "\n")
    log(f"installed {RASA_REQUIREMENT} in {venv}: {time.monotonic() - started:.0f} s, "
        f"{dir_size(venv) / 1e9:.2f} GB")


def copy_self(venv: Path) -> None:
    """Put this script in the venv as bin/permanence-rasa, run by the venv's python."""
    target = venv_bin(venv, INSTALLED_SCRIPT)
    source = Path(__file__).read_text()
    body = source.split("\n", 1)[1] if source.startswith("#!") else source
    text = f"#!{venv_bin(venv, 'python')}\n{body}"
    if target.is_file() and target.read_text() == text:
        return
    target.write_text(text)
    target.chmod(0o755)


def disable_telemetry_on_activate(venv: Path) -> None:
    """Trainers who `source <venv>/bin/activate` and run `rasa ...` get telemetry off too."""
    activate = venv_bin(venv, "activate")
    line = "export RASA_TELEMETRY_ENABLED=false  # added by Permanence's rasa_env.py\n"
    if activate.is_file() and line not in activate.read_text():
        with activate.open("a") as stream:
            stream.write(line)


def lock(python: str | None, out: Path, from_venv: Path | None = None) -> None:
    """Regenerate the lock: install rasa in a scratch venv (or take ``from_venv``),
    freeze it, and hash the file pip picks for each pin."""
    with tempfile.TemporaryDirectory(prefix="rasa-lock-") as scratch:
        venv = from_venv or Path(scratch) / "venv"
        if from_venv is None:
            run([find_python(python or os.environ.get("RASA_PYTHON")), "-m", "venv", str(venv)])
        pip = [str(venv_bin(venv, "python")), "-m", "pip"]
        if from_venv is None:
            # A current pip: older ones leave out the hash of files from a local index.
            run(pip + ["install", "--no-input", "--upgrade", "pip"])
            run(pip + ["install", "--no-input", RASA_REQUIREMENT])
        frozen = subprocess.run(pip + ["freeze", "--all", "--exclude", "pip"],
                                capture_output=True, text=True, check=True).stdout
        pins = Path(scratch) / "pins.txt"
        pins.write_text(frozen)
        report = Path(scratch) / "report.json"
        # A dry-run report of the same pins names the file pip picks for each one,
        # with its sha256: hashes for this platform, without installing anything.
        run(pip + ["install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet",
                   "--report", str(report), "-r", str(pins)])
        out.write_text(lock_text(frozen, json.loads(report.read_text())))
    log(f"wrote {out}")


def lock_text(frozen: str, report: dict) -> str:
    """The lock file: the frozen pins in order, each with the hash pip reported."""
    hashes = {}
    for item in report.get("install", []):
        meta = item["metadata"]
        archive = item.get("download_info", {}).get("archive_info", {})
        digest = archive.get("hashes", {}).get("sha256") or \
            archive.get("hash", "").partition("sha256=")[2]
        if not digest:
            raise RasaEnvError(f"pip reported no sha256 for {meta['name']}")
        hashes[canonical(meta["name"])] = digest
    lines = [
        f"# {RASA_REQUIREMENT} and its dependencies, pinned and hashed, for CPython "
        f"{PYTHON_NAME[len('python'):]} on Linux x86_64.",
        "# Generated by `python3 deploy/rasa/rasa_env.py lock` (pip install, pip freeze,",
        "# then pip's install report for the hashes); do not edit by hand.",
    ]
    for line in sorted(frozen.splitlines(), key=str.lower):
        if not line or line.startswith("#"):
            continue
        name = canonical(line.split("==", 1)[0])
        if name not in hashes:
            raise RasaEnvError(f"no hash for {line!r} in pip's report")
        lines.append(f"{line} \\\n    --hash=sha256:{hashes[name]}")
    return "\n".join(lines) + "\n"


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def run(command: Sequence[str], **kwargs: object) -> None:
    done = subprocess.run(list(command), check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RasaEnvError(f"`{' '.join(command)}` failed with exit code {done.returncode}")


# --------------------------------------------------------------------------- train

def project_files(project: Path) -> list[Path]:
    """The files whose content defines the trained model, in a stable order."""
    files = []
    for name in PROJECT_INPUTS:
        path = project / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
                files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return files


def project_fingerprint(project: Path, venv: Path) -> str:
    """sha256 over the project's training files (paths and bytes) and Rasa's version."""
    digest = hashlib.sha256()
    rasa_dists = sorted(glob.glob(str(venv / "lib" / "python*" / "site-packages" / "rasa-*.dist-info")))
    digest.update(" ".join(Path(d).name for d in rasa_dists).encode() + b"\0")
    for path in project_files(project):
        digest.update(path.relative_to(project).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def train(venv: Path, project: Path, out: Path, name: str, force: bool,
          home: Path | None = None) -> Path:
    """Train ``project`` into ``out/<name>.tar.gz`` unless its fingerprint is unchanged."""
    require_venv(venv)
    project, out = project.resolve(), out.resolve()
    for required in ("config.yml", "data"):
        if not (project / required).exists():
            raise RasaEnvError(f"{project} is not a Rasa project: no {required}")
    model = out / f"{name}.tar.gz"
    stamp = out / f"{name}.fingerprint"
    fingerprint = project_fingerprint(project, venv)
    if (not force and model.is_file() and stamp.is_file()
            and stamp.read_text().strip() == fingerprint):
        log(f"{model} is up to date with {project}")
        return model
    out.mkdir(parents=True, exist_ok=True)
    command = [str(venv_bin(venv, "rasa")), "train", "--config", "config.yml",
               "--data", "data", "--out", str(out), "--fixed-model-name", name]
    domain = "domain.yml" if (project / "domain.yml").exists() else "domain"
    command += ["--domain", domain]
    env = rasa_environ(home)
    # Rasa's training cache (reused graph components) beside the models, not in nlu/.
    env["RASA_CACHE_DIRECTORY"] = str(out / ".rasa-cache")
    started = time.monotonic()
    log(f"training {project} -> {model}")
    if stamp.exists():  # a failed run must not leave the old fingerprint valid
        stamp.unlink()
    run(command, cwd=str(project), env=env)
    if not model.is_file():
        raise RasaEnvError(f"rasa train succeeded but wrote no {model}")
    stamp.write_text(fingerprint + "\n")
    log(f"trained {model} in {time.monotonic() - started:.0f} s")
    return model


# --------------------------------------------------------------------------- serve

def actions_module(actions_dir: Path) -> str | None:
    """The custom actions module in ``actions_dir`` (``actions/`` or ``actions.py``)."""
    package = actions_dir / "actions"
    if package.is_dir() and any(package.glob("*.py")):
        return "actions"
    if (actions_dir / "actions.py").is_file():
        return "actions"
    return None


def server_command(venv: Path, model: Path, host: str, port: int,
                   endpoints: Path | None, token: str | None) -> list[str]:
    """``rasa run`` with the HTTP API on ``host`` only; no --cors means no CORS headers."""
    command = [str(venv_bin(venv, "rasa")), "run", "--enable-api", "--interface", host,
               "--port", str(port), "--model", str(model)]
    if endpoints is not None:
        command += ["--endpoints", str(endpoints)]
    if token:
        command += ["--auth-token", token]
    return command


def actions_command(venv: Path, module: str, port: int, python: str | None = None) -> list[str]:
    """The Rasa SDK action server: ``python -m rasa_sdk`` (what ``rasa run actions`` runs,
    without importing Rasa and TensorFlow). It binds $SANIC_HOST, 0.0.0.0 by default.

    ``python`` is the interpreter that runs it, the Rasa venv's by default; Permanence's
    nlu/actions/ import the controller's package, so they run with the controller's venv
    (Python 3.11, ``pip install -e '.[rasa]'``): pass ``--actions-python``."""
    return [python or str(venv_bin(venv, "python")), "-m", "rasa_sdk", "--actions", module,
            "--port", str(port)]


def serve(venv: Path, model: Path, host: str, port: int, actions_port: int,
          actions_dir: Path | None, endpoints: Path | None,
          token: str | None, home: Path | None, actions_python: str | None = None) -> int:
    """Run the Rasa server (and the action server when a module exists) until stopped."""
    require_venv(venv)
    if not model.is_file():
        raise RasaEnvError(f"no model at {model}: run `{Path(sys.argv[0]).name} train` first")
    if endpoints is not None and not endpoints.is_file():
        raise RasaEnvError(f"no endpoints file at {endpoints}")
    if endpoints is not None and f":{actions_port}/" not in endpoints.read_text():
        log(f"warning: {endpoints} does not name port {actions_port} for the action server")
    env = rasa_environ(home)
    children: list[subprocess.Popen] = []
    module = actions_module(actions_dir) if actions_dir else None
    if actions_dir is not None and module is None:
        log(f"no custom actions in {actions_dir} (actions/ or actions.py): "
            "the action server is not started")
    if module is not None:
        assert actions_dir is not None
        actions_env = dict(env)
        actions_env["SANIC_HOST"] = host
        actions_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(actions_dir), env.get("PYTHONPATH", "")) if p)
        log(f"action server: module {module!r} from {actions_dir} on {host}:{actions_port}")
        children.append(subprocess.Popen(actions_command(venv, module, actions_port, actions_python),
                                         cwd=str(actions_dir), env=actions_env))
    log(f"rasa server: {model} on http://{host}:{port} (ready when `status` says so)")
    children.append(subprocess.Popen(server_command(venv, model, host, port, endpoints, token),
                                     env=env))
    return supervise(children)


def supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a child exits or we are signalled, then stop all; return its code."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    code = 0
    while not stopping:
        finished = [c for c in children if c.poll() is not None]
        if finished:
            code = finished[0].returncode
            log(f"process {finished[0].pid} exited with code {code}")
            break
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code if not stopping else 0


# --------------------------------------------------------------------------- status

def http_json(url: str, body: dict | None = None, timeout: float = 10.0) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (local URL)
        return json.loads(response.read().decode())


def with_token(url: str, token: str | None) -> str:
    return f"{url}?token={urllib.parse.quote(token)}" if token else url


def status(url: str, timeout: float, text: str, token: str | None,
           actions_url: str | None) -> dict:
    """Poll GET /status until a model is loaded, then warm up with one POST /model/parse."""
    url = url.rstrip("/")
    started = time.monotonic()
    last_error = "no answer yet"
    while True:
        try:
            state = http_json(with_token(f"{url}/status", token), timeout=5.0)
            if state.get("model_file"):
                break
            last_error = "server up, no model loaded yet"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = str(getattr(exc, "reason", exc))
        if time.monotonic() - started > timeout:
            raise RasaEnvError(f"Rasa at {url} not ready after {timeout:.0f} s: {last_error}")
        time.sleep(STATUS_POLL_INTERVAL)
    loaded = time.monotonic() - started
    parse_started = time.monotonic()
    try:
        parsed = http_json(with_token(f"{url}/model/parse", token), {"text": text}, timeout=60.0)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaEnvError(f"Rasa at {url} loaded a model but /model/parse failed: {exc}") from exc
    warm_up = time.monotonic() - parse_started
    if actions_url:
        try:
            http_json(actions_url.rstrip("/") + "/health", timeout=5.0)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RasaEnvError(f"action server at {actions_url} is not answering: {exc}") from exc
    intent = parsed.get("intent") or {}
    result = {"model_file": state["model_file"], "waited_s": round(loaded, 1),
              "warm_up_parse_ms": round(warm_up * 1000), "text": text,
              "intent": intent.get("name"), "confidence": intent.get("confidence"),
              "entities": [(e.get("entity"), e.get("value")) for e in parsed.get("entities", [])]}
    print(json.dumps(result, ensure_ascii=False))
    return result


# --------------------------------------------------------------------------- main

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
