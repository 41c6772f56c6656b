"""Serving: the Rasa server and the action server run in the foreground until stopped,
and ``status`` waits until a model is loaded and warm.

Standard library only, Python 3.8+ (see rasa_env.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rasa_common import RasaEnvError, log, rasa_environ, require_venv, venv_bin

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
# Loading a model rebuilds the TensorFlow graphs (RasaHQ/rasa#10194): 40-50 s measured
# on 2 cores, so the default wait leaves room for a slower or busier machine.
DEFAULT_STATUS_TIMEOUT = 300.0
STATUS_POLL_INTERVAL = 1.0
WARM_UP_TEXT = "bonjour je voudrais prendre un rendez-vous"
# Grace period for the servers to stop after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 10.0


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


