"""Cross-validated scores of the builtin NLU, and the report ``permanence nlu test`` writes.

Intents: stratified k-fold cross-validation of exactly the classifier the engine trains
(:func:`agi.dialogue.intents.build_pipeline`, texts through ``intent_text``) with
scikit-learn's ``cross_val_predict``; every example is predicted once, by a model that
did not see it. ``classification_report`` gives per-intent precision/recall/F1 and the
macro and weighted averages, ``confusion_matrix`` the PNG.

Entities: on the same folds, an :class:`~agi.dialogue.builtin.NluModel` trained on the
other folds (its name lead-ins are learned from training data too) extracts entities
from each held-out sentence, with no dialogue context (no form asking a slot). They are
counted **by normalised value**, not by character span — the builtin extractor returns
values ("2026-12-01", "15:30", "+33612345678", "Jean Dupont"), not spans: each annotated
span is normalised alone with the same normaliser (date, time, phone, name) or lowercased
and mapped through the synonyms (lookup/regex entities such as ``service``); a gold span
the normaliser cannot read keeps its raw text and can only be missed. Relative dates are
resolved against a fixed "now" (:data:`EVAL_NOW`) so reports are reproducible.

Held-out phrasings (``nlu/tests/heldout_<lang>.yml``, Rasa's NLU format, outside
``nlu/<lang>/data`` so no engine ever trains on them): :func:`evaluate_heldout` trains the
engine's model on all of the project's data and scores the intent it would act on, the
FallbackClassifier threshold included (``nlu_fallback`` counts as a miss). Cross-validation
says how consistent the training data is; the held-out score says how the engine copes with
phrasings nobody wrote for it, which is what a caller brings.

Rasa's own cross-validation results (``rasa test nlu --cross-validation`` writes
``intent_report.json`` and ``DIETClassifier_report.json``) are read by
:func:`read_rasa_results` and shown side by side in report.md.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from agi.dialogue import normalize
from agi.dialogue.builtin import NluModel
from agi.dialogue.intents import build_pipeline, intent_text
from agi.dialogue.project import Example, Project, parse_example
from agi.errors import DialogueError

DEFAULT_FOLDS = 5
# Fixed shuffling of the folds: the same data gives the same report.
SEED = 0
# "Now" for relative dates in entity scoring: a Thursday morning, as in tests/dialogue.
EVAL_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ENTITY_MATCHING = "normalised value"
# Pairs listed under "most confused" in report.md.
TOP_CONFUSIONS = 8


@dataclass(frozen=True)
class EntityScore:
    """Counts and scores for one entity type (micro over all held-out sentences)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1-score": round(self.f1, 4), "support": self.tp + self.fn,
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(frozen=True)
class LanguageEvaluation:
    """One language's cross-validated results."""

    language: str
    folds: int
    examples: int
    labels: tuple[str, ...]
    intent_report: Mapping[str, Any]          # sklearn classification_report, output_dict
    confusion: tuple[tuple[int, ...], ...]    # rows: true label, columns: predicted
    entities: Mapping[str, EntityScore]
    errors: tuple[tuple[str, str, str], ...] = ()  # (text, true, predicted)
    rasa: Mapping[str, Any] | None = field(default=None)
    heldout: HeldoutEvaluation | None = None


@dataclass(frozen=True)
class HeldoutEvaluation:
    """The engine's intents on a held-out file, with Rasa's on the same file when run."""

    path: str
    examples: int
    labels: tuple[str, ...]
    intent_report: Mapping[str, Any]          # sklearn classification_report, output_dict
    errors: tuple[tuple[str, str, str], ...]  # (text, true, predicted)
    rasa: Mapping[str, Any] | None = None     # read_rasa_results of `rasa test nlu`


