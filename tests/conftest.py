"""Shared fixtures: the real ISIC sample in ../shared, synthetic trees, and isolated caches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import skin_cancer
from skin_cancer.tools.sample import write_sample_tree

from .helpers import HAM10000_SAMPLE, REAL_SAMPLE, REFERENCE_CSVS, REQUIRE_SHARED, SHARED


def _require(path: Path) -> Path:
    if not path.is_dir():
        reason = (
            f"needs the shared ISIC data in {path}, absent here: it comes from the sibling folder "
            f"../shared of this checkout (see ../shared/README.md)"
        )
        if os.environ.get(REQUIRE_SHARED) == "1":
            pytest.fail(f"{reason}; {REQUIRE_SHARED}=1 forbids skipping")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def real_sample() -> Path:
    return _require(REAL_SAMPLE)


@pytest.fixture(scope="session")
def reference_csvs() -> Path:
    return _require(REFERENCE_CSVS)


@pytest.fixture(scope="session")
def shared_releases() -> Path:
    """../shared/isic-releases: the facts and id lists the release table and the shipped lists come from."""
    return _require(SHARED / "isic-releases")


@pytest.fixture(scope="session")
def archive_metadata() -> Path:
    """../shared/isic-archive-metadata: the ISIC Archive's per-image facts (IMA++), read where they are."""
    return _require(SHARED / "isic-archive-metadata")


@pytest.fixture(scope="session")
def isic2018_images() -> Path:
    """../shared/isic2018-images: 17 real ISIC 2018 validation and test images, without masks."""
    return _require(SHARED / "isic2018-images")


@pytest.fixture(scope="session")
def ham10000_sample() -> Path:
    """../shared/ham10000-mini/HAM10000: 16 genuine HAM10000 pairs with the full official metadata table."""
    return _require(HAM10000_SAMPLE)


@pytest.fixture(scope="session")
def ph2_sample() -> Path:
    """../shared/ph2-mini: 3 genuine PH2 cases in the official layout (PH2Dataset/PH2 Dataset images/IMDxxx)."""
    return _require(SHARED / "ph2-mini")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hf-cache")


@pytest.fixture(scope="session")
def real_dataset(real_sample, session_cache):
    """The real sample prepared once, in one process, shared by the read-only tests."""
    builder = skin_cancer.SkinCancer(data_dir=str(real_sample), cache_dir=str(session_cache / "real"))
    builder.download_and_prepare()
    return builder.as_dataset()


@pytest.fixture(scope="session")
def pristine_synthetic_tree(tmp_path_factory) -> Path:
    return write_sample_tree(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture
def synthetic_tree(pristine_synthetic_tree, tmp_path) -> Path:
    """A fresh, writable ISIC-shaped tree that a test may break as it likes."""
    destination = tmp_path / "data" / "ISIC-2017"
    shutil.copytree(pristine_synthetic_tree, destination)
    return destination


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path
