"""The release table against the shared facts, the 2016 label parser, and the sample tree of every release."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

import skin_cancer
from skin_cancer.dataset.labels2016 import Labels2016Error, parse_benign_malignant
from skin_cancer.errors import UsageError
from skin_cancer.releases import (
    DEFAULT_RELEASE,
    LABELS_NONE,
    RELEASES,
    Checksum,
    Download,
    Release,
    checksum_problem,
    get_release,
)
from skin_cancer.tools import sample

from .helpers import copy_tree_as

# The ISIC challenge releases, whose facts ../shared/isic-releases records (HAM10000, PH2: their own tests).
ALL = [release for release in RELEASES.values() if release.name.startswith("isic")]

# The one declarative table the release tests run over: what the issue and ../shared say about each release.
EXPECTED = {
    "isic2016": {"splits": {"train": 900, "test": 379}, "mask_suffix": "_Segmentation.png", "labels": True},
    "isic2017": {
        "splits": {"train": 2000, "valid": 150, "test": 600},
        "mask_suffix": "_segmentation.png",
        "labels": True,
    },
    "isic2018": {
        "splits": {"train": 2594, "valid": 100, "test": 1000},
        "mask_suffix": "_segmentation.png",
        "labels": False,
    },
}

# The first 16 hex digits of the sha256 of every file of the ISIC-2017 sample as main (bb4e596) wrote it
# before releases existed, with Pillow 13.0.0 and numpy 2.4.6 (other versions may encode other bytes).
SAMPLE_2017_TOOLS = ("13.0.0", "2.4.6")
SAMPLE_2017_SHA256 = {
    "ISIC-2017/ISIC-2017_Test_v2_Data/ISIC-2017_Test_v2_Data_metadata.csv": "302ea734fb09f135",
    "ISIC-2017/ISIC-2017_Test_v2_Data/ISIC_9000201.jpg": "778978910534f194",
    "ISIC-2017/ISIC-2017_Test_v2_Data/ISIC_9000201_superpixels.png": "c23d3a25de37df20",
    "ISIC-2017/ISIC-2017_Test_v2_Data/ISIC_9000202.jpg": "ad1129ed7aba13f6",
    "ISIC-2017/ISIC-2017_Test_v2_Data/ISIC_9000202_superpixels.png": "c94a64b600be2b4d",
    "ISIC-2017/ISIC-2017_Test_v2_Part1_GroundTruth/ISIC_9000201_segmentation.png": "0e64250c801b20d7",
    "ISIC-2017/ISIC-2017_Test_v2_Part1_GroundTruth/ISIC_9000202_segmentation.png": "aba6bbfee2d5e41c",
    "ISIC-2017/ISIC-2017_Test_v2_Part3_GroundTruth.csv": "59e2b0178d1119c3",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC-2017_Training_Data_metadata.csv": "b9bb4d11656220d8",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000001.jpg": "9dc5de802a4cb325",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000001_superpixels.png": "63373382cfa36078",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000002.jpg": "2c7296b5a738543e",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000002_superpixels.png": "dfa36cd7b983d71f",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000003.jpg": "80f0cd3e2cc93f4d",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000003_superpixels.png": "f382b51319aee711",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000004.jpg": "ec725a7c5bb393dc",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000004_superpixels.png": "78e9894ff76ad0b4",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000005.jpg": "3b2e0f1937b8141d",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000005_superpixels.png": "1da17c730a665f5d",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000006.jpg": "e6e8c7032e533d8d",
    "ISIC-2017/ISIC-2017_Training_Data/ISIC_9000006_superpixels.png": "7128d9748ca80d05",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000001_segmentation.png": "cb9446f5a6bfd1b2",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000002_segmentation.png": "15158533fe54589f",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000003_segmentation.png": "57d85d6a0f83f0c5",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000004_segmentation.png": "1b6b7949d9f7fc90",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000005_segmentation.png": "850343c8e0f7a344",
    "ISIC-2017/ISIC-2017_Training_Part1_GroundTruth/ISIC_9000006_segmentation.png": "32a2ddabcf6f404b",
    "ISIC-2017/ISIC-2017_Training_Part3_GroundTruth.csv": "c64db1c68f63bc97",
    "ISIC-2017/ISIC-2017_Validation_Data/ISIC-2017_Validation_Data_metadata.csv": "5abd4a18735b2f60",
    "ISIC-2017/ISIC-2017_Validation_Data/ISIC_9000101.jpg": "eddc565f26875b47",
    "ISIC-2017/ISIC-2017_Validation_Data/ISIC_9000101_superpixels.png": "97a308bcb8d0074a",
    "ISIC-2017/ISIC-2017_Validation_Data/ISIC_9000102.jpg": "145dfbb7509e92e5",
    "ISIC-2017/ISIC-2017_Validation_Data/ISIC_9000102_superpixels.png": "dce0de5cf0c83549",
    "ISIC-2017/ISIC-2017_Validation_Part1_GroundTruth/ISIC_9000101_segmentation.png": "f733fdb78f0d0469",
    "ISIC-2017/ISIC-2017_Validation_Part1_GroundTruth/ISIC_9000102_segmentation.png": "cc73464ef36d5e3b",
    "ISIC-2017/ISIC-2017_Validation_Part3_GroundTruth.csv": "2a1736e4bdb16d06",
}


@pytest.fixture(scope="module")
def releases_readme(shared_releases) -> str:
    return (shared_releases / "README.md").read_text()


def test_the_table_holds_the_three_releases_and_2017_is_the_default():
    assert list(RELEASES) == ["isic2016", "isic2017", "isic2018", "ham10000", "ph2", "imaplusplus"]
    assert DEFAULT_RELEASE == "isic2017"
    assert get_release("isic2018") is RELEASES["isic2018"]
    assert get_release(RELEASES["isic2016"]) is RELEASES["isic2016"]
    with pytest.raises(UsageError, match="isic2016, isic2017, isic2018, ham10000, ph2, imaplusplus"):
        get_release("isic2019")


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_splits_counts_and_suffixes_match_the_issue(release):
    expected = EXPECTED[release.name]
    assert {split.name: split.official_count for split in release.splits} == expected["splits"]
    assert release.mask_suffix == expected["mask_suffix"]
    assert (release.label_kind != LABELS_NONE) == expected["labels"]
    assert release.segmentation_names == ("background", "lesion")
    assert release.base_url == f"https://isic-challenge-data.s3.amazonaws.com/{release.name[-4:]}/"


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_releases_are_frozen_values(release):
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.splits[0].official_count = 1  # type: ignore[misc]


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_every_folder_has_its_zip_and_every_name_is_in_the_shared_readme(release, releases_readme):
    assert set(release.zip_downloads) == set(release.folders)
    for folder, download in release.zip_downloads.items():
        assert download.file_name == f"{folder}.zip"
    spelled = releases_readme.replace("{Training,Validation,Test}", "@")
    for split in release.splits:
        for folder in split.folders:
            # The README spells 2018 names with brace lists and 2017 names in the shared top README.
            pattern = re.escape(folder).replace(re.escape(f"_{split.long_name.capitalize()}_"), "_(@|.*)_")
            assert folder in releases_readme or re.search(pattern, spelled) or release.name == "isic2017", folder
        if split.labels_csv is not None:
            assert split.labels_csv.endswith(".csv")
    assert release.url("a.zip") == release.base_url + "a.zip"
    assert release.url("a.zip", base_url="http://mirror/x/") == "http://mirror/x/a.zip"


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_every_recorded_checksum_is_the_one_the_shared_readme_cites(release, releases_readme):
    for download in release.downloads:
        if download.checksum is None:
            continue
        assert download.checksum.algorithm in ("md5", "sha256")
        assert len(download.checksum.value) == {"md5": 32, "sha256": 64}[download.checksum.algorithm]
        # The README names each file by its stem inside the release's prefix: find stem and value together.
        stem = download.folder.split("_", 1)[1]
        assert re.search(rf"{re.escape(stem)}\s+{download.checksum.value}", releases_readme), download.file_name
        assert download.checksum.source
    values = re.findall(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{64}\b", releases_readme)
    recorded = [d.checksum.value for r in ALL for d in r.downloads if d.checksum]
    assert sorted(values) == sorted(recorded), "every checksum in the README is in the table, and no other"


def unchecked_downloads(release: Release) -> set[str]:
    return {download.file_name for download in release.downloads if download.checksum is None}


def test_2016_has_no_recorded_checksum_and_says_so():
    assert unchecked_downloads(RELEASES["isic2016"]) == {d.file_name for d in RELEASES["isic2016"].downloads}
    assert unchecked_downloads(RELEASES["isic2018"]) == set()
    assert unchecked_downloads(RELEASES["isic2017"]) == {split.labels_csv for split in RELEASES["isic2017"].splits}


def test_no_checksum_source_points_at_a_developers_folder():
    """A checksum's source is shown to users on a mismatch: it must name something public, not ../shared."""
    for release in ALL:
        for download in release.downloads:
            if download.checksum is not None:
                assert "../shared" not in download.checksum.source and "README.md" not in download.checksum.source
                assert "github" in download.checksum.source.lower(), download.checksum.source


