"""UDP port ranges of this test process's own, for the FreeSWITCH unicast media.

The suite runs its files in several pytest-xdist workers at once (``make test``), and a
developer may run a second suite beside it: two processes must never get the same pair.
Each process gets a block of :data:`BLOCK` ports, one range of 20 per user inside it; an
xdist worker's block follows from its number (``gw0``, ``gw1``...), so workers never share
one, and any other process's from its pid, above the workers' blocks.
"""

from __future__ import annotations

import os

BASE = 30000
RANGE = 20  # ten pairs: ours (even) and the peer's (odd)
USERS = ("call", "freeswitch", "hostile")  # the test files that take a range
BLOCK = RANGE * len(USERS)
WORKER_BLOCKS = 64  # xdist workers 0..63; other processes take the blocks above them
OTHER_BLOCKS = 300  # 30000 + (64 + 300) * 60 = 51840 < 65535


def _block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit() and int(worker[2:]) < WORKER_BLOCKS:
        return int(worker[2:])
    return WORKER_BLOCKS + os.getpid() % OTHER_BLOCKS


def udp_range(user: str) -> tuple[int, int]:
    """This process's (lowest, highest) port for ``user``, one of :data:`USERS`."""
    low = BASE + _block() * BLOCK + USERS.index(user) * RANGE
    return low, low + RANGE - 1
