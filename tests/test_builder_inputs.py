"""The builder on synthetic ISIC-shaped trees: every accepted input, every refused one."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.errors import DataError, find_skin_cancer_error
from skin_cancer.releases import ISIC2017, file_digest
from skin_cancer.tools.sample import jpeg_bytes, synthetic_pair

from .helpers import RangeRequestHandler, prepared_files, raw_bytes, record_checksums, zip_official_folders

SPLITS = ISIC2017.splits

SYNTHETIC_COUNTS = {"train": 6, "valid": 2, "test": 2}
ALL_FOLDERS = [name for split in SPLITS for name in split.folders]


def build(data_dir: Path | None, cache: Path, num_proc: int | None = None, **options):
    builder = skin_cancer.SkinCancer(data_dir=str(data_dir) if data_dir else None, cache_dir=str(cache), **options)
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset()


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


@pytest.mark.parametrize("num_proc", [None, 2])
def test_official_zips_in_data_dir(pristine_synthetic_tree, folder_build, tmp_path, num_proc):
    zips = zip_official_folders(pristine_synthetic_tree, tmp_path / "zips", compression=zipfile.ZIP_DEFLATED)
    dataset = build(zips, tmp_path / "cache", num_proc=num_proc)
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
def isic_mirror(pristine_synthetic_tree, tmp_path, monkeypatch):
    """A local HTTP server standing in for isic-challenge-data.s3.amazonaws.com, which is unreachable here.

    The release table's checksums are replaced by those of the synthetic zips it serves."""
    zip_official_folders(pristine_synthetic_tree, tmp_path / "www" / "2017")
    record_checksums(monkeypatch, ISIC2017, tmp_path / "www" / "2017")
    handler = functools.partial(RangeRequestHandler, directory=str(tmp_path / "www"))
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


@pytest.mark.parametrize("streaming", [False, True])
def test_a_named_mirror_is_used_in_offline_mode_the_official_address_is_not(
    isic_mirror, folder_build, tmp_path, monkeypatch, streaming
):
    """HF_HUB_OFFLINE=1 / HF_DATASETS_OFFLINE=1, as set on many offline clusters (datasets reads them once,
    at import, into datasets.config)."""
    import datasets

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if hasattr(datasets.config, name):
            monkeypatch.setattr(datasets.config, name, True)
    if streaming:
        streamed = load_dataset("skin_cancer", cache_dir=str(tmp_path / "c"), base_url=isic_mirror, streaming=True)
        assert [row["image_id"] for row in streamed["valid"]] == folder_build["valid"]["image_id"]
    else:
        dataset = build(None, tmp_path / "cache", base_url=isic_mirror)
        assert raw_bytes(dataset["train"]) == raw_bytes(folder_build["train"])
    assert datasets.config.HF_HUB_OFFLINE is True, "offline mode is restored after the mirror's downloads"
    with pytest.raises(ConnectionError, match="Offline mode"):
        build(None, tmp_path / "official")


def test_a_download_with_a_wrong_checksum_stops_naming_file_and_values(isic_mirror, tmp_path, monkeypatch):
    www = tmp_path / "www" / "2017"
    patched = record_checksums(monkeypatch, ISIC2017, www, wrong="ISIC-2017_Validation_Data.zip")
    actual = file_digest(www / "ISIC-2017_Validation_Data.zip", "md5")
    with pytest.raises(DataError) as caught:
        build(None, tmp_path / "cache", base_url=isic_mirror)
    message = str(caught.value)
    assert caught.value.path == "ISIC-2017_Validation_Data.zip" and "\n" not in message
    assert f"md5 is {actual}, expected {'0' * 32}" in message
    assert 'verification_mode="no_checks"' in message and "--no-verify" in message
    assert patched.downloads_by_name["ISIC-2017_Validation_Data.zip"].checksum.value == "0" * 32


def test_no_checks_skips_the_checksums(isic_mirror, folder_build, tmp_path, monkeypatch):
    record_checksums(monkeypatch, ISIC2017, tmp_path / "www" / "2017", wrong="ISIC-2017_Training_Data.zip")
    builder = skin_cancer.SkinCancer(cache_dir=str(tmp_path / "cache"), base_url=isic_mirror)
    builder.download_and_prepare(verification_mode="no_checks")
    dataset = builder.as_dataset()
    assert raw_bytes(dataset["train"]) == raw_bytes(folder_build["train"])


def test_the_command_line_no_verify_skips_the_checksums(isic_mirror, tmp_path, monkeypatch):
    from skin_cancer.tools.pipeline import prepare_dataset

    record_checksums(monkeypatch, ISIC2017, tmp_path / "www" / "2017", wrong="ISIC-2017_Training_Data.zip")
    with pytest.raises(DataError, match="does not match its checksum"):
        prepare_dataset(None, cache_dir=str(tmp_path / "a"), base_url=isic_mirror)
    build_ = prepare_dataset(None, cache_dir=str(tmp_path / "b"), base_url=isic_mirror, verify=False)
    assert len(build_.dataset["train"]) == SYNTHETIC_COUNTS["train"]


