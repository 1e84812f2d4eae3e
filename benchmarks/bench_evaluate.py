"""How fast is `evaluate` from square predictions, compared with the official scorer on ready native PNGs?

Prints images per second, in one run on the same images, for: our scoring of square 512x512
prediction PNGs (reading them, mapping back to native size, decoding the native truth, metrics)
with 1 and 2 processes, and ISIC's official scorer (`isic-challenge-scoring`) on the same
predictions already written at native size, plus the two ratios the README reports.

    python benchmarks/bench_evaluate.py                # the shared sample's 8 training pairs x 38 = 304
    python benchmarks/bench_evaluate.py --repeats 60   # more
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
from common import DEFAULT_SOURCE, repeated_tree

import skin_cancer
from skin_cancer.evaluate import ceiling_predictions, collect_predictions, load_truth, score


def ours(tree: Path, cache: Path, predictions: Path, num_proc: int) -> tuple[float, dict]:
    """Seconds for the whole evaluate of a reused build: load the truth, read, map back, score."""
    started = time.perf_counter()
    truth = load_truth(str(tree), split="train", cache_dir=str(cache))
    report = score(collect_predictions(predictions), truth, num_proc=num_proc)
    return time.perf_counter() - started, report.summary["native"]


def official(truth_folder: Path, native: Path) -> tuple[float, dict]:
    from isic_challenge_scoring.segmentation import SegmentationScore

    started = time.perf_counter()
    result = SegmentationScore.from_dir(truth_folder, native).macro_average.to_dict()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=38, help="copies of the shared sample's training pairs")
    args = parser.parse_args()
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")
    try:
        import isic_challenge_scoring  # noqa: F401
    except ImportError:
        sys.exit("install the official scorer first: pip install isic-challenge-scoring (in the dev extra)")

    with tempfile.TemporaryDirectory(prefix="skin-cancer-bench-eval-") as scratch:
        work = Path(scratch)
        tree = repeated_tree(DEFAULT_SOURCE, work / "tree", args.repeats)
        cache = work / "cache"
        truth = load_truth(str(tree), split="train", cache_dir=str(cache))  # the build, not timed
        square = work / "square"
        square.mkdir()
        for image_id, data in ceiling_predictions(truth).items():
            (square / f"{image_id}_segmentation.png").write_bytes(data)
        native = work / "native"
        score(collect_predictions(square), truth, num_proc=2, write_native=native)  # also warms the page cache
        truth_folder = tree / "ISIC-2017_Training_Part1_GroundTruth"

        their_seconds, theirs = official(truth_folder, native)
        one, ours_one = ours(tree, cache, square, 1)
        two, ours_two = ours(tree, cache, square, 2)

    count = len(truth.rows)
    worst = max(abs(ours_one[name] - theirs[name]) for name in theirs)
    print(f"images: {count} (train split, square 512x512 pad predictions -> native {count} masks)")
    print(f"official scorer on native PNGs:    {count / their_seconds:7.1f} images/s  {their_seconds:6.2f} s")
    print(f"evaluate from square, 1 process:   {count / one:7.1f} images/s  {one:6.2f} s")
    print(f"evaluate from square, 2 processes: {count / two:7.1f} images/s  {two:6.2f} s")
    print(f"official / evaluate(1): {their_seconds / one:.2f}x  (target: at least 1.0x)")
    print(f"speed-up with 2 processes: {one / two:.2f}x  (target: at least 1.7x)")
    print(f"largest difference of a macro average from the official scorer: {worst:.2e}")
    assert ours_one == ours_two
    print(f"(skin_cancer {skin_cancer.__file__})")


if __name__ == "__main__":
    main()
