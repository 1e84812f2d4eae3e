"""Scoring predictions the way the ISIC challenge does: one confusion matrix per image at native resolution.

The metrics themselves are the pure functions of `metrics`; the per-image work runs in worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ..dataset.discovery import Location, read_bytes
from ..errors import DataError, UsageError
from ..options import DEFAULTS, NATIVE_MASKS_CONFIG
from ..releases import DEFAULT_RELEASE, Release
from .metrics import (
    BOUNDARY_NAMES,
    METRIC_NAMES,
    Confusion,
    boundary_scores,
    confusion,
    mean_pairwise_jaccard,
    scores,
)

if TYPE_CHECKING:
    pass

from ..dataset.masks import ReadingNotes
from ..dataset.transforms import PixelError, read_mask
from .native import NativeWindow, native_window
from .predictions import (
    EIGHT_BIT_THRESHOLD,
    FLAG,
    Prediction,
    check_prediction_values,
    prediction_name,
    read_prediction,
)
from .report import EvaluationReport
from .truth import Truth, decode_truth, load_truth

# ----------------------------------------------------------------------------------------------
# Scoring one image (runs in worker processes)


@dataclass(frozen=True)
class _Task:
    image_id: str
    prediction: Any
    name: str
    truth: bytes | Location
    square_truth: bytes
    width: int
    height: int
    resize_mode: str
    size: int
    write_native: str | None
    prediction_values: str | None = None


# Per-image facts a task hands back for the run's warnings; taken out of the rows before the report.
_TRUTH_NOTES, _TRUTH_LABEL, _ZERO_ONE = "_truth_notes", "_truth_label", "_zero_one_greyscale"


def _union(box: tuple[int, int, int, int] | None, window: NativeWindow) -> tuple[int, int, int, int] | None:
    boxes = [box] if box else []
    if window.array.size:
        boxes.append((window.left, window.top, window.left + window.array.shape[1], window.top + window.array.shape[0]))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _score_task(task: _Task) -> dict[str, Any]:
    native = (task.width, task.height)
    read = read_prediction(task.prediction, task.name, task.prediction_values)
    window, square_prediction = native_window(read, native, task.resize_mode, task.size, task.name)
    if isinstance(task.truth, Location):
        truth_bytes, truth_label = read_bytes(task.truth), task.truth.label
    else:
        truth_bytes, truth_label = task.truth, f"{NATIVE_MASKS_CONFIG} mask of {task.image_id}"
    truth_mask = decode_truth(truth_bytes, truth_label, native)
    truth = truth_mask.binary  # 0/255, by the rule the build reads masks with

    # Count only where either mask can be positive (> 128 implies non-zero); every pixel outside is a true negative.
    union = _union(truth.getbbox(), window)
    total = task.width * task.height
    if union is None:
        counts = Confusion(0, 0, 0, total)
        boundary = boundary_scores(np.zeros((0, 0), bool), np.zeros((0, 0), bool))
    else:
        left, top, right, bottom = union
        prediction_part = np.zeros((bottom - top, right - left), dtype=bool)
        rows, columns = window.array.shape
        if window.array.size:
            prediction_part[
                window.top - top : window.top - top + rows, window.left - left : window.left - left + columns
            ] = window.array
        truth_part = np.asarray(truth.crop(union)) > EIGHT_BIT_THRESHOLD
        counts = confusion(truth_part, prediction_part, total=total)
        # Surface distances need only the window that holds both masks whole (all outside is background).
        boundary = boundary_scores(truth_part, prediction_part)

    row: dict[str, Any] = {
        "image_id": task.image_id,
        "prediction": task.name,
        "width": task.width,
        "height": task.height,
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
        "tn": counts.tn,
        **scores(counts),
        **{name: boundary[name] for name in BOUNDARY_NAMES},
    }
    square_scores: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    square_counts: Confusion | None = None
    if square_prediction is not None:
        label = f"square mask of {task.image_id}"
        try:
            square_truth = read_mask(task.square_truth).lesion
        except PixelError as error:
            raise DataError(label, str(error)) from None
        square_counts = confusion(square_truth, square_prediction)
        square_scores = scores(square_counts)
    row.update({f"square_{name}": value for name, value in square_scores.items()})
    # Kept for the pooled protocol (one confusion matrix over the split's square pixels; see `report`).
    for name in ("tp", "fp", "fn", "tn"):
        row[f"square_{name}"] = None if square_counts is None else getattr(square_counts, name)
    row.update(
        {
            _TRUTH_NOTES: truth_mask.notes,
            _TRUTH_LABEL: truth_label,
            _ZERO_ONE: read.zero_one_greyscale if read.kind == "greyscale" else None,
        }
    )

    if task.write_native:
        frame = window.full().astype(np.uint8) * np.uint8(255)
        Image.fromarray(frame, mode="L").save(Path(task.write_native) / f"{task.image_id}{WRITTEN_MASK_SUFFIX}")
    return row


# Native masks written by --write-native are named as the ISIC scorer and the 2017/2018 ground truth name them.
WRITTEN_MASK_SUFFIX = "_segmentation.png"


def _check_ids(predictions: Mapping[str, Any], truth: Truth, allow_missing: bool) -> list[str]:
    expected = set(truth.ids)
    missing = [image_id for image_id in truth.ids if image_id not in predictions]
    extra = sorted(set(predictions) - expected)
    if extra:
        warnings.warn(
            f"{len(extra)} predictions are for ids not in the {truth.split} split (ignored), "
            f"e.g. {', '.join(extra[:3])}",
            stacklevel=3,
        )
    if missing and not allow_missing:
        raise DataError(
            truth.source,
            f"{len(missing)} of {len(expected)} {truth.split} images have no prediction, e.g. {', '.join(missing[:5])}",
            "pass --allow-missing (allow_missing=True) to score only the predictions given",
        )
    if len(missing) == len(expected):
        raise DataError(truth.source, f"none of the predictions is for an image of the {truth.split} split")
    return missing


# ----------------------------------------------------------------------------------------------
# Entry points


def _run(tasks: Sequence[_Task], num_proc: int) -> list[dict[str, Any]]:
    if num_proc <= 1 or len(tasks) < 2:
        return [_score_task(task) for task in tasks]
    # fork: the workers need no re-import of datasets, which would cost more than small splits take.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(16, len(tasks) // (4 * num_proc)))
    # init_worker: the workers leave Ctrl-C to this process, end on the pool's SIGTERM even when forked
    # while an output holds the signals (write_native), and die with this process.
    from ..dataset.workers import init_worker

    with context.Pool(min(num_proc, len(tasks)), initializer=init_worker, initargs=(os.getpid(),)) as pool:
        return list(pool.imap(_score_task, tasks, chunksize=chunk))


def score(
    predictions: Mapping[str, Prediction],
    truth: Truth,
    num_proc: int = 1,
    allow_missing: bool = False,
    write_native: str | os.PathLike | None = None,
    overwrite: bool = False,
    prediction_values: str | None = None,
) -> EvaluationReport:
    """Score predictions against a loaded `Truth`; the CLI and `evaluate` both come here.

    `write_native` is written like every output of this package (see `outputs`): a new or empty folder,
    or, with `overwrite`, an earlier one of ours; never the data or the predictions' own folder.
    `prediction_values` ("official", "indices", "probabilities") reads every prediction of the run one
    way; None reads each by its kind (`predictions`). The truth is read by the rule the build uses
    (`dataset.masks`); what it gives to warn about is warned once, as the build does per split.
    """
    if num_proc < 1:
        raise UsageError(f"num_proc must be at least 1, not {num_proc}")
    check_prediction_values(prediction_values)
    missing = _check_ids(predictions, truth, allow_missing)
    if write_native is None:
        return _score(predictions, truth, num_proc, missing, None, prediction_values)
    from ..tools.outputs import replacing

    protected = [(Path(folder), "a folder the ground truth is read from") for folder in truth.folders]
    read = sorted({Path(p).parent for p in predictions.values() if isinstance(p, (str, os.PathLike))})
    protected += [(folder, "the predictions folder") for folder in read]
    with replacing(Path(write_native), "native-size predictions", overwrite, protected) as scratch:
        return _score(predictions, truth, num_proc, missing, str(scratch), prediction_values)


def _score(
    predictions: Mapping[str, Prediction],
    truth: Truth,
    num_proc: int,
    missing: list[str],
    write_native: str | None,
    prediction_values: str | None = None,
) -> EvaluationReport:
    tasks = [
        _Task(
            row.image_id,
            predictions[row.image_id],
            prediction_name(predictions[row.image_id], row.image_id),
            row.native_mask,
            row.square_mask,
            row.width,
            row.height,
            truth.resize_mode,
            truth.size,
            write_native,
            prediction_values,
        )
        for row in truth.rows
        if row.image_id in predictions
    ]
    per_image = _run(tasks, num_proc)
    _warn_about_readings(per_image, truth.split, prediction_values)
    report = EvaluationReport(
        truth.split, truth.resize_mode, truth.size, truth.source, per_image, missing, len(truth.rows), prediction_values
    )
    report.annotator_agreement = annotator_agreement(truth, per_image)
    report.official = truth.official_count
    return report


def annotator_agreement(truth: Truth, per_image: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The human reference beside a model's score: over the scored images with two or more annotator masks,
    `jaccard` is the mean over images of the mean pairwise Jaccard of their annotators' masks (native resolution,
    each mask read by the build's rule), and `model_jaccard` the model's mean native Jaccard on the same images
    (against `mask`). None when no scored image has two annotators (every release but IMA++)."""
    scored = {row["image_id"]: row for row in per_image}
    sizes = {row.image_id: (row.width, row.height) for row in truth.rows}
    agreements, model = [], []
    for image_id, locations in sorted(truth.annotator_masks.items()):
        if image_id not in scored:
            continue
        masks = [
            np.asarray(decode_truth(read_bytes(location), location.label, sizes[image_id]).binary) != 0
            for location in locations
        ]
        agreements.append(mean_pairwise_jaccard(masks))
        model.append(scored[image_id]["jaccard"])
    if not agreements:
        return None
    return {"images": len(agreements), "jaccard": float(np.mean(agreements)), "model_jaccard": float(np.mean(model))}


