"""Helpers the test modules share (fixtures live in conftest.py; no test module imports another)."""

from __future__ import annotations

import dataclasses
import http.server
import importlib.util
import io
import os
import shutil
import zipfile
from pathlib import Path

from skin_cancer.releases import DEFAULT_RELEASE, ISIC2017, RELEASES, Release, file_digest, get_release
from skin_cancer.tools.sample import NOTICE_TEXT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
REAL_SAMPLE = SHARED / "isic-2017-mini" / "ISIC-2017"
REFERENCE_CSVS = SHARED / "isic-2017-reference"
REAL_COUNTS = {"train": 8, "valid": 3, "test": 3}
HAM10000_SAMPLE = SHARED / "ham10000-mini" / "HAM10000"
# CI sets this, so that a missing sample fails the run instead of skipping the tests that need it.
REQUIRE_SHARED = "SKIN_CANCER_REQUIRE_SHARED"


def prepared_files(cache: Path) -> list[Path]:
    """Every Arrow file a build left in a cache: empty after a failed build."""
    return sorted(path for path in cache.rglob("*.arrow"))


def raw_bytes(dataset) -> list[tuple[str, bytes, bytes]]:
    """(image_id, image bytes, mask bytes) of every row, as the builder encoded them (nothing decoded)."""
    columns = dataset.cast_column("image", dataset.features["image"].__class__(decode=False))
    columns = columns.cast_column("mask", dataset.features["mask"].__class__(decode=False))
    return [(row["image_id"], row["image"]["bytes"], row["mask"]["bytes"]) for row in columns]


def copy_tree_as(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    release: str | Release,
    source_release: str | Release = DEFAULT_RELEASE,
) -> Path:
    """Copy the image/mask pairs of a tree in one release's layout into another's, unchanged byte for byte.

    Real pairs (../shared/isic-2017-mini) arranged as ISIC 2016 or 2018 prove that masks line up in every
    layout. A split the target lacks (2016 has no validation) goes to its first split. Label and metadata
    CSVs are not copied: another release's labels for these ids are not known.
    Returns destination/<release.top_folder>.
    """
    release, source_release = get_release(release), get_release(source_release)
    source, top = Path(source), Path(destination) / release.top_folder
    for source_split in source_release.splits:
        data, masks = source / source_split.data_folder, source / source_split.mask_folder
        if not data.is_dir():
            continue
        split = release.splits_by_name.get(source_split.name, release.splits[0])
        data_folder, mask_folder = top / split.data_folder, top / split.mask_folder
        data_folder.mkdir(parents=True, exist_ok=True)
        mask_folder.mkdir(parents=True, exist_ok=True)
        mask_files = {source_release.mask_image_id(path.name): path for path in masks.iterdir()}
        for image in sorted(data.iterdir()):
            if not source_release.is_image(image.name):
                continue
            image_id = image.name.rsplit(".", 1)[0]
            shutil.copyfile(image, data_folder / image.name)
            shutil.copyfile(mask_files[image_id], mask_folder / release.mask_name(image_id))
        for folder in (data_folder, mask_folder):
            for name in release.non_image_files:
                (folder / name).write_text(NOTICE_TEXT.format(name=name, release=release.short_name))
    return top


def zip_official_folders(tree: Path, destination: Path, compression: int = zipfile.ZIP_STORED) -> Path:
    """Zip each folder of an ISIC-2017 tree the way ISIC ships it: ISIC-2017_X.zip holding ISIC-2017_X/...,
    with the label CSVs beside the zips."""
    destination.mkdir(parents=True, exist_ok=True)
    for folder in ISIC2017.folders:
        with zipfile.ZipFile(destination / f"{folder}.zip", "w", compression) as bundle:
            for file in sorted((tree / folder).iterdir()):
                bundle.write(file, f"{folder}/{file.name}")
    for split in ISIC2017.splits:
        shutil.copy(tree / split.labels_csv, destination / split.labels_csv)
    return destination


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Answers `Range: bytes=a-b` with 206, as S3 does, so that zips can be read in place over HTTP."""

    def send_head(self):
        wanted = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not wanted.startswith("bytes=") or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        first, _, last = wanted[len("bytes=") :].partition("-")
        start = int(first) if first else max(0, len(data) - int(last))
        end = min(int(last), len(data) - 1) if first and last else len(data) - 1
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data[start : end + 1])


def record_checksums(monkeypatch, release: Release, folder: Path, wrong: str | None = None) -> Release:
    """Put the served files' digests into the release table as if ISIC had published them (the real
    files are not available here); `wrong` names one file recorded with a wrong value instead."""
    downloads = []
    for download in release.downloads:
        if download.checksum is not None:
            actual = file_digest(folder / download.file_name, download.checksum.algorithm)
            value = "0" * len(actual) if download.file_name == wrong else actual
            download = dataclasses.replace(download, checksum=dataclasses.replace(download.checksum, value=value))
        downloads.append(download)
    patched = dataclasses.replace(release, downloads=tuple(downloads))
    monkeypatch.setitem(RELEASES, release.name, patched)
    return patched


def _benchmark_common():
    """benchmarks/common.py (a script folder, not a package), loaded by path."""
    spec = importlib.util.spec_from_file_location(
        "skin_cancer_benchmarks_common", PROJECT_ROOT / "benchmarks" / "common.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repeated_tree(source: Path, destination: Path, repeats: int) -> Path:
    """The benchmarks' tree of the real sample repeated under new ids (symlinks), which the interrupt tests reuse;
    benchmarks/common.py is loaded only when called (a copy of the tests without the benchmarks still imports)."""
    return _benchmark_common().repeated_tree(source, destination, repeats)
