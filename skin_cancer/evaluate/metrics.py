"""The ISIC segmentation metrics with numpy: per-image confusion counts, their ratios, macro averages.

The definitions follow ISIC's official scorer (`isic-challenge-scoring`, `metrics.binary_*`):
a ratio whose denominator is zero scores 1.0 ("a freebie"), so an image whose truth and prediction
are both empty scores 1.0 on sensitivity, Jaccard and Dice, while an empty truth with a non-empty
prediction scores Jaccard 0 and Dice 0 (and sensitivity 1.0). Jaccard below 0.65 counts as 0 in
the thresholded Jaccard. Summaries are plain means over images (macro), never pooled pixel counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

METRIC_NAMES: tuple[str, ...] = ("accuracy", "sensitivity", "specificity", "jaccard", "threshold_jaccard", "dice")
JACCARD_THRESHOLD = 0.65


@dataclass(frozen=True)
class Confusion:
    """Pixel counts of one image: true/false positives and negatives."""

    tp: int
    fp: int
    fn: int
    tn: int


def confusion(truth: np.ndarray, prediction: np.ndarray, total: int | None = None) -> Confusion:
    """Counts of two boolean arrays of one shape.

    `total` is the pixel count of the whole frame when the arrays are only a window of it that
    holds every positive pixel of both: the pixels outside are true negatives.
    """
    if truth.shape != prediction.shape:
        raise ValueError(f"truth is {truth.shape} but the prediction is {prediction.shape}")
    truth_count = int(np.count_nonzero(truth))
    prediction_count = int(np.count_nonzero(prediction))
    tp = int(np.count_nonzero(np.logical_and(truth, prediction)))
    fp, fn = prediction_count - tp, truth_count - tp
    n = truth.size if total is None else total
    return Confusion(tp, fp, fn, n - tp - fp - fn)


def _ratio(numerator: int, denominator: int) -> float:
    return 1.0 if denominator == 0 else numerator / denominator


def scores(counts: Confusion) -> dict[str, float]:
    """The six official per-image metrics of one confusion matrix."""
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    jaccard = _ratio(tp, tp + fp + fn)
    return {
        "accuracy": (tp + tn) / (tp + tn + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "jaccard": jaccard,
        "threshold_jaccard": jaccard if jaccard >= JACCARD_THRESHOLD else 0.0,
        "dice": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def macro_average(rows: Iterable[Mapping[str, float | None]], prefix: str = "") -> dict[str, float | None]:
    """Mean of each metric over the rows that have it (None when none has)."""
    rows = list(rows)
    averages: dict[str, float | None] = {}
    for name in METRIC_NAMES:
        values = [row[prefix + name] for row in rows if row.get(prefix + name) is not None]
        averages[name] = float(np.mean(values)) if values else None
    return averages


# ----------------------------------------------------------------------------------------------
# The literature's summaries beside the official ones (each labelled as such in the report)

BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_LEVEL = 0.95


def pooled(counts: Iterable[Confusion]) -> Confusion:
    """One confusion matrix over all pixels of all images: the "pooled" protocol of many recent papers
    (e.g. scored on a random split at 256 px), not the challenge's per-image average."""
    tp = fp = fn = tn = 0
    for count in counts:
        tp, fp, fn, tn = tp + count.tp, fp + count.fp, fn + count.fn, tn + count.tn
    return Confusion(tp, fp, fn, tn)


def jaccard_distribution(values: Iterable[float]) -> dict[str, float | None]:
    """Median, quartiles (numpy's linear interpolation) and the share of images below `JACCARD_THRESHOLD`
    (the challenge's thresholded-Jaccard cut) of per-image Jaccard indices; None for no images."""
    array = np.asarray(list(values), dtype=np.float64)
    if array.size == 0:
        return {"q1": None, "median": None, "q3": None, "share_below_threshold": None}
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return {
        "q1": float(q1),
        "median": float(median),
        "q3": float(q3),
        "share_below_threshold": float(np.mean(array < JACCARD_THRESHOLD)),
    }


def bootstrap_intervals(
    rows: Sequence[Mapping[str, float | None]],
    seed: int = BOOTSTRAP_SEED,
    draws: int = BOOTSTRAP_DRAWS,
    level: float = BOOTSTRAP_LEVEL,
) -> dict[str, list[float] | None]:
    """Percentile bootstrap interval [low, high] of each official macro average.

    Images are resampled with replacement (`draws` resamples of len(rows) images, one index matrix from
    numpy's PCG64 generator seeded with `seed`, shared by all metrics so they stay paired); the interval
    is the (1 - level)/2 and (1 + level)/2 percentiles of the resampled means. None for a metric no row has,
    and for every metric with fewer than two rows.
    """
    generator = np.random.default_rng(seed)
    count = len(rows)
    if count < 2:  # one image resamples to itself: no interval to speak of
        return dict.fromkeys(METRIC_NAMES)
    indices = generator.integers(0, count, size=(draws, count))
    tail = (1 - level) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for name in METRIC_NAMES:
        values = np.array([np.nan if row.get(name) is None else row[name] for row in rows], dtype=np.float64)
        if np.isnan(values).all():
            intervals[name] = None
            continue
        means = np.nanmean(values[indices], axis=1) if np.isnan(values).any() else values[indices].mean(axis=1)
        low, high = np.nanpercentile(means, [tail, 100 - tail])
        intervals[name] = [float(low), float(high)]
    return intervals


