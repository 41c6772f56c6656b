"""A throwaway PostgreSQL server for the tests: initdb into a temporary directory, run
``postgres`` on a Unix socket there, stop it and remove everything at the end.

PostgreSQL refuses to run as root ("root" execution of the PostgreSQL server is not
permitted), and CI runs as root, so when we are root the server runs as the ``postgres``
user (created by Debian's package) through :class:`subprocess.Popen`'s ``user=``/``group=``:
the child calls setuid itself, so ``Popen.pid`` is the postmaster and a signal reaches it
directly (``runuser`` would sit in between as a parent process).

The server listens on no TCP address (``listen_addresses=''``): the socket lives in a
private directory, so parallel test runs cannot collide, and nothing is exposed on the
network. ``fsync=off`` and friends trade crash safety, which a throwaway cluster does not
need, for start-up and commit speed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

# Debian installs the server binaries per major version here (not on PATH).
DEBIAN_BINDIRS = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"
# How long to wait for the server to accept connections. It takes well under a second
# here; a minute only means "something is wrong", and then the log is shown.
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off",
                 "max_connections=200")


class ServerUnavailable(RuntimeError):
    """No PostgreSQL binaries, or no way to run them; the message says what to install."""


def find_bindir() -> Path:
    """The newest Debian PostgreSQL bin directory, or the one holding ``initdb`` on PATH."""
    candidates = sorted((p / "bin" for p in DEBIAN_BINDIRS.glob("*") if (p / "bin" / "initdb").is_file()),
                        key=lambda p: _version_key(p.parent.name))
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ServerUnavailable("no PostgreSQL server binaries (initdb) found: install Debian's "
                            "package with 'apt-get install -y postgresql' (make system-deps does)")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """One PostgreSQL cluster in a temporary directory. ``start()``/``stop()`` may be called
    again (to test a database outage); ``close()`` stops it and deletes the directory."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self._as_user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._as_user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise ServerUnavailable(f"running as root but there is no {SERVER_USER!r} user to "
                                        "run PostgreSQL as: install Debian's postgresql package") from exc
        # A short path: the socket path must fit in sockaddr_un (107 bytes).
        self.root = Path(tempfile.mkdtemp(prefix="permanence-pg-"))
        self.datadir = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            if self._as_user is not None:
                os.chown(self.root, self._as_user.pw_uid, self._as_user.pw_gid)
            self._run([str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def dsn(self) -> str:
        return f"host={self.root} port={self.port} user=postgres dbname=postgres"

    def dsn_for(self, dbname: str, user: str = "postgres") -> str:
        return f"host={self.root} port={self.port} user={user} dbname={dbname}"

    def _user_kwargs(self) -> dict[str, object]:
        if self._as_user is None:
            return {}
        return {"user": self._as_user.pw_uid, "group": self._as_user.pw_gid, "extra_groups": [],
                "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C",
                        "HOME": self._as_user.pw_dir}}

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, cwd=self.root, check=False,
                              **self._user_kwargs())  # type: ignore[call-overload]
        if done.returncode != 0:
            raise ServerUnavailable(f"{' '.join(argv)} failed ({done.returncode}): "
                                    f"{done.stderr.decode(errors='replace')[-2000:]}")

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        if self._proc is not None and self._proc.poll() is None:
            return
        argv = [str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-k", str(self.root), "-c", "listen_addresses="]
        for setting in FAST_SETTINGS:
            argv += ["-c", setting]
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                          cwd=self.root, **self._user_kwargs())  # type: ignore[call-overload]
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg  # the tests' own dependency, as in the store

        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                raise ServerUnavailable(f"postgres exited with {self._proc.returncode}:\n{self._log_tail()}")
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ServerUnavailable(f"postgres not ready after {READY_TIMEOUT_S:.0f} s: "
                                            f"{exc}\n{self._log_tail()}") from exc
            time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, close sessions, checkpoint."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # SIGINT = "fast" shutdown mode
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGQUIT)  # "immediate" shutdown
            proc.wait(timeout=STOP_TIMEOUT_S)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
