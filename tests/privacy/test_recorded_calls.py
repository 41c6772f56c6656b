"""Recording by consent in whole calls (PBX emulator over TCP, real server, VAD, eSpeak NG,
SQLite): the caller hears the notice, a refusal mid-call leaves no audio file and no audio
row, an accepted call leaves one encrypted file that the key decrypts and nothing else
does. As in tests/call, only the recogniser is a double (no French Vosk model here)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from agi.booking.sqlite import SqliteStore
from agi.call.recording import read_recording
from agi.pbx.emulator import CallerTurn, emulate_call, speak
from agi.privacy import load_keyring
from agi.privacy.crypto import Keyring, KeyringError, new_key_line

_spec = importlib.util.spec_from_file_location(
    "call_fixtures", Path(__file__).parents[1] / "call" / "conftest.py")
assert _spec is not None and _spec.loader is not None
call_fixtures = importlib.util.module_from_spec(_spec)
sys.modules["call_fixtures"] = call_fixtures
_spec.loader.exec_module(call_fixtures)


@pytest.fixture(scope="module")
def shared() -> Any:
    return call_fixtures.shared.__wrapped__()  # the heavy engine and voices, once here


def recording_call(tmp_path: Path, shared: Any, script: list[str]) -> tuple[Any, SqliteStore]:
    settings = call_fixtures.make_settings(
        tmp_path, privacy={"key_file": str(tmp_path / "k.key"),
                           "recordings_dir": str(tmp_path / "rec")},
        tenants=[{"recording": {"enabled": True, "purpose": "formation de l'accueil"}}])

    async def scenario() -> Any:
        async with call_fixtures.serving(
                settings, shared, recognizers=call_fixtures.ScriptedRecognizerFactory(script)
        ) as server:
            return await emulate_call("127.0.0.1", server.agi_port, path="demo",
                                      max_duration=120,
                                      turns=[CallerTurn(speak(t, voice="fr")) for t in script])

    call = asyncio.run(scenario())
    return call, SqliteStore(settings.store.sqlite_path)


def test_a_refusal_mid_call_leaves_no_audio(tmp_path: Path, shared: Any) -> None:
    call, store = recording_call(tmp_path, shared, [
        "bonjour je voudrais prendre rendez-vous", "je refuse l'enregistrement",
        "non merci au revoir"])
    said = [t.text for t in store.transcript(call.uniqueid) if t.speaker == "agent"]
    assert any("Cet appel est enregistré (formation de l'accueil)" in t for t in said)
    assert any("l'enregistrement est arrêté et effacé" in t for t in said)
    assert store.privacy().recordings() == []
    assert list((tmp_path / "rec").rglob("*")) in ([], [tmp_path / "rec" / "demo"])
    store.close()


def test_an_accepted_call_leaves_one_file_only_the_key_opens(tmp_path: Path,
                                                             shared: Any) -> None:
    call, store = recording_call(tmp_path, shared, [
        "bonjour je voudrais prendre rendez-vous", "non merci au revoir"])
    [row] = store.privacy().recordings()
    assert row.call_id == call.uniqueid and row.audio_bytes > 8000 * 2  # over a second
    keyring = load_keyring(str(tmp_path / "k.key"), "", create=False)
    rate, pcm = read_recording(Path(row.path), keyring)
    assert rate == 8000 and len(pcm) == row.audio_bytes and any(pcm)
    with pytest.raises(KeyringError):
        read_recording(Path(row.path), Keyring.parse(new_key_line(row.key_id), "other"))
    store.close()
