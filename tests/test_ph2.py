"""The `ph2` configuration on the 3 genuine PH2 cases in ../shared/ph2-mini (the user's own copy, no download)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.dataset.annotations import AnnotationError, parse_ph2_txt
from skin_cancer.errors import DataError, UsageError
from skin_cancer.releases import PH2

from .helpers import raw_bytes
from .test_publish import assert_valid_tables

CASES = ("IMD002", "IMD003", "IMD004")
IMAGES = Path("PH2Dataset") / "PH2 Dataset images"
# The layout of PH2_dataset.txt (`||` between cells, `|` between the criteria of one cell); the sample has
# no copy of it, so these rows are written here in that layout. Clinical Diagnosis: 0, 1, 2.
TXT = """||   Name || Histological Diagnosis || Clinical Diagnosis || Asymmetry | Pigment Network | Dots/Globules ||
|| IMD002 ||                        ||                  1 ||         0 |               T |             A ||
|| IMD003 ||                        ||                  0 ||         0 |               T |             A ||
|| IMD004 ||       Melanoma         ||                  2 ||         2 |               AT |            P ||

Legend: 0 - Common Nevus, 1 - Atypical Nevus, 2 - Melanoma
"""


def build(data_dir: Path, cache: Path, **options):
    builder = skin_cancer.SkinCancer(config_name="ph2", data_dir=str(data_dir), cache_dir=str(cache), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder.download_and_prepare()
    return builder.as_dataset()


@pytest.fixture(scope="module")
def ph2(ph2_sample, tmp_path_factory):
    return build(ph2_sample, tmp_path_factory.mktemp("ph2-cache"))


@pytest.fixture
def tree(ph2_sample, tmp_path) -> Path:
    shutil.copytree(ph2_sample / "PH2Dataset", tmp_path / "PH2Dataset")
    return tmp_path


def test_one_test_split_of_the_three_cases_with_the_partial_warning(ph2_sample, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning, match="found 3 of 200 official test images"):
        dataset = load_dataset("skin_cancer", "ph2", data_dir=str(ph2_sample), cache_dir=str(tmp_path))
    assert list(dataset) == ["test"]
    assert dataset["test"]["image_id"] == list(CASES)
    assert dataset["test"]["diagnosis"] == [None, None, None]  # no PH2_dataset.txt in the sample


def test_masks_are_aligned_with_an_independent_reference_and_roi_masks_are_ignored(ph2, ph2_sample):
    for row in ph2["test"]:
        case = row["image_id"]
        source = Image.open(ph2_sample / IMAGES / case / f"{case}_lesion" / f"{case}_lesion.bmp")
        assert source.mode == "1"
        width, height = source.size
        image = Image.open(ph2_sample / IMAGES / case / f"{case}_Dermoscopic_Image" / f"{case}.bmp")
        assert (row["original_width"], row["original_height"]) == (width, height) == image.size
        side = max(width, height)
        canvas = Image.new("L", (side, side), 0)
        canvas.paste(source.convert("L"), ((side - width) // 2, (side - height) // 2))
        reference = np.asarray(canvas.resize((512, 512), Image.Resampling.BILINEAR)) >= 128
        ours = np.asarray(row["mask"]) > 0
        assert set(np.unique(np.asarray(row["mask"]))) <= {0, 1}
        assert np.logical_and(ours, reference).sum() / np.logical_or(ours, reference).sum() > 0.97, case


def test_a_24_bit_lesion_mask_gives_the_same_bytes_as_the_1_bit_one(ph2, ph2_sample, tree, tmp_path):
    variant = ph2_sample / "variants" / "chelseaparlett_24bit" / "IMD002_lesion.bmp"
    assert Image.open(variant).mode == "RGB"
    shutil.copyfile(variant, tree / IMAGES / "IMD002" / "IMD002_lesion" / "IMD002_lesion.bmp")
    assert raw_bytes(build(tree, tmp_path / "cache")["test"]) == raw_bytes(ph2["test"])


def test_the_diagnoses_are_read_from_ph2_dataset_txt(tree, tmp_path):
    (tree / "PH2Dataset" / "PH2_dataset.txt").write_text(TXT)
    dataset = build(tree, tmp_path / "cache", size=64)["test"]
    names = dataset.features["diagnosis"].names
    assert names == ["common_nevus", "atypical_nevus", "melanoma"]
    assert [names[value] for value in dataset["diagnosis"]] == ["atypical_nevus", "common_nevus", "melanoma"]


def test_a_bad_diagnosis_names_its_line():
    with pytest.raises(AnnotationError, match="line 2: IMD002's Clinical Diagnosis is '7'"):
        parse_ph2_txt(TXT.replace("                  1 ||", "                  7 ||"), PH2.diagnosis_names)


def test_streaming_equals_prepared(ph2, ph2_sample, tmp_path):
    streamed = load_dataset("skin_cancer", "ph2", data_dir=str(ph2_sample), cache_dir=str(tmp_path), streaming=True)
    for row, expected in zip(streamed["test"], ph2["test"], strict=True):
        assert row["image_id"] == expected["image_id"]
        assert np.array_equal(np.asarray(row["mask"]), np.asarray(expected["mask"]))


def test_a_case_without_its_lesion_mask_is_named(tree, tmp_path):
    shutil.rmtree(tree / IMAGES / "IMD003" / "IMD003_lesion")
    with pytest.raises(DataError, match=r"IMD003: this case has no lesion mask IMD003_lesion/IMD003_lesion\.bmp"):
        build(tree, tmp_path / "cache")


def test_a_bmp_that_is_not_a_mask_is_named(tree, tmp_path):
    mask = tree / IMAGES / "IMD004" / "IMD004_lesion" / "IMD004_lesion.bmp"
    Image.open(tree / IMAGES / "IMD004" / "IMD004_Dermoscopic_Image" / "IMD004.bmp").save(mask)
    with pytest.raises(DataError, match=r"IMD004_lesion\.bmp: .*not a mask"):
        build(tree, tmp_path / "cache")


def test_no_data_dir_or_a_wrong_one_says_where_to_get_it(tmp_path):
    with pytest.raises(UsageError, match=r"PH2 is not downloaded by the builder: get it from https://www\.fc\.up\.pt"):
        skin_cancer.SkinCancer(config_name="ph2", cache_dir=str(tmp_path)).download_and_prepare()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no PH2Dataset/PH2 Dataset images/ folder"):
        build(tmp_path / "empty", tmp_path / "cache")


def test_evaluate_release_ph2_scores_the_masks_themselves_as_perfect(ph2_sample, tmp_path, capsys):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    for case in CASES:
        mask = Image.open(ph2_sample / IMAGES / case / f"{case}_lesion" / f"{case}_lesion.bmp").convert("L")
        mask.save(predictions / f"{case}_segmentation.png")
    output = tmp_path / "report"
    arguments = ["--data-dir", str(ph2_sample), "--cache-dir", str(tmp_path / "c"), "--quiet", "--release", "ph2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["evaluate", *arguments, "--predictions", str(predictions), "--output", str(output)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((output / "summary.json").read_text())
    assert summary["images"] == 3 and summary["missing"] == 0
    assert summary["native"]["jaccard"] == summary["native"]["dice"] == 1.0
    text = (output / "per_image.csv").read_text()
    assert all(case in text for case in CASES)


def test_publish_stages_a_card_with_the_terms_and_citation(ph2_sample, tmp_path):
    out = tmp_path / "repo"
    arguments = ["--data-dir", str(ph2_sample), "--cache-dir", str(tmp_path / "c"), "--quiet", "--release", "ph2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["publish", *arguments, "--repo-id", "someone/ph2", "--allow-partial", "--dry-run", str(out)])
    assert code == 0
    card = (out / "README.md").read_text()
    assert "license: other" in card and "not to be redistributed" in card
    assert "10.1109/EMBC.2013.6610779" in card
    # The card of the real cases: an external test set's own words, every table a table (issue 17's review).
    assert "**Do not upload this folder.**" in card and "## Evaluate with it" in card and 'split="train"' not in card
    assert "`IMDxxx_lesion.bmp`" in card and "original ISIC mask PNGs" not in card
    assert "Hospital Pedro Hispano (Matosinhos, Portugal)" in card and "contributed to the ISIC Archive" not in card
    assert_valid_tables(card)
