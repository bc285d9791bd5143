"""Layering rules: the engine never pulls in Qt; the GUI reaches the engine only through `engine`'s exports."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_import_stays_free_of_qt():
    code = ("import sys, engine, engine.requests, engine.restore, engine.media\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported Qt modules: {out.stdout.strip()}"


def _engine_imports(path: Path):
    """(line, module, names) for every import of engine or its submodules in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "engine" or alias.name.startswith("engine."):
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "engine" or node.module.startswith("engine."):
                yield node.lineno, node.module, [a.name for a in node.names]


def test_gui_uses_only_engine_exports():
    import engine

    gui_files = sorted((ROOT / "gui").rglob("*.py"))
    assert gui_files, "no gui sources found"
    problems = []
    for path in gui_files:
        for line, module, names in _engine_imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module != "engine":
                problems.append(f"{where} imports {module} (use `from engine import ...`)")
            for name in names:
                if name not in engine._EXPORTS:
                    problems.append(f"{where} imports {name!r}, which engine/__init__.py does not export")
    assert not problems, "\n".join(problems)


def test_gui_attribute_access_on_engine_uses_exports():
    """`import engine; engine.x` is allowed only for exported names too."""
    import engine

    problems = []
    for path in sorted((ROOT / "gui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "engine":
                if node.attr not in engine._EXPORTS:
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} uses engine.{node.attr}")
    assert not problems, "\n".join(problems)
