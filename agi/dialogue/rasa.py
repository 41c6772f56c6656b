"""The Rasa dialogue backend: the same nlu/ project served by Rasa 3.6, over HTTP only.

The controller never imports rasa (it lives in its own Python 3.10 venv, deploy/rasa/).
Each call is one Rasa conversation whose sender id is the call id. Per caller turn:

1. ``POST /webhooks/rest/webhook`` with the text and ``metadata`` (tenant id, call id,
   caller, the controller's clock); Rasa puts the metadata on the user message, where the
   custom actions of nlu/actions/ read it. The answer is the bot messages in order: texts
   to speak, and custom ``{"permanence": {...}}`` payloads for transfer, hang-up and
   outcome (Rasa docs, "REST Channels": the REST channel answers with the list of
   messages collected while the turn ran).
2. ``GET /conversations/<id>/tracker``: slots, ``active_loop`` and ``requested_slot`` for
   :attr:`BotReply.data` and :attr:`BotReply.expecting`, plus the turn's events (response
   names from ``BotUttered.metadata.utter_action``, actions from ``ActionExecuted``) that
   the parity suite compares with the builtin engine.

Both requests share one short budget (``dialogue.rasa_timeout_s``) so the caller never
waits through a long silence. On a time-out, a connection error, a 5xx or an empty answer,
the conversation falls back to the builtin engine for the rest of the call, seeded with
the slots, form and question Rasa had reached, and every later reply carries
``data["dialogue_fallback"] = "builtin"`` so the call record says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from agi.config import LANGUAGES, DialogueSettings, Settings
from agi.dialogue.base import FALLBACK_ACTION, BotReply, CallContext, Conversation, DialogueEngine
from agi.dialogue.builtin import INTERNAL_SLOTS, MAX_NO_INPUT, BuiltinConversation
from agi.dialogue.phrases import DIDNT_HEAR, STILL_THERE, phrase
from agi.errors import DialogueError

log = logging.getLogger(__name__)

# The custom JSON key the action server's payloads use (nlu/actions/__init__.py).
PAYLOAD_KEY = "permanence"
FALLBACK_KEY = "dialogue_fallback"
# /health asks each server's /status with this bound: a probe must not hold the endpoint.
# The first turn a fresh Rasa server predicts can take tens of seconds on a loaded machine.
WARM_UP_TIMEOUT_S = 60.0
STATUS_TIMEOUT_S = 0.5


class RasaEngine(DialogueEngine):
    """One Rasa server per language (``dialogue.rasa_urls``), the builtin engine as fallback.

    ``transport`` is injected by tests that need to cut the line (httpx transports);
    by default the real network is used.
    """

    def __init__(self, settings: DialogueSettings, fallback: DialogueEngine, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.urls = {lang: url.rstrip("/") for lang, url in settings.rasa_urls.items()}
        self.timeout = settings.rasa_timeout_s
        self.fallback = fallback
        self._client = httpx.Client(transport=transport, timeout=self.timeout)

    def conversation(self, ctx: CallContext) -> Conversation:
        url = self.urls.get(ctx.tenant.language)
        if url is None:
            raise DialogueError(f"no Rasa server for language {ctx.tenant.language!r} "
                                "(set dialogue.rasa_urls)")
        return RasaConversation(self, url, ctx)

    def reachability(self) -> dict[str, bool]:
        """For /health: whether each language's server answers ``/status`` with a model."""
        out = {}
        for lang, url in self.urls.items():
            try:
                answer = self._client.get(f"{url}/status", timeout=STATUS_TIMEOUT_S)
                out[lang] = answer.status_code == 200 and bool(answer.json().get("model_file"))
            except (httpx.HTTPError, ValueError):
                out[lang] = False
        return out

    def warm_up(self, timeout_s: float = WARM_UP_TIMEOUT_S) -> dict[str, bool]:
        """One throw-away conversation turn per language before the first caller: Rasa's
        first prediction builds its graphs and takes far longer than the per-turn budget
        (a /model/parse warm-up does not cover the dialogue policies)."""
        out = {}
        for lang, url in self.urls.items():
            try:
                answer = self._client.post(f"{url}/webhooks/rest/webhook", timeout=timeout_s,
                                           json={"sender": "permanence-warm-up", "message": "bonjour"})
                out[lang] = answer.status_code == 200
            except httpx.HTTPError as exc:
                log.warning("Rasa %s warm-up failed: %s", lang, exc)
                out[lang] = False
        return out

    def close(self) -> None:
        self._client.close()

    # HTTP, with vendor errors mapped at the boundary ----------------------------------
    def request(self, method: str, url: str, deadline: float, body: Any = None) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DialogueError(f"Rasa: no time left for {method} {url}")
        try:
            answer = self._client.request(method, url, json=body, timeout=remaining)
        except httpx.HTTPError as exc:
            raise DialogueError(f"Rasa {method} {url}: {type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 400:
            raise DialogueError(f"Rasa {method} {url}: HTTP {answer.status_code}")
        try:
            return answer.json()
        except ValueError as exc:
            raise DialogueError(f"Rasa {method} {url}: answer is not JSON") from exc


def engine_from_settings(settings: Settings, languages: tuple[str, ...] = LANGUAGES) -> RasaEngine:
    """``dialogue.backend = "rasa"``: Rasa per ``dialogue.rasa_urls``, the builtin engine on
    ``dialogue.project_dir`` as fallback (``permanence chat --nlu rasa`` uses this)."""
    from agi.dialogue.builtin import BuiltinEngine

    return RasaEngine(settings.dialogue, BuiltinEngine(settings.dialogue.project_dir, languages))


class RasaConversation(Conversation):
    """One call as one Rasa conversation, until Rasa fails; then the builtin engine."""

    def __init__(self, engine: RasaEngine, url: str, ctx: CallContext) -> None:
        self.engine, self.url, self.ctx = engine, url, ctx
        self.sender = ctx.call_id
        self.slots: dict[str, Any] = {}
        self.active_loop: str | None = None
        self.requested_slot: str | None = None
        # the last turn's response names and custom actions (as BuiltinConversation.last_trace)
        self.last_trace: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self.fallback: Conversation | None = None
        self._events_seen = 0
        self._last_prompt: tuple[str, ...] = ()
        self._no_input = 0

    @property
    def data(self) -> Mapping[str, Any]:
        if self.fallback is not None:
            return {**self.fallback.data, FALLBACK_KEY: "builtin"}
        return {k: v for k, v in self.slots.items() if v not in (None, "", []) and k not in INTERNAL_SLOTS}

    def respond(self, text: str) -> BotReply:
        if self.fallback is not None:
            return self._marked(self.fallback.respond(text))
        if not text.strip():
            return self.no_input()
        self._no_input = 0
        deadline = time.monotonic() + self.engine.timeout
        try:
            messages = self.engine.request("POST", f"{self.url}/webhooks/rest/webhook", deadline, {
                "sender": self.sender, "message": text, "metadata": self._metadata()})
            if not isinstance(messages, list) or not messages:
                raise DialogueError("Rasa answered nothing to a caller turn")
            tracker = self.engine.request(
                "GET", f"{self.url}/conversations/{quote(self.sender, safe='')}/tracker"
                "?include_events=ALL", deadline)
        except DialogueError as exc:
            return self._fall_back(exc, text)
        self._read_tracker(tracker)
        return self._reply(messages)

    def no_input(self) -> BotReply:
        """Re-prompt locally (nothing to ask Rasa); give up after MAX_NO_INPUT silences."""
        if self.fallback is not None:
            return self._marked(self.fallback.no_input())
        self._no_input += 1
        lang = self.ctx.tenant.language
        if self._no_input >= MAX_NO_INPUT:
            return BotReply(say=(phrase(STILL_THERE, lang),), hangup=True, data=dict(self.data))
        return BotReply(say=(phrase(DIDNT_HEAR, lang), *self._last_prompt),
                        expecting=self.requested_slot if self.active_loop else None,
                        data=dict(self.data))

    # Rasa's answer -> BotReply ---------------------------------------------------------
    def _metadata(self) -> dict[str, Any]:
        return {"tenant_id": self.ctx.tenant.id, "call_id": self.ctx.call_id,
                "caller": self.ctx.caller, "now": self.ctx.now().isoformat()}

    def _read_tracker(self, tracker: Mapping[str, Any]) -> None:
        self.slots = dict(tracker.get("slots") or {})
        self.active_loop = (tracker.get("active_loop") or {}).get("name") or None
        self.requested_slot = self.slots.get("requested_slot") if self.active_loop else None
        events = list(tracker.get("events") or [])
        turn = events[self._events_seen:]
        self._events_seen = len(events)
        responses = tuple(str(e["metadata"]["utter_action"]) for e in turn
                          if e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action"))
        actions = tuple(str(e["name"]) for e in turn if e.get("event") == "action"
                        and str(e.get("name")).startswith("action_")
                        and e["name"] not in _RASA_INTERNAL_ACTIONS)
        self.last_trace = (responses, actions)

    def _reply(self, messages: list[Mapping[str, Any]]) -> BotReply:
        say: list[str] = []
        transfer: str | None = None
        hangup = False
        outcome: str | None = None
        for message in messages:
            if message.get("text"):
                say.append(str(message["text"]))
            payload = (message.get("custom") or {}).get(PAYLOAD_KEY) or {}
            transfer = payload.get("transfer", transfer)
            hangup = hangup or bool(payload.get("hangup"))
            outcome = payload.get("outcome", outcome)
        if say and not hangup:
            self._last_prompt = tuple(say[-1:])
        return BotReply(say=tuple(say), transfer=transfer, hangup=hangup,
                        expecting=self.requested_slot, outcome=outcome, data=dict(self.data),
                        misunderstood=FALLBACK_ACTION in self.last_trace[1])

    # falling back ------------------------------------------------------------------------
    def _fall_back(self, exc: DialogueError, text: str) -> BotReply:
        """Continue the call on the builtin engine from where Rasa was, and answer this turn."""
        log.warning("call %s: Rasa failed, builtin dialogue for the rest of the call: %s",
                    self.ctx.call_id, exc)
        conversation = self.engine.fallback.conversation(self.ctx)
        if isinstance(conversation, BuiltinConversation):
            conversation.resume(self.slots, self.active_loop, self.requested_slot, self._last_prompt)
        self.fallback = conversation
        return self._marked(conversation.respond(text))

    def _marked(self, reply: BotReply) -> BotReply:
        return BotReply(say=reply.say, transfer=reply.transfer, hangup=reply.hangup,
                        expecting=reply.expecting, outcome=reply.outcome,
                        data={**reply.data, FALLBACK_KEY: "builtin"},
                        misunderstood=reply.misunderstood)


# Actions Rasa runs on its own every turn; not what the trainer's rules ask for.
_RASA_INTERNAL_ACTIONS = frozenset({
    "action_listen", "action_session_start", "action_extract_slots", "action_deactivate_loop",
    "action_default_fallback", "action_restart", "action_back", "action_unlikely_intent",
    "action_two_stage_fallback", "action_default_ask_affirmation", "action_default_ask_rephrase"})
