"""``permanence nlu validate | train | test``: the trainer's tools for the projects in nlu/.

- ``validate`` loads each language with :func:`agi.dialogue.project.load_project` (its
  errors already name ``file:line``) and adds the data checks Rasa users expect from
  ``rasa data validate``: too few examples for an intent, the same sentence under two
  intents (``rasa train`` refuses those), annotations with a broken ``[text](entity)``
  syntax or an entity missing from domain.yml — each with the file and line of the example.
- ``train`` trains the builtin engine exactly as ``permanence serve`` does at start-up
  (reporting time and intents) and, when Rasa's venv exists (deploy/rasa, ``make rasa``),
  runs ``rasa_env.py train`` for each language, which skips an unchanged project.
- ``test`` cross-validates the builtin NLU (:mod:`agi.dialogue.evaluation`) and scores it on
  the held-out phrasings of ``nlu/tests/heldout_<lang>.yml`` (never trained on); with Rasa
  installed, it runs ``rasa test nlu --cross-validation`` on the same data and ``rasa test
  nlu`` with the trained model on the same held-out file, for side-by-side numbers; writes
  report.json, report.md and confusion-<lang>.png.

The lead wires :func:`add_nlu_parser` and :func:`cmd_nlu` into agi/cli.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from agi.config import LANGUAGES, Settings
from agi.dialogue.dates_report import add_dates_parser, cmd_dates
from agi.dialogue.project import load_project, parse_example
from agi.dialogue.services_report import add_services_parser, cmd_services
from agi.errors import DialogueError, NluProjectError

# The bar for "training data worth the name"; lower it with --min-examples.
MIN_EXAMPLES_PER_INTENT = 25
# Intents Rasa predicts itself and that never have examples.
RASA_OWN_INTENTS = frozenset({"nlu_fallback"})
REPO = Path(__file__).resolve().parents[2]
RASA_ENV_SCRIPT = REPO / "deploy" / "rasa" / "rasa_env.py"
DEFAULT_RASA_VENV = REPO / ".rasa-venv"
# The same places `make rasa` uses: models/ for trained models, .rasa/home as Rasa's HOME.
DEFAULT_MODELS = REPO / "models"
RASA_HOME = REPO / ".rasa" / "home"


@dataclass(frozen=True)
class Problem:
    """One finding of ``nlu validate``; ``where`` is ``file:line`` (or a file)."""

    where: str
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {'error' if self.error else 'warning'}: {self.message}"


@dataclass(frozen=True)
class ExampleLine:
    """An intent example as written in a data file, with its position."""

    path: Path
    line: int
    intent: str
    raw: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


# ----------------------------------------------------------------------------- validate

def example_lines(project_dir: Path) -> Iterator[ExampleLine]:
    """Every intent example of ``data/**/*.yml`` with the line it is written on.

    YAML's node marks give each ``- intent:`` item's line; the examples of its block are
    then found in order on the following lines (a literal block keeps one per line).
    """
    for path in sorted((project_dir / "data").glob("**/*.yml")):
        text = path.read_text("utf-8")
        lines = text.splitlines()
        root = yaml.compose(text)
        if not isinstance(root, yaml.MappingNode):
            continue
        for key, value in root.value:
            if key.value != "nlu" or not isinstance(value, yaml.SequenceNode):
                continue
            for item in value.value:
                fields = {k.value: v for k, v in item.value} if isinstance(item, yaml.MappingNode) else {}
                block = fields.get("examples")
                if "intent" not in fields or not isinstance(block, yaml.ScalarNode):
                    continue
                cursor = block.start_mark.line
                for entry in (ln.strip() for ln in str(block.value).splitlines()):
                    if not entry.startswith("- "):
                        continue
                    while cursor < len(lines) and lines[cursor].strip() != entry:
                        cursor += 1
                    yield ExampleLine(path, cursor + 1, str(fields["intent"].value), entry[2:].strip())


def validate_project(project_dir: Path, min_examples: int = MIN_EXAMPLES_PER_INTENT) -> list[Problem]:
    """All problems of one language's project; errors make ``nlu validate`` exit 1."""
    problems: list[Problem] = []
    try:
        project = load_project(project_dir)
    except NluProjectError as exc:
        return _load_failure(project_dir, exc)
    problems += [_problem(note, error=False) for note in project.unsupported]
    examples = list(example_lines(project_dir))
    problems += _annotation_problems(examples, project.entities, project_dir)
    seen: dict[str, ExampleLine] = {}
    for ex in examples:
        parsed = parse_example(ex.raw, ex.intent)
        key = " ".join(parsed.text.lower().split())
        first = seen.setdefault(key, ex)
        if first is not ex:
            same = first.intent == ex.intent
            problems.append(Problem(
                ex.where, f"{parsed.text!r} is already an example of intent {first.intent!r} at "
                f"{first.where}" + ("" if same else f", not {ex.intent!r}: one sentence, one intent "
                                        "(`rasa data validate` flags it too)"),
                error=not same))
    counts = Counter(ex.intent for ex in examples)
    for intent in project.intents:
        if intent not in RASA_OWN_INTENTS and counts[intent] < min_examples:
            # at the intent's first example, or the domain when it has none
            where = next((ex.where for ex in examples if ex.intent == intent), str(project_dir / "domain.yml"))
            problems.append(Problem(where, f"intent {intent!r} has {counts[intent]} examples, "
                                    f"fewer than {min_examples}"))
    return problems


