"""What every part of rasa_env.py shares: paths, the error, the Rasa process environment.

Standard library only, Python 3.8+ (see rasa_env.py). These modules sit in deploy/rasa/
in a source tree; ``rasa_env.py install`` copies them into ``<venv>/lib/permanence-rasa/``
beside the ``bin/permanence-rasa`` entry point it writes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The copy `install` makes: <venv>/lib/permanence-rasa/ (see rasa_venv.copy_self).
INSTALLED_MODULES = ("lib", "permanence-rasa")
INSTALLED = (HERE.parent.name, HERE.name) == INSTALLED_MODULES
# deploy/rasa/ in the source tree, <venv>/lib/permanence-rasa/ once installed: the source
# tree (or /opt/permanence, beside the venv) when it holds nlu/, else the working directory.
_ROOT = HERE.parents[2] if INSTALLED else HERE.parents[1]
REPO = _ROOT if (_ROOT / "nlu").is_dir() else Path.cwd()
RASA_REQUIREMENT = "rasa==3.6.21"
# Rasa 3.6 declares python_requires <3.11; the lock file is resolved on 3.10.
PYTHON_VERSION = (3, 10)
PYTHON_NAME = "python{}.{}".format(*PYTHON_VERSION)
LOCK_FILE = HERE / "requirements-rasa.lock"
# The installed copy (<venv>/bin/permanence-rasa) defaults to the venv it sits in.
_OWN_VENV = HERE.parents[1] if INSTALLED else REPO / ".rasa-venv"
DEFAULT_VENV = Path(os.environ.get("RASA_VENV", str(_OWN_VENV)))


class RasaEnvError(Exception):
    """A step cannot run; the message says what is missing and how to fix it."""


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


def run(command: Sequence[str], **kwargs: object) -> None:
    done = subprocess.run(list(command), check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RasaEnvError(f"`{' '.join(command)}` failed with exit code {done.returncode}")