def evaluate_project(project: Project, folds: int = DEFAULT_FOLDS, *,
                     entities: bool = True) -> LanguageEvaluation:
    """Cross-validate the builtin intent classifier (and entity extractor) on ``project``."""
    examples = list(project.examples)
    labels = [e.intent for e in examples]
    smallest = min(Counter(labels).values())
    if folds < 2 or smallest < folds:
        raise DialogueError(f"{project.directory}: {folds}-fold cross-validation needs at least "
                            f"{max(folds, 2)} examples per intent (the smallest intent has {smallest})")
    texts = [intent_text(e.text) for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    predicted = [str(p) for p in cross_val_predict(build_pipeline(), texts, labels, cv=splitter)]
    classes = tuple(sorted(set(labels)))
    report = classification_report(labels, predicted, labels=list(classes), output_dict=True,
                                   zero_division=0)
    matrix = confusion_matrix(labels, predicted, labels=list(classes))
    counts: dict[str, list[int]] = {}
    for train_idx, test_idx in splitter.split(texts, labels) if entities else ():
        fold_model = NluModel(replace(project, examples=tuple(examples[i] for i in train_idx)))
        for i in test_idx:
            _count_entities(fold_model, examples[i], counts)
    errors = tuple((e.text, e.intent, p) for e, p in zip(examples, predicted, strict=True) if e.intent != p)
    return LanguageEvaluation(
        project.language, folds, len(examples), classes, report,
        tuple(tuple(int(v) for v in row) for row in matrix),
        {k: EntityScore(*v) for k, v in sorted(counts.items())}, errors)


def load_heldout(path: Path, project: Project) -> tuple[Example, ...]:
    """The examples of a held-out file (Rasa NLU format); errors name the file.

    A held-out sentence that is also a training example is an error: the score would
    then measure memory, not understanding.
    """
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DialogueError(f"{path}: cannot read the held-out file: {exc}") from exc
    examples = []
    for item in data.get("nlu") or ():
        intent, block = (item.get("intent"), item.get("examples")) if isinstance(item, dict) else (None, None)
        if intent is None:
            continue
        if intent not in project.intents or not isinstance(block, str):
            raise DialogueError(f"{path}: intent {intent!r} is not in {project.directory / 'domain.yml'} "
                                "or has no `examples: |` block")
        examples += [parse_example(ln.strip()[2:].strip(), str(intent))
                     for ln in block.splitlines() if ln.strip().startswith("- ")]
    if not examples:
        raise DialogueError(f"{path}: no intent examples")
    trained = {_key(e.text) for e in project.examples}
    seen = [e.text for e in examples if _key(e.text) in trained]
    if seen:
        raise DialogueError(f"{path}: {len(seen)} held-out sentence(s) are training examples of "
                            f"{project.directory / 'data'} (first: {seen[0]!r}): remove them from one side")
    return tuple(examples)


def evaluate_heldout(project: Project, path: Path, model: NluModel | None = None) -> HeldoutEvaluation:
    """The intent the engine would act on for every held-out sentence, scored."""
    examples = load_heldout(path, project)
    model = model or NluModel(project)
    truth = [e.intent for e in examples]
    predicted = [model.parse(e.text, now=EVAL_NOW).intent for e in examples]
    labels = tuple(sorted(set(truth)))
    report = classification_report(truth, predicted, labels=list(labels), output_dict=True, zero_division=0)
    # accuracy over every sentence (classification_report drops it when nlu_fallback appears)
    report["accuracy"] = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(examples)
    errors = tuple((e.text, t, p) for e, t, p in zip(examples, truth, predicted, strict=True) if t != p)
    return HeldoutEvaluation(str(path), len(examples), labels, report, errors)


def gold_value(entity: str, span: str, project: Project) -> str:
    """The value an annotated span stands for, normalised as the extractor normalises it."""
    lang = project.language
    value: str | None = None
    if entity == "date":
        d = normalize.parse_date(span, lang, EVAL_NOW)
        value = d.isoformat() if d else None
    elif entity == "time":
        t = normalize.parse_time(span, lang, bare=True)
        value = t.strftime("%H:%M") if t else None
    elif entity == "phone":
        value = normalize.parse_phone(span, lang)
    elif entity == "name":
        value = normalize.clean_name(span, lang) or None
    if value is None:
        value = project.synonyms.get(span.lower(), span)
    return _key(value)


def _key(value: Any) -> str:
    return " ".join(str(value).lower().split())


def _count_entities(model: NluModel, example: Example, counts: dict[str, list[int]]) -> None:
    gold = Counter((ent, gold_value(ent, example.text[s:e], model.project))
                   for s, e, ent in example.entities)
    found = Counter((e.entity, _key(e.value)) for e in model.entities(example.text, EVAL_NOW, None))
    for (entity, _), n in (gold & found).items():
        counts.setdefault(entity, [0, 0, 0])[0] += n
    for (entity, _), n in (found - gold).items():
        counts.setdefault(entity, [0, 0, 0])[1] += n
    for (entity, _), n in (gold - found).items():
        counts.setdefault(entity, [0, 0, 0])[2] += n


# ------------------------------------------------------------------------------- Rasa

def read_rasa_results(directory: Path) -> dict[str, Any]:
    """Rasa's cross-validation reports in ``directory``: intents and DIET entity scores.

    ``rasa test nlu --cross-validation --out DIR`` writes ``intent_report.json`` (the
    sklearn dict over all held-out predictions, plus ``confused_with``) and
    ``DIETClassifier_report.json`` for entities.
    """
    intents = directory / "intent_report.json"
    if not intents.is_file():
        raise DialogueError(f"{directory}: no intent_report.json (did `rasa test nlu` run?)")
    result: dict[str, Any] = {"intents": json.loads(intents.read_text("utf-8"))}
    entities = directory / "DIETClassifier_report.json"
    if entities.is_file():
        result["entities"] = json.loads(entities.read_text("utf-8"))
    return result


# ----------------------------------------------------------------------------- report

def evaluation_dict(ev: LanguageEvaluation, png: str) -> dict[str, Any]:
    """The JSON form of one language's results (the ``languages.<lang>`` of report.json)."""
    return {
        "folds": ev.folds, "examples": ev.examples, "labels": list(ev.labels),
        "intents": {k: v for k, v in ev.intent_report.items() if k in ev.labels},
        "accuracy": ev.intent_report.get("accuracy"),
        "macro avg": ev.intent_report["macro avg"],
        "weighted avg": ev.intent_report["weighted avg"],
        "confusion_matrix": [list(row) for row in ev.confusion],
        "entities": {k: s.as_dict() for k, s in ev.entities.items()},
        "entity_matching": ENTITY_MATCHING,
        "errors": [{"text": t, "intent": i, "predicted": p} for t, i, p in ev.errors],
        "confusion_png": png,
        "rasa": dict(ev.rasa) if ev.rasa is not None else None,
        "heldout": heldout_dict(ev.heldout) if ev.heldout is not None else None,
    }


def heldout_dict(h: HeldoutEvaluation) -> dict[str, Any]:
    """The JSON form of a held-out score (``languages.<lang>.heldout`` of report.json)."""
    return {
        "file": h.path, "examples": h.examples, "labels": list(h.labels),
        "accuracy": h.intent_report["accuracy"],
        "intents": {k: v for k, v in h.intent_report.items() if k in h.labels},
        "macro avg": h.intent_report["macro avg"],
        "errors": [{"text": t, "intent": i, "predicted": p} for t, i, p in h.errors],
        "rasa": dict(h.rasa) if h.rasa is not None else None,
    }


def write_confusion_png(ev: LanguageEvaluation, path: Path) -> None:
    """The confusion matrix as a PNG (matplotlib's Agg canvas; no display, no pyplot state)."""
    from matplotlib.figure import Figure

    n = len(ev.labels)
    fig = Figure(figsize=(2.0 + 0.6 * n, 1.5 + 0.55 * n), dpi=100, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(ev.confusion, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), ev.labels, rotation=45, ha="right")
    ax.set_yticks(range(n), ev.labels)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(f"builtin NLU, {ev.language}: {ev.folds}-fold cross-validation")
    peak = max((max(row) for row in ev.confusion), default=0)
    for i, row in enumerate(ev.confusion):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                        color="white" if value > peak / 2 else "black")
    fig.savefig(path, format="png")