def _problem(text: str, *, error: bool = True) -> Problem:
    where, sep, message = text.partition(": ")
    return Problem(where, message, error) if sep else Problem("nlu", text, error)


def _annotation_problems(examples: Sequence[ExampleLine], entities: Sequence[str],
                         project_dir: Path) -> list[Problem]:
    """Broken ``[text](entity)`` syntax and entities missing from domain.yml, by line."""
    problems = []
    for ex in examples:
        parsed = parse_example(ex.raw, ex.intent)
        if "[" in parsed.text or "](" in parsed.text:
            problems.append(Problem(ex.where, f"example {ex.raw!r}: broken entity annotation "
                                    "(write [words](entity))"))
        for _, _, entity in parsed.entities:
            if entity not in entities:
                problems.append(Problem(ex.where, f"entity {entity!r} is not declared in "
                                        f"{project_dir / 'domain.yml'} (entities:)"))
    return problems


def _load_failure(project_dir: Path, exc: NluProjectError) -> list[Problem]:
    """load_project stops at its first error; an undeclared entity is then found by line."""
    if "annotates entity" in str(exc):
        try:
            domain = yaml.safe_load((project_dir / "domain.yml").read_text("utf-8")) or {}
            entities = [next(iter(e)) if isinstance(e, dict) else str(e) for e in domain.get("entities", [])]
            found = _annotation_problems(list(example_lines(project_dir)), entities, project_dir)
        except (OSError, yaml.YAMLError):
            found = []  # the original error below still names the problem
        if found:
            return found
    return [_problem(str(exc))]


def _languages(arg: str) -> tuple[str, ...]:
    return LANGUAGES if arg == "all" else (arg,)


def run_validate(project_root: Path, languages: Sequence[str], out: TextIO,
                 min_examples: int = MIN_EXAMPLES_PER_INTENT) -> int:
    """Print every problem of each language; 1 when any is an error."""
    errors = 0
    for lang in languages:
        problems = validate_project(project_root / lang, min_examples)
        for problem in problems:
            out.write(f"{problem}\n")
        n_err = sum(p.error for p in problems)
        errors += n_err
        out.write(f"nlu {lang}: {n_err} error(s), {len(problems) - n_err} warning(s)\n")
    return 1 if errors else 0


# -------------------------------------------------------------------------------- Rasa

def rasa_venv(explicit: Path | None) -> Path | None:
    """Rasa's venv when installed: ``--rasa-venv``, else $RASA_VENV, else .rasa-venv."""
    venv = explicit or Path(os.environ.get("RASA_VENV", str(DEFAULT_RASA_VENV)))
    if (venv / "bin" / "rasa").exists():
        return venv
    if explicit is not None:
        raise DialogueError(f"{venv}: no bin/rasa; build Rasa's environment with `make rasa` "
                            "(deploy/rasa/rasa_env.py install)")
    return None


def _rasa_env_script(venv: Path) -> Path:
    """deploy/rasa/rasa_env.py in a source tree, else the copy `install` put in the venv."""
    if RASA_ENV_SCRIPT.is_file():
        return RASA_ENV_SCRIPT
    installed = venv / "bin" / "permanence-rasa"
    if installed.is_file():
        return installed
    raise DialogueError(f"neither {RASA_ENV_SCRIPT} nor {installed} exists (reinstall with `make rasa`)")


def rasa_environ() -> dict[str, str]:
    """What deploy/rasa/rasa_env.py gives every Rasa process: telemetry off, HOME moved."""
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", PYTHONUNBUFFERED="1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    RASA_HOME.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(RASA_HOME)
    return env


