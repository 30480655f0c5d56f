"""The text model's package knows no matter: fengqiao.matters may use fengqiao.classify,
never the other way round (so that the classifier can be trained, tested and benchmarked
without the matters domain, and the matter model can change without touching it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fengqiao.classify

PACKAGE = Path(fengqiao.classify.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_classify_imports_nothing_of_the_matters_domain() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 5, modules  # the package is where this test thinks it is
    offending = {
        f"{path.name}: {name}"
        for path in modules
        for name in _imports(path)
        if name == "fengqiao.matters" or name.startswith("fengqiao.matters.")
    }
    assert not offending, offending


def test_classify_loads_without_the_matters_domain() -> None:
    """Imported on its own (in a fresh interpreter), classify pulls in no matters module,
    not even through another package."""
    probe = (
        "import sys\n"
        "import fengqiao.classify.flows, fengqiao.classify.service, fengqiao.classify.duplicates\n"
        "print(sorted(m for m in sys.modules if m.startswith('fengqiao.matters')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
