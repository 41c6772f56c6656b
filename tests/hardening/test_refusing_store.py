"""A SQLite file that refuses writes (disk full, read-only) is an outage, not a bad request:
the call's writes go to the spool and reach the database, in order, once it accepts again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi.booking.spool import Spool
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.errors import StoreUnavailable

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB tmpfs, to fill for real."""
    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MB tmpfs needs root (mount -t tmpfs -o size=1m)")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    try:
        with filler.open("wb") as out:
            while True:
                out.write(b"\0" * 4096)
                out.flush()
    except OSError:  # ENOSPC: the point
        pass
    return filler


def test_full_disk_spools_every_turn_of_both_calls_and_replays_them(tiny_disk: Path, tmp_path: Path) -> None:
    store = SqliteStore(tiny_disk / "permanence.db")
    spool = Spool(tmp_path / "spool.db")  # store.spool_path on another filesystem
    spool.write(store, "start_call", CallRecord("c1", "demo", "+33612345678", NOW), key="c1")
    spool.write(store, "add_turn", "c1", "caller", "bonjour", NOW, key="c1")
    filler = fill(tiny_disk)
    said = [f"phrase numéro {i} " + "x" * 3000 for i in range(3)]
    for text in said:
        spool.write(store, "add_turn", "c1", "caller", text, NOW, key="c1")
    spool.write(store, "start_call", CallRecord("c2", "demo", "", NOW), key="c2")
    spool.write(store, "add_turn", "c2", "caller", "second call " + "y" * 3000, NOW, key="c2")
    assert spool.pending() >= 4
    assert spool.replay(store) == 0 or spool.pending()  # still full: stays in the journal
    filler.unlink()
    while spool.pending():
        spool.replay(store)
    assert [t.text for t in store.transcript("c1")] == ["bonjour", *said]
    assert [t.text for t in store.transcript("c2")] == ["second call " + "y" * 3000]
    assert spool.refused() == []


def test_read_only_database_is_unavailable_not_a_bad_request(tmp_path: Path) -> None:
    path = tmp_path / "permanence.db"
    store = SqliteStore(path)
    store.start_call(CallRecord("c1", "demo", "", NOW))
    # root ignores file modes: another connection holding the write lock past the busy
    # timeout, and query_only, are the refusals SQLite itself reports (BUSY, READONLY).
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable):
        store.add_turn("c1", "caller", "pendant le verrou", NOW)
    other.execute("ROLLBACK")
    other.close()


def test_when_the_spool_refuses_too_writes_wait_in_memory_until_the_call_ends(
        tiny_disk: Path, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "permanence.db")
    spool = Spool(tiny_disk / "spool.db")  # the spool on the disk that fills
    # the database was unreachable when the call started: its writes go to the spool
    spool.append("start_call", (CallRecord("c1", "demo", "", NOW),), key="c1")
    filler = fill(tiny_disk)
    for n in range(3):
        spool.write(store, "add_turn", "c1", "caller", f"tour {n} " + "z" * 3000, NOW, key="c1")
    assert spool.pending() >= 3 and spool.holds("c1")
    filler.unlink()  # the spool's disk has room again before the call ends: nothing lost
    assert spool.end_call("c1") == 0
    while spool.pending():
        spool.replay(store)
    assert [t.text for t in store.transcript("c1")] == [f"tour {n} " + "z" * 3000 for n in range(3)]


def test_writes_still_held_when_the_call_ends_are_counted_lost(tiny_disk: Path, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "permanence.db")
    spool = Spool(tiny_disk / "spool.db")
    spool.append("start_call", (CallRecord("c2", "demo", "", NOW),), key="c2")
    filler = fill(tiny_disk)
    for n in range(3):
        spool.write(store, "add_turn", "c2", "caller", f"tour {n} " + "z" * 3000, NOW, key="c2")
    held = spool.pending() - 1  # the start_call made it into the journal
    assert spool.end_call("c2") == held > 0 and spool.lost == held
    filler.unlink()
