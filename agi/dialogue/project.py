"""Loading and validating a Rasa 3.x project (config.yml, domain.yml, data/*.yml).

One Rasa project per language lives in ``nlu/<lang>/`` (Rasa has no per-message language
switch; the tenant's language picks the project). :func:`load_project` reads the files the
way ``rasa train`` does and checks what the builtin engine relies on: declared intents,
slots, forms, responses and actions. Mistakes raise :class:`NluProjectError` pointing at
``file:line`` (from PyYAML's node marks). Things that are valid Rasa but that the builtin
engine does not follow (stories, checkpoints, ``or`` steps, conditional responses,
``from_trigger_intent`` mappings, ...) are collected in :attr:`Project.unsupported` so the
engine can report them at load time. docs/dialogue.md lists the supported subset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agi.errors import NluProjectError

# Rasa's rule format: an ``active_loop: null`` step and ``requested_slot: null`` close a form.
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)|\[(?P<text2>[^\]]+)\](?P<json>\{[^}]*\})")
MAPPING_TYPES = frozenset({"from_entity", "from_text", "from_intent", "custom"})
DEFAULT_FALLBACK_THRESHOLD = 0.3
BUILTIN_ACTIONS = frozenset({"action_listen", "action_deactivate_loop", "action_restart",
                             "action_default_fallback", "action_session_start"})


class _Node(dict[str, Any]):
    """A YAML mapping that remembers the line it started on (1-based)."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are :class:`_Node` carrying their line number."""


def _construct_node(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    data = _Node(loader.construct_mapping(node, deep=True))
    data.line = node.start_mark.line + 1
    return data


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_node)


def _read(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise NluProjectError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise NluProjectError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def _where(path: Path, node: Any) -> str:
    return f"{path}:{getattr(node, 'line', 0)}" if getattr(node, "line", 0) else str(path)


@dataclass(frozen=True)
class Example:
    """One training sentence with its intent and annotated entities (start, end, entity)."""

    text: str
    intent: str
    entities: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class SlotMapping:
    type: str
    entity: str | None = None
    intent: tuple[str, ...] = ()
    not_intent: tuple[str, ...] = ()
    value: Any = None
    # (active_loop, requested_slot or None) pairs; the mapping applies if any matches
    conditions: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class SlotDef:
    name: str
    type: str
    mappings: tuple[SlotMapping, ...]
    initial_value: Any = None


@dataclass(frozen=True)
class Rule:
    """A rules.yml rule in the shape the builtin engine follows.

    ``intent`` triggers it after a caller turn, or ``after_form`` when that form has all
    its slots. ``actions`` run in order; a form name there activates the form.
    """

    name: str
    actions: tuple[str, ...]
    intent: str | None = None
    after_form: str | None = None
    active_loop: str | None = None  # condition: this form is active ("" = none active)
    slots: Mapping[str, Any] = field(default_factory=dict)  # condition: slot values
    line: str = ""

    @property
    def specificity(self) -> int:
        return len(self.slots) + (self.active_loop is not None)


@dataclass(frozen=True)
class Project:
    language: str
    directory: Path
    intents: tuple[str, ...]
    entities: tuple[str, ...]
    slots: Mapping[str, SlotDef]
    forms: Mapping[str, tuple[str, ...]]
    responses: Mapping[str, tuple[str, ...]]
    actions: tuple[str, ...]
    examples: tuple[Example, ...]
    rules: tuple[Rule, ...]
    regexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)
    fallback_threshold: float = DEFAULT_FALLBACK_THRESHOLD
    stories: int = 0
    unsupported: tuple[str, ...] = ()


def parse_example(line: str, intent: str) -> Example:
    """Strip ``[text](entity)`` annotations, keeping the entity spans."""
    out, spans, pos = [], [], 0
    for m in _ANNOTATION.finditer(line):
        out.append(line[pos:m.start()])
        start = sum(len(p) for p in out)
        text = m["text"] or m["text2"]
        entity = m["entity"] or _json_entity(m["json"])
        out.append(text)
        spans.append((start, start + len(text), entity.split(":")[0].strip()))
        pos = m.end()
    out.append(line[pos:])
    return Example("".join(out).strip(), intent, tuple(spans))


def _json_entity(raw: str) -> str:
    m = re.search(r'"entity"\s*:\s*"([^"]+)"', raw)
    return m.group(1) if m else ""


def _examples_block(path: Path, item: Mapping[str, Any]) -> list[str]:
    block = item.get("examples")
    if not isinstance(block, str):
        raise NluProjectError(f"{_where(path, item)}: 'examples' must be a block of '- ' lines "
                              "(write `examples: |`)")
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    bad = [ln for ln in lines if not ln.startswith("- ")]
    if bad:
        raise NluProjectError(f"{_where(path, item)}: example {bad[0]!r} must start with '- '")
    return [ln[2:].strip() for ln in lines]


