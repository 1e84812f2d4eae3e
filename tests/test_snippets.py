"""Every Python snippet in the README and in the dataset card runs, so none of them can rot.

The README's snippets run against the built-in synthetic sample (for `/data/...` folders) and a dry-run
staged repository (for Hub repository ids); the card's snippets run against the card as staged. A
snippet that needs a package this project does not install is skipped with the package named.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from skin_cancer.hub import publish
from skin_cancer.tools.pipeline import prepare_dataset
from skin_cancer.tools.sample import write_sample_tree

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
REPO_ID = re.compile(r'"(my-lab/[\w.-]+)"')
OPTIONAL_PACKAGES = ("torch", "transformers", "torchvision", "albumentations")


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def missing_package(code: str) -> str | None:
    for package in OPTIONAL_PACKAGES:
        if re.search(rf"^\s*(import|from) {package}\b", code, re.MULTILINE) and not importlib.util.find_spec(package):
            return package
    return None


# The README's data folders, each replaced by the synthetic sample of its release.
README_FOLDERS = {"/data/ISIC-2017": "isic2017", "/data/ISIC2018": "isic2018", "/data/ISBI2016": "isic2016"}


@pytest.fixture(scope="module")
def sample_trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("snippet-data")
    return {folder: write_sample_tree(root / release, release=release) for folder, release in README_FOLDERS.items()}


@pytest.fixture(scope="module")
def sample_tree(sample_trees) -> Path:
    return sample_trees["/data/ISIC-2017"]


@pytest.fixture(scope="module")
def staged_repo(sample_tree, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("snippet-cache")
    build = prepare_dataset(str(sample_tree), cache_dir=str(cache))
    out = tmp_path_factory.mktemp("snippet-repo") / "repo"
    publish.stage(build, "my-lab/isic-2017-512", out, "500MB", allow_partial=True)
    return out


def run_snippet(code: str, tmp_path: Path, monkeypatch) -> None:
    package = missing_package(code)
    if package:
        pytest.skip(f"this snippet needs {package}: pip install '.[train]'")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})


README_BLOCKS = python_blocks((PROJECT_ROOT / "README.md").read_text())
CARD_BLOCKS = python_blocks((PROJECT_ROOT / "dataset_card.md").read_text())


def test_the_readme_and_the_card_have_snippets():
    assert len(README_BLOCKS) >= 2 and len(CARD_BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(README_BLOCKS)))
def test_readme_snippet_runs(index, sample_trees, staged_repo, tmp_path, monkeypatch):
    code = README_BLOCKS[index]
    for folder, tree in sample_trees.items():
        code = code.replace(f'"{folder}"', repr(str(tree)))
    code = REPO_ID.sub(repr(str(staged_repo)), code)
    run_snippet(code, tmp_path, monkeypatch)


@pytest.mark.parametrize("index", range(len(CARD_BLOCKS)))
def test_card_snippet_runs(index, staged_repo, tmp_path, monkeypatch):
    staged_blocks = python_blocks((staged_repo / "README.md").read_text())
    assert len(staged_blocks) == len(CARD_BLOCKS)
    code = staged_blocks[index].replace('"my-lab/isic-2017-512"', repr(str(staged_repo)))
    run_snippet(code, tmp_path, monkeypatch)


# Every fixture of conftest.py that reads ../shared (each goes through conftest._require).
SHARED_FIXTURES = (
    "real_sample",
    "reference_csvs",
    "shared_releases",
    "archive_metadata",
    "isic2018_images",
    "ham10000_sample",
    "ph2_sample",
    "real_dataset",
)
_LIST_PLUGIN = """
NEEDS = set(%r)
def pytest_collection_modifyitems(session, config, items):
    files = sorted({item.nodeid.split("::")[0] for item in items if NEEDS & set(item.fixturenames)})
    print("SHARED-FILES " + " ".join(files))
"""


def test_the_readme_names_every_test_file_that_needs_shared(tmp_path):
    """The README's list of the tests that need ../shared, against what pytest itself resolves."""
    import os
    import subprocess
    import sys

    (tmp_path / "list_shared.py").write_text(_LIST_PLUGIN % (SHARED_FIXTURES,))
    command = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "-p", "list_shared", "tests"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    found = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    line = next(line for line in found.stdout.splitlines() if line.startswith("SHARED-FILES"))
    needing = {Path(name).name for name in line.split()[1:]}
    readme = (PROJECT_ROOT / "README.md").read_text()
    paragraph = readme[readme.index("Some tests also read") : readme.index("SKIN_CANCER_REQUIRE_SHARED=1")]
    listed = set(re.findall(r"`(test_\w+\.py)`", paragraph))
    assert listed == needing, f"missing from the README: {needing - listed}; not needing ../shared: {listed - needing}"
    assert all(f"`{fixture}`" in paragraph for fixture in SHARED_FIXTURES)
