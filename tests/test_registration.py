"""`load_dataset("skin_cancer")` depends on datasets' private packaged-module table: fail loudly if it moves."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES

import skin_cancer
from skin_cancer.registration import BUILDER_MODULE, SOURCE_HASH, SUPPORTED_DATASETS, RegistrationError, register


def test_registration_succeeds_on_this_datasets_release():
    try:
        register()
    except RegistrationError as error:
        pytest.fail(f"datasets {datasets.__version__} changed its private API: {error}")
    assert _PACKAGED_DATASETS_MODULES["skin_cancer"] == (BUILDER_MODULE, SOURCE_HASH)


def test_installed_datasets_is_in_the_supported_range():
    from packaging.specifiers import SpecifierSet

    assert datasets.__version__ in SpecifierSet(SUPPORTED_DATASETS), (
        f"datasets {datasets.__version__} is outside the tested range {SUPPORTED_DATASETS}: run the tests and "
        "update SUPPORTED_DATASETS and pyproject.toml together"
    )


def test_load_dataset_builder_resolves_to_our_builder(real_sample, tmp_path):
    builder = datasets.load_dataset_builder("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path))
    assert isinstance(builder, skin_cancer.SkinCancer), (
        f"load_dataset_builder('skin_cancer') gave {type(builder)}: the registration no longer takes effect"
    )
    assert builder.config.data_dir == str(real_sample)
    direct = skin_cancer.SkinCancer(data_dir=str(real_sample), cache_dir=str(tmp_path))
    assert builder.cache_dir == direct.cache_dir, "load_dataset and the direct builder should share one cache"


def test_data_files_are_refused_with_a_pointer_to_data_dir(tmp_path):
    with pytest.raises(ValueError, match="pass data_dir"):
        skin_cancer.SkinCancer(data_files={"train": ["x.jpg"]}, cache_dir=str(tmp_path))


def test_other_packaged_builders_still_work(tmp_path):
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    loaded = datasets.load_dataset("csv", data_files=str(tmp_path / "rows.csv"), cache_dir=str(tmp_path / "c"))
    assert loaded["train"][0] == {"a": 1, "b": 2}


def test_default_options_given_explicitly_share_the_cache(real_sample, tmp_path):
    """The build command passes every option; the load line it prints passes only changed ones."""
    implicit = datasets.load_dataset_builder("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path))
    explicit = skin_cancer.SkinCancer(
        data_dir=str(real_sample), cache_dir=str(tmp_path), size=512, resize_mode="pad", image_format="jpeg"
    )
    assert explicit.cache_dir == implicit.cache_dir
    other = skin_cancer.SkinCancer(data_dir=str(real_sample), cache_dir=str(tmp_path), size=256)
    assert other.cache_dir != implicit.cache_dir
    assert other.config.size == 256 and explicit.config.size == 512


def test_the_code_hash_covers_every_module_and_ignores_comments(tmp_path, monkeypatch):
    """A module left off a hand-written list would serve stale caches: the hash walks the package."""
    import shutil
    import sys

    from skin_cancer.fingerprint import code_hash

    package = tmp_path / "pkg_copy"
    shutil.copytree(Path(skin_cancer.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("pkg_copy", None)
    before = code_hash("pkg_copy")
    assert before == SOURCE_HASH
    (package / "layout.py").write_text((package / "layout.py").read_text() + "\n# only a comment\n\n")
    assert code_hash("pkg_copy") == before
    (package / "new_release_table.py").write_text("NAMES = ['a']\n")
    after_new_module = code_hash("pkg_copy")
    assert after_new_module != before
    (package / "ids.txt").write_text("ISIC_0000001\n")
    assert code_hash("pkg_copy") != after_new_module