def test_default_download_urls_are_the_official_ones():
    assert ISIC2017.url("ISIC-2017_Training_Data.zip") == (
        "https://isic-challenge-data.s3.amazonaws.com/2017/ISIC-2017_Training_Data.zip"
    )
    assert skin_cancer.SkinCancerConfig(name="isic2017").base_url is None  # None: the release's own address


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


# --- Official zips read in place --------------------------------------------------------------


def files_beside_the_output(cache: Path) -> list[Path]:
    """Everything a build left in its cache apart from the dataset itself and datasets' small bookkeeping."""
    return [
        path
        for path in cache.rglob("*")
        if path.is_file() and path.suffix not in (".arrow", ".json", ".lock") and path.name != "LICENSE"
    ]


def test_a_build_from_zips_extracts_nothing(pristine_synthetic_tree, tmp_path):
    zips = zip_official_folders(pristine_synthetic_tree, tmp_path / "zips")
    build(zips, tmp_path / "cache")
    assert files_beside_the_output(tmp_path / "cache") == []
    assert not (tmp_path / "cache" / "downloads").exists(), "nothing may be extracted into the cache"
    assert sorted(path.name for path in zips.iterdir()) == sorted(
        [f"{folder}.zip" for folder in ALL_FOLDERS] + [split.labels_csv for split in SPLITS]
    )


def test_a_download_extracts_nothing(isic_mirror, tmp_path):
    build(None, tmp_path / "cache", base_url=isic_mirror)
    assert not list((tmp_path / "cache").rglob("extracted")), "the downloaded zips must be read in place"


def test_a_download_streams_from_the_zips_in_place(isic_mirror, folder_build, tmp_path):
    streamed = load_dataset("skin_cancer", cache_dir=str(tmp_path / "cache"), base_url=isic_mirror, streaming=True)
    first = next(iter(streamed["test"]))
    assert first["image_id"] == folder_build["test"][0]["image_id"]
    assert np.array_equal(np.asarray(first["image"]), np.asarray(folder_build["test"][0]["image"]))
    assert not list((tmp_path / "cache").rglob("*.zip")), "streaming must not download the zips"


