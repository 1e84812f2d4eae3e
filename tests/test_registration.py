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
from skin_cancer.dataset import compat, workers
from skin_cancer.dataset.builder import SkinCancer
from skin_cancer.dataset.fingerprint import package_code_hash
from skin_cancer.dataset.registration import register
from skin_cancer.errors import RegistrationError

from .helpers import PROJECT_ROOT

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
    assert before == package_code_hash()
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
    for path in sorted(PACKAGE.rglob("*.py")):
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
    modules = _all_modules()
    script = (
        "import importlib, warnings\n"
        f"m = importlib.import_module({compat.INTERNALS[name]!r})\n"
        f"del m.{name}\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import skin_cancer\n"
        f"    for module in {modules!r}:\n"
        "        importlib.import_module(module)\n"
        "print([str(warning.message) for warning in caught if 'cannot register' in str(warning.message)])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{compat.INTERNALS[name]}.{name}" in result.stdout


def _all_modules() -> list[str]:
    """Every module of the package, subpackages included (skin_cancer.dataset.builder, ...)."""
    found = pkgutil.walk_packages([str(PACKAGE)], prefix="skin_cancer.")
    return sorted(info.name for info in found if not info.name.endswith("__main__"))


# Any of these in a module other than compat.py is private `datasets` API used behind compat's back.
PRIVATE_USE = re.compile(
    r"\bdatasets\.(?:utils|info|load|packaged_modules|builder)\b|_PACKAGED_DATASETS_MODULES|_cache_dir_root"
)


def test_no_module_but_compat_touches_private_datasets_api():
    """The packaged-module table, the worker pool and the builder's private state go through compat too."""
    found = {
        str(path.relative_to(PACKAGE)): PRIVATE_USE.findall(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "compat.py"
    }
    assert {name: uses for name, uses in found.items() if uses} == {}


def test_every_private_builder_method_overridden_is_declared_in_compat():
    """An override of a private method that a release renamed would silently stop running: compat checks each."""
    private = {
        name
        for name in vars(SkinCancer)
        if name.startswith("_")
        and not name.startswith("__")
        and hasattr(datasets.GeneratorBasedBuilder, name)
        and name not in ("_info", "_split_generators", "_generate_examples")  # the documented builder API
    }
    assert private == set(compat.OVERRIDDEN)


def test_a_changed_overridden_method_is_one_registration_error(monkeypatch):
    def _prepare_split(self, generator, file_format="arrow", num_proc=None, max_shard_size=None):
        pass

    monkeypatch.setattr(datasets.GeneratorBasedBuilder, "_prepare_split", _prepare_split)
    with pytest.raises(
        RegistrationError, match=r"GeneratorBasedBuilder._prepare_split \(takes .*no longer split_generator"
    ):
        register()
    monkeypatch.delattr(datasets.GeneratorBasedBuilder, "_prepare_split_single")
    with pytest.raises(RegistrationError, match=r"_prepare_split_single \(gone"):
        register()


def test_a_release_without_the_worker_pool_is_one_registration_error(monkeypatch):
    """workers.bound_workers used to do nothing, silently, when datasets.builder.Pool was gone."""
    monkeypatch.delattr(datasets.builder, "Pool")
    with pytest.raises(RegistrationError, match=r"datasets.builder.Pool"):
        register()
    with pytest.raises(RegistrationError, match=r"has no datasets.builder.Pool"), workers.bound_workers(2):
        pass
    with workers.bound_workers(1):  # one process needs no pool
        pass


def test_the_worker_pool_is_bound_and_restored():
    original = datasets.builder.Pool
    with workers.bound_workers(2):
        assert datasets.builder.Pool is not original and datasets.builder.Pool._skin_cancer
    assert datasets.builder.Pool is original


def test_helpers_the_package_never_calls_do_not_stop_the_registration():
    """`datasets` without xisdir, xisfile, xjoin or xlistdir: skin_cancer never calls them, so it registers."""
    script = (
        "import warnings\n"
        "import datasets.utils.file_utils as f\n"
        "for name in ('xisdir', 'xisfile', 'xjoin', 'xlistdir'):\n"
        "    delattr(f, name)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import skin_cancer\n"
        "from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES\n"
        "print('skin_cancer' in _PACKAGED_DATASETS_MODULES, [str(w.message) for w in caught])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True []"


def test_import_neither_hashes_the_code_nor_imports_datasets_and_registers_once_datasets_loads(synthetic_tree):
    """`import skin_cancer` is cheap; the code hash is computed when a cache key is first needed."""
    script = (
        "import sys\n"
        "import skin_cancer\n"
        "from skin_cancer.dataset import fingerprint\n"
        "print('datasets' in sys.modules, fingerprint.package_code_hash.cache_info().currsize)\n"
        "import datasets\n"
        f"builder = datasets.load_dataset_builder('skin_cancer', data_dir={str(synthetic_tree)!r})\n"
        "print(type(builder).__name__, fingerprint.package_code_hash.cache_info().currsize)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["False 0", "SkinCancer 1"]


def test_version_and_help_do_not_import_datasets():
    script = (
        "import sys\n"
        "from skin_cancer.cli import main\n"
        "for argv in (['--version'], ['--help'], ['evaluate', '--help'], ['publish', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(name for name in ('datasets', 'numpy', 'PIL') if name in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.strip() == "[]"


@pytest.mark.parametrize(
    "first", ["skin_cancer.dataset.compat", "skin_cancer.dataset.builder", "skin_cancer.hub.card", "skin_cancer.cli"]
)
def test_registration_works_whichever_module_imports_datasets_first(first):
    """The hook registers while `datasets` finishes its first import, which may start inside any module of ours
    (the card's checks used to break it: compat was half-imported when the registration read it)."""
    script = (
        "import importlib, warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import skin_cancer\n"
        f"    module = importlib.import_module({first!r})\n"
        "    from skin_cancer.dataset import compat\n"
        "    compat.convert_file_size_to_int('1MB')\n"
        "from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES\n"
        "print('skin_cancer' in _PACKAGED_DATASETS_MODULES, [str(w.message) for w in caught])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True []"


def test_the_evaluate_function_is_not_shadowed_by_its_subpackage():
    """`skin_cancer.evaluate(...)` is the function even after `skin_cancer.evaluate.*` modules are imported."""
    script = (
        "import skin_cancer\n"
        "skin_cancer.to_original\n"
        "from skin_cancer.evaluate.scoring import score\n"
        "import skin_cancer.evaluate.truth\n"
        "print(callable(skin_cancer.evaluate) and skin_cancer.evaluate.__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "skin_cancer.evaluate.scoring"
