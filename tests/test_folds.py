"""The folds (dataset/folds.py), `skin-cancer splits` and `export --format nnunet`, on the shipped facts and the
real sample; nnU-Net's own integrity check where nnunetv2 is installed."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skin_cancer.cli import main
from skin_cancer.dataset import folds as folds_module
from skin_cancer.dataset.annotations import parse_ham10000, parse_labels
from skin_cancer.dataset.archive import ImageFacts, image_facts
from skin_cancer.dataset.folds import (
    FOLDS,
    assign_groups,
    fold_facts,
    fold_universe,
    group_key,
    hash_bucket,
    release_folds,
    shipped_diagnoses,
    shipped_lesions,
    split_fold,
)
from skin_cancer.dataset.lesion_splits import release_lesion_split
from skin_cancer.releases import RELEASES, get_release
from skin_cancer.tools.pipeline import prepare_dataset
from skin_cancer.tools.splits import official_splits

from .helpers import PROJECT_ROOT, SHARED

# Every release with a training split has folds (PH2 is one test split).
# The releases with a shipped training list to deal the folds over (IMA++ is split at build time: its own test).
RELEASE_NAMES = [
    name for name, release in RELEASES.items() if "train" in release.split_names and release.split("train").ids_file
]


def fold_of_each(release: str, ids) -> dict[str, int]:
    """What the builder writes in the train split's `fold` column for these ids."""
    return {image_id: split_fold(release, "train", image_id) for image_id in ids}


