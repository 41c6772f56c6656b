"""agi/call/ knows no PBX: it depends on agi/call/channel.py alone (DESIGN.md, COMMON.md)."""

from __future__ import annotations

import ast
from pathlib import Path

CALL = Path(__file__).resolve().parents[2] / "agi" / "call"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
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
    bad.write_text("from agi.pbx.asterisk import AgiChannel\nimport agi.pbx.freeswitch\n")
    assert {"agi.pbx.asterisk", "agi.pbx.freeswitch"} <= imported_modules(bad)
