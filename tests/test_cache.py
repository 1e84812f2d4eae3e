"""The cache: one key for one data folder however it is spelled, one build kept per data folder and
options, and no build stored from inputs that changed while it ran. Every deletion goes through a
recording stub (cache._delete)."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from datasets import load_dataset

import skin_cancer
from skin_cancer.dataset import cache
from skin_cancer.dataset.cache import NotASupersededBuild, remove_build, superseded_builds

from .helpers import prepared_files
from .test_builder_inputs import SYNTHETIC_COUNTS, build, change_input


def builds_in(cache_dir: Path) -> list[Path]:
    """Every complete build in a cache: the folders holding a dataset_info.json."""
    return sorted(path.parent for path in cache_dir.rglob("dataset_info.json"))


@pytest.fixture
def deletions(monkeypatch, tmp_path) -> list[str]:
    """Records every deletion; deletes for real only inside this test's own tmp_path (never elsewhere)."""
    recorded: list[str] = []

    def recording_delete(path):
        recorded.append(str(path))
        assert Path(path).resolve().is_relative_to(tmp_path.resolve()), f"a deletion outside the test: {path}"
        shutil.rmtree(path)

    monkeypatch.setattr(cache, "_delete", recording_delete)
    return recorded


# --- One key however the data folder is spelled ------------------------------------------------


@pytest.mark.parametrize("spelling", ["relative", "dot-dot", "trailing slash"])
def test_a_relative_data_dir_reuses_what_the_absolute_path_built(synthetic_tree, tmp_path, monkeypatch, spelling):
    cache_dir = tmp_path / "cache"
    build(synthetic_tree, cache_dir)
    monkeypatch.chdir(synthetic_tree.parent)
    spelled = {
        "relative": synthetic_tree.name,
        "dot-dot": f"../{synthetic_tree.parent.name}/{synthetic_tree.name}",
        "trailing slash": f"{synthetic_tree}/",
    }[spelling]

    def no_reading(location):
        raise AssertionError(f"a build of the same folder read {location.label}")

    monkeypatch.setattr("skin_cancer.dataset.builder.read_bytes", no_reading)
    builder = skin_cancer.SkinCancer(data_dir=spelled, cache_dir=str(cache_dir))
    assert builder.is_prepared(), f"{spelled!r} must find the build of {synthetic_tree}"
    dataset = load_dataset("skin_cancer", data_dir=spelled, cache_dir=str(cache_dir))
    assert {split: len(part) for split, part in dataset.items()} == SYNTHETIC_COUNTS
    assert len(builds_in(cache_dir)) == 1


# --- A superseded build is removed once its replacement is complete ------------------------------


