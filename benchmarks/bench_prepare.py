"""How fast is a prepare, compared with merely decoding the inputs it cannot avoid decoding?

Prints pairs per second for: the decode floor (each JPEG at the smallest DCT scale that covers
its footprint in the square, plus its full PNG mask), a one-process prepare and a two-process
prepare, all on the same tree in the same run, and the two ratios the README reports.

    python benchmarks/bench_prepare.py                 # the shared sample x 22 = 308 pairs
    python benchmarks/bench_prepare.py --data-dir DIR  # an ISIC tree of your own
    python benchmarks/bench_prepare.py --release isic2018  # the same pairs in another release's layout
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets
from common import DEFAULT_SOURCE, pair_paths, repeated_tree
from PIL import Image

import skin_cancer
from skin_cancer.dataset.transforms import decode_request, placement
from skin_cancer.releases import DEFAULT_RELEASE, RELEASES


def decode_floor(pairs: list[tuple[str, Path, Path]], size: int) -> float:
    """Seconds to read and decode what any correct prepare must decode, and nothing more."""
    started = time.perf_counter()
    for _, image_path, mask_path in pairs:
        with Image.open(image_path) as image:
            place = placement(*image.size, size, "pad")
            image.draft("RGB", decode_request(image.size, place.source_box, place.target_size))
            image.load()
        with Image.open(mask_path) as mask:
            mask.load()
    return time.perf_counter() - started


def prepare(tree: Path, cache: Path, num_proc: int, size: int, release: str = DEFAULT_RELEASE) -> float:
    builder = skin_cancer.SkinCancer(config_name=release, data_dir=str(tree), cache_dir=str(cache), size=size)
    started = time.perf_counter()
    builder.download_and_prepare(num_proc=num_proc if num_proc > 1 else None)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="an ISIC-2017 tree (default: the shared sample, repeated)")
    parser.add_argument("--repeats", type=int, default=22, help="copies of the shared sample when no --data-dir")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--release", choices=list(RELEASES), default=DEFAULT_RELEASE, help="the tree's layout")
    args = parser.parse_args()
    release = RELEASES[args.release]
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)

    with tempfile.TemporaryDirectory(prefix="skin-cancer-bench-") as scratch:
        work = Path(scratch)
        tree = args.data_dir or repeated_tree(DEFAULT_SOURCE, work / "tree", args.repeats, release)
        pairs = pair_paths(tree, release)
        decode_floor(pairs[:5], args.size)  # warm the page cache and the libraries
        floor = decode_floor(pairs, args.size)
        one = prepare(tree, work / "cache-1", 1, args.size, release.name)
        two = prepare(tree, work / "cache-2", 2, args.size, release.name)

    count = len(pairs)
    print(f"pairs: {count} ({release.name}, size {args.size}, resize_mode pad, JPEG 95)")
    print(f"decode floor (DCT-scaled JPEG + PNG mask): {count / floor:7.1f} pairs/s  {floor:6.1f} s")
    print(f"prepare, 1 process:                         {count / one:7.1f} pairs/s  {one:6.1f} s")
    print(f"prepare, 2 processes:                       {count / two:7.1f} pairs/s  {two:6.1f} s")
    print(f"prepare(1) / decode floor: {one / floor:.2f}x  (target: at most about 1.3x)")
    print(f"speed-up with 2 processes: {one / two:.2f}x  (target: at least 1.7x)")


if __name__ == "__main__":
    main()
