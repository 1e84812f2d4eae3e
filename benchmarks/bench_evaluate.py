"""How fast is `evaluate` from square predictions, compared with the official scorer on ready native PNGs?

Prints images per second, in one run on the same images, for: our scoring of square 512x512
prediction PNGs (reading them, mapping back to native size, decoding the native truth, metrics)
with 1 and 2 processes, and ISIC's official scorer (`isic-challenge-scoring`) on the same
predictions already written at native size, plus the two ratios the README reports.

    python benchmarks/bench_evaluate.py                # the shared sample's 8 training pairs x 38 = 304
    python benchmarks/bench_evaluate.py --repeats 60   # more
    python benchmarks/bench_evaluate.py --dilate 25    # poorer predictions: outlines about 12 square pixels off

`--dilate K` widens every square prediction with a KxK maximum filter, so that its outline lies K/2 square
pixels outside the truth's (boundary metrics cost more the farther apart the outlines are, where the search
is not a k-d tree). `--skip-official` leaves out the official scorer (the slow part) when only our times
matter, for example to compare two versions of skin_cancer on one tree:

    PYTHONPATH=/path/to/other/checkout python benchmarks/bench_evaluate.py --skip-official --dilate 25
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets
import numpy as np
from common import DEFAULT_SOURCE, repeated_tree
from PIL import Image, ImageFilter

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


def dilated(png: bytes, size: int) -> bytes:
    """A square prediction PNG (palette indices or greyscale) as a greyscale {0, 255} PNG, widened by a
    size x size maximum filter (size 1: unchanged pixels). Both scorers read greyscale as > 128."""
    lesion = Image.fromarray(np.where(np.asarray(Image.open(io.BytesIO(png))) > 0, 255, 0).astype(np.uint8))
    if size > 1:
        lesion = lesion.filter(ImageFilter.MaxFilter(size))
    out = io.BytesIO()
    lesion.save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=38, help="copies of the shared sample's training pairs")
    parser.add_argument("--dilate", type=int, default=1, help="odd K: widen each prediction by a KxK maximum filter")
    parser.add_argument("--skip-official", action="store_true", help="time only ours, not ISIC's scorer")
    args = parser.parse_args()
    if args.dilate < 1 or args.dilate % 2 == 0:
        parser.error("--dilate takes an odd size: 1, 3, 5, ...")
    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")
    try:
        if not args.skip_official:
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
            (square / f"{image_id}_segmentation.png").write_bytes(dilated(data, args.dilate))
        native = work / "native"
        score(collect_predictions(square), truth, num_proc=2, write_native=native)  # also warms the page cache
        truth_folder = tree / "ISIC-2017_Training_Part1_GroundTruth"

        their_seconds, theirs = (None, None) if args.skip_official else official(truth_folder, native)
        one, ours_one = ours(tree, cache, square, 1)
        two, ours_two = ours(tree, cache, square, 2)

    count = len(truth.rows)
    print(f"images: {count} (train split, square 512x512 pad predictions, dilated {args.dilate}x{args.dilate})")
    if theirs is not None:
        print(f"official scorer on native PNGs:    {count / their_seconds:7.1f} images/s  {their_seconds:6.2f} s")
    print(f"evaluate from square, 1 process:   {count / one:7.1f} images/s  {one:6.2f} s")
    print(f"evaluate from square, 2 processes: {count / two:7.1f} images/s  {two:6.2f} s")
    if theirs is not None:
        worst = max(abs(ours_one[name] - theirs[name]) for name in theirs)
        print(f"official / evaluate(1): {their_seconds / one:.2f}x  (target: at least 1.0x)")
    print(f"speed-up with 2 processes: {one / two:.2f}x  (target: at least 1.7x)")
    if theirs is not None:
        print(f"largest difference of a macro average from the official scorer: {worst:.2e}")
    assert ours_one == ours_two
    print(f"(skin_cancer {skin_cancer.__file__})")


if __name__ == "__main__":
    main()
