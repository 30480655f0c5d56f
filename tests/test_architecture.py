"""The shape of the code, read from its import statements: no module over 600 lines, each
layer imports only what is below it, and no two domain packages import each other.

Layers, lowest first: core (fengqiao.core.*); inside each domain package its models, enums
and schemas, then its other modules, then its views (`views`, or `*_views` when split);
above every domain the top (fengqiao.api, fengqiao.cli*, fengqiao.deps, fengqiao.asgi,
fengqiao.demo.*). A domain's views may use fengqiao.deps, the request dependencies every
router is built on; no other domain module may import the top. Every import counts: at
module level, inside a function, under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 600
NOT_DOMAINS = {"core", "migrations", "web", "demo"}
BASE = {"models", "enums", "schemas"}  # below every other module of their package


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (a submodule when `from package import submodule`)
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.module} → {self.target} ({self.path.relative_to(SRC)}:{self.line})"


def sources(src: Path = SRC) -> dict[str, Path]:
    """Every module of the fengqiao package by dotted name, less the built web console and
    the migration scripts."""
    found: dict[str, Path] = {}
    for path in sorted((src / "fengqiao").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[1] == "web" or parts[1:3] == ["migrations", "versions"]:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path, text: str, known: Iterable[str]) -> list[Import]:
    """The fengqiao modules that `text` (the source of `module`) imports, wherever the
    statement stands."""
    names = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                targets.append(sub if sub in names else origin)
        for target in targets:
            if target == "fengqiao" or target.startswith("fengqiao."):
                found.append(Import(module, target, path, node.lineno))
    return sorted(set(found), key=lambda i: (i.module, i.line, i.target))


def all_imports(src: Path = SRC) -> list[Import]:
    modules = sources(src)
    out: list[Import] = []
    for name, path in modules.items():
        out += imports_of(name, path, path.read_text(encoding="utf-8"), modules)
    return out


def domains(src: Path = SRC) -> set[str]:
    root = src / "fengqiao"
    return {p.parent.name for p in root.glob("*/__init__.py") if p.parent.name not in NOT_DOMAINS}


def is_core(module: str) -> bool:
    return module == "fengqiao.core" or module.startswith("fengqiao.core.")


def is_top(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and (
        parts[1] in {"api", "deps", "asgi", "demo"} or parts[1].startswith("cli")
    )


def domain_of(module: str, known_domains: set[str]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in known_domains else None


def leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def is_views(module: str) -> bool:
    """A package's views, or one of them when they are split (`case_views`)."""
    return leaf(module) == "views" or leaf(module).endswith("_views")


def core_violations(found: Iterable[Import]) -> list[Import]:
    """Core is the lowest layer: it imports only core."""
    return [i for i in found if is_core(i.module) and not is_core(i.target)]


def base_violations(found: Iterable[Import], known_domains: set[str]) -> list[Import]:
    """A domain's models, enums and schemas import none of that domain's other modules."""
    bad = []
    for i in found:
        domain = domain_of(i.module, known_domains)
        if domain is None or leaf(i.module) not in BASE:
            continue
        package = f"fengqiao.{domain}"
        if i.target.startswith(package + ".") and leaf(i.target) not in BASE:
            bad.append(i)
    return bad


def views_violations(found: Iterable[Import]) -> list[Import]:
    """Views are the top of their package: only views and the top import them."""
    return [i for i in found if is_views(i.target) and not (is_views(i.module) or is_top(i.module))]


def top_violations(found: Iterable[Import], known_domains: set[str]) -> list[Import]:
    """Domains never import the top (a domain's views may use fengqiao.deps)."""
    bad = []
    for i in found:
        if domain_of(i.module, known_domains) is None or not is_top(i.target):
            continue
        if is_views(i.module) and i.target == "fengqiao.deps":
            continue
        bad.append(i)
    return bad