def load_project(directory: str | Path) -> Project:
    """Read and validate the Rasa project in ``directory`` (one language)."""
    root = Path(directory)
    domain_path, config_path = root / "domain.yml", root / "config.yml"
    if not domain_path.is_file():
        raise NluProjectError(f"{domain_path}: missing (each nlu/<lang>/ needs a domain.yml)")
    config = _read(config_path) if config_path.is_file() else {}
    domain = _read(domain_path) or {}
    if not isinstance(domain, dict):
        raise NluProjectError(f"{domain_path}:1: the domain must be a mapping")
    unsupported: list[str] = []
    lang = str(config.get("language", root.name)) if isinstance(config, dict) else root.name
    threshold = _fallback_threshold(config_path, config, unsupported)

    intents = tuple(_names(domain.get("intents", [])))
    entities = tuple(_names(domain.get("entities", [])))
    slots = {name: _slot(domain_path, name, raw, unsupported)
             for name, raw in (domain.get("slots") or {}).items()}
    forms = _forms(domain_path, domain.get("forms") or {}, slots)
    responses = _responses(domain_path, domain.get("responses") or {}, unsupported)
    actions = tuple(domain.get("actions") or ())

    examples: list[Example] = []
    rules: list[Rule] = []
    regexes: dict[str, tuple[str, ...]] = {}
    lookups: dict[str, tuple[str, ...]] = {}
    synonyms: dict[str, str] = {}
    stories = 0
    for path in sorted((root / "data").glob("**/*.yml")):
        data = _read(path) or {}
        if not isinstance(data, dict):
            raise NluProjectError(f"{path}:1: a Rasa data file must be a mapping")
        for item in data.get("nlu") or []:
            _nlu_item(path, item, intents, examples, regexes, lookups, synonyms)
        for raw in data.get("rules") or []:
            rule = _rule(path, raw, forms, unsupported)
            if rule:
                rules.append(rule)
        stories += len(data.get("stories") or [])
    if not examples:
        raise NluProjectError(f"{root / 'data'}: no intent examples found (data/nlu.yml)")
    project = Project(lang, root, intents, entities, slots, forms, responses, actions,
                      tuple(examples), tuple(rules), regexes, lookups, synonyms, threshold,
                      stories, tuple(unsupported))
    _check_references(project)
    return project


def _names(items: list[Any]) -> list[str]:
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in items]


def _fallback_threshold(path: Path, config: Any, unsupported: list[str]) -> float:
    threshold = DEFAULT_FALLBACK_THRESHOLD
    if not isinstance(config, dict):
        return threshold
    for comp in config.get("pipeline") or []:
        if isinstance(comp, dict) and comp.get("name") == "FallbackClassifier":
            threshold = float(comp.get("threshold", threshold))
    for pol in config.get("policies") or []:
        if isinstance(pol, dict) and pol.get("name") not in ("RulePolicy", "MemoizationPolicy"):
            unsupported.append(f"{_where(path, pol)}: policy {pol.get('name')} is used by Rasa only; "
                               "the builtin engine follows rules and forms")
    return threshold


def _slot(path: Path, name: str, raw: Any, unsupported: list[str]) -> SlotDef:
    if not isinstance(raw, dict) or "type" not in raw:
        raise NluProjectError(f"{_where(path, raw)}: slot {name!r} needs a type")
    mappings = []
    for m in raw.get("mappings") or []:
        kind = m.get("type")
        if kind == "from_trigger_intent":
            unsupported.append(f"{_where(path, m)}: slot {name!r}: from_trigger_intent is not "
                               "followed by the builtin engine")
            continue
        if kind not in MAPPING_TYPES:
            raise NluProjectError(f"{_where(path, m)}: slot {name!r} has unknown mapping type "
                                  f"{kind!r} (use {', '.join(sorted(MAPPING_TYPES))})")
        if kind == "from_entity" and not m.get("entity"):
            raise NluProjectError(f"{_where(path, m)}: slot {name!r}: from_entity needs 'entity'")
        conds = tuple((c.get("active_loop"), c.get("requested_slot")) for c in m.get("conditions") or [])
        mappings.append(SlotMapping(kind, m.get("entity"), _tuple(m.get("intent")),
                                    _tuple(m.get("not_intent")), m.get("value"), conds))
    return SlotDef(name, str(raw["type"]), tuple(mappings), raw.get("initial_value"))


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (str(value),)


def _forms(path: Path, raw: Mapping[str, Any], slots: Mapping[str, SlotDef]) -> dict[str, tuple[str, ...]]:
    forms = {}
    for name, spec in raw.items():
        required = (spec or {}).get("required_slots") if isinstance(spec, dict) else None
        if not isinstance(required, list) or not required:
            raise NluProjectError(f"{_where(path, spec)}: form {name!r} needs a required_slots list")
        for slot in required:
            if slot not in slots:
                raise NluProjectError(f"{_where(path, spec)}: form {name!r} requires undeclared slot {slot!r}")
        forms[name] = tuple(required)
    return forms


