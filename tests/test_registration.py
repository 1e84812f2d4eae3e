"""`load_dataset("skin_cancer")` relies on private `datasets` API: it works, or one RegistrationError says what broke.

A changed release is simulated by monkeypatching `datasets`' own modules (never ours), so the checks
in skin_cancer/registration.py and skin_cancer/compat.py run for real against the change.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import datasets
import datasets.load
import datasets.packaged_modules
import pytest
from datasets import load_dataset

import skin_cancer
from skin_cancer.dataset import compat
from skin_cancer.dataset.fingerprint import CODE_HASH
from skin_cancer.dataset.registration import register
from skin_cancer.errors import RegistrationError

from .conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "skin_cancer"
# Modules still importing datasets internals directly: each is owned by another branch and switches to
# skin_cancer.dataset.compat at merge. Empty this set then (the test below fails until it matches the source).
AWAITING_SWITCH: set[str] = set()
INTERNAL_IMPORT = re.compile(r"^\s*from (datasets\.(?:utils\.[\w.]+|info)) import (.+)$", re.MULTILINE)


def test_load_dataset_works_on_the_synthetic_sample(synthetic_tree, tmp_path):
    register()
    register()  # idempotent
    builder = datasets.load_dataset_builder("skin_cancer", data_dir=str(synthetic_tree), cache_dir=str(tmp_path))
    assert isinstance(builder, skin_cancer.SkinCancer), f"load_dataset_builder('skin_cancer') gave {type(builder)}"
    loaded = load_dataset("skin_cancer", data_dir=str(synthetic_tree), cache_dir=str(tmp_path))
    direct = skin_cancer.SkinCancer(data_dir=str(synthetic_tree), cache_dir=str(tmp_path))
    assert builder.cache_dir == direct.cache_dir, "load_dataset and the direct builder should share one cache"
    direct.download_and_prepare()
    assert {name: len(split) for name, split in loaded.items()} == {
        name: len(split) for name, split in direct.as_dataset().items()
    }
    assert all(len(split) > 0 for split in loaded.values())


def test_load_dataset_builder_resolves_to_our_builder_on_the_real_sample(real_sample, tmp_path):
    builder = datasets.load_dataset_builder("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path))
    assert isinstance(builder, skin_cancer.SkinCancer)
    assert builder.config.data_dir == str(real_sample)


def test_data_files_are_refused_with_a_pointer_to_data_dir(tmp_path):
    with pytest.raises(ValueError, match="pass data_dir"):
        skin_cancer.SkinCancer(data_files={"train": ["x.jpg"]}, cache_dir=str(tmp_path))


def test_other_packaged_builders_still_work(tmp_path):
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    loaded = datasets.load_dataset("csv", data_files=str(tmp_path / "rows.csv"), cache_dir=str(tmp_path / "c"))
    assert loaded["train"][0] == {"a": 1, "b": 2}


def test_default_options_given_explicitly_share_the_cache(synthetic_tree, tmp_path):
    """The build command passes every option; the load line it prints passes only changed ones."""
    implicit = datasets.load_dataset_builder("skin_cancer", data_dir=str(synthetic_tree), cache_dir=str(tmp_path))
    explicit = skin_cancer.SkinCancer(
        data_dir=str(synthetic_tree), cache_dir=str(tmp_path), size=512, resize_mode="pad", image_format="jpeg"
    )
    assert explicit.cache_dir == implicit.cache_dir
    other = skin_cancer.SkinCancer(data_dir=str(synthetic_tree), cache_dir=str(tmp_path), size=256)
    assert other.cache_dir != implicit.cache_dir
    assert other.config.size == 256 and explicit.config.size == 512


def test_the_code_hash_covers_every_module_and_ignores_comments(tmp_path, monkeypatch):
    """A module left off a hand-written list would serve stale caches: the hash walks the package."""
    import shutil
    import sys

    from skin_cancer.dataset.fingerprint import code_hash

    package = tmp_path / "pkg_copy"
    shutil.copytree(Path(skin_cancer.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("pkg_copy", None)
    before = code_hash("pkg_copy")
    assert before == CODE_HASH
    (package / "releases.py").write_text((package / "releases.py").read_text() + "\n# only a comment\n\n")
    assert code_hash("pkg_copy") == before
    (package / "new_release_table.py").write_text("NAMES = ['a']\n")
    after_new_module = code_hash("pkg_copy")
    assert after_new_module != before
    (package / "ids.txt").write_text("ISIC_0000001\n")
    assert code_hash("pkg_copy") != after_new_module


@dataclass
class OtherDatasetModule:
    """What a release might turn DatasetModule into: different fields."""

    path: str
    kwargs: dict


TABLE = datasets.packaged_modules._PACKAGED_DATASETS_MODULES
CHANGED_RELEASES = {
    "table-moved": (
        lambda mp: mp.delattr(datasets.packaged_modules, "_PACKAGED_DATASETS_MODULES"),
        "an import failed: cannot import name '_PACKAGED_DATASETS_MODULES'",
    ),
    "table-reshaped": (
        lambda mp: mp.setattr(datasets.packaged_modules, "_PACKAGED_DATASETS_MODULES", {"csv": "datasets.csv"}),
        r"_PACKAGED_DATASETS_MODULES is no longer \{name: \(module, hash\)\}",
    ),
    "load-reads-another-table": (
        lambda mp: mp.setattr(datasets.load, "_PACKAGED_DATASETS_MODULES", dict(TABLE)),
        "datasets.load no longer reads the packaged-module table",
    ),
    "module-class-changed": (
        lambda mp: mp.setattr(datasets.load, "DatasetModule", OtherDatasetModule),
        r"datasets.load.DatasetModule takes \['path', 'kwargs'\]",
    ),
    "factory-gone": (
        lambda mp: mp.delattr(datasets.load, "PackagedDatasetModuleFactory"),
        "an import failed: cannot import name 'PackagedDatasetModuleFactory'",
    ),
}


@pytest.mark.parametrize("change", CHANGED_RELEASES, ids=list(CHANGED_RELEASES))
def test_a_changed_registration_api_is_named_with_the_builder_as_a_way_out(change, monkeypatch):
    simulate, what = CHANGED_RELEASES[change]
    simulate(monkeypatch)
    with pytest.raises(RegistrationError, match=what) as caught:
        register()
    message = str(caught.value)
    assert f"datasets {datasets.__version__}" in message
    assert "skin_cancer.SkinCancer(data_dir=...).download_and_prepare()" in message
    assert "skin_cancer is tested with" in message and "\n" not in message


@pytest.mark.parametrize("name", compat.INTERNALS)
def test_a_missing_internal_is_one_registration_error(name, monkeypatch):
    module = importlib.import_module(compat.INTERNALS[name])
    monkeypatch.delattr(module, name)
    with pytest.raises(RegistrationError, match=re.escape(f"{compat.INTERNALS[name]}.{name}")) as caught:
        register()
    assert "skin_cancer is tested with" in str(caught.value)
    stand_in = compat._load(name)  # what `from skin_cancer.dataset.compat import ...` binds on such a release
    with pytest.raises(RegistrationError, match=re.escape(f"has no {compat.INTERNALS[name]}.{name}")):
        stand_in("500MB")


def test_every_datasets_internal_goes_through_compat():
    """A new direct import of a private helper would escape the check above."""
    direct = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for module, names in INTERNAL_IMPORT.findall(path.read_text()):
            direct.setdefault(path.name, []).extend(f"{module}.{name.strip()}" for name in names.split(","))
    direct.pop("compat.py", None)
    assert set(direct) == AWAITING_SWITCH, f"import these through skin_cancer.dataset.compat instead: {direct}"
    declared = {f"{module}.{name}" for name, module in compat.INTERNALS.items()}
    used = {name for names in direct.values() for name in names}
    assert used <= declared, f"add to compat.INTERNALS: {sorted(used - declared)}"


def _awaiting(name: str) -> bool:
    pattern = re.compile(rf"^\s*from {re.escape(compat.INTERNALS[name])} import .*\b{name}\b", re.MULTILINE)
    return any(pattern.search((PACKAGE / file).read_text()) for file in AWAITING_SWITCH)


@pytest.mark.parametrize("name", compat.INTERNALS)
def test_import_survives_a_release_without_an_internal(name, tmp_path):
    """No ImportError at import time: a warning naming the internal, and the builder's own error on use."""
    if _awaiting(name):
        pytest.skip(f"{name} is still imported directly by a module in AWAITING_SWITCH (switched at merge)")
    modules = sorted(info.name for info in pkgutil.iter_modules([str(PACKAGE)]) if info.name != "__main__")
    script = (
        "import importlib, warnings\n"
        f"m = importlib.import_module({compat.INTERNALS[name]!r})\n"
        f"del m.{name}\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import skin_cancer\n"
        f"    for module in {modules!r}:\n"
        "        importlib.import_module('skin_cancer.' + module)\n"
        "print([str(warning.message) for warning in caught if 'cannot register' in str(warning.message)])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{compat.INTERNALS[name]}.{name}" in result.stdout
