"""An IMA++ build (several masks per image) against its decode floor, measured as bench_ham10000.py measures HAM10000.

No IMA++ mask file is available here, so the tree is made of the 14 real ISIC-2017 pairs of ../shared, repeated
under the real IMA++ names: the first N image ids of IMAplusplus_seg_metadata.csv (../shared/isic-archive-metadata),
real pair k for the k-th id modulo 14, every mask file the table lists for that id (annotators and the STAPLE and
majority-vote consensus masks) a symlink to that pair's mask, and images/metadata.csv the rows of IMA++'s own copy of
the collection metadata. So the build reads, decodes and prepares as many masks per image as IMA++ has.

The decode floor: each JPEG at the smallest DCT scale covering its footprint (bench_prepare.decode_floor's rule) plus
every one of its mask PNGs, one process. Then a prepare with 1 and with 2 processes, each in a child process of its
own for its peak RSS. Prints pairs/s, masks/s, peak RSS and the ratio to the floor.

    python benchmarks/bench_imaplusplus.py                  # the first 2,000 images (3,308 mask files)
    python benchmarks/bench_imaplusplus.py --images 500     # fewer
    python benchmarks/bench_imaplusplus.py --no-one-process # the 2-process prepare only
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ham10000 import measured_prepare, report
from common import DEFAULT_SOURCE, pair_paths, repeated_tree
from PIL import Image

from skin_cancer.dataset.transforms import decode_request, placement
from skin_cancer.releases import IMAPLUSPLUS_SEG_METADATA, ISIC_CLI_METADATA

ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "isic-archive-metadata"
IMAGE_METADATA = "IMAplusplus_img_metadata.csv"  # IMA++'s own copy of the ISIC Archive's collection metadata


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def imaplusplus_tree(destination: Path, images: int) -> list[tuple[Path, list[Path]]]:
    """Write the tree (see the module's docstring) for the first `images` ids; returns (image, its masks) per id."""
    real = [(image, mask) for _, image, mask in pair_paths(repeated_tree(DEFAULT_SOURCE, destination / "real", 1))]
    seg_rows = _rows(ARCHIVE / IMAPLUSPLUS_SEG_METADATA)
    records = {row["isic_id"]: row for row in _rows(ARCHIVE / IMAGE_METADATA)}
    by_image: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in seg_rows:
        by_image[row["ISIC_id"]].append(row)
    ids = sorted(image_id for image_id in by_image if image_id in records)[:images]
    top = destination / "IMAplusplus"
    (top / "images").mkdir(parents=True)
    (top / "segs").mkdir()
    made, kept = [], []
    for index, image_id in enumerate(ids):
        image, mask = real[index % len(real)]
        os.symlink(image.resolve(), top / "images" / f"{image_id}.jpg")
        masks = []
        for row in by_image[image_id]:
            os.symlink(mask.resolve(), top / "segs" / row["seg_filename"])
            masks.append(top / "segs" / row["seg_filename"])
            kept.append(row)
        made.append((top / "images" / f"{image_id}.jpg", masks))
    _write_rows(top / "images" / ISIC_CLI_METADATA, [records[image_id] for image_id in ids])
    _write_rows(top / IMAPLUSPLUS_SEG_METADATA, kept)
    return made


def decode_floor(pairs: list[tuple[Path, list[Path]]], size: int) -> float:
    """Seconds to decode what any correct prepare must decode: each image at its DCT scale, each of its masks."""
    started = time.perf_counter()
    for image_path, mask_paths in pairs:
        with Image.open(image_path) as image:
            place = placement(*image.size, size, "pad")
            image.draft("RGB", decode_request(image.size, place.source_box, place.target_size))
            image.load()
        for mask_path in mask_paths:
            with Image.open(mask_path) as mask:
                mask.load()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="the first N image ids of the seg metadata")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--no-one-process", action="store_true", help="measure the 2-process prepare only")
    args = parser.parse_args()
    if not ARCHIVE.is_dir():
        sys.exit(f"{ARCHIVE}: not found (the IMA++ metadata of ../shared)")
    processes = (2,) if args.no_one_process else (1, 2)
    with tempfile.TemporaryDirectory(prefix="skin-cancer-bench-ima-") as scratch:
        work = Path(scratch)
        pairs = imaplusplus_tree(work / "tree", args.images)
        masks = sum(len(mask_paths) for _, mask_paths in pairs)
        several = sum(len(mask_paths) > 1 for _, mask_paths in pairs)
        decode_floor(pairs[:16], args.size)  # warm the page cache and the libraries
        floor = decode_floor(pairs, args.size)
        runs = {
            num_proc: measured_prepare(
                work / "tree" / "IMAplusplus", work / f"cache-{num_proc}", num_proc, args.size, "imaplusplus"
            )
            for num_proc in processes
        }
    print(f"{len(pairs)} images, {masks} mask files ({several} images with several, each with its 2 consensus masks)")
    report("imaplusplus", len(pairs), floor, runs)
    for num_proc, run in runs.items():
        print(f"  prepare, {num_proc} process{'es' if num_proc > 1 else ''}: {masks / run['seconds']:.1f} masks/s")
    print(f"(size {args.size}, resize_mode pad, JPEG 95; ratio = prepare seconds / decode-floor seconds)")


if __name__ == "__main__":
    main()
