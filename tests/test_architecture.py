"""The architecture, checked on the source: imports point downward (validation → numerics →
theory), the engine imports no experiment, no module reaches into another's private names,
and no validation module is longer than 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("theory", "numerics", "validation")
#: The experiments of ``diffphase validate`` (packages of validation/).
EXPERIMENT_PACKAGES = ("regimes", "rhm", "manifold", "memorization", "symmetry", "information", "guidance")


def _modules():
    """``(dotted name, path, package)`` of every module of the three layers."""
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = ("diffphase",) + rel.parts
            is_pkg = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_pkg else parts)
            package = name if is_pkg else name.rsplit(".", 1)[0]
            yield name, path, package


MODULES = list(_modules())


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, package: str):
    """``(imported module, imported name or None, lineno)`` of every import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node, package)
            for a in node.names:
                yield mod, a.name, node.lineno


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "diffphase" and parts[1] in LAYERS else None


@pytest.mark.parametrize("name, path, package", MODULES, ids=[m[0] for m in MODULES])
def test_imports_point_downward(name, path, package):
    own = LAYERS.index(_layer(name))
    for mod, _, line in _imports(path, package):
        layer = _layer(mod)
        if layer is not None:
            assert LAYERS.index(layer) <= own, f"{path.relative_to(ROOT)}:{line} imports {mod} from a higher layer"


def test_engine_imports_no_experiment():
    for name, path, package in MODULES:
        if not name.startswith("diffphase.validation.engine"):
            continue
        for mod, _, line in _imports(path, package):
            parts = mod.split(".")
            if parts[:2] == ["diffphase", "validation"] and len(parts) > 2:
                assert parts[2] not in EXPERIMENT_PACKAGES, f"{path.relative_to(ROOT)}:{line} imports {mod}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


MODULE_NAMES = {m[0] for m in MODULES}


def _package_private_module(importer_package: str, mod: str, imported: str) -> bool:
    """``from . import _kernels`` inside a package: a private module belongs to its package
    (PEP 8), so its siblings may import it."""
    return mod == importer_package and f"{mod}.{imported}" in MODULE_NAMES


def test_no_private_name_crosses_a_module():
    """``from other_module import _name`` and ``other_module._name`` are not used: what a module
    shares is public (a package's private modules are imported by their siblings only)."""
    bad = []
    for name, path, package in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for mod, imported, line in _imports(path, package):
            if (imported is not None and _private(imported) and mod != name
                    and not _package_private_module(package, mod, imported)):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}.{imported}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name
            elif isinstance(node, ast.ImportFrom):
                mod = _resolve(node, package)
                for a in node.names:
                    aliases[a.asname or a.name] = f"{mod}.{a.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name):
                target = aliases.get(node.value.id, "")
                if target.startswith("diffphase.") and target != name:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {target}.{node.attr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name, path, package", [m for m in MODULES if m[0].startswith("diffphase.validation")],
                         ids=[m[0] for m in MODULES if m[0].startswith("diffphase.validation")])
def test_validation_modules_are_small(name, path, package):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= 500, f"{path.relative_to(ROOT)} has {n} lines"
