"""Is a build from the official zips as cheap as one from folders, and is the input fingerprint cheap?

On the same tree (the shared sample repeated, >= 300 pairs), in one run and one process: a build from
the extracted folders, and a build from the same files as official zips (ZIP_DEFLATED, as ISIC ships
them, each holding its folder). Prints seconds, pairs/s, the ratio (target: at most 1.05x), the disk
a zip build uses beside its Arrow output (target: none), and the cost of the input fingerprint on a
listing of 2750 pairs (the full ISIC-2017 release, as tiny files).

    python benchmarks/bench_zips.py                 # the shared sample x 22 = 308 pairs
    python benchmarks/bench_zips.py --repeats 30
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets
from common import DEFAULT_SOURCE, pair_paths, repeated_tree

import skin_cancer
from skin_cancer.dataset.fingerprint import input_fingerprint
from skin_cancer.releases import ISIC2017

SPLITS = ISIC2017.splits
MASK_SUFFIX = ISIC2017.mask_suffix


# Files a finished build keeps beside its Arrow files; anything else is disk the build should not use.
BOOKKEEPING = (".json", ".lock")


def zip_tree(tree: Path, destination: Path) -> Path:
    """Each folder as ISIC ships it: X.zip holding X/..., deflated; the CSVs beside the zips."""
    destination.mkdir(parents=True)
    for split in SPLITS:
        for folder in split.folders:
            with zipfile.ZipFile(destination / f"{folder}.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
                for file in sorted((tree / folder).iterdir()):
                    bundle.write(file, f"{folder}/{file.name}")  # follows the symlinks: real bytes
        shutil.copy(tree / split.labels_csv, destination / split.labels_csv)
    return destination


def build(data_dir: Path, cache: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its threads): on a busy machine the CPU time is the steadier."""
    builder = skin_cancer.SkinCancer(data_dir=str(data_dir), cache_dir=str(cache))
    started, cpu = time.perf_counter(), time.process_time()
    builder.download_and_prepare()
    return time.perf_counter() - started, time.process_time() - cpu


def beside_the_output(cache: Path) -> tuple[int, int]:
    """(bytes of files other than Arrow files and datasets' json/lock bookkeeping, bytes of those)."""
    other = bookkeeping = 0
    for path in cache.rglob("*"):
        if not path.is_file() or path.suffix == ".arrow":
            continue
        if path.suffix in BOOKKEEPING or path.name == "LICENSE":
            bookkeeping += path.stat().st_size
        else:
            other += path.stat().st_size
    return other, bookkeeping


def full_release_listing(root: Path) -> Path:
    """2000 + 150 + 600 = 2750 pairs of tiny files (plus superpixels), the official folder layout."""
    counter = 0
    for split in SPLITS:
        data, masks = root / split.data_folder, root / split.mask_folder
        data.mkdir(parents=True)
        masks.mkdir(parents=True)
        for _ in range(split.official_count):
            counter += 1
            image_id = f"ISIC_{counter:07d}"
            (data / f"{image_id}.jpg").write_bytes(b"x")
            (data / f"{image_id}_superpixels.png").write_bytes(b"x")
            (masks / f"{image_id}{MASK_SUFFIX}").write_bytes(b"x")
        (root / split.labels_csv).write_text("image_id,melanoma,seborrheic_keratosis\n")
    return root


def fingerprint_seconds(root: Path, runs: int = 7) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        input_fingerprint(str(root))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=22, help="copies of the shared sample (22 = 308 pairs)")
    args = parser.parse_args()
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory(prefix="skin-cancer-bench-zips-") as scratch:
        work = Path(scratch)
        tree = repeated_tree(DEFAULT_SOURCE, work / "tree", args.repeats)
        zips = zip_tree(tree, work / "zips")
        count = len(pair_paths(tree))
        build(tree, work / "cache-warm")  # warm the page cache and the libraries
        (folders, folders_cpu), (zipped, zipped_cpu) = (
            build(tree, work / "cache-folders"),
            build(zips, work / "cache-zips"),
        )
        other, bookkeeping = beside_the_output(work / "cache-zips")
        zip_bytes = sum(path.stat().st_size for path in zips.glob("*.zip"))
        listing = full_release_listing(work / "listing")
        folder_fingerprint = fingerprint_seconds(listing)
        zip_fingerprint = fingerprint_seconds(zips)

    print(f"pairs: {count} (size 512, resize_mode pad, JPEG 95, one process); zips: {zip_bytes / 1e6:.0f} MB deflated")
    print(f"build from folders: {count / folders:7.1f} pairs/s  {folders:6.1f} s  ({folders_cpu:6.1f} s CPU)")
    print(f"build from zips:    {count / zipped:7.1f} pairs/s  {zipped:6.1f} s  ({zipped_cpu:6.1f} s CPU)")
    print(
        f"zips / folders: {zipped / folders:.3f}x wall time (target: at most 1.05x), "
        f"{zipped_cpu / folders_cpu:.3f}x CPU time"
    )
    print(f"disk beside the Arrow output of the zip build: {other} bytes (target: none); {bookkeeping} bytes of")
    print("  datasets' own dataset_info.json, LICENSE and lock files")
    print(f"input fingerprint, 2750 pairs as folders: {folder_fingerprint * 1000:.1f} ms (target: well under 1 s)")
    print(f"input fingerprint, {args.repeats * 14} pairs as six zips: {zip_fingerprint * 1000:.2f} ms")


if __name__ == "__main__":
    main()