def package_cycles(
    found: Iterable[Import], known_domains: set[str]
) -> dict[tuple[str, str], list[Import]]:
    """Pairs of domain packages each of which imports the other (by any of its modules),
    with the imports that make each direction."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for i in found:
        a, b = domain_of(i.module, known_domains), domain_of(i.target, known_domains)
        if a and b and a != b:
            edges.setdefault((a, b), []).append(i)
    return {
        (a, b): edges[(a, b)] + edges[(b, a)] for a, b in sorted(edges) if a < b and (b, a) in edges
    }


def listing(found: Iterable[Import]) -> str:
    return "\n".join(f"  {i}" for i in found)


# ------------------------------------------------------------------ the checker itself

FAKE = {
    "fengqiao.core.clock": "from fengqiao.geo import service\n",
    "fengqiao.geo.models": "from . import service\nfrom .enums import Kind\n",
    "fengqiao.geo.enums": "",
    "fengqiao.geo.service": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from fengqiao.people.models import User\n"
        "def later() -> None:\n"
        "    import fengqiao.geo.views\n"
    ),
    "fengqiao.geo.views": "from fengqiao.deps import SessionDep\nfrom fengqiao import api\n",
    "fengqiao.geo": "",
    "fengqiao.people.models": "from fengqiao.geo.models import Grid\n",
    "fengqiao.people": "",
    "fengqiao.api": "from fengqiao.geo.views import router\n",
    "fengqiao.deps": "",
}


def _fake_imports() -> list[Import]:
    out: list[Import] = []
    for name, text in FAKE.items():
        is_package = name in {"fengqiao.geo", "fengqiao.people"}
        relative = name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        out += imports_of(name, SRC / relative, text, FAKE)
    return out


def test_the_checker_sees_every_kind_of_import_and_names_each_rule_it_breaks() -> None:
    found = _fake_imports()
    pairs = {(i.module, i.target) for i in found}
    assert ("fengqiao.geo.models", "fengqiao.geo.service") in pairs  # relative, submodule
    assert ("fengqiao.geo.models", "fengqiao.geo.enums") in pairs  # relative, a name in it
    assert ("fengqiao.geo.service", "fengqiao.people.models") in pairs  # TYPE_CHECKING
    assert ("fengqiao.geo.service", "fengqiao.geo.views") in pairs  # inside a function
    domains_ = {"geo", "people"}
    assert [(i.module, i.target) for i in core_violations(found)] == [
        ("fengqiao.core.clock", "fengqiao.geo.service")
    ]
    assert [(i.module, i.target) for i in base_violations(found, domains_)] == [
        ("fengqiao.geo.models", "fengqiao.geo.service")
    ]
    assert [(i.module, i.target) for i in views_violations(found)] == [
        ("fengqiao.geo.service", "fengqiao.geo.views")
    ]
    assert [(i.module, i.target) for i in top_violations(found, domains_)] == [
        ("fengqiao.geo.views", "fengqiao.api")
    ]
    cycles = package_cycles(found, domains_)
    assert list(cycles) == [("geo", "people")]
    assert "fengqiao.geo.service → fengqiao.people.models (fengqiao/geo/service.py:3)" in (
        listing(cycles[("geo", "people")])
    )


# ------------------------------------------------------------------ the code


def test_the_scan_reads_the_real_tree() -> None:
    found = all_imports()
    assert {"core", "geo", "people", "matters"} <= domains() | {"core"}
    assert "core" not in domains() and "demo" not in domains()
    assert any(i.module == "fengqiao.api" and is_views(i.target) for i in found)


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in sources().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(long.items())
    )


def test_core_imports_nothing_above_it() -> None:
    bad = core_violations(all_imports())
    assert not bad, "core imports a layer above it:\n" + listing(bad)


def test_models_enums_and_schemas_are_below_the_rest_of_their_package() -> None:
    bad = base_violations(all_imports(), domains())
    assert not bad, "models/enums/schemas import a module above them:\n" + listing(bad)


def test_only_views_and_the_top_import_views() -> None:
    bad = views_violations(all_imports())
    assert not bad, "a module below the views imports views:\n" + listing(bad)


def test_domains_do_not_import_the_top() -> None:
    bad = top_violations(all_imports(), domains())
    assert not bad, "a domain imports api/cli/deps/asgi/demo:\n" + listing(bad)


def test_no_two_domain_packages_import_each_other() -> None:
    cycles = package_cycles(all_imports(), domains())
    assert not cycles, "domain packages that import each other:\n" + "\n".join(
        f"{a} ↔ {b}:\n{listing(found)}" for (a, b), found in cycles.items()
    )