def _run(command: list[str], out: TextIO, **kwargs: Any) -> None:
    out.write(f"$ {' '.join(command)}\n")
    out.flush()
    done = subprocess.run(command, check=False, **kwargs)
    if done.returncode != 0:
        raise DialogueError(f"`{' '.join(command)}` failed with exit code {done.returncode}")


def rasa_train(venv: Path, project_dir: Path, models: Path, out: TextIO) -> None:
    """``rasa_env.py train``: retrains only when the project's files changed."""
    _run([sys.executable, str(_rasa_env_script(venv)), "train", "--venv", str(venv),
          "--home", str(RASA_HOME), str(project_dir), str(models)], out)


def rasa_cross_validate(venv: Path, project_dir: Path, folds: int, results: Path, out: TextIO) -> None:
    """``rasa test nlu --cross-validation`` on the project's data into ``results``."""
    results.mkdir(parents=True, exist_ok=True)
    _run([str(venv / "bin" / "rasa"), "test", "nlu", "--cross-validation", "--folds", str(folds),
          "--config", "config.yml", "--nlu", "data", "--domain", "domain.yml",
          "--out", str(results.resolve()), "--no-plot", "--no-warnings"],
         out, cwd=str(project_dir), env=rasa_environ())


def rasa_test_heldout(venv: Path, project_dir: Path, models: Path, heldout: Path, results: Path,
                      out: TextIO) -> None:
    """``rasa test nlu`` of the trained model (trained first if stale) on a held-out file."""
    rasa_train(venv, project_dir, models, out)
    model = models / f"permanence-{project_dir.name}.tar.gz"
    results.mkdir(parents=True, exist_ok=True)
    _run([str(venv / "bin" / "rasa"), "test", "nlu", "--model", str(model.resolve()),
          "--nlu", str(heldout.resolve()), "--domain", "domain.yml",
          "--out", str(results.resolve()), "--no-plot", "--no-warnings"],
         out, cwd=str(project_dir), env=rasa_environ())


def heldout_file(project_root: Path, lang: str) -> Path:
    """Where a language's held-out phrasings live: nlu/tests/heldout_<lang>.yml."""
    return project_root / "tests" / f"heldout_{lang}.yml"


# ------------------------------------------------------------------------------- train

def run_train(project_root: Path, languages: Sequence[str], out: TextIO, *,
              venv: Path | None, models: Path = DEFAULT_MODELS) -> int:
    """Train the builtin engine per language (as at start-up), then Rasa when installed."""
    from agi.dialogue.builtin import BuiltinEngine

    for lang in languages:
        started = time.perf_counter()
        engine = BuiltinEngine(project_root, (lang,))
        project = engine.models[lang].project
        intents = sorted({e.intent for e in project.examples})
        out.write(f"builtin {lang}: {len(project.examples)} examples, {len(intents)} intents "
                  f"({', '.join(intents)}) trained in {time.perf_counter() - started:.1f} s\n")
    if venv is None:
        out.write("rasa: not installed (no .rasa-venv; `make rasa` builds it): skipped\n")
        return 0
    for lang in languages:
        started = time.perf_counter()
        rasa_train(venv, project_root / lang, models, out)
        out.write(f"rasa {lang}: {models / f'permanence-{lang}.tar.gz'} ready in "
                  f"{time.perf_counter() - started:.0f} s\n")
    return 0


# -------------------------------------------------------------------------------- test