def _responses(path: Path, raw: Mapping[str, Any], unsupported: list[str]) -> dict[str, tuple[str, ...]]:
    out = {}
    for name, variations in raw.items():
        texts = []
        for v in variations or []:
            if not isinstance(v, dict) or "text" not in v:
                raise NluProjectError(f"{_where(path, v)}: response {name!r}: each variation needs 'text'")
            extra = set(v) - {"text"}
            if extra:
                unsupported.append(f"{_where(path, v)}: response {name!r}: {', '.join(sorted(extra))} "
                                   "ignored by the builtin engine (text only)")
            texts.append(str(v["text"]))
        out[name] = tuple(texts)
    return out


def _nlu_item(path: Path, item: Any, intents: tuple[str, ...], examples: list[Example],
              regexes: dict[str, tuple[str, ...]], lookups: dict[str, tuple[str, ...]],
              synonyms: dict[str, str]) -> None:
    if not isinstance(item, dict):
        raise NluProjectError(f"{path}: each nlu item must be a mapping (intent/regex/lookup/synonym)")
    if "intent" in item:
        intent = str(item["intent"])
        if intent not in intents:
            raise NluProjectError(f"{_where(path, item)}: intent {intent!r} is not declared in domain.yml")
        examples.extend(parse_example(line, intent) for line in _examples_block(path, item))
    elif "regex" in item:
        regexes[str(item["regex"])] = tuple(_examples_block(path, item))
    elif "lookup" in item:
        lookups[str(item["lookup"])] = tuple(_examples_block(path, item))
    elif "synonym" in item:
        for line in _examples_block(path, item):
            synonyms[line.lower()] = str(item["synonym"])
    else:
        raise NluProjectError(f"{_where(path, item)}: nlu item needs intent, regex, lookup or synonym")


def _rule(path: Path, raw: Any, forms: Mapping[str, Any], unsupported: list[str]) -> Rule | None:
    where = _where(path, raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise NluProjectError(f"{where}: a rule needs 'rule' and a 'steps' list")
    name = str(raw.get("rule", "?"))
    if raw.get("conversation_start") or raw.get("wait_for_user_input") is False:
        unsupported.append(f"{where}: rule {name!r}: conversation_start / wait_for_user_input "
                           "not followed by the builtin engine; rule skipped")
        return None
    active_loop: str | None = None
    slots: dict[str, Any] = {}
    for cond in raw.get("condition") or []:
        if "active_loop" in cond:
            active_loop = cond["active_loop"] or ""
        elif "slot_was_set" in cond:
            for s in cond["slot_was_set"]:
                slots.update(s if isinstance(s, dict) else {s: True})
        else:
            raise NluProjectError(f"{_where(path, cond)}: rule {name!r}: unknown condition {sorted(cond)}")
    steps = raw["steps"]
    intent = after_form = None
    actions: list[str] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise NluProjectError(f"{where}: rule {name!r}: step {step!r} must be a mapping")
        if "intent" in step and i == 0:
            intent = str(step["intent"])
        elif "action" in step:
            if i == 0 and step["action"] in forms:
                after_form = step["action"]
            else:
                actions.append(str(step["action"]))
        elif "active_loop" in step or "slot_was_set" in step:
            continue  # the engine sets these itself when it runs the actions
        else:
            unsupported.append(f"{_where(path, step)}: rule {name!r}: step {sorted(step)} not followed "
                               "by the builtin engine (or/checkpoint/user/intent mid-rule); rule skipped")
            return None
    if intent is None and after_form is None:
        unsupported.append(f"{where}: rule {name!r} starts with neither an intent nor a form; skipped")
        return None
    return Rule(name, tuple(actions), intent, after_form, active_loop, slots, where)


def _check_references(p: Project) -> None:
    known = set(p.actions) | set(p.forms) | set(p.responses) | BUILTIN_ACTIONS
    for rule in p.rules:
        if rule.intent and rule.intent not in p.intents:
            raise NluProjectError(f"{rule.line}: rule {rule.name!r}: intent {rule.intent!r} not in domain.yml")
        for action in rule.actions:
            if action not in known:
                kind = "response" if action.startswith("utter_") else "action"
                raise NluProjectError(f"{rule.line}: rule {rule.name!r}: {kind} {action!r} not declared in domain.yml")
        for slot in rule.slots:
            if slot not in p.slots and slot != "requested_slot":
                raise NluProjectError(f"{rule.line}: rule {rule.name!r}: condition on undeclared slot {slot!r}")
    for ex in p.examples:
        for _, _, entity in ex.entities:
            if entity not in p.entities:
                raise NluProjectError(f"{p.directory / 'data'}: example {ex.text!r} annotates entity "
                                      f"{entity!r} not declared in domain.yml")
    for form, required in p.forms.items():
        for slot in required:
            if f"utter_ask_{slot}" not in p.responses and f"utter_ask_{form}_{slot}" not in p.responses:
                raise NluProjectError(f"{p.directory / 'domain.yml'}: form {form!r} asks slot {slot!r} "
                                      f"but no response utter_ask_{slot} exists")
