"""Our `export --format folders` against the seed generator, on the same input in the same run.

Both start from the raw ISIC files and end with 512x512 image/mask folders. Prints pairs per second
for each, the speed ratio (target: ours at least 4x faster in one process) and the share of mask
pixels that are neither 0 nor 255 in each output (ours must be 0).

    python benchmarks/bench_seed.py                  # the shared sample x 22 = 308 pairs
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
import numpy as np
import seed_generator
from common import DEFAULT_SOURCE, pair_paths, repeated_tree
from PIL import Image

import skin_cancer
from skin_cancer.tools.export import export
from skin_cancer.tools.pipeline import prepare_dataset


def non_binary_share(folder: Path) -> tuple[float, int]:
    """Share of mask pixels that are neither background nor lesion once shown as greyscale (0 or 255, any
    channel), and the number of masks read. Our palette masks of class indices show as exactly 0 and 255."""
    odd = total = files = 0
    for path in sorted(folder.glob("*/masks/*")):
        with Image.open(path) as mask:
            values = np.asarray(mask.convert("L") if mask.mode == "P" else mask)
        odd += int(np.count_nonzero((values != 0) & (values != 255)))
        total += values.size
        files += 1
    return odd / total, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=22, help="copies of the shared sample")
    args = parser.parse_args()
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)

    with tempfile.TemporaryDirectory(prefix="skin-cancer-seed-") as scratch:
        work = Path(scratch)
        tree = repeated_tree(DEFAULT_SOURCE, work / "tree", args.repeats)
        pairs = pair_paths(tree)

        started = time.perf_counter()
        seed_generator.generate(pairs, work / "seed")
        seed_seconds = time.perf_counter() - started

        started = time.perf_counter()
        build = prepare_dataset(str(tree), cache_dir=str(work / "cache"))
        export(build, work / "ours", "folders")
        our_seconds = time.perf_counter() - started

        seed_odd, seed_masks = non_binary_share(work / "seed")
        our_odd, our_masks = non_binary_share(work / "ours")

    count = len(pairs)
    assert seed_masks == our_masks == count, (seed_masks, our_masks, count)
    print(f"pairs: {count} (512x512, pad, one process; both from the raw ISIC files)")
    print(f"seed generator:             {count / seed_seconds:6.1f} pairs/s  {seed_seconds:6.1f} s")
    print(f"skin-cancer export folders: {count / our_seconds:6.1f} pairs/s  {our_seconds:6.1f} s")
    print(f"speed ratio: {seed_seconds / our_seconds:.1f}x faster (target: at least 4x)")
    print(f"mask pixels neither 0 nor 255: seed {seed_odd:.2%}, ours {our_odd:.2%} (ours must be 0)")


if __name__ == "__main__":
    main()