def test_every_download_has_a_size_field_beside_its_checksum():
    """Sizes are recorded where a source gives them (none in hand yet); a recorded size is a positive byte count."""
    for release in ALL:
        for download in release.downloads:
            assert download.size is None or (isinstance(download.size, int) and download.size > 0)


def test_checksum_problem_names_the_file_and_both_values(tmp_path):
    path = tmp_path / "X.zip"
    path.write_bytes(b"official bytes")
    md5 = hashlib.md5(b"official bytes").hexdigest()
    sha = hashlib.sha256(b"official bytes").hexdigest()
    assert checksum_problem(Download("X.zip", Checksum("md5", md5, "a script")), path) is None
    assert checksum_problem(Download("X.zip", Checksum("sha256", sha.upper(), "a script")), path) is None
    assert checksum_problem(Download("X.zip", None), path) is None
    problem = checksum_problem(Download("X.zip", Checksum("md5", "0" * 32, "a script")), path)
    assert problem is not None and "\n" not in problem
    assert problem.startswith("X.zip: md5 is ") and md5 in problem and "0" * 32 in problem and "a script" in problem


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_masks_match_case_insensitively_and_notices_are_not_images(release):
    assert release.mask_image_id("ISIC_0000001_segmentation.png") == "ISIC_0000001"
    assert release.mask_image_id("ISIC_0000001_Segmentation.png") == "ISIC_0000001"
    assert release.mask_image_id("ISIC_0000001_SEGMENTATION.PNG") == "ISIC_0000001"
    assert release.mask_image_id("ISIC_0000001.png") is None
    assert release.mask_name("ISIC_0000001") == "ISIC_0000001" + EXPECTED[release.name]["mask_suffix"]
    assert release.is_image("ISIC_0000001.jpg") and release.is_image("ISIC_0000001.JPEG")
    assert not release.is_image("ISIC_0000001_superpixels.png")
    for name in ("ATTRIBUTION.txt", "LICENSE.txt"):
        assert not release.is_image(name)