def run_test(project_root: Path, languages: Sequence[str], out_dir: Path, out: TextIO, *,
             folds: int, venv: Path | None, rasa_folds: int | None = None,
             models: Path = DEFAULT_MODELS) -> dict[str, Any]:
    """Cross-validate every language and score its held-out file, with Rasa's numbers when
    installed (``rasa_folds=0``: Rasa on the held-out file only); write the report."""
    from agi.dialogue.evaluation import (
        evaluate_heldout,
        evaluate_project,
        read_rasa_results,
        summary_table,
        write_report,
    )

    rasa_folds = folds if rasa_folds is None else rasa_folds
    evaluations = []
    for lang in languages:
        started = time.perf_counter()
        project = load_project(project_root / lang)
        ev = evaluate_project(project, folds)
        out.write(f"builtin {lang}: accuracy {ev.intent_report['accuracy']:.3f}, macro F1 "
                  f"{ev.intent_report['macro avg']['f1-score']:.3f} "
                  f"({folds} folds, {time.perf_counter() - started:.0f} s)\n")
        heldout = heldout_file(project_root, lang)
        held = evaluate_heldout(project, heldout) if heldout.is_file() else None
        if held is not None:
            out.write(f"builtin {lang}: held-out accuracy {held.intent_report['accuracy']:.3f} "
                      f"({held.examples} phrasings never trained on, {heldout})\n")
        if venv is not None and rasa_folds:
            results = out_dir / f"rasa-{lang}"
            rasa_cross_validate(venv, project_root / lang, rasa_folds, results, out)
            rasa = read_rasa_results(results)
            rasa["folds"] = rasa_folds
            ev = replace(ev, rasa=rasa)
        if venv is not None and held is not None:
            results = out_dir / f"rasa-heldout-{lang}"
            rasa_test_heldout(venv, project_root / lang, models, heldout, results, out)
            rasa_held = read_rasa_results(results)
            held = replace(held, rasa=rasa_held)
            out.write(f"rasa {lang}: held-out accuracy {rasa_held['intents'].get('accuracy', 0):.3f}\n")
        evaluations.append(replace(ev, heldout=held))
    note = ((f"rasa test nlu --cross-validation with {rasa_folds} folds" if rasa_folds
             else "no cross-validation (--rasa-folds 0)") + f", rasa test nlu on the held-out files ({venv})"
            if venv is not None else "not installed (no .rasa-venv; `make rasa` builds it), "
            "no Rasa numbers")
    report = write_report(evaluations, out_dir, rasa_note=note)
    out.write(f"report: {out_dir / 'report.md'} and {out_dir / 'report.json'}\n\n")
    out.write("\n".join(summary_table(report["languages"])))  # the same table as report.md's
    return report


# --------------------------------------------------------------------------------- CLI

def add_nlu_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``nlu validate|train|test`` to the ``permanence`` subcommands."""
    nlu = subparsers.add_parser("nlu", help="trainer tools for nlu/: validate, train, test")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)
    validate = sub.add_parser("validate", help="check nlu/<lang>/ and point at file:line")
    validate.add_argument("--lang", choices=(*LANGUAGES, "all"), default="all", help="language (default: all)")
    validate.add_argument("--min-examples", type=int, default=MIN_EXAMPLES_PER_INTENT,
                          help=f"fewest examples per intent (default {MIN_EXAMPLES_PER_INTENT})")
    train = sub.add_parser("train", help="train the builtin engine, and Rasa when installed")
    train.add_argument("--lang", choices=(*LANGUAGES, "all"), default="all", help="language (default: all)")
    train.add_argument("--rasa-venv", type=Path, help="Rasa's venv (default .rasa-venv or $RASA_VENV)")
    train.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="where Rasa models go")
    test = sub.add_parser("test", help="cross-validated scores, report.md/json + confusion PNG")
    test.add_argument("--lang", choices=(*LANGUAGES, "all"), default="all", help="language (default: all)")
    test.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    test.add_argument("--out", type=Path, default=Path("reports/nlu"), help="report directory")
    test.add_argument("--rasa-venv", type=Path, help="Rasa's venv (default .rasa-venv or $RASA_VENV)")
    test.add_argument("--rasa-folds", type=int, help="folds for Rasa (default: --folds; each "
                      "fold trains DIET, about a minute; 0: Rasa on the held-out files only)")
    test.add_argument("--models", type=Path, default=DEFAULT_MODELS,
                      help="where the Rasa models scored on the held-out files are (trained if stale)")
    test.add_argument("--no-rasa", action="store_true", help="builtin numbers only")
    add_dates_parser(sub)
    add_services_parser(sub)
    return nlu


def cmd_nlu(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    """Run ``permanence nlu <command>``; problems are printed, never raised."""
    root = settings.dialogue.project_dir
    if args.nlu_command == "dates":
        return cmd_dates(args, root, out)
    if args.nlu_command == "services":
        return cmd_services(args, settings, out)
    languages = _languages(args.lang)
    try:
        if args.nlu_command == "validate":
            return run_validate(root, languages, out, args.min_examples)
        if args.nlu_command == "train":
            return run_train(root, languages, out, venv=rasa_venv(args.rasa_venv), models=args.models)
        venv = None if args.no_rasa else rasa_venv(args.rasa_venv)
        run_test(root, languages, args.out, out, folds=args.folds, venv=venv, rasa_folds=args.rasa_folds,
                 models=args.models)
        return 0
    except DialogueError as exc:  # NluProjectError included: it names file:line
        out.write(f"permanence nlu {args.nlu_command}: {exc}\n")
        return 1
