"""The public API documents itself: every public module declares `__all__`, every function and class in it has a
docstring, and the package's modules reach each other only through those names."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from functools import cache
from pathlib import Path

import pytest

import skin_cancer

PACKAGE_ROOT = Path(skin_cancer.__file__).parent


def public_modules() -> list[str]:
    """skin_cancer and every module under it whose dotted name has no part starting with "_"."""
    names = ["skin_cancer"]
    for module in pkgutil.walk_packages(skin_cancer.__path__, "skin_cancer."):
        if not any(part.startswith("_") for part in module.name.split(".")):
            names.append(module.name)
    return sorted(names)


@cache
def _top_level(source_file: str) -> dict[str, ast.AST]:
    tree = ast.parse(Path(source_file).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def undocumented(module_name: str) -> list[str]:
    """Functions and classes named in a module's `__all__` whose definition (wherever in the package it is)
    has no docstring of its own. Read from the source, as a dataclass or NamedTuple makes up a `__doc__`."""
    module = importlib.import_module(module_name)
    missing = []
    for name in module.__all__:
        value = getattr(module, name)
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            continue  # constants: documented by the comment beside them
        if not getattr(value, "__module__", "").startswith("skin_cancer"):
            continue  # re-exported from a library (documented there)
        definition = _top_level(inspect.getsourcefile(value)).get(value.__name__)
        if definition is not None and ast.get_docstring(definition) is None:
            missing.append(f"{module_name}.{name}")
    return missing


@pytest.mark.parametrize("module_name", public_modules())
def test_public_module_declares_all(module_name):
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    assert isinstance(declared, list), f"{module_name} has no __all__ list"
    assert all(isinstance(name, str) for name in declared)
    assert len(set(declared)) == len(declared), f"{module_name}.__all__ names a name twice"
    absent = [name for name in declared if not hasattr(module, name)]
    assert not absent, f"{module_name}.__all__ names what it does not define: {absent}"


def test_every_public_function_and_class_has_a_docstring():
    missing = [name for module_name in public_modules() for name in undocumented(module_name)]
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_the_docstring_check_catches_a_missing_docstring(tmp_path, monkeypatch):
    """The check above can fail: a module whose public function has no docstring is reported."""
    (tmp_path / "skin_cancer_probe.py").write_text(
        '__all__ = ["bare", "told"]\n\ndef bare():\n    return 1\n\ndef told():\n    """Said."""\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert undocumented("skin_cancer_probe") == ["skin_cancer_probe.bare"]


def _imports_between_modules() -> list[tuple[str, str, str]]:
    """(importing file, imported module, name) for every `from <package module> import <name>` in the package."""
    found = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
        package = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "skin_cancer":
                continue
            found.extend((str(path.relative_to(PACKAGE_ROOT.parent)), target, alias.name) for alias in node.names)
    return found


def _is_package(name: str) -> bool:
    return hasattr(importlib.import_module(name), "__path__")


def test_modules_use_each_other_only_through_all():
    """A name one module imports from another is part of that module's interface: in its `__all__` (so it is
    documented) and never private. Submodules imported by name (`from ..hub import publish`) are exempt."""
    outside = []
    for importer, target, name in _imports_between_modules():
        if _is_package(target) and importlib.util.find_spec(f"{target}.{name}") is not None:
            continue  # a submodule
        module = importlib.import_module(target)
        if name.startswith("_") or name not in getattr(module, "__all__", ()):
            outside.append(f"{importer}: from {target} import {name}")
    assert not outside, "imported but not in the module's __all__:\n" + "\n".join(outside)


def test_the_stats_typed_dicts_name_every_key_compute_stats_returns(tmp_path):
    """`Stats`, `SplitStats` and `LesionAreaFraction` are what stats.json holds, key for key."""
    from typing import get_type_hints

    from skin_cancer.options import BuildOptions
    from skin_cancer.tools.pipeline import prepare_dataset
    from skin_cancer.tools.sample import write_sample_tree
    from skin_cancer.tools.stats import LesionAreaFraction, SplitStats, Stats, compute_stats

    tree = write_sample_tree(tmp_path / "data", release="isic2018")
    build = prepare_dataset(str(tree), BuildOptions(size=64), cache_dir=str(tmp_path / "cache"), release="isic2018")
    stats = compute_stats(build)
    assert set(stats) == set(get_type_hints(Stats))
    for split in stats["splits"].values():
        assert set(split) == set(get_type_hints(SplitStats))
        assert set(split["lesion_area_fraction"]) == set(get_type_hints(LesionAreaFraction))