def _warn_about_readings(per_image: list[dict[str, Any]], split: str, prediction_values: str | None) -> None:
    """The truth's notes once per run, as the build gives them once per split; and, when every greyscale
    prediction holds only 0 and 1 under the default reading, that all of them score as empty."""
    notes = ReadingNotes()
    zero_one = []  # one per greyscale prediction
    for row in per_image:
        notes.add_all(row.pop(_TRUTH_NOTES), row.pop(_TRUTH_LABEL))
        if (greyscale_zero_one := row.pop(_ZERO_ONE)) is not None:
            zero_one.append(greyscale_zero_one)
    for message in notes.messages(f"{split} split's ground truth"):
        warnings.warn(message, stacklevel=4)
    if prediction_values is None and zero_one and all(zero_one):
        warnings.warn(
            f"all {len(zero_one)} greyscale predictions hold only the values 0 and 1: read as ISIC's scorer reads "
            f"them (lesion > 128) they all score as empty; if 1 means lesion, pass {FLAG.format(value='indices')}",
            stacklevel=4,
        )


def evaluate(
    predictions: Mapping[str, Prediction],
    data_dir: str | None = None,
    split: str = "test",
    resize_mode: str | None = None,
    size: int = DEFAULTS.size,
    *,
    dataset: str | None = None,
    config: str | None = None,
    image_format: str = DEFAULTS.image_format,
    num_proc: int = 1,
    allow_missing: bool = False,
    write_native: str | os.PathLike | None = None,
    overwrite: bool = False,
    cache_dir: str | None = None,
    release: str | Release = DEFAULT_RELEASE,
    prediction_values: str | None = None,
) -> EvaluationReport:
    """Score {image_id: prediction} at native resolution (and at the square size) with the ISIC metrics.

    With data_dir the build of (size, resize_mode="pad" by default, image_format) is prepared or
    reused; with dataset (a staged folder or Hub repo) the configuration `config` (default: the
    card's default) is read, and its name (pad-512, ...) gives the resize mode. `prediction_values`
    ("official", "indices", "probabilities") reads every prediction one way (default: each by its kind).
    """
    truth = load_truth(data_dir, dataset, split, resize_mode, size, image_format, num_proc, cache_dir, config, release)
    return score(predictions, truth, num_proc, allow_missing, write_native, overwrite, prediction_values)


__all__ = [
    "annotator_agreement",
    "evaluate",
    "score",
]
