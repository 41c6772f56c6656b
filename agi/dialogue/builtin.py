"""The builtin dialogue engine: the deterministic part of a Rasa 3 project, in-process.

At start-up it loads ``nlu/<lang>/`` for each language (:mod:`agi.dialogue.project`),
trains one intent classifier per language from data/nlu.yml
(:mod:`agi.dialogue.intents`: scikit-learn, TF-IDF on character n-grams and words into a
logistic regression), and then runs, per caller turn:

1. intent: the classifier's best intent, or ``nlu_fallback`` under the FallbackClassifier
   threshold of config.yml;
2. entities: dates, times and phones from :mod:`agi.dialogue.normalize` (values normalised
   to ``YYYY-MM-DD`` / ``HH:MM`` / E.164), person names after the lead-in words the
   training data annotates ("je m'appelle [..](name)"), plus nlu.yml regex and lookup
   entities;
3. slot mappings of domain.yml (from_entity, from_text, from_intent, with their
   active_loop / requested_slot conditions);
4. the active form (its ``validate_<form>`` action, then ``utter_ask_<slot>`` for the first
   empty required slot) unless a rule conditioned on that form handles the intent;
5. otherwise the most specific matching rule of rules.yml; its actions run in order:
   ``utter_*`` responses, forms, ``action_deactivate_loop`` and the custom actions of
   :mod:`agi.dialogue.actions`.

Stories, TED-only behaviour and other parts it cannot follow are logged at load time.
"""

from __future__ import annotations

import copy
import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agi.config import LANGUAGES
from agi.dialogue.actions import (
    ACTIONS,
    Entity,
    Event,
    FollowupAction,
    Hangup,
    Outcome,
    SlotSet,
    Tracker,
    Transfer,
    Utter,
)
from agi.dialogue.base import (
    FALLBACK_ACTION,
    GREET_INTENT,
    BotReply,
    CallContext,
    Conversation,
    DialogueEngine,
    open_request,
)
from agi.dialogue.dry_run import dry_run_context
from agi.dialogue.entities import extract_entities
from agi.dialogue.intents import Greetings, IntentClassifier
from agi.dialogue.phrases import DIDNT_HEAR, STILL_THERE, phrase
from agi.dialogue.project import Project, Rule, load_project
from agi.errors import DialogueError

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
# A bounded chain of actions per turn: a rules.yml loop (action A follows up B follows up A)
# must end with an error, not hang the call.
MAX_ACTIONS_PER_TURN = 12
# Silences in a row before the agent gives up and says goodbye.
MAX_NO_INPUT = 3
# Failed answers to the same form question before the form hands over to the fallback.
MAX_FORM_RETRIES = 2
# Slots that are bookkeeping, not what the caller told us.
INTERNAL_SLOTS = frozenset({"pending", "offered", "offered_spoken", "date_spoken", "time_spoken", "services_spoken",
                            "misunderstood", "requested_slot"})


@dataclass(frozen=True)
class Parse:
    text: str
    intent: str
    confidence: float
    entities: tuple[Entity, ...]


