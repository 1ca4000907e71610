"""The packages' public API: every exported name resolves (modules load on first use, through diffphase.theory.lazy), each
type is the object of its module, every module of the source tree is exported, and an
unknown name raises AttributeError."""

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package, folder", [("diffphase.numerics", "numerics"), ("diffphase.theory", "theory")])
def test_exports_resolve(package, folder):
    pkg = importlib.import_module(package)
    for name in pkg.MODULES:
        assert isinstance(getattr(pkg, name), types.ModuleType), name
    for name, mod in pkg.TYPES.items():
        assert getattr(pkg, name) is getattr(importlib.import_module(f"{package}.{mod}"), name), name
    on_disk = {p.stem if p.suffix == ".py" else p.name for p in (ROOT / folder).iterdir()
               if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert on_disk == set(pkg.MODULES)
    assert set(pkg.__all__) == set(pkg.MODULES) | set(pkg.TYPES) and set(pkg.__all__) <= set(dir(pkg))
    with pytest.raises(AttributeError, match="no_such_name"):
        pkg.no_such_name  # noqa: B018


def test_importing_the_packages_loads_only_the_loader():
    code = ("import sys, diffphase.numerics, diffphase.theory; "
            "print(sorted(m for m in sys.modules if m.startswith('diffphase.') and m.count('.') > 1))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['diffphase.theory.lazy']"
