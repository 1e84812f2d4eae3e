"""The builder on synthetic ISIC-shaped trees: every accepted input, every refused one."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.errors import DataError, find_skin_cancer_error
from skin_cancer.layout import SPLITS
from skin_cancer.sample import jpeg_bytes, synthetic_pair

from .conftest import prepared_files
from .test_builder_real import raw_bytes

SYNTHETIC_COUNTS = {"train": 6, "valid": 2, "test": 2}
ALL_FOLDERS = [name for split in SPLITS for name in split.folders]


def build(data_dir: Path | None, cache: Path, num_proc: int | None = None, **options):
    builder = skin_cancer.SkinCancer(data_dir=str(data_dir) if data_dir else None, cache_dir=str(cache), **options)
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset()


def zip_official_folders(tree: Path, destination: Path) -> Path:
    """Zip each folder the way ISIC ships it: ISIC-2017_X.zip holding ISIC-2017_X/..."""
    destination.mkdir(parents=True, exist_ok=True)
    for folder in ALL_FOLDERS:
        with zipfile.ZipFile(destination / f"{folder}.zip", "w") as bundle:
            for file in sorted((tree / folder).iterdir()):
                bundle.write(file, f"{folder}/{file.name}")
    for split in SPLITS:
        shutil.copy(tree / split.labels_csv, destination / split.labels_csv)
    return destination


def build_error(data_dir: Path, cache: Path, num_proc: int | None = None) -> DataError:
    with pytest.raises(Exception) as caught:
        build(data_dir, cache, num_proc=num_proc)
    found = find_skin_cancer_error(caught.value)
    assert isinstance(found, DataError), f"expected a DataError in the cause chain, got {caught.value!r}"
    assert not prepared_files(cache), "a failed build must leave no Arrow file behind"
    assert not list(cache.rglob("*.incomplete")), "a failed build must leave no .incomplete folder"
    return found


@pytest.fixture(scope="module")
def folder_build(pristine_synthetic_tree, tmp_path_factory):
    return build(pristine_synthetic_tree, tmp_path_factory.mktemp("folder-build"))


def test_synthetic_tree_counts_and_superpixels_ignored(folder_build):
    assert {split: len(dataset) for split, dataset in folder_build.items()} == SYNTHETIC_COUNTS
    assert all(row["image"].size == (512, 512) for row in folder_build["train"])


def test_official_zips_in_data_dir(pristine_synthetic_tree, folder_build, tmp_path):
    zips = zip_official_folders(pristine_synthetic_tree, tmp_path / "zips")
    dataset = build(zips, tmp_path / "cache")
    for split in SYNTHETIC_COUNTS:
        assert raw_bytes(dataset[split]) == raw_bytes(folder_build[split])
    assert dataset["train"]["age_approximate"] == folder_build["train"]["age_approximate"]


def test_official_zips_stream_without_extraction(pristine_synthetic_tree, folder_build, tmp_path):
    zips = zip_official_folders(pristine_synthetic_tree, tmp_path / "zips")
    streamed = load_dataset("skin_cancer", data_dir=str(zips), cache_dir=str(tmp_path / "cache"), streaming=True)
    first = next(iter(streamed["valid"]))
    assert first["image_id"] == folder_build["valid"][0]["image_id"]
    assert np.array_equal(np.asarray(first["mask"]), np.asarray(folder_build["valid"][0]["mask"]))
    assert not list((tmp_path / "cache").rglob("*.jpg")), "streaming must not extract the zips"


@pytest.fixture
def isic_mirror(pristine_synthetic_tree, tmp_path):
    """A local HTTP server standing in for isic-challenge-data.s3.amazonaws.com, which is unreachable here."""
    zip_official_folders(pristine_synthetic_tree, tmp_path / "www" / "2017")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2017/"
    server.shutdown()


def test_without_data_dir_the_official_files_are_downloaded(isic_mirror, folder_build, tmp_path):
    dataset = build(None, tmp_path / "cache", base_url=isic_mirror)
    for split in SYNTHETIC_COUNTS:
        assert raw_bytes(dataset[split]) == raw_bytes(folder_build[split])
    assert dataset["test"]["diagnosis"] == folder_build["test"]["diagnosis"]


def test_default_download_urls_are_the_official_ones():
    from skin_cancer.layout import ISIC_BASE_URL, official_url

    assert official_url("ISIC-2017_Training_Data.zip") == (
        "https://isic-challenge-data.s3.amazonaws.com/2017/ISIC-2017_Training_Data.zip"
    )
    assert skin_cancer.SkinCancerConfig(name="default").base_url == ISIC_BASE_URL


def test_grey_cmyk_and_rotated_jpegs_build_as_rgb(synthetic_tree, tmp_path):
    data = synthetic_tree / "ISIC-2017_Training_Data"
    image, _ = synthetic_pair(1024, 768, seed=9000001)
    (data / "ISIC_9000001.jpg").write_bytes(jpeg_bytes(image.convert("L")))
    image, _ = synthetic_pair(767, 1023, seed=9000002)
    (data / "ISIC_9000002.jpg").write_bytes(jpeg_bytes(image.convert("CMYK")))
    image, _ = synthetic_pair(641, 479, seed=9000004)
    exif = Image.Exif()
    exif[0x0112] = 3
    (data / "ISIC_9000004.jpg").write_bytes(jpeg_bytes(image.transpose(Image.Transpose.ROTATE_180), exif=exif))
    dataset = build(synthetic_tree, tmp_path / "cache")
    rows = {row["image_id"]: row for row in dataset["train"]}
    for image_id in ("ISIC_9000001", "ISIC_9000002", "ISIC_9000004"):
        assert rows[image_id]["image"].mode == "RGB"
        assert rows[image_id]["image"].size == (512, 512)
    assert (rows["ISIC_9000004"]["original_width"], rows["ISIC_9000004"]["original_height"]) == (641, 479)


def test_size_and_modes_are_options(pristine_synthetic_tree, tmp_path):
    dataset = build(
        pristine_synthetic_tree, tmp_path / "cache", size=200, resize_mode="center_crop", image_format="png"
    )
    row = dataset["valid"][0]
    assert row["image"].size == row["mask"].size == (200, 200)
    assert row["image"].format == "PNG"


def test_bad_options_are_refused_by_name():
    with pytest.raises(ValueError, match="resize_mode must be one of pad, stretch, center_crop"):
        skin_cancer.SkinCancer(resize_mode="squash")
    with pytest.raises(ValueError, match="size must be a whole number"):
        skin_cancer.SkinCancer(size=0)


def test_partial_split_warns_with_the_official_count(pristine_synthetic_tree, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning, match="found 2 of 600 official test images"):
        build(pristine_synthetic_tree, tmp_path / "cache")


@pytest.mark.parametrize("num_proc", [None, 2])
def test_truncated_jpeg_is_named(synthetic_tree, cache_dir, num_proc):
    path = synthetic_tree / "ISIC-2017_Validation_Data" / "ISIC_9000102.jpg"
    path.write_bytes(path.read_bytes()[:5000])
    error = build_error(synthetic_tree, cache_dir, num_proc=num_proc)
    assert error.path.endswith("ISIC-2017_Validation_Data/ISIC_9000102.jpg")
    assert "truncated or corrupt" in str(error)


def test_corrupt_png_mask_is_named(synthetic_tree, cache_dir):
    path = synthetic_tree / "ISIC-2017_Test_v2_Part1_GroundTruth" / "ISIC_9000202_segmentation.png"
    data = bytearray(path.read_bytes())
    data[60:200] = b"\x00" * 140
    path.write_bytes(bytes(data))
    error = build_error(synthetic_tree, cache_dir)
    assert error.path.endswith("ISIC_9000202_segmentation.png")


def test_mask_of_the_wrong_size_is_named(synthetic_tree, cache_dir):
    path = synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_9000003_segmentation.png"
    Image.open(path).resize((100, 100)).save(path)
    error = build_error(synthetic_tree, cache_dir)
    assert error.path.endswith("ISIC_9000003_segmentation.png")
    assert "mask is 100x100 but its image is 2048x1536" in str(error)


def test_image_without_mask_is_named(synthetic_tree, cache_dir):
    (synthetic_tree / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_9000005_segmentation.png").unlink()
    error = build_error(synthetic_tree, cache_dir)
    assert "ISIC_9000005.jpg: this image has no mask" in str(error)


def test_mask_without_image_is_named(synthetic_tree, cache_dir):
    (synthetic_tree / "ISIC-2017_Training_Data" / "ISIC_9000005.jpg").unlink()
    error = build_error(synthetic_tree, cache_dir)
    assert "ISIC_9000005_segmentation.png: this mask has no image" in str(error)


def test_missing_split_folder_is_named(synthetic_tree, cache_dir):
    shutil.rmtree(synthetic_tree / "ISIC-2017_Validation_Data")
    error = build_error(synthetic_tree, cache_dir)
    assert "ISIC-2017_Validation_Data: missing" in str(error)


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_load_dataset_names_a_bad_data_dir(tmp_path, kind):
    data_dir = tmp_path / "isic"
    if kind == "empty":
        data_dir.mkdir()
    with pytest.raises(DataError) as caught:
        load_dataset("skin_cancer", data_dir=str(data_dir), cache_dir=str(tmp_path / "cache"))
    assert str(data_dir) in str(caught.value)
    assert ("does not exist" if kind == "missing" else "holds none of the ISIC-2017 folders") in str(caught.value)
