"""Rasa's virtual environment: a Python 3.10 to build it from, the hashed lock it is
installed from, and the copy of rasa_env.py it carries for the systemd units.

Standard library only, Python 3.8+ (see rasa_env.py).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rasa_common import (
    HERE,
    INSTALLED,
    INSTALLED_MODULES,
    PYTHON_NAME,
    PYTHON_VERSION,
    RASA_REQUIREMENT,
    REPO,
    RasaEnvError,
    log,
    run,
    sha256_file,
    venv_bin,
)

# Written into the venv after a successful install: the sha256 of the lock it holds.
STAMP_NAME = ".permanence-lock.sha256"
INSTALLED_SCRIPT = "permanence-rasa"
# What `install` copies into <venv>/lib/permanence-rasa/ for bin/permanence-rasa to import.
MODULES = ("rasa_common.py", "rasa_venv.py", "rasa_model.py", "rasa_server.py")


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
    """Put rasa_env.py in the venv as bin/permanence-rasa, run by the venv's python, and the
    modules it imports in lib/permanence-rasa/ (where it looks for them)."""
    lib = venv.joinpath(*INSTALLED_MODULES)
    lib.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        _write_if_changed(lib / name, (HERE / name).read_text())
    entry = venv_bin(HERE.parents[1], INSTALLED_SCRIPT) if INSTALLED else HERE / "rasa_env.py"
    source = entry.read_text()
    body = source.split("\n", 1)[1] if source.startswith("#!") else source
    target = venv_bin(venv, INSTALLED_SCRIPT)
    _write_if_changed(target, f"#!{venv_bin(venv, 'python')}\n{body}")
    target.chmod(0o755)


def _write_if_changed(path: Path, text: str) -> None:
    if not (path.is_file() and path.read_text() == text):
        path.write_text(text)


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


