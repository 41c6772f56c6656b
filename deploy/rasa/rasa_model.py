"""A trained Rasa model: ``rasa train`` of one project, skipped while the project's
training files and the installed Rasa keep the fingerprint recorded beside the model.

Standard library only, Python 3.8+ (see rasa_env.py).
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from pathlib import Path

from rasa_common import RasaEnvError, log, rasa_environ, require_venv, run, venv_bin

# Files of a Rasa project that change the trained model (endpoints and credentials
# do not). Directories are walked; hidden files and caches are skipped.
PROJECT_INPUTS = ("config.yml", "domain.yml", "domain", "data")


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