def test_labels_and_class_names_per_release():
    assert RELEASES["isic2017"].diagnosis_names == ("nevus", "melanoma", "seborrheic_keratosis")
    assert RELEASES["isic2016"].diagnosis_names == ("benign", "malignant")
    assert RELEASES["isic2018"].diagnosis_names == ()
    assert RELEASES["isic2018"].label_kind == LABELS_NONE
    assert all(split.labels_csv is None and split.metadata_csv is None for split in RELEASES["isic2018"].splits)
    assert all(split.metadata_csv is None for split in RELEASES["isic2016"].splits)
    assert RELEASES["isic2018"].non_image_files == ("ATTRIBUTION.txt", "LICENSE.txt")


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_citation_licence_and_homepage(release):
    assert release.citation.startswith("@") and release.citation.count("{") == release.citation.count("}")
    arxiv = {"isic2016": "1605.01397", "isic2017": "1710.05006", "isic2018": "1902.03368"}[release.name]
    assert f"arXiv:{arxiv}" in release.citation
    assert release.license_id == "cc0-1.0" and "CC-0" in release.license
    assert release.license_confirmed == (release.name == "isic2017")  # the card says "unknown" for the others
    assert release.homepage.startswith("https://challenge.isic-archive.com/")
    if release.name == "isic2018":
        assert "HAM10000" in release.citation and "10.1038/sdata.2018.161" in release.citation


# --- the ISIC 2016 Part3 labels -------------------------------------------------------------------


