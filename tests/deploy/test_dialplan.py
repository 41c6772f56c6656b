"""Checks of the shipped Asterisk dialplan snippet and of the deploy scripts.

The dialplan is parsed the way pbx_config reads extensions.conf (contexts, ``exten =>``,
``same =>``, ``n`` priorities, ``n(label)`` labels, ``;`` comments) and then *run* by a
small interpreter that mirrors Asterisk where it matters here: ``${VAR}`` / ``${FUNC()}``
and ``$[...]`` are substituted in the application data before the application runs,
``Goto``/``GotoIf`` targets are 1, 2 or 3 comma-separated parts, an unknown number in a
context goes to ``i``, a hang-up runs ``h``. AGI() and Dial() cannot run here (no
Asterisk), so each scenario says which variables the AGI session sets (what res_agi and
Permanence set) and what DIALSTATUS Dial() ends with; everything else is the real file.
References: https://docs.asterisk.org/Configuration/Dialplan/ and
https://docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/AGI/
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIALPLAN = ROOT / "dialplans" / "asterisk" / "extensions_permanence.conf"
INSTALL = ROOT / "deploy" / "install.sh"
MAX_STEPS = 500  # a loop in the dialplan shows up as an error, not a hung test
_LINE = re.compile(r"^(exten|same)\s*=>?\s*(.*)$")
_PRIO = re.compile(r"^(\d+|n)(?:\((\w[\w-]*)\))?$")
_APP = re.compile(r"^(\w+)(?:\((.*)\))?$", re.DOTALL)


@dataclass(frozen=True)
class Step:
    number: int
    label: str | None
    app: str
    data: str


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)

    def find(self, context: str, exten: str) -> str | None:
        """The extension name that handles ``exten``: exact first, then patterns."""
        extens = self.contexts.get(context, {})
        if exten in extens:
            return exten
        return next((name for name in extens if name.startswith("_") and pattern_matches(name, exten)), None)

    def index(self, context: str, exten: str, priority: str) -> int | None:
        steps = self.contexts[context][exten]
        for i, step in enumerate(steps):
            if priority == str(step.number) or priority == step.label:
                return i
        return None


def split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets and quotes (how app arguments are separated)."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk extension pattern (``_X.``, ``_[+0-9].``) against a dialled string."""
    regex, i, body = "", 0, pattern[1:]
    while i < len(body):
        ch = body[i]
        if ch == "[":
            end = body.index("]", i)
            regex += "[" + body[i + 1:end].replace("\\", "\\\\") + "]"
            i = end
        else:
            regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(ch.upper(), re.escape(ch))
        i += 1
    return re.fullmatch(regex, exten) is not None


def parse(text: str) -> Dialplan:
    plan, context, exten, number = Dialplan(), None, None, 0
    for raw in text.splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            context = line[1:line.index("]")]
            plan.contexts.setdefault(context, {})
            continue
        m = _LINE.match(line)
        assert m and context, f"not dialplan syntax: {raw!r}"
        fields = split_top(m.group(2), ",")
        if m.group(1) == "exten":
            exten, fields = fields[0].strip(), fields[1:]
            assert exten not in plan.contexts[context], f"{exten}@{context} defined twice"
            plan.contexts[context][exten] = []
        assert exten is not None, f"'same' before any 'exten': {raw!r}"
        prio = _PRIO.match(fields[0].strip())
        assert prio, f"bad priority in {raw!r}"
        number = number + 1 if prio.group(1) == "n" else int(prio.group(1))
        app = _APP.match(",".join(fields[1:]).strip())
        assert app, f"bad application in {raw!r}"
        plan.contexts[context][exten].append(Step(number, prio.group(2), app.group(1), app.group(2) or ""))
    return plan


def evaluate(expr: str) -> str:
    """The ``$[...]`` subset the snippet uses: ``|``, ``&``, ``=``, ``!=`` on strings."""
    def value(term: str) -> str:
        return term.strip().strip('"')

    def atom(term: str) -> bool:
        if "!=" in term:
            left, right = term.split("!=", 1)
            return value(left) != value(right)
        if "=" in term:
            left, right = term.split("=", 1)
            return value(left) == value(right)
        return value(term) not in ("", "0")

    return "1" if any(all(atom(t) for t in split_top(o, "&")) for o in split_top(expr, "|")) else "0"