class NluModel:
    """One language's intent classifier and entity extractor, trained from the project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.lang = project.language
        labels = [e.intent for e in project.examples]
        if len(set(labels)) < 2:
            raise DialogueError(f"{project.directory}: at least two intents with examples are needed")
        self.intents = IntentClassifier([e.text for e in project.examples], labels)
        self._greetings = Greetings([e.text for e in project.examples if e.intent == GREET_INTENT])
        # dateparser loads its language data on first use (~1 s): pay it at start-up, not
        # during the first caller's turn.
        self.parse(_WARM_UP.get(self.lang, ""), now=datetime.now(UTC))

    def parse(self, text: str, *, now: Any, requested_slot: str | None = None) -> Parse:
        intent, confidence = self.intents.predict(text)
        rest = self._greetings.after(text)  # None: no greeting opens it, the classifier's reading stands
        if rest is not None and self._greetings.only(rest):  # "bonsoir monsieur"
            if intent != GREET_INTENT:
                intent, confidence = GREET_INTENT, 1.0
        elif rest is not None:
            # "allô bonjour madame je cherche un rendez-vous": a greeting asks for nothing, so
            # the request is what follows it, when the classifier is sure of it
            request, sure = self.intents.predict(rest)
            if request != GREET_INTENT and sure >= self.project.fallback_threshold:
                intent, confidence = request, sure
        if confidence < self.project.fallback_threshold:
            intent = FALLBACK_INTENT
        return Parse(text, intent, confidence, tuple(self.entities(text, now, requested_slot)))

    def entities(self, text: str, now: Any, requested_slot: str | None) -> list[Entity]:
        return extract_entities(self.project, text, now, requested_slot)


_WARM_UP = {"fr": "demain à dix heures", "en": "tomorrow at ten am"}


class BuiltinEngine(DialogueEngine):
    """Loads nlu/<lang>/ for every language and trains the classifiers once, at start-up."""

    def __init__(self, project_dir: str | Path, languages: tuple[str, ...] = LANGUAGES) -> None:
        self.models: dict[str, NluModel] = {}
        for lang in languages:
            project = load_project(Path(project_dir) / lang)
            for note in project.unsupported:
                log.warning("nlu %s: %s", lang, note)
            if project.stories:
                log.info("nlu %s: %d stories ignored: the builtin engine follows rules and forms only",
                         lang, project.stories)
            missing = [a for a in project.actions if a not in ACTIONS]
            if missing:
                raise DialogueError(f"{project.directory / 'domain.yml'}: actions {', '.join(missing)} "
                                    "have no implementation in agi/dialogue/actions.py")
            self.models[lang] = NluModel(project)
            log.info("nlu %s: %d examples, %d intents, %d rules, fallback below %.2f", lang,
                     len(project.examples), len(project.intents), len(project.rules),
                     project.fallback_threshold)

    def conversation(self, ctx: CallContext) -> BuiltinConversation:
        model = self.models.get(ctx.tenant.language)
        if model is None:
            raise DialogueError(f"no nlu project loaded for language {ctx.tenant.language!r}")
        return BuiltinConversation(model, ctx)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class BuiltinConversation(Conversation):
    """One call's dialogue state: slots, active form, and what was last asked."""

    def __init__(self, model: NluModel, ctx: CallContext) -> None:
        self.model, self.ctx, self.project = model, ctx, model.project
        self.slots: dict[str, Any] = {n: s.initial_value for n, s in self.project.slots.items()}
        self.active_loop: str | None = None
        self.requested_slot: str | None = None
        self.last_parse: Parse | None = None
        self._last_prompt: tuple[str, ...] = ()
        self._no_input = 0
        self._form_retries = 0
        self._uses: dict[str, int] = {}
        self._turn: _Turn = _Turn()
        self._live_ctx: CallContext | None = None  # set on a fork: the context to commit to

    @property
    def data(self) -> Mapping[str, Any]:
        return {k: v for k, v in self.slots.items() if v not in (None, "", []) and k not in INTERNAL_SLOTS}

    @property
    def last_trace(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The last turn's response names and custom actions, in order (the parity suite)."""
        return tuple(self._turn.responses), tuple(self._turn.actions)

    def resume(self, slots: Mapping[str, Any], active_loop: str | None,
               requested_slot: str | None, last_prompt: tuple[str, ...] = ()) -> None:
        """Continue a conversation another backend started (Rasa fell over mid-call)."""
        self.slots.update({k: v for k, v in slots.items() if k in self.project.slots})
        self.active_loop = active_loop if active_loop in self.project.forms else None
        self.requested_slot = requested_slot if self.active_loop else None
        self._last_prompt = last_prompt

    def fork(self) -> BuiltinConversation:
        twin = copy.copy(self)  # shares the trained model and the project, both read-only
        twin.slots = copy.deepcopy(self.slots)
        twin._uses = dict(self._uses)
        twin._turn = _Turn()
        twin.ctx, twin._live_ctx = dry_run_context(self.ctx), self.ctx
        return twin

    def commit(self) -> None:
        if self._live_ctx is not None:
            self.ctx, self._live_ctx = self._live_ctx, None

    # turns -------------------------------------------------------------------------------
    def respond(self, text: str) -> BotReply:
        if not text.strip():
            return self.no_input()
        self._no_input = 0
        self._turn = _Turn()
        now = self.ctx.now().astimezone(self.ctx.tenant.tz)
        parse = self.model.parse(text, now=now, requested_slot=self.requested_slot)
        self.last_parse = parse
        self._turn.intent = parse.intent
        if parse.intent not in (FALLBACK_INTENT, "out_of_scope"):
            self.slots["misunderstood"] = 0
        if self.active_loop:
            rule = self._rule(parse.intent, in_form=True)
            if rule:
                self._run(list(rule.actions), parse)
            else:
                self._map_slots(parse)
                self._continue_form(parse)
        else:
            self._map_slots(parse)
            rule = self._rule(parse.intent, in_form=False)
            self._run(list(rule.actions) if rule else ["action_fallback"], parse)
        return self._reply()

    def no_input(self) -> BotReply:
        self._no_input += 1
        self._turn = _Turn()
        lang = self.ctx.tenant.language
        if self._no_input >= MAX_NO_INPUT:
            self._turn.say.append(phrase(STILL_THERE, lang))
            self._turn.hangup = True
        else:
            self._turn.say += [phrase(DIDNT_HEAR, lang), *self._last_prompt]
        return self._reply()

    def _reply(self) -> BotReply:
        t = self._turn
        if t.say and not t.hangup:
            self._last_prompt = tuple(t.say[-1:])
        return BotReply(say=tuple(t.say), transfer=t.transfer, hangup=t.hangup,
                        expecting=self.requested_slot if self.active_loop else None,
                        outcome=t.outcome, data=dict(self.data),
                        misunderstood=FALLBACK_ACTION in t.actions,
                        request=open_request(self.active_loop, self.slots), intent=t.intent)

    # rules, forms, slots --------------------------------------------------------------
    def _rule(self, intent: str, *, in_form: bool) -> Rule | None:
        best: Rule | None = None
        for rule in self.project.rules:
            if rule.intent != intent:
                continue
            if in_form and rule.active_loop != self.active_loop:
                continue
            if rule.active_loop is not None and rule.active_loop != (self.active_loop or ""):
                continue
            if any(self.slots.get(k) != v for k, v in rule.slots.items()):
                continue
            if best is None or rule.specificity > best.specificity:
                best = rule
        return best

    def _map_slots(self, parse: Parse) -> None:
        for name, slot in self.project.slots.items():
            for mapping in slot.mappings:
                if mapping.conditions and not any(
                        loop == self.active_loop and (req is None or req == self.requested_slot)
                        for loop, req in mapping.conditions):
                    continue
                # intent / not_intent restrict every mapping type, as in Rasa
                if (mapping.intent and parse.intent not in mapping.intent) or \
                        parse.intent in mapping.not_intent:
                    continue
                value: Any = None
                if mapping.type == "from_entity":
                    value = next((e.value for e in parse.entities if e.entity == mapping.entity), None)
                elif mapping.type == "from_text":
                    value = parse.text.strip() or None
                elif mapping.type == "from_intent":
                    value = mapping.value
                if value is not None:
                    self.slots[name] = value
                    break

    def _continue_form(self, parse: Parse | None) -> None:
        form = self.active_loop
        assert form is not None
        asked = self.requested_slot
        before = len(self._turn.say)
        if f"validate_{form}" in ACTIONS:
            self._apply(ACTIONS[f"validate_{form}"](self._tracker(parse)), parse)
        validated_said = len(self._turn.say) > before
        for slot in self.project.forms[form]:
            if self.slots.get(slot) in (None, ""):
                if slot == asked and parse is not None:
                    self._form_retries += 1
                    if self._form_retries > MAX_FORM_RETRIES:
                        self.active_loop = self.requested_slot = None
                        self._form_retries = 0
                        self.slots["misunderstood"] = 1
                        self._run(["action_fallback"], parse)
                        return
                else:
                    self._form_retries = 0
                self.requested_slot = slot
                if not validated_said:
                    self._utter(f"utter_ask_{form}_{slot}" if f"utter_ask_{form}_{slot}" in self.project.responses
                                else f"utter_ask_{slot}")
                return
        self.active_loop = self.requested_slot = None
        self._form_retries = 0
        submit = [r for r in self.project.rules if r.after_form == form
                  and all(self.slots.get(k) == v for k, v in r.slots.items())]
        if submit:
            self._run(list(submit[0].actions), parse)

    # actions -------------------------------------------------------------------------
    def _run(self, queue: list[str], parse: Parse | None) -> None:
        while queue:
            self._turn.steps += 1
            if self._turn.steps > MAX_ACTIONS_PER_TURN:
                raise DialogueError(f"more than {MAX_ACTIONS_PER_TURN} actions in one turn: "
                                    f"check rules.yml and actions for a loop (at {queue[0]})")
            name = queue.pop(0)
            if name in self.project.forms:
                self.active_loop, self.requested_slot = name, None
                self._form_retries = 0
                self._continue_form(None)
                if self.active_loop:  # the form asked something: wait for the caller
                    return
            elif name == "action_deactivate_loop":
                self.active_loop = self.requested_slot = None
            elif name.startswith("utter_"):
                self._utter(name)
            elif name in ACTIONS:
                self._turn.actions.append(name)
                followup = self._apply(ACTIONS[name](self._tracker(parse)), parse)
                if followup:
                    queue.insert(0, followup)
            else:
                raise DialogueError(f"action {name!r} has no implementation")

    def _apply(self, events: list[Event], parse: Parse | None) -> str | None:
        followup = None
        for ev in events:
            if isinstance(ev, SlotSet):
                self.slots[ev.name] = ev.value
            elif isinstance(ev, Utter):
                self._utter(ev.response, ev.params)
            elif isinstance(ev, FollowupAction):
                followup = ev.name
            elif isinstance(ev, Outcome):
                self._turn.outcome = ev.value
            elif isinstance(ev, Transfer):
                self._turn.transfer = ev.target
            elif isinstance(ev, Hangup):
                self._turn.hangup = True
        return followup

    def _tracker(self, parse: Parse | None) -> Tracker:
        return Tracker(self.ctx, self.slots, parse.intent if parse else None,
                       parse.entities if parse else (), parse.text if parse else "",
                       self.active_loop, self.requested_slot)

    def _utter(self, response: str, params: Mapping[str, Any] | None = None) -> None:
        variations = self.project.responses.get(response)
        if not variations:
            raise DialogueError(f"{self.project.directory / 'domain.yml'}: no response {response!r}")
        used = self._uses.get(response, 0)
        self._uses[response] = used + 1
        self._turn.responses.append(response)
        template = variations[used % len(variations)]  # rotate through variations
        values = _Blank({k: ("" if v is None else v) for k, v in self.slots.items()})
        values.update(params or {})
        self._turn.say.append(string.Formatter().vformat(template, (), values))


class _Turn:
    """What one caller turn produced so far."""

    def __init__(self) -> None:
        self.say: list[str] = []
        self.transfer: str | None = None
        self.hangup = False
        self.outcome: str | None = None
        self.steps = 0
        self.responses: list[str] = []
        self.actions: list[str] = []
        self.intent: str | None = None  # what the NLU took the caller's words for
