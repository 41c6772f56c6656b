"""No egress unless configured: in the embedded default configuration a whole booking call
through the PBX emulator, and the purge after it, open no network connection except on
loopback (sockets watched by an audit hook in a fresh interpreter: egress_call.py)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def loopback(family: int, address: str) -> bool:
    if family == socket.AF_UNIX:
        return True
    host = re.match(r"\('([^']*)'", address)
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host.group(1)).is_loopback
    except ValueError:
        return host.group(1) == "localhost"


def test_a_default_call_booking_and_purge_stay_on_loopback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "egress_call.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["booked"] == 1  # the call really went through to a booking
    connects = [s for s in report["seen"] if s["event"] != "socket.getaddrinfo"]
    assert connects, "the audit hook saw no socket at all"
    outside = [s for s in connects if not loopback(s["family"], s["address"])]
    assert outside == []
    lookups = [s["address"] for s in report["seen"] if s["event"] == "socket.getaddrinfo"]
    assert all(a.strip("'") in ("127.0.0.1", "localhost", "::1", "None") for a in lookups), lookups
