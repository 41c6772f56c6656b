"""Encryption at rest on both stores (SQLite file, real throwaway PostgreSQL): what a caller
says never reaches the database in clear, every reader gets it back through the store API,
a wrong or missing key is a clear error, clear rows written before encryption still read
and are sealed by ``reseal``, and a rotated key re-seals everything."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agi.booking import CallRecord, SqliteStore, Store
from agi.booking.spool import Spool
from agi.booking.store import OutboxKind
from agi.privacy import Keyring, KeyringError, SealedStore, load_keyring
from agi.privacy.crypto import add_key, is_sealed, new_key_line

if TYPE_CHECKING:
    from pg_server import PgServer

    from conftest import StoreFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ALICE = "+33612345678"
# words a copy of the database must not reveal
SECRET_WORDS = ("ordonnance", "migraine", "Zanzibar", "amoxicilline", "kinésithérapeute")


def ring(*ids: str) -> Keyring:
    return Keyring.parse("".join(new_key_line(i) for i in ids or ("k1",)), "test keys")


def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
    return ("webhook:crm",)


def a_conversation(store: Store, call_id: str = "c1") -> None:
    store.start_call(CallRecord(call_id=call_id, tenant_id="demo", caller=ALICE, started_at=NOW,
                                data={"reason": "renouveler mon ordonnance"}))
    store.add_turn(call_id, "agent", "Bonjour, que puis-je faire pour vous ?", NOW)
    store.add_turn(call_id, "caller", "j'ai une migraine depuis mon retour de Zanzibar", NOW)
    store.update_call_data(call_id, {"reason": "migraine", "when": NOW})
    store.end_call(call_id, NOW + timedelta(minutes=1), "message",
                   {"reason": "amoxicilline", "when": NOW})
    store.add_message("demo", call_id, ALICE, "Alice", "rappelez-moi pour l'ordonnance", NOW)
    store.add_lead("demo", call_id, ALICE, "devis", {"what": "kinésithérapeute"}, NOW)


# the keyring alone ------------------------------------------------------------------------
def test_seal_and_open_round_trip_and_legacy_clear_text_reads_as_is() -> None:
    keys = ring()
    sealed = keys.seal("une migraine")
    assert is_sealed(sealed) and "migraine" not in sealed
    assert keys.open(sealed) == "une migraine"
    assert keys.seal(sealed) == sealed  # never sealed twice
    assert keys.open("written before encryption") == "written before encryption"
    assert keys.open_doc(keys.seal_doc({"a": [1, "b"]})) == {"a": [1, "b"]}
    assert keys.seal("a") != keys.seal("a")  # a fresh nonce every time


def test_a_wrong_key_or_damaged_value_is_a_clear_error_never_garbage() -> None:
    sealed = ring().seal("une migraine")
    with pytest.raises(KeyringError, match="does not open: wrong key"):
        ring().open(sealed)  # same id k1, other key
    with pytest.raises(KeyringError, match="key 'k1', which the keyring does not hold"):
        ring("k2").open(sealed)
    damaged = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    keys = ring()
    with pytest.raises(KeyringError, match="does not open"):
        keys.open(damaged)
    moved = sealed.replace("enc1:k1:", "enc1:k2:")  # the id is authenticated too
    other = Keyring({"k2": ring().keys["k1"], "k1": ring().keys["k1"]}, "k1")
    with pytest.raises(KeyringError):
        other.open(moved)


def test_key_file_missing_created_or_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "var" / "permanence.key"
    with pytest.raises(KeyringError, match=r"privacy.key_file: .* does not exist"):
        load_keyring(str(path), "KEYS", create=False, environ={})
    made = load_keyring(str(path), "KEYS", create=True, environ={})
    assert path.stat().st_mode & 0o777 == 0o600 and made.current == "k1"
    assert load_keyring(str(path), "KEYS", create=False, environ={}) == made
    env = {"KEYS": new_key_line("a").strip() + ";" + new_key_line("b").strip()}
    from_env = load_keyring(str(tmp_path / "none"), "KEYS", create=False, environ=env)
    assert sorted(from_env.keys) == ["a", "b"] and from_env.current == "b"
    assert add_key(str(path)) == "k2"
    assert load_keyring(str(path), "KEYS", create=False, environ={}).current == "k2"
    path.write_text("k1 not*base64\n")
    with pytest.raises(KeyringError, match="line 1"):
        load_keyring(str(path), "KEYS", create=False, environ={})


# on both stores ---------------------------------------------------------------------------
def test_every_reader_gets_clear_text_through_the_store(make_store: StoreFactory) -> None:
    store = SealedStore(make_store(targets_for=targets), ring())
    a_conversation(store)
    call = store.get_call("c1")
    assert call is not None and call.data == {"reason": "amoxicilline", "when": NOW.isoformat()}
    assert [t.text for t in store.transcript("c1")][1].endswith("Zanzibar")
    assert [m.text for m in store.messages("demo")] == ["rappelez-moi pour l'ordonnance"]
    assert store.leads("demo")[0].details == {"what": "kinésithérapeute"}
    assert store.list_calls("demo")[0].data["reason"] == "amoxicilline"
    payloads = {i.kind: i.payload for i in store.claim_outbox(datetime.now(UTC) + timedelta(hours=1), 10, 30)}
    assert payloads["message"]["text"] == "rappelez-moi pour l'ordonnance"
    assert payloads["lead"]["details"] == {"what": "kinésithérapeute"}
    export = store.personal_data("demo", ALICE)
    assert export["calls"][0]["transcript"][1]["text"].endswith("Zanzibar")
    assert export["messages"][0]["text"].startswith("rappelez-moi")
    assert export["outbox"][0]["payload"]["text"].startswith("rappelez-moi") or \
        export["outbox"][1]["payload"]["text"].startswith("rappelez-moi")
    # underneath, the rows are sealed
    raw = make_store()
    assert all(is_sealed(t.text) for t in raw.transcript("c1"))
    assert all(is_sealed(m.text) for m in raw.messages("demo"))
    with pytest.raises(KeyringError):
        SealedStore(raw, ring()).transcript("c1")  # another key: an error, not garbage


def test_the_sqlite_file_holds_no_word_of_the_conversation(tmp_path: Path) -> None:
    path = tmp_path / "permanence.sqlite3"
    store = SealedStore(SqliteStore(path, targets_for=targets), ring())
    a_conversation(store)
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(path.name))
    for word in SECRET_WORDS:
        assert word.encode() not in blob
    assert b"Alice" in blob  # the test reads the right file: names stay clear


def test_a_postgresql_dump_holds_no_word_of_the_conversation(
        pg_server: PgServer | None, postgres_dsn: str, pg_schema: str) -> None:
    if pg_server is None:
        pytest.skip("pg_dump needs the throwaway server's binaries")
    from agi.booking.postgres import PostgresStore

    store = SealedStore(PostgresStore(postgres_dsn, pg_schema, targets_for=targets), ring())
    try:
        a_conversation(store)
    finally:
        store.close()
    dump = subprocess.run([str(pg_server.bindir / "pg_dump"), "-h", str(pg_server.root),
                           "-p", str(pg_server.port), "-U", "postgres", "-n", pg_schema,
                           "postgres"], capture_output=True, check=True, timeout=60,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"}).stdout
    assert b"Alice" in dump and b"enc1:k1:" in dump
    for word in SECRET_WORDS:
        assert word.encode() not in dump


def test_clear_rows_still_read_and_reseal_encrypts_them(make_store: StoreFactory) -> None:
    a_conversation(make_store(targets_for=targets))  # before encryption was switched on
    store = SealedStore(make_store(), ring())
    assert store.transcript("c1")[1].text.endswith("Zanzibar")
    changed = store.reseal()
    # 2 turns, 1 message, 1 call, 1 lead, 2 outbox payloads
    assert changed == 7
    assert store.reseal() == 0  # idempotent
    raw = make_store()
    assert all(is_sealed(t.text) for t in raw.transcript("c1"))
    assert is_sealed(raw.leads("demo")[0].details["$enc"])
    assert all(is_sealed(i.payload.get("text", i.payload.get("details", {}).get("$enc")))
               for i in raw.outbox())
    assert store.leads("demo")[0].details == {"what": "kinésithérapeute"}
    assert store.get_call("c1").data["reason"] == "amoxicilline"  # type: ignore[union-attr]


def test_rotation_reseals_with_the_new_key_and_the_old_one_can_go(
        make_store: StoreFactory) -> None:
    old = ring("k1")
    a_conversation(SealedStore(make_store(targets_for=targets), old))
    both = Keyring({**old.keys, **ring("k2").keys}, "k2")
    rotated = SealedStore(make_store(), both)
    assert rotated.reseal() == 7
    new_only = SealedStore(make_store(), Keyring({"k2": both.keys["k2"]}, "k2"))
    assert new_only.transcript("c1")[1].text.endswith("Zanzibar")
    assert new_only.messages("demo")[0].text.startswith("rappelez-moi")
    assert new_only.personal_data("demo", ALICE)["leads"][0]["details"] == {
        "what": "kinésithérapeute"}


# the spool -------------------------------------------------------------------------------
def test_the_spool_reveals_no_conversation_and_replays_in_clear_to_the_store(tmp_path: Path) -> None:
    """While the database is down the spool holds the call's writes: sealed with the same
    key, so a copy of the spool file reveals no more than a copy of the database."""
    keys = ring()
    spool = Spool(tmp_path / "spool.sqlite3", sealer=keys)
    spool.append("start_call", (CallRecord(call_id="c1", tenant_id="demo", caller=ALICE,
                                           started_at=NOW, data={"reason": "migraine"}),), key="c1")
    spool.append("add_turn", ("c1", "caller", "une ordonnance pour Zanzibar", NOW), key="c1")
    spool.close()
    raw = (tmp_path / "spool.sqlite3").read_bytes()
    assert not any(word.encode() in raw for word in SECRET_WORDS)
    store = SealedStore(SqliteStore(tmp_path / "db.sqlite3"), keys)
    reopened = Spool(tmp_path / "spool.sqlite3", sealer=keys)
    assert reopened.replay(store) == 2
    call = store.get_call("c1")
    assert call is not None and call.data == {"reason": "migraine"}
    assert [t.text for t in store.transcript("c1")] == ["une ordonnance pour Zanzibar"]
    reopened.close()
    store.close()