@pytest.mark.parametrize("release", ["isic2017", "isic2018"])
def test_no_patient_and_no_lesion_is_in_two_folds(release):
    universe = fold_universe(release)
    assert len(universe) == get_release(release).split("train").official_count
    folds = fold_of_each(release, universe)
    for fact in ("patient_id", "lesion_id"):
        seen: dict[str, set[int]] = {}
        for image_id, fold in folds.items():
            value = getattr(image_facts(image_id), fact)
            if value:
                seen.setdefault(value, set()).add(fold)
        assert seen, f"{release} train has images with a {fact}"
        split = {value: found for value, found in seen.items() if len(found) > 1}
        assert not split, f"{fact}s in two folds: {list(split)[:3]}"
    # Multi-image patients exist, so the grouping is exercised (isic2018: up to 7 images of one patient).
    sizes = Counter(group_key(image_id) for image_id in universe)
    assert max(sizes.values()) >= 3


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_every_image_keeps_its_fold_whatever_subset_is_present(release):
    universe = fold_universe(release)
    full = fold_of_each(release, universe)
    generator = random.Random(17)
    for _ in range(5):
        half = generator.sample(universe, len(universe) // 2)
        folds_module._release_folds.cache_clear()  # nothing remembered from the full list
        assert fold_of_each(release, half) == {image_id: full[image_id] for image_id in half}


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_folds_are_balanced_and_stratified(release):
    universe = fold_universe(release)
    folds = fold_of_each(release, universe)
    sizes = Counter(folds.values())
    assert sorted(sizes) == list(range(FOLDS))
    assert max(sizes.values()) - min(sizes.values()) <= 2
    diagnoses = shipped_diagnoses(release)
    largest_group = max(Counter(group_key(i, fold_facts(release, i)) for i in universe).values())
    for diagnosis in set(diagnoses.values()):
        per_fold = Counter(folds[i] for i in universe if diagnoses[i] == diagnosis)
        counts = [per_fold[k] for k in range(FOLDS)]
        # Groups may mix diagnoses (a patient with a nevus and a melanoma), so allow a group's size or two.
        assert max(counts) - min(counts) <= 2 * largest_group, (diagnosis, counts)


def test_folds_do_not_depend_on_the_interpreter_s_hash_seed():
    script = (
        "from skin_cancer.dataset.folds import fold_universe, split_fold;"
        "print(sum(k * split_fold('isic2018', 'train', i) for k, i in enumerate(fold_universe('isic2018'))))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1
    assert outputs == {
        str(sum(k * split_fold("isic2018", "train", i) for k, i in enumerate(fold_universe("isic2018")))) + "\n"
    }


def test_assign_groups_keeps_groups_whole_and_balances_each_stratum():
    sizes = {f"g{index}": 1 + index % 3 for index in range(60)}
    strata = {key: ("rare" if index % 6 == 0 else "common") for index, key in enumerate(sizes)}
    dealt = assign_groups(sizes, strata, buckets=5, salt="test")
    assert set(dealt) == set(sizes) and set(dealt.values()) == set(range(5))
    for stratum in ("rare", "common"):
        items = Counter()
        for key, bucket in dealt.items():
            if strata[key] == stratum:
                items[bucket] += sizes[key]
        assert max(items.values()) - min(items.values()) <= 3, (stratum, items)
    assert assign_groups(dict(reversed(list(sizes.items()))), strata, 5, "test") == dealt  # order of input
    assert assign_groups(sizes, strata, 5, "other salt") != dealt


def test_an_image_outside_the_official_list_takes_its_group_s_fold_or_its_hash():
    folds = release_folds("isic2018")
    patient_image = next(i for i in fold_universe("isic2018") if image_facts(i).patient_id)
    facts = image_facts(patient_image)
    assert folds.fold("ISIC_9999999", facts) == folds.fold(patient_image)  # same patient, same fold
    assert folds.fold("ISIC_9000001") == hash_bucket("image:ISIC_9000001")
    assert split_fold("isic2018", "valid", patient_image) is None


def test_ham10000_folds_never_split_a_lesion_and_follow_the_metadata_table(ham10000_sample):
    universe = fold_universe("ham10000")
    rows = parse_ham10000(
        (ham10000_sample / "HAM10000_metadata.csv").read_text(), get_release("ham10000").diagnosis_names
    )
    train = {i: row for i, row in rows.items() if release_lesion_split("ham10000", row.lesion_id) == "train"}
    assert sorted(train) == universe and len(universe) == get_release("ham10000").split("train").official_count
    assert shipped_lesions("ham10000") == {i: row.lesion_id for i, row in train.items()}
    assert shipped_diagnoses("ham10000") == {i: row.dx for i, row in train.items()}
    folds_by_lesion: dict[str, set[int]] = {}
    for image_id, fold in fold_of_each("ham10000", universe).items():
        folds_by_lesion.setdefault(train[image_id].lesion_id, set()).add(fold)
    assert max(Counter(row.lesion_id for row in train.values()).values()) >= 3  # multi-image lesions exist
    assert all(len(found) == 1 for found in folds_by_lesion.values())
    # The build groups an image outside the shipped list by the lesion of the user's table.
    image_id, row = next(iter(train.items()))
    assert split_fold("ham10000", "train", "ISIC_9999999", ImageFacts(lesion_id=row.lesion_id)) == split_fold(
        "ham10000", "train", image_id
    )


def test_a_release_without_a_training_split_has_no_folds(tmp_path, capsys):
    assert split_fold("ph2", "test", "IMD002") is None and shipped_diagnoses("ph2") == {}
    assert run_splits("--release", "ph2", "--format", "ids", "--output", str(tmp_path / "out")) == 2
    assert "ph2 has no train split" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_shipped_diagnoses_are_the_official_labels(reference_csvs, ham10000_sample, tmp_path):
    csvs = {
        "isic2016": SHARED / "isic2016-reference" / "ISBI2016_ISIC_Part3_Training_GroundTruth.csv",
        "isic2017": reference_csvs / "ISIC-2017_Training_Part3_GroundTruth.csv",
    }
    for release, path in csvs.items():
        if not path.is_file():
            pytest.skip(f"needs {path}")
        official = parse_labels(get_release(release), path.read_text(encoding="utf-8-sig"))
        assert shipped_diagnoses(release) == official
        assert sorted(official) == fold_universe(release)
    csvs["ham10000"] = ham10000_sample / "HAM10000_metadata.csv"  # checked above, in the HAM10000 test
    spec = importlib.util.spec_from_file_location("diagnoses", PROJECT_ROOT / "scripts" / "diagnoses.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / "ids").mkdir()
    written = script.write_all(csvs, tmp_path, tmp_path / "ids")
    assert len(written) == 8  # 2016, 2017; HAM10000's lesion table, three id lists, diagnoses and lesions
    for path in written:  # the regeneration script gives the shipped files byte for byte
        folder = "ids" if path.parent.name == "ids" else "diagnoses"
        shipped = PROJECT_ROOT / "skin_cancer" / "data" / folder / path.name
        assert path.read_bytes() == shipped.read_bytes()


def run_splits(*arguments: str) -> int:
    return main(["splits", "--quiet", *arguments])


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_splits_ids_are_the_official_lists_and_the_folds(release, tmp_path):
    out = tmp_path / "ids"
    assert run_splits("--release", release, "--format", "ids", "--output", str(out)) == 0
    official = official_splits(release)
    for split, ids in official.items():
        assert (out / f"{split}.txt").read_text().split() == ids
    fold_files = [(out / f"train-fold{k}.txt").read_text().split() for k in range(FOLDS)]
    assert sorted(i for ids in fold_files for i in ids) == official["train"]
    for k, ids in enumerate(fold_files):
        assert ids and all(split_fold(release, "train", i) == k for i in ids)
    assert (out / ".skin-cancer-output.json").is_file()


def test_splits_nnunet_has_five_folds_and_the_official_validation_as_the_sixth(tmp_path):
    for release, entries_expected in (("isic2017", 6), ("isic2016", 5)):
        out = tmp_path / release
        assert run_splits("--release", release, "--format", "nnunet", "--output", str(out)) == 0
        entries = json.loads((out / "splits_final.json").read_text())
        assert len(entries) == entries_expected
        train = official_splits(release)["train"]
        for k, entry in enumerate(entries[:FOLDS]):
            assert sorted(entry["train"] + entry["val"]) == train and not set(entry["train"]) & set(entry["val"])
            assert all(split_fold(release, "train", i) == k for i in entry["val"])
        if entries_expected == 6:
            assert entries[5] == {"train": train, "val": official_splits(release)["valid"]}


def test_splits_json_and_overwrite(tmp_path, capsys):
    out = tmp_path / "json"
    assert run_splits("--release", "isic2018", "--format", "json", "--output", str(out)) == 0
    record = json.loads((out / "splits.json").read_text())
    assert record["release"] == "isic2018" and record["splits"] == official_splits("isic2018")
    assert [sorted(ids) for ids in record["fold_ids"]] == record["fold_ids"]
    assert record["groups"]["ISIC_0000000"] == group_key("ISIC_0000000")
    assert run_splits("--release", "isic2018", "--format", "json", "--output", str(out)) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run_splits("--release", "isic2018", "--format", "ids", "--output", str(out), "--overwrite") == 0
    assert not (out / "splits.json").exists() and (out / "train.txt").is_file()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert run_splits("--format", "ids", "--output", str(foreign), "--overwrite") == 2
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def real_build(real_sample, tmp_path_factory):
    return prepare_dataset(str(real_sample), cache_dir=str(tmp_path_factory.mktemp("folds-cache")))


def test_the_fold_column_is_int32_in_train_and_null_elsewhere(real_build):
    dataset = real_build.dataset
    assert dataset["train"].features["fold"].dtype == "int32"
    train = dataset["train"]
    assert list(train["fold"]) == [split_fold("isic2017", "train", i) for i in train["image_id"]]
    assert all(fold in range(FOLDS) for fold in train["fold"])
    for split in ("valid", "test"):
        assert set(dataset[split]["fold"]) == {None}


@pytest.fixture(scope="module")
def nnunet_export(real_sample, real_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nnunet") / "raw"
    arguments = ["--data-dir", str(real_sample), "--cache-dir", str(real_build.cache_dir), "--quiet"]
    assert main(["export", *arguments, "--format", "nnunet", "--dataset-id", "501", "--output", str(out)]) == 0
    return out / "Dataset501_ISIC2017"


def test_nnunet_export_layout_and_label_values(nnunet_export, real_build):
    dataset = real_build.dataset
    train_ids = sorted([*dataset["train"]["image_id"], *dataset["valid"]["image_id"]])
    test_ids = sorted(dataset["test"]["image_id"])
    assert sorted(path.name for path in (nnunet_export / "imagesTr").iterdir()) == [f"{i}_0000.png" for i in train_ids]
    assert sorted(path.name for path in (nnunet_export / "labelsTr").iterdir()) == [f"{i}.png" for i in train_ids]
    assert sorted(path.name for path in (nnunet_export / "imagesTs").iterdir()) == [f"{i}_0000.png" for i in test_ids]
    assert sorted(path.name for path in (nnunet_export / "labelsTs").iterdir()) == [f"{i}.png" for i in test_ids]
    masks = {row["image_id"]: np.asarray(row["mask"]) for row in dataset["test"]}
    for image_id in test_ids:
        with Image.open(nnunet_export / "imagesTs" / f"{image_id}_0000.png") as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (512, 512))
        with Image.open(nnunet_export / "labelsTs" / f"{image_id}.png") as label:
            assert (label.format, label.mode) == ("PNG", "L")
            values = np.asarray(label)
        assert set(np.unique(values)) == {0, 1}
        assert np.array_equal(values, masks[image_id])  # the dataset's class indices, pixel for pixel
    description = json.loads((nnunet_export / "dataset.json").read_text())
    assert description["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert description["labels"] == {"background": 0, "lesion": 1}
    assert (description["file_ending"], description["numTraining"]) == (".png", len(train_ids))
    entries = json.loads((nnunet_export / "splits_final.json").read_text())
    folds = dict(zip(dataset["train"]["image_id"], dataset["train"]["fold"], strict=True))
    assert len(entries) == FOLDS + 1
    for k in range(FOLDS):
        assert entries[k]["val"] == sorted(i for i, fold in folds.items() if fold == k)
    assert entries[FOLDS] == {"train": sorted(folds), "val": sorted(dataset["valid"]["image_id"])}


def test_nnunet_export_refuses_a_dataset_id_out_of_range_before_building(real_sample, tmp_path, capsys):
    cache = tmp_path / "cache"
    arguments = ["--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", "--format", "nnunet"]
    assert main(["export", *arguments, "--dataset-id", "1000", "--output", str(tmp_path / "o")]) == 2
    assert "1 to 999" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not any(cache.rglob("*.arrow"))


def test_nnunet_export_of_a_release_without_training_images_is_refused_before_building(ph2_sample, tmp_path, capsys):
    """PH2 is test-only: the export was numTraining 0, an empty imagesTr and five empty folds."""
    cache = tmp_path / "cache"
    arguments = ["--data-dir", str(ph2_sample), "--release", "ph2", "--cache-dir", str(cache), "--quiet"]
    assert main(["export", *arguments, "--format", "nnunet", "--output", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert "ph2 has no train split" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "o").exists() and not any(cache.rglob("*.arrow"))


def test_nnunet_export_of_a_partial_build_names_its_empty_folds(ham10000_sample, tmp_path, capsys):
    arguments = ["--data-dir", str(ham10000_sample), "--release", "ham10000", "--cache-dir", str(tmp_path / "c")]
    out = tmp_path / "o"
    assert main(["export", *arguments, "--quiet", "--format", "nnunet", "--output", str(out)]) == 0
    entries = json.loads(next(out.glob("Dataset*/splits_final.json")).read_text())
    empty = [k for k, entry in enumerate(entries) if not entry["train"] or not entry["val"]]
    assert empty, "the 16-pair sample leaves some fold empty"
    warning = [line for line in capsys.readouterr().err.splitlines() if "splits_final.json" in line]
    assert len(warning) == 1 and f"fold{'s' if len(empty) > 1 else ''} {', '.join(map(str, empty))} of" in warning[0]


def test_dataset_id_without_nnunet_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "--sample", "--dataset-id", "7", "--output", str(tmp_path / "o")]) == 2
    assert "--dataset-id is the nnU-Net dataset number: it needs --format nnunet" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_nnunet_s_own_integrity_check_passes_on_the_export(nnunet_export):
    if importlib.util.find_spec("nnunetv2") is None:
        pytest.skip("nnunetv2 is not installed (pip install -e '.[nnunet]' brings it, with PyTorch)")
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    verify_dataset_integrity(str(nnunet_export), 1)
