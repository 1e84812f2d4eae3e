"""The ISIC segmentation metrics with numpy: per-image confusion counts, their ratios, macro averages.

The definitions follow ISIC's official scorer (`isic-challenge-scoring`, `metrics.binary_*`):
a ratio whose denominator is zero scores 1.0 ("a freebie"), so an image whose truth and prediction
are both empty scores 1.0 on sensitivity, Jaccard and Dice, while an empty truth with a non-empty
prediction scores Jaccard 0 and Dice 0 (and sensitivity 1.0). Jaccard below 0.65 counts as 0 in
the thresholded Jaccard. Summaries are plain means over images (macro), never pooled pixel counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


__all__ = [
    "METRIC_NAMES",
    "Confusion",
    "confusion",
    "macro_average",
    "scores",
]
