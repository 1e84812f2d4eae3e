"""Finding and pairing files: folders, nested folders, zips, and every way a tree can be wrong."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from skin_cancer.dataset.discovery import Location, find_in_data_dir, read_bytes
from skin_cancer.errors import DataError
from skin_cancer.releases import ISIC2017

SPLITS = ISIC2017.splits


def zip_folder(folder: Path, nested: bool = False) -> Path:
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in sorted(folder.rglob("*")):
            relative = file.relative_to(folder.parent)
            bundle.write(file, str(Path(folder.name) / relative) if nested else str(relative))
    shutil.rmtree(folder)
    return archive


def test_real_sample_is_found_and_paired(real_sample):
    sources = find_in_data_dir(str(real_sample), ISIC2017)
    assert [source.split.name for source in sources] == ["train", "valid", "test"]
    for source in sources:
        images = sorted(path.stem for path in (real_sample / source.split.data_folder).glob("*.jpg"))
        assert [pair.image_id for pair in source.pairs] == images
        for pair in source.pairs:
            assert pair.mask.path.endswith(f"{pair.image_id}_segmentation.png")
        assert source.labels_csv is not None and source.labels_csv.path == str(real_sample / source.split.labels_csv)
        assert source.metadata_csv is not None
        assert source.metadata_csv.path == str(real_sample / source.split.data_folder / source.split.metadata_csv)


def test_superpixels_and_csvs_are_not_images(synthetic_tree):
    sources = find_in_data_dir(str(synthetic_tree), ISIC2017)
    assert list(synthetic_tree.glob("*/*_superpixels.png"))
    for source in sources:
        assert all(pair.image.path.endswith(".jpg") for pair in source.pairs)


def test_folders_nested_one_level_deeper(synthetic_tree):
    for folder in [name for split in SPLITS for name in split.folders]:
        outer = synthetic_tree / folder
        outer.rename(synthetic_tree / "tmp")
        outer.mkdir()
        (synthetic_tree / "tmp").rename(outer / folder)
    sources = find_in_data_dir(str(synthetic_tree), ISIC2017)
    assert [len(source.pairs) for source in sources] == [6, 2, 2]
    assert sources[0].metadata_csv is not None


@pytest.mark.parametrize("nested", [False, True])
def test_official_zips_are_read_without_extracting(synthetic_tree, nested):
    for folder in [name for split in SPLITS for name in split.folders]:
        zip_folder(synthetic_tree / folder, nested=nested)
    sources = find_in_data_dir(str(synthetic_tree), ISIC2017)
    assert [len(source.pairs) for source in sources] == [6, 2, 2]
    image = sources[0].pairs[0].image
    assert image.path == str(synthetic_tree / "ISIC-2017_Training_Data.zip")
    assert image.member is not None and image.member.endswith(".jpg")
    assert "ISIC-2017_Training_Data.zip!" in sources[0].pairs[0].image.label
    assert sources[0].labels_csv is not None and sources[0].metadata_csv is not None


def test_pairs_are_matched_by_id_not_by_order(synthetic_tree):
    masks = synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth"
    (masks / "ISIC_9000006_segmentation.png").rename(masks / "ISIC_9000007_segmentation.png")
    with pytest.raises(DataError, match=r"ISIC_9000006\.jpg: this image has no mask"):
        find_in_data_dir(str(synthetic_tree), ISIC2017)


def test_mask_without_image_is_named(synthetic_tree):
    (synthetic_tree / "ISIC-2017_Validation_Data" / "ISIC_9000102.jpg").unlink()
    with pytest.raises(DataError, match=r"ISIC_9000102_segmentation\.png: this mask has no image"):
        find_in_data_dir(str(synthetic_tree), ISIC2017)


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        find_in_data_dir(str(tmp_path / "nowhere"), ISIC2017)


def test_data_dir_without_isic_folders(tmp_path):
    (tmp_path / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(DataError, match="holds none of the ISIC-2017 folders or zips"):
        find_in_data_dir(str(tmp_path), ISIC2017)


def test_missing_split_folder_is_named(synthetic_tree):
    shutil.rmtree(synthetic_tree / "ISIC-2017_Test_v2_Part1_GroundTruth")
    with pytest.raises(DataError, match="ISIC-2017_Test_v2_Part1_GroundTruth: missing"):
        find_in_data_dir(str(synthetic_tree), ISIC2017)


def test_empty_split_folder_is_named(synthetic_tree):
    for folder in ("ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part1_GroundTruth"):
        for file in (synthetic_tree / folder).iterdir():
            file.unlink()
    with pytest.raises(DataError, match=r"ISIC-2017_Test_v2_Data: contains no \.jpg images"):
        find_in_data_dir(str(synthetic_tree), ISIC2017)


def test_same_image_in_two_splits_is_refused(synthetic_tree):
    train, valid = synthetic_tree / "ISIC-2017_Training_Data", synthetic_tree / "ISIC-2017_Validation_Data"
    shutil.copy(train / "ISIC_9000001.jpg", valid / "ISIC_9000001.jpg")
    shutil.copy(
        synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_9000001_segmentation.png",
        synthetic_tree / "ISIC-2017_Validation_Part1_GroundTruth" / "ISIC_9000001_segmentation.png",
    )
    with pytest.raises(DataError, match="ISIC_9000001 is also in another split"):
        find_in_data_dir(str(synthetic_tree), ISIC2017)


def test_csvs_may_sit_inside_the_folders(synthetic_tree):
    labels = synthetic_tree / "ISIC-2017_Training_Part3_GroundTruth.csv"
    inside = synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth" / labels.name
    labels.rename(inside)
    metadata = synthetic_tree / "ISIC-2017_Training_Data" / "ISIC-2017_Training_Data_metadata.csv"
    metadata.rename(synthetic_tree / metadata.name)
    train = find_in_data_dir(str(synthetic_tree), ISIC2017)[0]
    assert train.labels_csv is not None and train.labels_csv.path == str(inside)
    assert train.metadata_csv is not None and train.metadata_csv.path == str(synthetic_tree / metadata.name)


def test_zip_litter_and_path_traversal_names_are_ignored(synthetic_tree):
    for folder in [name for split in SPLITS for name in split.folders]:
        zip_folder(synthetic_tree / folder)
    archive = synthetic_tree / "ISIC-2017_Training_Data.zip"
    with zipfile.ZipFile(archive, "a") as bundle:
        for name in (
            "__MACOSX/ISIC-2017_Training_Data/._ISIC_9000001.jpg",
            "ISIC-2017_Training_Data/._ISIC_9000001.jpg",
            "ISIC-2017_Training_Data/../ISIC_9000999.jpg",
            "../ISIC-2017_Training_Data/ISIC_9000998.jpg",
            "ISIC-2017_Training_Data/sub/../ISIC_9000997.jpg",
            "/ISIC-2017_Training_Data/ISIC_9000996.jpg",
            "ISIC-2017_Training_Data\\ISIC_9000995.jpg",
        ):
            bundle.writestr(name, b"not an image")
    train = find_in_data_dir(str(synthetic_tree), ISIC2017)[0]
    assert [pair.image_id for pair in train.pairs] == [f"ISIC_900000{n}" for n in range(1, 7)]


def test_read_bytes_reads_files_and_zip_members(synthetic_tree):
    image = synthetic_tree / "ISIC-2017_Training_Data" / "ISIC_9000001.jpg"
    expected = image.read_bytes()
    assert read_bytes(find_in_data_dir(str(synthetic_tree), ISIC2017)[0].pairs[0].image) == expected
    zip_folder(synthetic_tree / "ISIC-2017_Training_Data")
    location = find_in_data_dir(str(synthetic_tree), ISIC2017)[0].pairs[0].image
    assert location.member == "ISIC-2017_Training_Data/ISIC_9000001.jpg"
    assert read_bytes(location) == expected
    with pytest.raises(DataError, match=r"nowhere\.jpg: cannot be read"):
        read_bytes(Location(str(synthetic_tree / "nowhere.jpg"), str(synthetic_tree / "nowhere.jpg")))


@pytest.mark.parametrize("suffix", [".JPG", ".jpeg"])
def test_two_image_files_with_one_id_are_refused(synthetic_tree, suffix):
    data = synthetic_tree / "ISIC-2017_Validation_Data"
    shutil.copy(data / "ISIC_9000101.jpg", data / f"ISIC_9000101{suffix}")
    with pytest.raises(DataError, match=r"ISIC-2017_Validation_Data: ISIC_9000101 has two image files") as caught:
        find_in_data_dir(str(synthetic_tree), ISIC2017)
    assert "ISIC_9000101.jpg" in str(caught.value) and f"ISIC_9000101{suffix}" in str(caught.value)


def test_a_truncated_zip_is_named(synthetic_tree):
    archive = zip_folder(synthetic_tree / "ISIC-2017_Test_v2_Data")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match=r"ISIC-2017_Test_v2_Data\.zip: cannot be read as a zip") as caught:
        find_in_data_dir(str(synthetic_tree), ISIC2017)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_read_bytes_reads_every_zip_method(tmp_path, compression):
    payload = bytes(range(256)) * 400
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", compression) as bundle:
        bundle.writestr("folder/x.jpg", payload)
        bundle.writestr("folder/empty.jpg", b"")
    for member, expected in (("folder/x.jpg", payload), ("folder/empty.jpg", b"")):
        assert read_bytes(Location(str(archive), f"{archive}!/{member}", member)) == expected