def write_report(evaluations: Sequence[LanguageEvaluation], out: Path, *,
                 rasa_note: str) -> dict[str, Any]:
    """Write report.json, report.md and confusion-<lang>.png into ``out``; return the JSON."""
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "builtin", "seed": SEED, "entity_matching": ENTITY_MATCHING,
        "eval_now": EVAL_NOW.isoformat(), "rasa": rasa_note, "languages": {},
    }
    for ev in evaluations:
        png = f"confusion-{ev.language}.png"
        write_confusion_png(ev, out / png)
        data["languages"][ev.language] = evaluation_dict(ev, png)
    (out / "report.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(data), "utf-8")
    return data


def _f(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "–"


def markdown(data: Mapping[str, Any]) -> str:
    """report.md: per language, intents (builtin beside Rasa), entities, confusions."""
    lines = ["# NLU evaluation", "",
             f"Generated {data['generated']}. Builtin backend: stratified cross-validation "
             f"(seed {data['seed']}); entities counted by {data['entity_matching']} "
             f"(relative dates against {data['eval_now']}). Rasa: {data['rasa']}.", "",
             *summary_table(data["languages"])]
    for lang, ev in data["languages"].items():
        rasa = (ev.get("rasa") or {}).get("intents") or {}
        lines += [f"## {lang}: {ev['examples']} examples, {ev['folds']} folds", "",
                  "| intent | precision | recall | F1 | support | Rasa P | Rasa R | Rasa F1 |",
                  "|---|---|---|---|---|---|---|---|"]
        rows = [*ev["intents"].items(), ("macro avg", ev["macro avg"]), ("weighted avg", ev["weighted avg"])]
        for name, s in rows:
            r = rasa.get(name) or {}
            lines.append(f"| {name} | {_f(s['precision'])} | {_f(s['recall'])} | {_f(s['f1-score'])} "
                         f"| {int(s['support'])} | {_f(r.get('precision'))} | {_f(r.get('recall'))} "
                         f"| {_f(r.get('f1-score'))} |")
        lines += ["", f"Accuracy: builtin {_f(ev['accuracy'])}, Rasa {_f(rasa.get('accuracy'))}.", "",
                  "| entity | precision | recall | F1 | support | Rasa DIET F1 (token spans) |",
                  "|---|---|---|---|---|---|"]
        rasa_ent = (ev.get("rasa") or {}).get("entities") or {}
        for name, s in ev["entities"].items():
            lines.append(f"| {name} | {_f(s['precision'])} | {_f(s['recall'])} | {_f(s['f1-score'])} "
                         f"| {s['support']} | {_f((rasa_ent.get(name) or {}).get('f1-score'))} |")
        lines += ["", f"![confusion matrix, {lang}]({ev['confusion_png']})", ""]
        if ev.get("heldout"):
            lines += _heldout_lines(ev["heldout"])
        pairs = Counter((e["intent"], e["predicted"]) for e in ev["errors"]).most_common(TOP_CONFUSIONS)
        if pairs:
            lines += ["Most confused (true → predicted, count), with one example each:", ""]
            for (true, pred), n in pairs:
                text = next(e["text"] for e in ev["errors"] if (e["intent"], e["predicted"]) == (true, pred))
                lines.append(f"- {true} → {pred}: {n} (\"{text}\")")
            lines.append("")
    return "\n".join(lines)


def _rasa_accuracy(section: Mapping[str, Any] | None) -> Any:
    return ((section or {}).get("rasa") or {}).get("intents", {}).get("accuracy")


def summary_table(languages: Mapping[str, Any]) -> list[str]:
    """Intent accuracy per language: cross-validated and held-out, builtin beside Rasa (the
    table report.md opens with and ``permanence nlu test`` prints last)."""
    lines = ["| language | builtin cross-validated | builtin held-out | Rasa cross-validated "
             "| Rasa held-out | held-out phrasings |", "|---|---|---|---|---|---|"]
    for lang, ev in languages.items():
        held = ev.get("heldout") or {}
        lines.append(f"| {lang} | {_f(ev['accuracy'])} | {_f(held.get('accuracy'))} | "
                     f"{_f(_rasa_accuracy(ev))} | {_f(_rasa_accuracy(held))} | {held.get('examples', '–')} |")
    return [*lines, ""]


def _heldout_lines(held: Mapping[str, Any]) -> list[str]:
    """report.md's held-out section: recall per intent (builtin, Rasa) and every miss."""
    rasa = (held.get("rasa") or {}).get("intents") or {}
    lines = [f"### Held-out: {held['examples']} phrasings never trained on ({held['file']})", "",
             "| intent | builtin recall | builtin F1 | support | Rasa recall | Rasa F1 |",
             "|---|---|---|---|---|---|"]
    for name, s in [*held["intents"].items(), ("macro avg", held["macro avg"])]:
        r = rasa.get(name) or {}
        lines.append(f"| {name} | {_f(s['recall'])} | {_f(s['f1-score'])} | {int(s['support'])} "
                     f"| {_f(r.get('recall'))} | {_f(r.get('f1-score'))} |")
    lines += ["", f"Held-out accuracy: builtin {_f(held['accuracy'])}, Rasa {_f(rasa.get('accuracy'))}.", ""]
    if held["errors"]:
        lines += ["Builtin misses (said → understood):", ""]
        lines += [f"- \"{e['text']}\": {e['intent']} → {e['predicted']}" for e in held["errors"]]
        lines.append("")
    return lines
