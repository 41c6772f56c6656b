"""Tests of deploy/rasa/rasa_env.py and its modules (rasa_venv, rasa_model, rasa_server):
Rasa's own venv, training and serving.

The first group runs in a second without Rasa: the script's command line, its error
when no Python 3.10 exists, the training fingerprint, the lock file and the units.
The second group installs, trains and serves the real nlu/fr project; it runs only when
the Rasa venv exists (``make rasa`` or ``rasa_env.py install``) or PERMANENCE_RASA_TESTS=1
is set (then it builds the venv: ~3 min and 2.7 GB). The trained model is kept in
models/ and reused while nlu/fr is unchanged.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "rasa" / "rasa_env.py"
LOCK = REPO / "deploy" / "rasa" / "requirements-rasa.lock"
UNITS = REPO / "deploy" / "systemd"
VENV = Path(os.environ.get("RASA_VENV", str(REPO / ".rasa-venv")))


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rasa_env", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rasa_env = load_script()


def run_script(*args: str, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)


# ------------------------------------------------------------------ without Rasa

def test_help_lists_every_subcommand() -> None:
    done = run_script("--help")
    assert done.returncode == 0
    for command in ("install", "lock", "train", "serve", "status"):
        assert command in done.stdout


def test_install_without_python310_names_what_to_install(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {"PATH": str(empty_bin), "HOME": str(tmp_path),
           "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    venv = tmp_path / "venv"
    done = run_script("install", "--venv", str(venv), env=env)
    assert done.returncode == 1
    assert "Python 3.10" in done.stderr
    assert "apt-get install python3.10 python3.10-venv" in done.stderr
    assert "pyenv install 3.10.13" in done.stderr
    assert "--python" in done.stderr
    assert not venv.exists()


def test_install_refuses_an_interpreter_that_is_not_310(tmp_path: Path) -> None:
    # The test runs on the controller's Python 3.11, which Rasa 3.6 cannot use.
    done = run_script("install", "--venv", str(tmp_path / "venv"),
                      "--python", sys.executable)
    assert done.returncode == 1
    assert f"tried: {sys.executable}" in done.stderr


def test_train_and_serve_without_venv_say_to_install(tmp_path: Path) -> None:
    for args in (["train", str(REPO / "nlu" / "fr"), str(tmp_path)],
                 ["serve", "--model", str(tmp_path / "m.tar.gz")]):
        done = run_script(*args, "--venv", str(tmp_path / "missing"))
        assert done.returncode == 1
        assert "install --venv" in done.stderr


def test_status_times_out_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_script("status", "--url", f"http://127.0.0.1:{port}", "--timeout", "0")
    assert done.returncode == 1
    assert "not ready after 0 s" in done.stderr
    assert "refused" in done.stderr.lower()


def test_install_warns_when_the_service_user_cannot_reach_the_interpreter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private = tmp_path / "root-only"
    (private / "bin").mkdir(parents=True)
    python = private / "bin" / "python3.10"
    python.write_text("")
    private.chmod(0o700)
    try:
        rasa_env.warn_if_private(str(python), Path("/opt/permanence/rasa-venv"))
    finally:
        private.chmod(0o755)
    warning = capsys.readouterr().err
    assert f"sits under {private}, which other users cannot enter" in warning
    rasa_env.warn_if_private(str(python), REPO / ".rasa-venv")
    assert capsys.readouterr().err == ""


def test_install_copies_the_entry_point_and_its_modules_into_the_venv(tmp_path: Path) -> None:
    """bin/permanence-rasa (the systemd units' command) imports the modules rasa_env.py is
    split into: install puts them in lib/permanence-rasa/, and the copy defaults to its venv."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    rasa_env.copy_self(venv)
    entry = venv / "bin" / "permanence-rasa"
    assert entry.read_text().startswith(f"#!{venv / 'bin' / 'python'}\n")
    assert sorted(p.name for p in (venv / "lib" / "permanence-rasa").iterdir()) == sorted(
        p.name for p in SCRIPT.parent.glob("rasa_*.py") if p.name != "rasa_env.py")
    # COLUMNS: argparse would break the long temporary path across help lines
    env = {**{k: v for k, v in os.environ.items() if k != "RASA_VENV"}, "COLUMNS": "500"}
    done = subprocess.run([sys.executable, str(entry), "train", "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"(default {venv};" in " ".join(done.stdout.split())
    before = entry.stat().st_mtime_ns
    rasa_env.copy_self(venv)  # a second install rewrites nothing
    assert entry.stat().st_mtime_ns == before


def make_project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text("language: fr\n")
    (root / "domain.yml").write_text("intents: [greet]\n")
    (root / "data" / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - salut\n")
    (root / "endpoints.yml").write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n")
    return root


def test_fingerprint_follows_training_files_only(tmp_path: Path) -> None:
    project = make_project(tmp_path / "fr")
    venv = tmp_path / "venv"
    first = rasa_env.project_fingerprint(project, venv)
    assert rasa_env.project_fingerprint(project, venv) == first
    (project / "endpoints.yml").write_text("action_endpoint:\n  url: http://x:1/webhook\n")
    (project / "data" / ".nlu.yml.swp").write_text("editor noise")
    assert rasa_env.project_fingerprint(project, venv) == first
    (project / "data" / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - bonjour\n")
    second = rasa_env.project_fingerprint(project, venv)
    assert second != first
    (project / "data" / "nlu.yml").rename(project / "data" / "other.yml")
    assert rasa_env.project_fingerprint(project, venv) != second


def test_fingerprint_changes_with_the_installed_rasa(tmp_path: Path) -> None:
    project = make_project(tmp_path / "fr")
    venv = tmp_path / "venv"
    before = rasa_env.project_fingerprint(project, venv)
    (venv / "lib" / "python3.10" / "site-packages" / "rasa-3.6.21.dist-info").mkdir(parents=True)
    assert rasa_env.project_fingerprint(project, venv) != before


def test_lock_text_pins_and_hashes_every_frozen_package() -> None:
    frozen = "Rasa==3.6.21\nruamel.yaml==0.17.21\n"
    report = {"install": [
        {"metadata": {"name": "rasa"},
         "download_info": {"archive_info": {"hashes": {"sha256": "a" * 64}}}},
        {"metadata": {"name": "ruamel-yaml"},
         "download_info": {"archive_info": {"hash": "sha256=" + "b" * 64}}},
    ]}
    text = rasa_env.lock_text(frozen, report)
    assert f"Rasa==3.6.21 \\\n    --hash=sha256:{'a' * 64}" in text
    assert f"ruamel.yaml==0.17.21 \\\n    --hash=sha256:{'b' * 64}" in text
    with pytest.raises(rasa_env.RasaEnvError, match="no hash for 'extra==1.0'"):
        rasa_env.lock_text(frozen + "extra==1.0\n", report)


def test_lock_file_is_complete_pinned_and_hashed() -> None:
    entries = LOCK.read_text().replace("\\\n", " ").splitlines()
    requirements = [line for line in entries if line and not line.startswith("#")]
    assert "rasa==3.6.21" in [line.split()[0] for line in requirements]
    assert any(line.startswith("rasa-sdk==3.6.") for line in requirements)
    for line in requirements:
        pin, *options = line.split()
        assert "==" in pin, line
        assert options and all(o.startswith("--hash=sha256:") and len(o) == 14 + 64
                               for o in options), line


def test_actions_module_is_found_as_package_or_file(tmp_path: Path) -> None:
    assert rasa_env.actions_module(tmp_path) is None
    (tmp_path / "actions").mkdir()
    assert rasa_env.actions_module(tmp_path) is None
    (tmp_path / "actions" / "booking.py").write_text("")
    assert rasa_env.actions_module(tmp_path) == "actions"


def test_server_listens_on_loopback_with_the_api_and_no_cors(tmp_path: Path) -> None:
    command = rasa_env.server_command(tmp_path, tmp_path / "m.tar.gz", "127.0.0.1", 5005,
                                      None, None)
    assert command[1:3] == ["run", "--enable-api"]
    assert command[command.index("--interface") + 1] == "127.0.0.1"
    assert "--cors" not in command


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    # Environment= repeats: keep every value by reading them as separate lines.
    text = (UNITS / name).read_text()
    unit.read_string(text)
    return unit


@pytest.mark.parametrize("name", ["permanence-rasa.service", "permanence-rasa-actions.service"])
def test_units_run_as_permanence_with_home_in_state_dir_and_no_telemetry(name: str) -> None:
    text = (UNITS / name).read_text()
    service = read_unit(name)["Service"]
    assert service["User"] == "permanence"
    assert "Environment=HOME=/var/lib/permanence-rasa" in text
    assert "Environment=RASA_TELEMETRY_ENABLED=false" in text
    assert service["StateDirectory"] == "permanence-rasa"
    for hardening in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service[hardening] == "yes"
    assert service["ProtectSystem"] == "strict"


def test_rasa_unit_serves_loopback_and_waits_for_a_warm_model() -> None:
    service = read_unit("permanence-rasa.service")["Service"]
    start = service["ExecStart"].split()
    assert start[:4] == ["/opt/permanence/rasa-venv/bin/rasa", "run", "--enable-api",
                         "--interface"]
    assert start[4] == "127.0.0.1" and "--cors" not in start
    assert "permanence-rasa train" in service["ExecStartPre"]
    assert "permanence-rasa status" in service["ExecStartPost"]
    actions = read_unit("permanence-rasa-actions.service")
    assert actions["Unit"]["ConditionPathExists"] == "/opt/permanence/nlu/actions"
    assert "Environment=SANIC_HOST=127.0.0.1" in (UNITS / "permanence-rasa-actions.service").read_text()


def test_actions_unit_runs_the_controllers_python_on_its_settings() -> None:
    """nlu/actions/ import agi (store, normalisers): the Rasa venv's 3.10 cannot run them."""
    text = (UNITS / "permanence-rasa-actions.service").read_text()
    service = read_unit("permanence-rasa-actions.service")["Service"]
    assert service["ExecStart"].split()[:5] == [
        "/opt/permanence/venv/bin/python", "-m", "rasa_sdk", "--actions", "actions"]
    assert "Environment=PERMANENCE_CONFIG=/etc/permanence/permanence.toml" in text
    assert service["WorkingDirectory"] == "/opt/permanence/nlu"
    assert "rasa-venv" not in service["ExecStart"]


def test_make_rasa_ready_installs_and_trains_both_languages_without_serving() -> None:
    done = subprocess.run(["make", "-n", "rasa-ready", "PYTHON=python3"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    lines = [line for line in done.stdout.splitlines() if "rasa_env.py" in line]
    assert [line.split()[2] for line in lines] == ["install", "train", "train"]
    assert "nlu/fr models" in lines[1] and "nlu/en models" in lines[2]
    assert "import rasa_sdk" in done.stdout  # the action server's rasa-sdk, controller side


def test_make_rasa_installs_trains_then_serves() -> None:
    done = subprocess.run(["make", "-n", "rasa", "RASA_LANG=en", "PYTHON=python3"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    lines = [line for line in done.stdout.splitlines() if "rasa_env.py" in line]
    assert [line.split()[2] for line in lines] == ["install", "train", "serve"]
    assert "nlu/en models" in lines[1]
    assert "models/permanence-en.tar.gz" in lines[2]


# ------------------------------------------------------------------ with Rasa

real_rasa = pytest.mark.skipif(
    os.environ.get("PERMANENCE_RASA_TESTS", "1" if (VENV / "bin" / "rasa").exists() else "0") != "1",
    reason=f"Rasa tests off (PERMANENCE_RASA_TESTS=0, or no Rasa venv at {VENV}): "
    "`make test` prepares Rasa and runs them")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def french_model() -> Path:
    """The venv installed (no-op when up to date) and nlu/fr trained into models/."""
    install = run_script("install", "--venv", str(VENV), timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    train = run_script("train", "--venv", str(VENV), "--home", str(REPO / ".rasa" / "home"),
                       str(REPO / "nlu" / "fr"), str(REPO / "models"), timeout=1800)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    model = REPO / "models" / "permanence-fr.tar.gz"
    assert model.is_file()
    return model


@real_rasa
def test_train_again_is_skipped_while_nlu_is_unchanged(french_model: Path) -> None:
    before = french_model.stat().st_mtime_ns
    again = run_script("train", "--venv", str(VENV), str(REPO / "nlu" / "fr"),
                       str(REPO / "models"))
    assert again.returncode == 0
    assert "is up to date with" in again.stderr
    assert french_model.stat().st_mtime_ns == before


# A real Rasa SDK action, standing in for nlu/actions/ (written separately): it proves
# the action server is started on the given module and port, bound to loopback.
PING_ACTION = """
from rasa_sdk import Action


class ActionPing(Action):
    def name(self):
        return "action_ping"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="pong " + tracker.sender_id)
        return []
"""


def wait_for_health(url: str, attempts: int = 120) -> None:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url}/health never answered")


@pytest.fixture(scope="module")
def rasa_servers(french_model: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``serve`` running the French model and a one-action package; stopped by SIGTERM."""
    port, actions_port = free_port(), free_port()
    actions_dir = tmp_path_factory.mktemp("nlu")
    (actions_dir / "actions").mkdir()
    (actions_dir / "actions" / "ping.py").write_text(PING_ACTION)
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "serve", "--venv", str(VENV), "--model", str(french_model),
         "--port", str(port), "--actions-port", str(actions_port),
         "--actions-dir", str(actions_dir), "--home", str(tmp_path_factory.mktemp("home"))])
    try:
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{actions_port}"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    for stopped in (port, actions_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", stopped)) != 0


@real_rasa
def test_served_model_becomes_ready_and_parses_french(rasa_servers: tuple[str, str]) -> None:
    rasa_url, actions_url = rasa_servers
    done = run_script("status", "--url", rasa_url, "--timeout", "600", "--actions-url",
                      actions_url, "--text", "bonjour je voudrais prendre un rendez-vous demain",
                      timeout=700)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["model_file"].endswith("permanence-fr.tar.gz")
    assert report["intent"] == "book"


@real_rasa
def test_action_server_runs_the_actions_package(rasa_servers: tuple[str, str]) -> None:
    _, actions_url = rasa_servers
    wait_for_health(actions_url)
    body = {"next_action": "action_ping", "sender_id": "call-7", "version": "3.6.21",
            "tracker": {"sender_id": "call-7", "slots": {}, "latest_message": {}, "events": []},
            "domain": {}}
    request = urllib.request.Request(f"{actions_url}/webhook", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert [r["text"] for r in answer["responses"]] == ["pong call-7"]