@dataclass
class Call:
    """One simulated channel walking the dialplan."""

    plan: Dialplan
    agi: list[dict[str, str]]          # variables each AGI() run leaves on the channel
    dialstatus: str = "NOANSWER"
    vars: dict[str, str] = field(default_factory=dict)
    trace: list[tuple[str, str]] = field(default_factory=list)

    def expand(self, data: str, exten: str) -> str:
        def var(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("DIALPLAN_EXISTS("):
                ctx, ext, prio = name[16:-1].split(",")
                found = self.plan.find(ctx, ext)
                return "1" if found and self.plan.index(ctx, found, prio) is not None else "0"
            return exten if name == "EXTEN" else self.vars.get(name, "")

        while True:
            new = re.sub(r"\$\{([^${}]*)\}", var, data)
            new = re.sub(r"\$\[([^$\[\]]*)\]", lambda m: evaluate(m.group(1)), new)
            if new == data:
                return data
            data = new

    def goto(self, target: str, context: str, exten: str, name: str) -> tuple[str, str, str, int]:
        parts = [p.strip() for p in target.split(",")]
        assert 1 <= len(parts) <= 3, f"bad Goto target {target!r}"
        ctx, ext, prio = ([context, exten][: 3 - len(parts)] + parts)
        handler = name if (ctx, ext) == (context, exten) else self.plan.find(ctx, ext)
        assert handler is not None, f"Goto to missing extension {ext}@{ctx}"
        index = self.plan.index(ctx, handler, prio)
        assert index is not None, f"Goto to missing priority {prio} of {handler}@{ctx}"
        return ctx, ext, handler, index

    def run(self, context: str, exten: str) -> list[tuple[str, str]]:
        name = self.plan.find(context, exten)
        if name is None:
            self.vars["INVALID_EXTEN"], exten, name = exten, "i", "i"
        index = 0
        for _ in range(MAX_STEPS):
            steps = self.plan.contexts[context][name]
            if index >= len(steps):
                self.trace.append(("FELL-OFF", f"{exten}@{context}"))
                return self.trace
            step = steps[index]
            data = self.expand(step.data, exten)
            self.trace.append((step.app, data))
            index += 1
            if step.app == "Set":
                key, _, val = data.partition("=")
                self.vars[key] = val
            elif step.app == "AGI":
                self.vars.update(self.agi.pop(0))
                if self.vars["AGISTATUS"] == "HANGUP":
                    return self.hangup(context)
            elif step.app == "Dial":
                self.vars["DIALSTATUS"] = self.dialstatus
                if self.dialstatus == "ANSWER":
                    return self.hangup(context)
            elif step.app == "Hangup":
                return self.hangup(context)
            elif step.app in ("Goto", "GotoIf"):
                target = data
                if step.app == "GotoIf":
                    cond, _, branches = data.partition("?")
                    yes, _, no = branches.partition(":")
                    target = yes if cond.strip() not in ("", "0") else no
                if target:
                    context, exten, name, index = self.goto(target, context, exten, name)
            else:
                assert step.app in ("NoOp", "Log", "VoiceMail"), f"simulator does not know {step.app}"
        raise AssertionError(f"more than {MAX_STEPS} steps: the dialplan loops")

    def hangup(self, context: str) -> list[tuple[str, str]]:
        for step in self.plan.contexts[context].get("h", []):
            self.trace.append((step.app, self.expand(step.data, "h")))
        return self.trace

    def apps(self, app: str) -> list[str]:
        return [data for name, data in self.trace if name == app]


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return parse(DIALPLAN.read_text("utf-8"))


def call(plan: Dialplan, agi: list[Mapping[str, str]], did: str = "0140000000",
         dialstatus: str = "NOANSWER") -> Call:
    c = Call(plan, [dict(a) for a in agi], dialstatus)
    c.run("permanence-inbound", did)
    return c


CONNECTED = {"AGISTATUS": "SUCCESS", "PERMANENCE_CALL_ID": "c-1", "PERMANENCE_OUTCOME": "transfer"}


def static_targets(plan: Dialplan) -> Iterator[tuple[str, str, str]]:
    for context, extens in plan.contexts.items():
        for exten, steps in extens.items():
            for step in steps:
                if step.app == "Goto":
                    yield context, exten, step.data
                elif step.app == "GotoIf":
                    branches = split_top(step.data, "?")[-1]
                    yield from ((context, exten, b) for b in split_top(branches, ":") if b)


def test_contexts_and_every_static_goto_target_exist(plan: Dialplan) -> None:
    assert {"permanence-inbound", "permanence-run", "permanence-fallback"} <= set(plan.contexts)
    checked = 0
    for context, exten, target in static_targets(plan):
        if "${" in target:
            continue  # dynamic targets are exercised by the scenarios below
        Call(plan, []).goto(target, context, exten.lstrip("_"), exten)
        checked += 1
    assert checked >= 20


def test_every_agi_call_is_fastagi_on_4573(plan: Dialplan) -> None:
    agis = [s.data for e in plan.contexts.values() for steps in e.values() for s in steps if s.app == "AGI"]
    assert agis and all(a.startswith("agi://") for a in agis)
    c = call(plan, [CONNECTED | {"PERMANENCE_RESULT": "transfer", "PERMANENCE_TRANSFER": "PJSIP/x"}])
    assert c.apps("AGI") == ["agi://127.0.0.1:4573/demo"]
    assert c.vars["CHANNEL(language)"] == "fr" and c.vars["TIMEOUT(absolute)"] == "0"


@pytest.mark.parametrize("did, tenant, language", [
    ("+33140000000", "demo", "fr"), ("+33140000017", "demo", "fr"), ("+442070000000", "demo-en", "en")])
def test_dids_map_to_tenants(plan: Dialplan, did: str, tenant: str, language: str) -> None:
    c = call(plan, [{"AGISTATUS": "HANGUP"}], did=did)
    assert c.apps("AGI") == [f"agi://127.0.0.1:4573/{tenant}"]
    assert c.vars["CHANNEL(language)"] == language


def test_server_down_goes_to_reception_then_voicemail(plan: Dialplan) -> None:
    c = call(plan, [{"AGISTATUS": "FAILURE"}])
    assert len(c.apps("AGI")) == 1
    assert any(log.startswith("ERROR,Permanence not reached") for log in c.apps("Log"))
    assert c.apps("Dial") == ["PJSIP/secretariat,30"]
    assert c.apps("VoiceMail") == ["100@default,u"]
    assert ("Hangup", "") in c.trace and c.trace[-1][0] != "FELL-OFF"


def test_second_server_is_tried_only_when_the_first_cannot_connect() -> None:
    text = DIALPLAN.read_text("utf-8").replace("Set(PERMANENCE_SERVER_2=)", "Set(PERMANENCE_SERVER_2=10.0.0.2:4573)")
    two = parse(text)
    c = call(two, [{"AGISTATUS": "FAILURE"}, CONNECTED | {"PERMANENCE_RESULT": "error"}])
    assert c.apps("AGI") == ["agi://127.0.0.1:4573/demo", "agi://10.0.0.2:4573/demo"]
    # Permanence had the call (call id set) and then failed: no second dialogue.
    c = call(two, [{"AGISTATUS": "FAILURE", "PERMANENCE_CALL_ID": "c-2"}])
    assert len(c.apps("AGI")) == 1 and c.apps("Dial") == ["PJSIP/secretariat,30"]


@pytest.mark.parametrize("dialstatus, voicemail", [("NOANSWER", ["100@default,u"]), ("BUSY", ["100@default,u"]),
                                                   ("ANSWER", [])])
def test_transfer_dials_the_target_then_voicemail(plan: Dialplan, dialstatus: str, voicemail: list[str]) -> None:
    c = call(plan, [CONNECTED | {"PERMANENCE_RESULT": "transfer", "PERMANENCE_TRANSFER": "PJSIP/dr-martin"}],
             dialstatus=dialstatus)
    assert c.apps("Dial") == ["PJSIP/dr-martin,30,r"]
    assert c.apps("VoiceMail") == voicemail


def test_transfer_without_target_still_reaches_a_human(plan: Dialplan) -> None:
    c = call(plan, [CONNECTED | {"PERMANENCE_RESULT": "transfer"}])
    assert c.apps("Dial") == ["PJSIP/secretariat,30"]


def test_fallback_goes_to_the_configured_place_if_it_exists(plan: Dialplan) -> None:
    c = call(plan, [CONNECTED | {"PERMANENCE_RESULT": "fallback", "PERMANENCE_FALLBACK": "permanence-fallback,voicemail,1"}])
    assert c.apps("Dial") == [] and c.apps("VoiceMail") == ["100@default,u"]
    c = call(plan, [CONNECTED | {"PERMANENCE_RESULT": "fallback", "PERMANENCE_FALLBACK": "nowhere,s,1"}])
    assert c.apps("Dial") == ["PJSIP/secretariat,30"]


@pytest.mark.parametrize("agi", [
    CONNECTED | {"PERMANENCE_RESULT": "error"},
    CONNECTED | {"PERMANENCE_RESULT": ""},          # session ended without a result
    CONNECTED | {"PERMANENCE_RESULT": "surprise"},  # a value this dialplan does not know
    {"AGISTATUS": "NOTFOUND"},
])
def test_errors_reach_a_human(plan: Dialplan, agi: dict[str, str]) -> None:
    c = call(plan, [agi])
    assert c.apps("Dial") == ["PJSIP/secretariat,30"] and c.apps("VoiceMail") == ["100@default,u"]


def test_caller_hangup_stops_and_runs_h(plan: Dialplan) -> None:
    c = call(plan, [{"AGISTATUS": "HANGUP", "PERMANENCE_CALL_ID": "c-3", "PERMANENCE_OUTCOME": "booked"}])
    assert c.apps("Dial") == [] and c.apps("VoiceMail") == []
    assert c.trace[-1] == ("NoOp", "Permanence end: call=c-3 outcome=booked AGISTATUS=HANGUP")


def test_unknown_did_goes_to_reception(plan: Dialplan) -> None:
    c = call(plan, [], did="0999999999")
    assert c.apps("AGI") == [] and c.apps("Dial") == ["PJSIP/reception,30"]


def test_patterns_match_like_asterisk() -> None:
    assert pattern_matches("_[+0-9].", "+33140000000") and pattern_matches("_X.", "0140")
    assert not pattern_matches("_+3314000001X", "+33140000000") and not pattern_matches("_[+0-9].", "h")


def test_install_script_parses() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck); bash -n passed")
    result = subprocess.run(["shellcheck", str(INSTALL)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_production_config_example_loads_and_matches_the_dialplan(plan: Dialplan) -> None:
    from agi.cli import build_parser
    from agi.config import load_settings

    settings = load_settings(ROOT / "deploy" / "permanence.toml.example", environ={})
    assert settings.store.sqlite_path.startswith("/var/lib/permanence/")
    unit = (ROOT / "deploy" / "systemd" / "permanence.service").read_text("utf-8")
    assert "ReadWritePaths=/var/lib/permanence" in unit
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert exec_start, "no ExecStart in the unit"
    args = build_parser().parse_args(exec_start.group(1).split()[1:])  # the real CLI accepts it
    assert (args.command, args.config) == ("serve", "/etc/permanence/permanence.toml")
    for tenant in settings.tenants:
        for did in tenant.dids:
            c = call(plan, [{"AGISTATUS": "HANGUP"}], did=did)
            assert c.apps("AGI") == [f"agi://127.0.0.1:{settings.server.agi_port}/{tenant.id}"], did


# --------------------------------------------------------------------------- FreeSWITCH

FS_DIALPLAN = ROOT / "dialplans" / "freeswitch" / "permanence.xml"
FS_EVENT_SOCKET = ROOT / "dialplans" / "freeswitch" / "event_socket.conf.xml"


def _fs_extensions() -> dict[str, object]:
    import xml.etree.ElementTree as ET

    root = ET.parse(FS_DIALPLAN).getroot()  # well-formed, or this raises
    context = root.find("context")
    assert context is not None and context.get("name") == "permanence"
    return {ext.get("name", ""): ext for ext in context.findall("extension")}


def test_freeswitch_dialplan_hands_calls_to_the_default_esl_listener() -> None:
    from agi.config import load_settings

    fs = load_settings(None, {}).freeswitch
    extensions = _fs_extensions()
    sockets = [a.get("data") for ext in extensions.values() for a in ext.iter("action")  # type: ignore[attr-defined]
               if a.get("application") == "socket"]
    assert sockets == [f"{fs.esl_host}:{fs.esl_port} async full"]


def test_freeswitch_dialplan_routes_every_result_and_every_transfer_exists() -> None:
    from agi.config import load_settings

    extensions = _fs_extensions()
    targets = [a.get("data") for ext in extensions.values() for a in ext.iter("action")  # type: ignore[attr-defined]
               if a.get("application") == "transfer" and "${" not in a.get("data", "")]
    for target in targets:
        exten, dialplan, context = target.split()
        assert (dialplan, context) == ("XML", "permanence")
        assert any(c.get("expression") == f"^{exten}$" for ext in extensions.values()  # type: ignore[attr-defined]
                   for c in ext.iter("condition")), target
    route = extensions["permanence-route"]
    results = {c.get("expression") for c in route.iter("condition")  # type: ignore[attr-defined]
               if c.get("field") == "${permanence_result}"}
    assert results == {"^transfer$", "^fallback$", "^hangup$"}
    last = list(route.iter("condition"))[-1]  # type: ignore[attr-defined]
    assert [a.get("data") for a in last.iter("action") if a.get("application") == "transfer"] == [
        "permanence-fallback XML permanence"]  # error or no result: a human
    # each tenant's DID extension names a tenant that exists and matches its numbers
    settings = load_settings(None, {})
    for name, ext in extensions.items():
        if not name.startswith("permanence-did-"):
            continue
        condition = ext.find("condition")  # type: ignore[attr-defined]
        tenant = next(a.get("data").split("=", 1)[1] for a in condition.iter("action")
                      if a.get("data", "").startswith("permanence_tenant="))
        numbers = settings.tenant(tenant).dids
        assert all(re.match(condition.get("expression"), n) for n in numbers), (name, numbers)


def test_freeswitch_inbound_esl_settings_are_loopback_and_not_cluecon() -> None:
    import xml.etree.ElementTree as ET

    params = {p.get("name"): p.get("value") for p in ET.parse(FS_EVENT_SOCKET).getroot().iter("param")}
    assert params["listen-ip"] == "127.0.0.1" and params["apply-inbound-acl"] == "loopback.auto"
    assert params["password"] not in ("", "ClueCon")
