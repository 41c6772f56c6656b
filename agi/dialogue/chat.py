"""``permanence chat``: the phone dialogue in text, for people writing nlu/ (like ``rasa shell``).

It runs the same builtin engine, custom actions and store as a call: the opening (AI
statement, privacy notice, greeting), then one line typed = one caller turn. An empty line
stands for silence (the no-input re-prompt). With ``debug`` each turn also prints the
intent, its confidence, the entities and the slots. Appointments and messages go to a real
SQLite store: the configured file, or a temporary one that disappears at the end.

``nlu`` picks the backend (``permanence chat --nlu rasa|builtin``, default the configured
``dialogue.backend``): the builtin engine, or Rasa through :mod:`agi.dialogue.rasa` — the
same conversation a call would have, to compare what each backend understood.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.config import Settings
from agi.dialogue.base import CallContext, DialogueEngine
from agi.dialogue.phrases import opening
from agi.errors import DialogueError

PROMPT = "caller> "
BOT = "agent> "
NLU_BACKENDS = ("builtin", "rasa")


def add_nlu_option(parser: argparse.ArgumentParser) -> None:
    """``--nlu builtin|rasa`` for the ``permanence chat`` parser (wired in agi/cli.py)."""
    parser.add_argument("--nlu", choices=NLU_BACKENDS,
                        help="dialogue backend to talk to (default: dialogue.backend of the settings)")


def make_engine(settings: Settings, language: str, nlu: str | None = None) -> DialogueEngine:
    """The dialogue engine for ``nlu`` (None: the configured backend), for one language."""
    backend = nlu or settings.dialogue.backend
    if backend == "builtin":
        from agi.dialogue.builtin import BuiltinEngine

        return BuiltinEngine(settings.dialogue.project_dir, (language,))
    if backend != "rasa":
        raise DialogueError(f"unknown NLU backend {backend!r} (use {' or '.join(NLU_BACKENDS)})")
    try:
        rasa = importlib.import_module("agi.dialogue.rasa")
    except ModuleNotFoundError as exc:
        if exc.name != "agi.dialogue.rasa":
            raise
        raise DialogueError("the Rasa backend (agi/dialogue/rasa.py) is not part of this build yet; "
                            "use --nlu builtin (Rasa itself is set up with `make rasa`)") from exc
    engine: DialogueEngine = rasa.engine_from_settings(settings, (language,))
    return engine


def run_chat(settings: Settings, tenant_id: str, input: TextIO = sys.stdin,
             output: TextIO = sys.stdout, now: Callable[[], datetime] | None = None, *,
             debug: bool = False, caller: str = "", db_path: str | Path | None = None,
             nlu: str | None = None) -> str:
    """Hold one text conversation until the agent hangs up, transfers, or input ends.

    Returns the call's outcome ("booked", "transfer", "hangup", ...). ``db_path`` None
    uses a temporary database; give ``settings.store.sqlite_path`` to keep the results.
    ``nlu`` is "builtin" or "rasa" (None: ``settings.dialogue.backend``).
    """
    tenant = settings.tenant(tenant_id)
    engine = make_engine(settings, tenant.language, nlu)
    with tempfile.TemporaryDirectory(prefix="permanence-chat-") as tmp:
        store = SqliteStore(db_path or Path(tmp) / "chat.sqlite3")
        clock = now or (lambda: datetime.now(tenant.tz))
        call_id = f"chat-{uuid.uuid4().hex[:12]}"
        try:
            store.start_call(CallRecord(call_id, tenant.id, caller, clock(), language=tenant.language,
                                        channel="chat"))
            return _loop(engine, CallContext(call_id, tenant, store, caller, clock), input, output, debug)
        finally:
            store.close()


def _loop(engine: DialogueEngine, ctx: CallContext, input: TextIO, output: TextIO,
          debug: bool) -> str:
    conv = engine.conversation(ctx)
    store, outcome = ctx.store, "hangup"
    for line in opening(ctx.tenant):
        _say(output, ctx, line)
    while True:
        output.write(PROMPT)
        output.flush()
        line = input.readline()
        if not line:  # end of input: the caller hung up
            break
        text = line.strip()
        if text:
            store.add_turn(ctx.call_id, "caller", text, ctx.now())
        reply = conv.respond(text)
        p = getattr(conv, "last_parse", None)  # what the backend understood, when it says
        if debug and text and p:
            ents = ", ".join(f"{e.entity}={e.value}" for e in p.entities) or "-"
            output.write(f"  [intent {p.intent} {p.confidence:.2f} | entities {ents} | "
                         f"slots {dict(conv.data)} | expecting {reply.expecting}]\n")
        for said in reply.say:
            _say(output, ctx, said)
        store.update_call_data(ctx.call_id, reply.data)
        outcome = reply.outcome or outcome
        if reply.transfer:
            output.write(f"  [transfer to {reply.transfer}]\n")
            outcome = "transfer"
            break
        if reply.hangup:
            output.write("  [hang up]\n")
            break
    store.end_call(ctx.call_id, ctx.now(), outcome, conv.data)
    return outcome


def _say(output: TextIO, ctx: CallContext, text: str) -> None:
    output.write(f"{BOT}{text}\n")
    ctx.store.add_turn(ctx.call_id, "agent", text, ctx.now())