def corrupt_member(archive: Path, member: str) -> None:
    """Flip one byte in the middle of a member's data (for a stored member, only its CRC can notice)."""
    with zipfile.ZipFile(archive) as bundle:
        info = bundle.getinfo(member)
    data = bytearray(archive.read_bytes())
    name_length, extra_length = (
        int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little"),
        (int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")),
    )
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["crc", "deflated member", "truncated"])
def test_a_bad_zip_is_named_and_replacing_it_is_enough(pristine_synthetic_tree, tmp_path, damage):
    compression = zipfile.ZIP_DEFLATED if damage == "deflated member" else zipfile.ZIP_STORED
    zips = zip_official_folders(pristine_synthetic_tree, tmp_path / "zips", compression=compression)
    archive = zips / "ISIC-2017_Validation_Data.zip"
    good = archive.read_bytes()
    member = "ISIC-2017_Validation_Data/ISIC_9000102.jpg"
    if damage != "truncated":
        corrupt_member(archive, member)
    else:
        archive.write_bytes(good[: len(good) // 2])
    error = build_error(zips, tmp_path / "cache")
    assert "\n" not in str(error)
    assert str(archive) in str(error)
    if damage != "truncated":
        assert f"{archive}!/{member}: cannot be read from its zip" in str(error)
    if damage == "crc":
        assert "Bad CRC-32" in str(error)
    archive.write_bytes(good)
    dataset = build(zips, tmp_path / "cache")
    assert len(dataset["valid"]) == 2


@pytest.mark.parametrize("as_zips", [False, True])
def test_a_data_dir_with_fsspec_and_shell_syntax_in_its_name(pristine_synthetic_tree, folder_build, tmp_path, as_zips):
    odd = tmp_path / "a::b $HOME ${USER} zip:" / "ISIC-2017"
    if as_zips:
        zip_official_folders(pristine_synthetic_tree, odd)
    else:
        shutil.copytree(pristine_synthetic_tree, odd)
    dataset = build(odd, tmp_path / "cache")
    assert raw_bytes(dataset["valid"]) == raw_bytes(folder_build["valid"])


# --- The cache notices changed inputs ----------------------------------------------------------


def test_unchanged_inputs_reuse_the_cache_without_reading_a_file(synthetic_tree, tmp_path, monkeypatch):
    build(synthetic_tree, tmp_path / "cache")

    def no_reading(location):
        raise AssertionError(f"an unchanged build read {location.label}")

    monkeypatch.setattr("skin_cancer.dataset.builder.read_bytes", no_reading)
    again = skin_cancer.SkinCancer(data_dir=str(synthetic_tree), cache_dir=str(tmp_path / "cache"))
    assert again.is_prepared()
    again.download_and_prepare()
    assert {split: len(part) for split, part in again.as_dataset().items()} == SYNTHETIC_COUNTS


def change_input(tree: Path, change: str) -> None:
    images, masks = tree / "ISIC-2017_Training_Data", tree / "ISIC-2017_Training_Part1_GroundTruth"
    if change == "add":
        image, mask = synthetic_pair(640, 480, seed=9000007)
        (images / "ISIC_9000007.jpg").write_bytes(jpeg_bytes(image))
        mask.save(masks / "ISIC_9000007_segmentation.png")
    elif change == "remove":
        (images / "ISIC_9000006.jpg").unlink()
        (masks / "ISIC_9000006_segmentation.png").unlink()
    elif change == "replace":
        path = images / "ISIC_9000001.jpg"
        image = Image.open(path).convert("RGB")
        path.unlink()
        path.write_bytes(jpeg_bytes(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    elif change == "touch":
        path = tree / "ISIC-2017_Training_Part3_GroundTruth.csv"
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    elif change == "touch zip":
        path = tree / "ISIC-2017_Training_Data.zip"
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


@pytest.mark.parametrize("change", ["add", "remove", "replace", "touch", "touch zip"])
def test_a_changed_input_is_rebuilt(synthetic_tree, tmp_path, change):
    tree = zip_official_folders(synthetic_tree, tmp_path / "zips") if change == "touch zip" else synthetic_tree
    before = build(tree, tmp_path / "cache")
    change_input(tree, change)
    builder = skin_cancer.SkinCancer(data_dir=str(tree), cache_dir=str(tmp_path / "cache"))
    assert not builder.is_prepared(), f"{change}: the build must not be served from the cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the added pair has no Part3 row, which is not what is tested here
        builder.download_and_prepare()
    after = builder.as_dataset()
    expected = {"add": 7, "remove": 5}.get(change, 6)
    assert len(after["train"]) == expected
    if change == "replace":
        assert raw_bytes(after["train"])[0] != raw_bytes(before["train"])[0]


def test_downloads_keep_the_code_hash_only():
    from skin_cancer.dataset.fingerprint import package_code_hash

    assert skin_cancer.SkinCancer(base_url="http://127.0.0.1:9/").hash == package_code_hash()


# --- Silent wrong answers and honest errors -----------------------------------------------------


def test_a_labels_csv_of_another_split_warns(synthetic_tree, cache_dir):
    shutil.copy(
        synthetic_tree / "ISIC-2017_Validation_Part3_GroundTruth.csv",
        synthetic_tree / "ISIC-2017_Training_Part3_GroundTruth.csv",
    )
    with pytest.warns(UserWarning, match=r"Training_Part3_GroundTruth\.csv: 6 of 6 train images have no row") as record:
        build(synthetic_tree, cache_dir)
    message = next(str(w.message) for w in record if "have no row" in str(w.message))
    assert "ISIC_9000001, ISIC_9000002, ISIC_9000003, ..." in message
    assert "probably belongs to another split" in message


def test_a_labels_csv_missing_some_rows_warns(synthetic_tree, cache_dir):
    path = synthetic_tree / "ISIC-2017_Training_Part3_GroundTruth.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("ISIC_9000004")))
    with pytest.warns(UserWarning, match=r"1 of 6 train images have no row.*\(first: ISIC_9000004\)$") as record:
        dataset = build(synthetic_tree, cache_dir)
    assert not any("another split" in str(w.message) for w in record)
    assert dataset["train"][3]["diagnosis"] is None


@pytest.mark.parametrize("size", [512.0, 256.0, "512", True])
def test_sizes_that_are_not_whole_numbers_are_refused_alike(size):
    with pytest.raises(ValueError, match="size must be a whole number"):
        skin_cancer.SkinCancer(size=size)


@pytest.mark.parametrize("age", ["inf", "1e12", "3000000000"])
@pytest.mark.parametrize("streaming", [False, True])
def test_an_age_that_is_not_an_age_is_named_in_both_modes(synthetic_tree, tmp_path, age, streaming):
    path = synthetic_tree / "ISIC-2017_Validation_Data" / "ISIC-2017_Validation_Data_metadata.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].split(",")[0] + f",{age},male"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        dataset = load_dataset(
            "skin_cancer", data_dir=str(synthetic_tree), cache_dir=str(tmp_path / "cache"), streaming=streaming
        )
        list(dataset["valid"])
    assert f"{path}: cannot read this CSV: line 3: age_approximate '{age}' is not an age" in str(caught.value)


def test_a_labels_row_with_extra_cells_is_named(synthetic_tree, cache_dir):
    path = synthetic_tree / "ISIC-2017_Test_v2_Part3_GroundTruth.csv"
    path.write_text(path.read_text() + ",,,extra\r\n")
    error = build_error(synthetic_tree, cache_dir)
    assert error.path == str(path) and "line 4: has 1 more cell(s) than the header" in str(error)


def test_unknown_sex_values_warn_and_become_null(synthetic_tree, cache_dir):
    path = synthetic_tree / "ISIC-2017_Training_Data" / "ISIC-2017_Training_Data_metadata.csv"
    text = path.read_text().replace("ISIC_9000001,55,female", "ISIC_9000001,55,F")
    path.write_text(text.replace("ISIC_9000002,70,male", "ISIC_9000002,70,other"))
    with pytest.warns(UserWarning, match=r"metadata\.csv: 1 sex value\(s\) are neither.*'other' \(1\)"):
        dataset = build(synthetic_tree, cache_dir)
    assert dataset["train"]["sex"][:2] == ["female", None]


def test_partial_split_warning_points_at_the_users_line(pristine_synthetic_tree, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning) as record:
        load_dataset("skin_cancer", data_dir=str(pristine_synthetic_tree), cache_dir=str(tmp_path))
    assert {Path(w.filename) for w in record if w.category is skin_cancer.PartialSplitWarning} == {Path(__file__)}


FILE_SIZE_LIMIT_SCRIPT = """
import resource, signal, sys, warnings
import skin_cancer
warnings.simplefilter("ignore")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
try:
    skin_cancer.SkinCancer(data_dir=sys.argv[1], cache_dir=sys.argv[2]).download_and_prepare()
except skin_cancer.DataError as error:
    print("DataError:", error)
"""


def test_a_full_disk_or_file_size_limit_is_named(pristine_synthetic_tree, tmp_path):
    """A real file-size limit (RLIMIT_FSIZE) in a child process: writes past it fail with EFBIG."""
    result = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT_SCRIPT, str(pristine_synthetic_tree), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith(f"DataError: {tmp_path / 'cache'}: cannot write the prepared dataset")
    assert "File too large" in lines[0]


def test_an_edit_that_keeps_size_and_mtime_still_rebuilds(synthetic_tree, tmp_path):
    """Restoring the modification time by hand (os.utime) must not hide a changed file."""
    import os

    from skin_cancer.dataset.fingerprint import input_fingerprint

    before = input_fingerprint(str(synthetic_tree))
    image = synthetic_tree / "ISIC-2017_Training_Data" / "ISIC_9000001.jpg"
    status = image.stat()
    data = bytearray(image.read_bytes())
    data[-10] ^= 0xFF
    image.write_bytes(bytes(data))
    os.utime(image, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert image.stat().st_size == status.st_size and image.stat().st_mtime_ns == status.st_mtime_ns
    assert input_fingerprint(str(synthetic_tree)) != before


def test_the_fingerprint_ignores_hidden_files_and_never_follows_links_inside(synthetic_tree):
    from skin_cancer.dataset.fingerprint import input_fingerprint

    before = input_fingerprint(str(synthetic_tree))
    training = synthetic_tree / "ISIC-2017_Training_Data"
    (training / ".DS_Store").write_bytes(b"finder")
    assert input_fingerprint(str(synthetic_tree)) == before, "discovery ignores hidden files, so must the key"
    (training / "up").symlink_to("..")  # a loop: walking it would never end
    assert input_fingerprint(str(synthetic_tree)) != before


def test_a_partly_extracted_folder_beside_its_zip_is_named(synthetic_tree, tmp_path):
    """An interrupted unzip leaves a folder with some of the files: it must not silently shrink the dataset."""
    zipped = zip_official_folders(synthetic_tree, tmp_path / "zips")
    partial = zipped / "ISIC-2017_Training_Data"
    partial.mkdir()
    shutil.copy(synthetic_tree / "ISIC-2017_Training_Data" / "ISIC_9000001.jpg", partial)
    error = build_error(zipped, tmp_path / "cache")
    assert "ISIC-2017_Training_Data" in error.path and "ISIC-2017_Training_Data.zip" in str(error)
    complete = tmp_path / "complete"
    shutil.copytree(zipped, complete, ignore=shutil.ignore_patterns("ISIC-2017_Training_Data"))
    shutil.copytree(synthetic_tree / "ISIC-2017_Training_Data", complete / "ISIC-2017_Training_Data")
    assert len(build(complete, tmp_path / "cache2")["train"]) == SYNTHETIC_COUNTS["train"], "a full copy is fine"
