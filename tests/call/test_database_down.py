"""PostgreSQL stops in the middle of a booking call: the caller is told the request is
noted and will be confirmed, everything is kept in the local spool, and it is all in the
database once PostgreSQL is back. Real PostgreSQL (the tests' own server), real
transport, VAD, synthesis and dialogue; the recogniser is the scripted double (no French
Vosk model exists here, see conftest.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking.postgres import PostgresStore
from agi.pbx.emulator import CallerTurn, speak
from agi.speech.audio import silence

from conftest import Pbx, ScriptedRecognizerFactory, Shared, make_settings, run, serving

SCRIPT = ["je voudrais prendre rendez-vous", "jean dupont", "mardi prochain", "à dix heures", "oui",
          "non merci au revoir"]
PARIS = ZoneInfo("Europe/Paris")


def test_postgres_down_mid_call_keeps_the_booking_request_and_writes_it_later(pbx: Pbx,
        tmp_path: Path, shared: Shared, pg_server, postgres_dsn: str, pg_schema: str) -> None:
    if pg_server is None:
        pytest.skip("needs the tests' own PostgreSQL: it stops and starts it")
    settings = make_settings(tmp_path)
    store = PostgresStore(postgres_dsn, pg_schema, timeout=1.0)
    turns = [CallerTurn(speak(text, voice="fr")) for text in SCRIPT]
    # the database goes away while the caller says their name
    turns[1] = CallerTurn(turns[1].audio + silence(300))

    async def scenario():
        async with serving(settings, shared, recognizers=ScriptedRecognizerFactory(SCRIPT),
                           now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=PARIS),
                           store=store) as server:
            def on_event(event) -> None:
                if event.kind == "turn_end" and event.detail == "#2":
                    pg_server.stop()
            call = await pbx.call(server, path="demo", turns=turns,
                                      max_duration=150, on_event=on_event)
            spooled = server.spool.pending()
            pg_server.start()
            deadline = time.monotonic() + 60
            while server.spool.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.5)  # the server's replay loop writes the spool
            return call, spooled, server.spool.pending()

    try:
        call, spooled, left = run(scenario())
    finally:
        pg_server.start()
    assert spooled > 0 and left == 0
    check = PostgresStore(postgres_dsn, pg_schema, timeout=5.0)
    try:
        said = [(t.speaker, t.text) for t in check.transcript(call.uniqueid)]
        assert [text for who, text in said if who == "caller"] == SCRIPT
        assert any(who == "agent" and "bien notée" in text for who, text in said)
        ten = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
        booked = check.appointments("demo", ten, ten.replace(hour=11))
        assert [(a.starts_at, a.call_id) for a in booked] == [(ten, call.uniqueid)]
        record = check.get_call(call.uniqueid)
        assert record.outcome == "pending" and record.ended_at is not None
        assert record.data["name"] == "Jean Dupont"
    finally:
        check.close()