# ----------------------------------------------------------------------------------------------
# Boundary metrics (native resolution, pixels)

BOUNDARY_NAMES: tuple[str, ...] = ("hd95", "assd")


def surface(mask: np.ndarray) -> np.ndarray:
    """(N, 2) int64 (row, column) of the mask's surface pixels: pixels of the mask with a 4-neighbour outside
    it; beyond the array counts as outside. This is MedPy's surface (the mask minus its erosion with the
    cross, border value 0), so a mask touching the frame has its frame-edge pixels on its surface."""
    padded = np.pad(mask.astype(bool, copy=False), 1)
    inner = padded[1:-1, 1:-1]
    eroded = inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return np.argwhere(inner & ~eroded).astype(np.int64)


def nearest_distances(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(N,) float64: the exact Euclidean distance, in pixels, from each of `points` (N, 2) to the nearest of
    `targets` (M, 2), both integer (row, column), M >= 1.

    SciPy's k-d tree (`scipy.spatial.cKDTree`, exact search: eps=0) finds the nearest target in about
    O((N + M) log M) whatever the distances, so a prediction far from the truth costs what a close one costs.
    The tree is built by the sliding-midpoint rule (`balanced_tree=False`): surface pixels come sorted, on a
    grid, which is the median rule's slow case (scipy/scipy#6108); it was also the faster rule on the real
    masks. On integer coordinates the squared distances are exact in float64, so the result equals brute
    force bit for bit (tests/test_evaluate_protocols.py). SciPy is imported here, not at the top of the
    module, so that the command line starts without it.
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(targets, balanced_tree=False, compact_nodes=False)
    distances, _ = tree.query(points, k=1)
    return np.asarray(distances, dtype=np.float64)


def boundary_scores(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float | None]:
    """HD95 and ASSD in pixels between two boolean masks of one shape (the native frame, or a window of it
    that holds both masks whole: distances do not depend on the window).

    Definitions as MedPy's `hd95` and `assd` (medpy.metric.binary): surfaces as `surface`; the directed
    distances are from each surface pixel of one mask to the nearest surface pixel of the other; HD95 is the
    95th percentile (numpy's linear interpolation) of both directions' distances together, ASSD the mean of
    the two directions' mean distances. Empty masks, where MedPy raises: both empty scores 0.0 (nothing to
    disagree about, as the official metrics score it 1.0); exactly one empty scores None (undefined: no
    distance to an absent surface), left out of the averages and counted in the report.
    """
    truth_surface, prediction_surface = surface(truth), surface(prediction)
    if truth_surface.size == 0 and prediction_surface.size == 0:
        return {"hd95": 0.0, "assd": 0.0}
    if truth_surface.size == 0 or prediction_surface.size == 0:
        return {"hd95": None, "assd": None}
    forward = nearest_distances(prediction_surface, truth_surface)
    backward = nearest_distances(truth_surface, prediction_surface)
    return {
        "hd95": float(np.percentile(np.concatenate([forward, backward]), 95)),
        "assd": float((forward.mean() + backward.mean()) / 2),
    }


def mean_pairwise_jaccard(masks: Sequence[np.ndarray]) -> float:
    """The agreement of several annotators on one image: the Jaccard index of every pair of their masks (boolean
    arrays of one shape; two empty masks agree fully, 1.0), averaged over the pairs. Raises ValueError for fewer
    than two masks."""
    if len(masks) < 2:
        raise ValueError(f"agreement needs two or more masks, not {len(masks)}")
    values = []
    for first, second in itertools.combinations(masks, 2):
        union = int(np.count_nonzero(first | second))
        values.append(1.0 if union == 0 else int(np.count_nonzero(first & second)) / union)
    return float(np.mean(values))


__all__ = [
    "BOOTSTRAP_DRAWS",
    "BOOTSTRAP_LEVEL",
    "BOOTSTRAP_SEED",
    "BOUNDARY_NAMES",
    "JACCARD_THRESHOLD",
    "METRIC_NAMES",
    "Confusion",
    "bootstrap_intervals",
    "boundary_scores",
    "confusion",
    "jaccard_distribution",
    "macro_average",
    "mean_pairwise_jaccard",
    "nearest_distances",
    "pooled",
    "scores",
    "surface",
]
