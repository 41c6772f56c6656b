"""A console served for real (uvicorn on loopback, in its own event loop thread) over the
seeded store of console_helpers; one per test module."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from console_helpers import Served, console_settings, seed

from agi.booking import SqliteStore
from agi.console.metering import usage_policy
from agi.console.service import ConsoleServer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("console")
    settings = console_settings(tmp)
    store = SqliteStore(settings.store.sqlite_path, usage=usage_policy(settings))
    ids = seed(store)
    loop = asyncio.new_event_loop()
    server = ConsoleServer(settings, store)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="console-test", daemon=True)
    thread.start()
    assert ready.wait(30), "the console did not start"
    yield Served(f"http://127.0.0.1:{server.port}", store, ids)
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    store.close()
