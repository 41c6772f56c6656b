"""agi/call/ knows no PBX: it depends on agi/call/channel.py alone (DESIGN.md, COMMON.md)."""

from __future__ import annotations

import re
from pathlib import Path

CALL = Path(__file__).resolve().parents[2] / "agi" / "call"


# Import statements by their lines, not ast.parse: after whole calls ran in the same
# process, CPython 3.11.7's parser raised "AST constructor recursion depth mismatch".
_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w, ]*)", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+([\w., ]+)", re.MULTILINE)


def imported_modules(path: Path) -> set[str]:
    text = path.read_text("utf-8")
    names: set[str] = set()
    for module, members in _FROM.findall(text):
        names.add(module)
        names.update(f"{module}.{m.strip()}" for m in members.split(",") if m.strip())
    for group in _IMPORT.findall(text):
        names.update(name.split(" as ")[0].strip() for name in group.split(","))
    return names


def test_nothing_under_agi_call_imports_a_pbx_adapter_or_a_wire_protocol() -> None:
    modules = sorted(CALL.glob("*.py"))
    assert {p.name for p in modules} >= {"channel.py", "session.py", "media.py", "state.py"}
    offenders = {p.name: sorted(m for m in imported_modules(p)
                                if m == "agi.pbx" or m.startswith(("agi.pbx.", "agi.protocols")))
                 for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_import_check_sees_a_pbx_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from agi.pbx.asterisk import AgiChannel\nimport agi.pbx.freeswitch\n"
                   "    from agi.pbx import (\n        unicast,\n    )\nimport os, agi.protocols.esl as esl\n")
    assert {"agi.pbx.asterisk", "agi.pbx.freeswitch", "agi.pbx", "agi.protocols.esl"} <= imported_modules(bad)