def test_2016_labels_as_words_and_as_numbers():
    text = "\ufeffISIC_0000000,benign\r\nISIC_0000001,malignant\r\n\r\nISIC_0000002,0.0\nISIC_0000003,1.0\n"
    text += "ISIC_0000004,0\nISIC_0000005,1\nISIC_0000006, Malignant \n"
    assert parse_benign_malignant(text) == {
        "ISIC_0000000": "benign",
        "ISIC_0000001": "malignant",
        "ISIC_0000002": "benign",
        "ISIC_0000003": "malignant",
        "ISIC_0000004": "benign",
        "ISIC_0000005": "malignant",
        "ISIC_0000006": "malignant",
    }
    assert parse_benign_malignant("ISIC_1,1.0\n", names=("b", "m")) == {"ISIC_1": "m"}
    assert parse_benign_malignant("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image_id,label\nISIC_1,benign\n", r"line 1: .*'label'.*no header row"),
        ("ISIC_1,benign\nISIC_2,2.0\n", r"line 2: ISIC_2 has the label '2.0'"),
        ("ISIC_1,benign\nISIC_2,benign,extra\n", r"line 2: has 3 cells, expected 2"),
        ("ISIC_1\n", r"line 1: has 1 cells"),
        ("ISIC_1,benign\n,malignant\n", r"line 2: the image_id is empty"),
        ("ISIC_1,benign\nISIC_1,malignant\n", r"line 2: ISIC_1 appears twice"),
        ("ISIC_1,\n", r"line 1: ISIC_1 has the label ''"),
    ],
)
def test_bad_2016_rows_name_their_line(text, message):
    with pytest.raises(Labels2016Error, match=message):
        parse_benign_malignant(text)
    assert issubclass(Labels2016Error, ValueError)


# --- the synthetic sample of every release -----------------------------------------------------------


def _hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_2017_sample_is_byte_identical_to_before_releases(tmp_path):
    if (PIL.__version__, np.__version__) != SAMPLE_2017_TOOLS:
        pytest.skip(f"hashes recorded with Pillow/numpy {SAMPLE_2017_TOOLS}, not {(PIL.__version__, np.__version__)}")
    sample.write_sample_tree(tmp_path / "default")
    sample.write_sample_tree(tmp_path / "named", release="isic2017")
    assert _hashes(tmp_path / "default") == SAMPLE_2017_SHA256
    assert _hashes(tmp_path / "named") == SAMPLE_2017_SHA256


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_sample_tree_has_the_official_layout(tmp_path, release):
    top = sample.write_sample_tree(tmp_path, release=release.name)
    assert top == tmp_path / release.top_folder
    pairs = sample.SAMPLE_PAIRS[release.name]
    assert set(pairs) == set(release.split_names)
    folders = {path.name for path in top.iterdir() if path.is_dir()}
    assert folders == set(release.folders)
    for split in release.splits:
        ids = [pair.image_id for pair in pairs[split.name]]
        data, masks = top / split.data_folder, top / split.mask_folder
        images = sorted(name for name in (p.name for p in data.iterdir()) if release.is_image(name))
        assert images == [f"{image_id}.jpg" for image_id in ids]
        mask_names = sorted(p.name for p in masks.iterdir() if release.mask_image_id(p.name))
        assert mask_names == [release.mask_name(image_id) for image_id in ids]
        for image_id in ids:
            with Image.open(data / f"{image_id}.jpg") as image, Image.open(masks / release.mask_name(image_id)) as mask:
                assert image.size == mask.size and image.mode == "RGB" and mask.mode == "L"
                assert set(np.unique(np.asarray(mask)).tolist()) == {0, 255}
        for folder in (data, masks):
            notices = sorted(p.name for p in folder.iterdir() if p.suffix == ".txt")
            assert notices == sorted(release.non_image_files)
        assert (top / split.labels_csv).is_file() if split.labels_csv else not list(top.glob("*.csv"))
        assert (data / split.metadata_csv).is_file() if split.metadata_csv else not list(data.glob("*.csv"))


def test_2016_sample_labels_use_both_spellings_and_parse_back(tmp_path):
    release = RELEASES["isic2016"]
    top = sample.write_sample_tree(tmp_path, release="isic2016")
    for split in release.splits:
        text = (top / split.labels_csv).read_text()
        assert not text.startswith("image_id")
        values = {line.split(",")[1] for line in text.splitlines()}
        assert values & {"benign", "malignant"} and values & {"0.0", "1.0"}
        expected = {pair.image_id: pair.diagnosis for pair in sample.SAMPLE_PAIRS["isic2016"][split.name]}
        assert parse_benign_malignant(text, release.diagnosis_names) == expected


def test_2017_sample_labels_parse_back(tmp_path):
    annotations = pytest.importorskip("skin_cancer.dataset.annotations")
    release = RELEASES["isic2017"]
    top = sample.write_sample_tree(tmp_path)
    for split in release.splits:
        expected = {pair.image_id: pair.diagnosis for pair in sample.SAMPLE_PAIRS["isic2017"][split.name]}
        assert annotations.parse_diagnoses((top / split.labels_csv).read_text()) == expected


