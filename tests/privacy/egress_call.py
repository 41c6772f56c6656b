"""Run by test_no_egress.py in a fresh interpreter: a whole booking call through the PBX
emulator against a real server in the embedded default configuration, then a purge, with
an audit hook (PEP 578) recording every address a socket connects or sends to. Prints
them as JSON lines on stdout. Only the recogniser is a double (no French Vosk model can
exist here: tests/call/conftest.py), so the run never reaches Vosk's model download."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEEN: list[dict[str, Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg") and len(args) >= 2:
        sock, address = args[0], args[-1]
        SEEN.append({"event": event, "family": int(sock.family), "address": repr(address)})
    elif event == "socket.getaddrinfo":
        SEEN.append({"event": event, "family": 0, "address": repr(args[0])})


def main(tmp: Path) -> None:
    sys.addaudithook(_audit)
    tests = Path(__file__).parents[1]
    sys.path[:0] = [str(tests / "call"), str(tests)]  # tests/call's helpers, and the ones they use
    from agi.dialogue.builtin import BuiltinEngine
    from agi.pbx.emulator import CallerTurn, emulate_call, speak
    from agi.privacy import run_purge
    from agi.server import PermanenceServer, open_store
    from agi.speech.tts import EspeakSynthesizer

    from conftest import ScriptedRecognizerFactory, make_settings  # tests/call's helpers

    script = ["bonjour je voudrais prendre rendez-vous", "jean dupont", "mardi prochain",
              "à dix heures", "oui", "non merci au revoir"]
    settings = make_settings(tmp, privacy={"key_file": str(tmp / "permanence.key")})
    store = open_store(settings)  # the default: SQLite, sealed, key created on first start

    async def scenario() -> None:
        server = PermanenceServer(
            settings, store=store, dialogue=BuiltinEngine(Path(__file__).parents[2] / "nlu"),
            recognizers=ScriptedRecognizerFactory(script),
            synthesizer=EspeakSynthesizer(settings.speech), health=True,
            clock=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Paris")))
        await server.start()
        try:
            await emulate_call("127.0.0.1", server.agi_port, path="demo", max_duration=150,
                               turns=[CallerTurn(speak(text, voice="fr")) for text in script])
        finally:
            await server.stop()

    asyncio.run(scenario())  # the server closes its store when it stops
    store = open_store(settings)
    booked = store.appointments("demo", datetime(2026, 12, 1, tzinfo=UTC),
                                datetime(2026, 12, 2, tzinfo=UTC))
    run_purge(store, settings.privacy, datetime.now(UTC), tenants=settings.tenants)
    store.close()
    print(json.dumps({"booked": len(booked), "seen": SEEN}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
