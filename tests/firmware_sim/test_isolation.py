"""The simulator stands alone: it speaks only the wire protocol (DESIGN.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

FIRMWARE_SIM = Path(__file__).resolve().parents[2] / "firmware_sim"


def test_firmware_sim_imports_nothing_of_the_backend() -> None:
    offending = []
    for path in sorted(FIRMWARE_SIM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] in ("ingest", "stayactive", "analytics", "dashboard")
            ]
    assert offending == []