@pytest.mark.parametrize("change", ["touch", "replace", "remove"])
def test_a_changed_input_replaces_its_build_and_keeps_every_other(synthetic_tree, tmp_path, deletions, change):
    cache_dir = tmp_path / "cache"
    old = builds_in_after(lambda: build(synthetic_tree, cache_dir), cache_dir)
    other_options = builds_in_after(lambda: build(synthetic_tree, cache_dir, size=64), cache_dir)
    other_folder = tmp_path / "copy" / "ISIC-2017"
    shutil.copytree(synthetic_tree, other_folder)
    other_data = builds_in_after(lambda: build(other_folder, cache_dir), cache_dir)
    assert deletions == [], "a first build of each data folder and options removes nothing"

    change_input(synthetic_tree, change)
    builder = skin_cancer.SkinCancer(data_dir=str(synthetic_tree), cache_dir=str(cache_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder.download_and_prepare()
    new = Path(builder.cache_dir)
    assert deletions == [str(old)], "exactly the superseded build goes"
    assert builder.removed_builds == [str(old)]
    assert builds_in(cache_dir) == sorted([new, other_options, other_data])
    assert new.parent == old.parent and new != old
    expected = SYNTHETIC_COUNTS["train"] - (change == "remove")
    assert len(builder.as_dataset()["train"]) == expected


def builds_in_after(make, cache_dir: Path) -> Path:
    """The one build `make()` added to the cache."""
    before = set(builds_in(cache_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make()
    (added,) = set(builds_in(cache_dir)) - before
    return added


def test_a_reused_build_removes_nothing(synthetic_tree, tmp_path, deletions):
    build(synthetic_tree, tmp_path / "cache")
    build(synthetic_tree, tmp_path / "cache")
    assert deletions == [] and len(builds_in(tmp_path / "cache")) == 1


def fake_build(version_folder: Path, name: str, **info) -> Path:
    """A folder shaped like a complete build, with a dataset_info.json naming the builder."""
    folder = version_folder / name
    folder.mkdir(parents=True)
    fields = {"builder_name": "builder", "dataset_name": "skin_cancer", "config_name": "isic2017"}
    fields.update(info)
    document = {**fields, "version": {"version_str": version_folder.name}}
    (folder / "dataset_info.json").write_text(json.dumps(document))
    (folder / "data.arrow").write_bytes(b"arrow")
    return folder


def test_remove_build_refuses_everything_but_a_superseded_build(tmp_path, monkeypatch):
    """The guard itself: every refusal is checked with a stub that only records (nothing can be deleted)."""
    recorded: list[str] = []
    monkeypatch.setattr(cache, "_delete", recorded.append)
    version = tmp_path / "cache" / "skin_cancer" / "isic2017-0123" / "2.0.0"
    kept = fake_build(version, "a" * 64)
    superseded = fake_build(version, "b" * 64)
    outside = fake_build(tmp_path / "elsewhere" / "2.0.0", "c" * 64)
    (version / ("d" * 64)).symlink_to(outside)
    user_folder = version / "my-data"
    user_folder.mkdir()
    (user_folder / "dataset_info.json").write_text((superseded / "dataset_info.json").read_text())
    incomplete = fake_build(version, "e" * 64 + ".incomplete")
    unfinished = version / ("f" * 64)
    unfinished.mkdir()
    (unfinished / "data.arrow").write_bytes(b"half")
    other_release = fake_build(version, "1" * 64, config_name="isic2018")
    other_builder = fake_build(version, "2" * 64, dataset_name="imagefolder")
    older = fake_build(tmp_path / "cache" / "skin_cancer" / "isic2017-0123" / "1.0.0", "3" * 64)
    lock = version / (("4" * 64) + "_builder.lock")
    lock.write_text("")
    refused = {
        "the kept build": kept,
        "a link to a build elsewhere": version / ("d" * 64),
        "the link's target": outside,
        "a folder the builder did not name": user_folder,
        "an unfinished build": incomplete,
        "a build without dataset_info.json": unfinished,
        "another release": other_release,
        "another builder": other_builder,
        "another builder version": older,
        "a file": lock,
        "a path spelled with ..": version / ".." / "2.0.0" / ("b" * 64),
        "a relative path": Path(os.path.relpath(superseded)),
        "the version folder": version,
        "the cache": tmp_path / "cache",
        "the root": Path("/"),
    }
    for what, path in refused.items():
        with pytest.raises(NotASupersededBuild):
            remove_build(str(path), str(kept))
        assert recorded == [], f"{what} must not be deleted"
    assert superseded_builds(str(kept)) == [str(superseded)]
    remove_build(str(superseded), str(kept))
    assert recorded == [str(superseded)]


def test_a_failed_deletion_warns_and_keeps_the_new_build(synthetic_tree, tmp_path, monkeypatch):
    def refusing_delete(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(cache, "_delete", refusing_delete)
    build(synthetic_tree, tmp_path / "cache")
    change_input(synthetic_tree, "touch")
    with pytest.warns(UserWarning, match=r"could not remove the superseded build .*Permission denied"):
        dataset = build(synthetic_tree, tmp_path / "cache")
    assert len(dataset["train"]) == SYNTHETIC_COUNTS["train"]
    assert len(builds_in(tmp_path / "cache")) == 2


# --- Inputs that change while the build runs ---------------------------------------------------


@pytest.mark.parametrize("when", ["during the build", "between key and build"])
def test_an_input_replaced_during_the_build_fails_and_keeps_nothing(
    synthetic_tree, tmp_path, monkeypatch, deletions, when
):
    cache_dir = tmp_path / "cache"
    previous = builds_in_after(lambda: build(synthetic_tree, cache_dir), cache_dir)
    change_input(synthetic_tree, "touch")  # a new key: the build below really runs
    mask = synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_9000006_segmentation.png"

    def replace_the_mask():
        data = mask.read_bytes()
        mask.unlink()
        mask.write_bytes(data)  # the same pixels, a new file: another build could differ

    from skin_cancer.dataset import builder as builder_module

    original = builder_module.read_bytes
    replaced = []

    def reading(location):
        if not replaced and when == "during the build":
            replaced.append(location.label)
            replace_the_mask()
        return original(location)

    monkeypatch.setattr(builder_module, "read_bytes", reading)
    builder = skin_cancer.SkinCancer(data_dir=str(synthetic_tree), cache_dir=str(cache_dir))
    if when == "between key and build":
        replace_the_mask()
    with pytest.raises(skin_cancer.DataError) as caught:
        builder.download_and_prepare()
    error = caught.value
    assert error.path == str(mask)
    assert "changed while the dataset was being built; nothing was kept" in str(error) and "\n" not in str(error)
    assert not (Path(builder.cache_dir) / "dataset_info.json").exists()
    assert not list(cache_dir.rglob("*.incomplete")), "no half-built cache"
    assert builds_in(cache_dir) == [previous], "the last complete build stays; nothing else is stored"
    assert deletions == []
    assert len(prepared_files(previous)) > 0
    assert len(build(synthetic_tree, cache_dir)["train"]) == SYNTHETIC_COUNTS["train"], "a new build then works"


def test_a_reused_partial_build_warns_again(synthetic_tree, tmp_path):
    # The second prepare runs no generator; the partial warning must not disappear with it.
    from skin_cancer.options import BuildOptions
    from skin_cancer.tools.pipeline import prepare_dataset

    def partial_warnings() -> tuple[bool, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            built = prepare_dataset(str(synthetic_tree), BuildOptions(size=64), cache_dir=str(tmp_path / "c"))
        return built.reused, [str(w.message) for w in caught if w.category is skin_cancer.PartialSplitWarning]

    first_reused, first = partial_warnings()
    second_reused, second = partial_warnings()
    assert (first_reused, second_reused) == (False, True)
    assert first and len(second) == len(first)
    assert all(message.endswith("(a reused build)") for message in second)
    assert [message.removesuffix(" (a reused build)") for message in second] == first