def test_sample_refuses_a_diagnosis_the_release_does_not_have(tmp_path):
    pairs = {"train": [sample.SamplePair("ISIC_9160001", 64, 48, "melanoma", None, None)]}
    with pytest.raises(ValueError, match="ISIC_9160001: unknown isic2016 diagnosis 'melanoma'"):
        sample.write_sample_tree(tmp_path, pairs, release="isic2016")
    with pytest.raises(KeyError, match="isic2016 has no split 'valid'"):
        sample.write_sample_tree(tmp_path, {"valid": []}, release="isic2016")


def test_ensure_sample_tree_writes_each_release_once(tmp_path, monkeypatch):
    written: list[str] = []
    real = sample.write_sample_tree

    def recording(root, pairs=None, release=DEFAULT_RELEASE):
        written.append(get_release(release).name)
        return real(root, pairs, release=release)

    monkeypatch.setattr(sample, "write_sample_tree", recording)
    assert sample.ensure_sample_tree(tmp_path) == tmp_path / "ISIC-2017"
    assert sample.ensure_sample_tree(tmp_path) == tmp_path / "ISIC-2017"
    assert sample.ensure_sample_tree(tmp_path, release="isic2018") == tmp_path / "ISIC2018"
    assert sample.ensure_sample_tree(tmp_path, release="isic2016") == tmp_path / "ISBI2016"
    assert sample.ensure_sample_tree(tmp_path, release="isic2018") == tmp_path / "ISIC2018"
    assert written == ["isic2017", "isic2018", "isic2016"]


@pytest.mark.parametrize("release", ALL, ids=lambda release: release.name)
def test_real_pairs_copied_into_each_layout_stay_byte_identical(real_sample, tmp_path, release):
    top = copy_tree_as(real_sample, tmp_path, release)
    source = RELEASES["isic2017"]
    copied = {}
    for split in release.splits:
        data, masks = top / split.data_folder, top / split.mask_folder
        assert data.is_dir() and masks.is_dir()
        for image in sorted(data.glob("*.jpg")):
            image_id = image.stem
            mask = masks / release.mask_name(image_id)
            assert mask.is_file()
            copied[image_id] = split.name
            original = next(real_sample.glob(f"*_Data/{image.name}"))
            assert image.read_bytes() == original.read_bytes()
            assert (
                mask.read_bytes()
                == next(real_sample.glob(f"*_Part1_GroundTruth/{image_id}{source.mask_suffix}")).read_bytes()
            )
        assert sorted(p.name for p in data.glob("*.txt")) == sorted(release.non_image_files)
    assert len(copied) == 14
    expected_splits = {"isic2016": {"train": 11, "test": 3}}.get(release.name, {"train": 8, "valid": 3, "test": 3})
    assert {name: list(copied.values()).count(name) for name in set(copied.values())} == expected_splits
    assert not list(top.rglob("*.csv"))


def test_the_schema_is_declared_once(tmp_path):
    """The builder's features, the export's columns, the card and the README all read skin_cancer/schema.py."""
    import datasets as hf

    from skin_cancer import schema
    from skin_cancer.tools import export

    for name in RELEASES:
        built = skin_cancer.SkinCancer(config_name=name, cache_dir=str(tmp_path)).info.features
        assert built == schema.features(name) and list(built) == [column.name for column in schema.COLUMNS]
    assert tuple(c.name for c in schema.COLUMNS if c.in_folder_export) == export.METADATA_COLUMNS
    assert isinstance(schema.features()["also_in"], hf.List)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert schema.markdown_table("isic2017") in readme, "README's schema table must be schema.markdown_table()"
    assert "always null: ISIC 2018 records no age" in schema.markdown_table("isic2018")
    # PH2's ids are not ISIC ids: the columns looked up by ISIC id say so instead of describing ISIC records.
    ph2 = schema.markdown_table("ph2")
    for name in ("also_in", "lesion_id", "patient_id", "attribution"):
        (row,) = [line for line in ph2.splitlines() if line.startswith(f"| `{name}` |")]
        assert "PH2's image ids are not ISIC ids" in row and "ISIC Archive's" not in row, row
    assert "PH2's image ids are not ISIC ids" not in schema.markdown_table("ham10000")
