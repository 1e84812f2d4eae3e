"""Scoring predictions the way the ISIC challenge does: at each image's native resolution.

Layers: `predictions` reads values, `native` maps square predictions back to the native frame,
`truth` loads the ground truth (a build or a staged/Hub repository), `metrics` holds the official
definitions, `scoring` runs them per image, `report` writes tables and worst.png.
"""

from ..options import NATIVE_MASKS_CONFIG
from .native import to_original
from .predictions import PREDICTION_SUFFIXES, Prediction, collect_predictions
from .report import REPORT_FILES, EvaluationReport, worst_grid
from .scoring import evaluate, score
from .truth import Truth, TruthRow, ceiling_predictions, load_truth, truth_from_build, truth_from_dataset

__all__ = [
    "NATIVE_MASKS_CONFIG",
    "PREDICTION_SUFFIXES",
    "REPORT_FILES",
    "EvaluationReport",
    "Prediction",
    "Truth",
    "TruthRow",
    "ceiling_predictions",
    "collect_predictions",
    "evaluate",
    "load_truth",
    "score",
    "to_original",
    "truth_from_build",
    "truth_from_dataset",
    "worst_grid",
]
