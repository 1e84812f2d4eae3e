"""A full-size HAM10000 build against its decode floor, beside ISIC-2017 measured the same way in the same run.

The HAM10000 tree: the 16 real pairs of ../shared/ham10000-mini repeated under the 10,015 official ids of
its metadata table (symlinks, in a temporary folder outside the repository: part 1 up to ISIC_0029305,
part 2 after, as the Dataverse zips divide them), with the official table itself, so the build makes the
real train/valid/test splits. The ISIC-2017 tree: bench_prepare.py's (the shared sample x 22 = 308 pairs).

For each tree: the decode floor (bench_prepare.decode_floor: each JPEG at the smallest DCT scale covering
its footprint, plus its PNG mask, one process), then a prepare with 1 and with 2 processes, each in a
child process of its own so that its peak RSS (the child's and, with 2 processes, its largest worker's,
from getrusage) is its own. Prints pairs/s, peak RSS and the ratios the README reports.

    python benchmarks/bench_ham10000.py                    # all 10,015 pairs (a few minutes on 2 cores)
    python benchmarks/bench_ham10000.py --pairs 2000       # the first 2,000 official ids only
    python benchmarks/bench_ham10000.py --no-one-process   # skip the 1-process prepares
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets
from bench_prepare import decode_floor, prepare
from common import DEFAULT_SOURCE, pair_paths, repeated_tree

from skin_cancer.releases import HAM10000, HAM10000_METADATA, ISIC2017

HAM_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "ham10000-mini" / "HAM10000"
MASKS = HAM10000.splits[0].mask_folder
PARTS = HAM10000.splits[0].data_folders  # part 1, part 2
LAST_OF_PART_1 = "ISIC_0029305"  # the Dataverse zips' division (../shared/ham10000-mini/README.md)


def ham10000_tree(source: Path, destination: Path, pairs: int | None = None) -> list[tuple[str, Path, Path]]:
    """Symlink the real pairs of `source` under the official ids of its metadata table (the first `pairs` of
    them, sorted; all 10,015 by default), real pair k for the k-th id modulo their number. Returns
    (image id, image path, mask path) of every pair made."""
    real = sorted(
        (image, source / MASKS / HAM10000.mask_name(image.stem))
        for part in PARTS
        for image in (source / part).glob("*.jpg")
    )
    with open(source / HAM10000_METADATA, newline="") as file:
        ids = sorted(row["image_id"] for row in csv.DictReader(file))
    ids = ids[:pairs] if pairs else ids
    for folder in (*PARTS, MASKS):
        (destination / folder).mkdir(parents=True)
    os.symlink((source / HAM10000_METADATA).resolve(), destination / HAM10000_METADATA)
    made = []
    for index, image_id in enumerate(ids):
        image, mask = real[index % len(real)]
        part = PARTS[0] if image_id <= LAST_OF_PART_1 else PARTS[1]
        image_link = destination / part / f"{image_id}.jpg"
        mask_link = destination / MASKS / HAM10000.mask_name(image_id)
        os.symlink(image.resolve(), image_link)
        os.symlink(mask.resolve(), mask_link)
        made.append((image_id, image_link, mask_link))
    return made


def measured_prepare(tree: Path, cache: Path, num_proc: int, size: int, release: str) -> dict[str, float]:
    """A prepare in a child process of its own: {"seconds", "rss_mib" (the child), "worker_rss_mib"}."""
    command = [sys.executable, __file__, "--child", str(tree), str(cache), str(num_proc), str(size), release]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def child(tree: str, cache: str, num_proc: str, size: str, release: str) -> None:
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")
    seconds = prepare(Path(tree), Path(cache), int(num_proc), int(size), release)
    kib = 1024  # ru_maxrss is in KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
                "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib,
            }
        )
    )


def report(name: str, count: int, floor: float, runs: dict[int, dict[str, float]]) -> None:
    print(f"{name}: {count} pairs")
    print(f"  decode floor:          {count / floor:7.1f} pairs/s  {floor:7.1f} s")
    for num_proc, run in runs.items():
        workers = f", largest worker {run['worker_rss_mib']:.0f} MiB" if num_proc > 1 else ""
        print(
            f"  prepare, {num_proc} process{'es' if num_proc > 1 else '':2}: {count / run['seconds']:7.1f} pairs/s  "
            f"{run['seconds']:7.1f} s  ratio to the floor {run['seconds'] / floor:.2f}x  "
            f"peak RSS {run['rss_mib']:.0f} MiB{workers}"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, help="only the first N official ids (default: all 10,015)")
    parser.add_argument("--repeats", type=int, default=22, help="copies of the ISIC-2017 sample (308 pairs)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--no-one-process", action="store_true", help="measure the 2-process prepares only")
    parser.add_argument("--no-isic", action="store_true", help="skip the ISIC-2017 comparison")
    args = parser.parse_args()
    processes = (2,) if args.no_one_process else (1, 2)

    with tempfile.TemporaryDirectory(prefix="skin-cancer-bench-ham-") as scratch:
        work = Path(scratch)
        names = ["ham10000"] if args.no_isic else ["ham10000", "isic2017"]
        for name in names:
            tree = work / name
            if name == "ham10000":
                pairs = [(image, mask) for _, image, mask in ham10000_tree(HAM_SOURCE, tree, args.pairs)]
            else:
                repeated_tree(DEFAULT_SOURCE, tree, args.repeats, ISIC2017)
                pairs = [(image, mask) for _, image, mask in pair_paths(tree, ISIC2017)]
            floor_pairs = [("", image, mask) for image, mask in pairs]
            decode_floor(floor_pairs[:16], args.size)  # warm the page cache and the libraries
            floor = decode_floor(floor_pairs, args.size)
            runs = {
                num_proc: measured_prepare(tree, work / f"cache-{name}-{num_proc}", num_proc, args.size, name)
                for num_proc in processes
            }
            report(name, len(pairs), floor, runs)
            sys.stdout.flush()
    print(f"(size {args.size}, resize_mode pad, JPEG 95; ratio = prepare seconds / decode-floor seconds)")


if __name__ == "__main__":
    main()
