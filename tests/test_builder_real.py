"""The builder on the 14 genuine ISIC-2017 pairs in ../shared: counts, schema, pixels, labels."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.releases import ISIC2017

from .helpers import REAL_COUNTS, raw_bytes

SPLITS = ISIC2017.splits


def test_exact_counts_per_split(real_dataset):
    assert {split: len(dataset) for split, dataset in real_dataset.items()} == REAL_COUNTS


def test_no_example_is_in_two_splits(real_dataset, real_sample):
    ids = {split: set(dataset["image_id"]) for split, dataset in real_dataset.items()}
    assert not (ids["train"] & ids["valid"]) and not (ids["train"] & ids["test"]) and not (ids["valid"] & ids["test"])
    for split in SPLITS:
        on_disk = {path.stem for path in (real_sample / split.data_folder).glob("*.jpg")}
        assert ids[split.name] == on_disk


def test_schema(real_dataset):
    features = real_dataset["train"].features
    assert list(features) == [
        "image_id",
        "image",
        "mask",
        "diagnosis",
        "age_approximate",
        "sex",
        "original_width",
        "original_height",
        "phash",
        "also_in",
        "lesion_id",
        "patient_id",
        "license",
        "attribution",
        "fold",
        "dx_type",
        "localization",
        "masks",
        "annotators",
        "tools",
        "skill_levels",
        "consensus_staple",
        "consensus_majority",
    ]
    # The multi-annotator columns (IMA++) are null in a release with one mask per image.
    for column in ("masks", "annotators", "tools", "skill_levels", "consensus_staple", "consensus_majority"):
        assert set(real_dataset["train"][column]) == {None}
    assert features["diagnosis"].names == ["nevus", "melanoma", "seborrheic_keratosis"]
    assert type(features["image"]).__name__ == type(features["mask"]).__name__ == "Image"
    assert features["age_approximate"].dtype == "int32"


def test_images_are_stored_as_jpeg_95_and_masks_as_png(real_dataset):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG", quality=95)
    quality_95_tables = Image.open(buffer).quantization
    raw = real_dataset["valid"].cast_column("image", real_dataset["valid"].features["image"].__class__(decode=False))
    raw = raw.cast_column("mask", raw.features["mask"].__class__(decode=False))
    for row in raw:
        image = Image.open(io.BytesIO(row["image"]["bytes"]))
        mask = Image.open(io.BytesIO(row["mask"]["bytes"]))
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (512, 512))
        assert (mask.format, mask.mode, mask.size) == ("PNG", "P", (512, 512))
        assert mask.getpalette()[:6] == [0, 0, 0, 255, 255, 255]
        assert image.quantization == quality_95_tables


def test_masks_are_binary_and_aligned_with_an_independent_reference(real_dataset, real_sample):
    for split in SPLITS:
        for row in real_dataset[split.name]:
            mask = np.asarray(row["mask"])
            assert set(np.unique(mask)) <= {0, 1}, "class indices"
            source = Image.open(real_sample / split.mask_folder / f"{row['image_id']}_segmentation.png")
            width, height = source.size
            assert (row["original_width"], row["original_height"]) == (width, height)
            side = max(width, height)
            canvas = Image.new("L", (side, side), 0)
            canvas.paste(source, ((side - width) // 2, (side - height) // 2))
            reference = np.asarray(canvas.resize((512, 512), Image.Resampling.BILINEAR)) >= 128
            ours = mask > 0
            union = np.logical_or(ours, reference).sum()
            assert np.logical_and(ours, reference).sum() / union > 0.97, row["image_id"]


def test_labels_and_metadata_match_the_csvs(real_dataset, real_sample):
    names = real_dataset["train"].features["diagnosis"].names
    for split in SPLITS:
        with open(real_sample / split.labels_csv, newline="") as file:
            labels = {row["image_id"]: row for row in csv.DictReader(file)}
        with open(real_sample / split.data_folder / split.metadata_csv, newline="") as file:
            metadata = {row["image_id"]: row for row in csv.DictReader(file)}
        dataset = real_dataset[split.name].remove_columns(["image", "mask"])
        for row in dataset:
            label = labels[row["image_id"]]
            expected = (
                "melanoma"
                if float(label["melanoma"])
                else "seborrheic_keratosis"
                if float(label["seborrheic_keratosis"])
                else "nevus"
            )
            assert names[row["diagnosis"]] == expected
            meta = metadata[row["image_id"]]
            age = None if meta["age_approximate"] == "unknown" else int(meta["age_approximate"])
            assert row["age_approximate"] == age
            assert row["sex"] == (None if meta["sex"] == "unknown" else meta["sex"])


def test_load_dataset_by_name(real_sample, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning, match="found 8 of 2000 official training images"):
        dataset = load_dataset("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path), size=64)
    assert {split: len(part) for split, part in dataset.items()} == REAL_COUNTS
    assert dataset["test"][0]["image"].size == (64, 64)


def test_streaming_equals_prepared(real_dataset, real_sample, tmp_path):
    streamed = load_dataset("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path), streaming=True)
    for split, prepared in real_dataset.items():
        for index, row in enumerate(streamed[split].take(2)):
            expected = prepared[index]
            assert row["image_id"] == expected["image_id"]
            assert np.array_equal(np.asarray(row["image"]), np.asarray(expected["image"]))
            assert np.array_equal(np.asarray(row["mask"]), np.asarray(expected["mask"]))
            assert row["diagnosis"] == expected["diagnosis"]


def test_two_processes_write_the_same_bytes_as_one(real_dataset, real_sample, tmp_path):
    builder = skin_cancer.SkinCancer(data_dir=str(real_sample), cache_dir=str(tmp_path))
    builder.download_and_prepare(num_proc=2)
    parallel = builder.as_dataset()
    for split in REAL_COUNTS:
        assert raw_bytes(parallel[split]) == raw_bytes(real_dataset[split])
    # Really two jobs: datasets names the shards of each job apart.
    assert len(parallel["train"].cache_files) == 2
