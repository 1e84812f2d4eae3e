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
from ..options import DEFAULTS
from ..releases import DEFAULT_RELEASE, Release
from .metrics import METRIC_NAMES, Confusion, confusion, scores

if TYPE_CHECKING:
    pass

from .native import NativeWindow, native_window
from .predictions import EIGHT_BIT_THRESHOLD, Prediction, prediction_name, read_values
from .report import EvaluationReport
from .truth import NATIVE_CONFIG, Truth, decode_truth, load_truth

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


def _union(box: tuple[int, int, int, int] | None, window: NativeWindow) -> tuple[int, int, int, int] | None:
    boxes = [box] if box else []
    if window.array.size:
        boxes.append((window.left, window.top, window.left + window.array.shape[1], window.top + window.array.shape[0]))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _score_task(task: _Task) -> dict[str, Any]:
    native = (task.width, task.height)
    window, square_prediction = native_window(task.prediction, native, task.resize_mode, task.size, task.name)
    if isinstance(task.truth, Location):
        truth_bytes, truth_label = read_bytes(task.truth), task.truth.label
    else:
        truth_bytes, truth_label = task.truth, f"{NATIVE_CONFIG} mask of {task.image_id}"
    truth = decode_truth(truth_bytes, truth_label, native)

    # Count only where either mask can be positive (> 128 implies non-zero); every pixel outside is a true negative.
    union = _union(truth.getbbox(), window)
    total = task.width * task.height
    if union is None:
        counts = Confusion(0, 0, 0, total)
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
    }
    square_scores: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    if square_prediction is not None:
        values, threshold = read_values(task.square_truth, f"square mask of {task.image_id}")
        square_scores = scores(confusion(values > threshold, square_prediction))
    row.update({f"square_{name}": value for name, value in square_scores.items()})

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
) -> EvaluationReport:
    """Score predictions against a loaded `Truth`; the CLI and `evaluate` both come here.

    `write_native` is written like every output of this package (see `outputs`): a new or empty folder,
    or, with `overwrite`, an earlier one of ours; never the data or the predictions' own folder.
    """
    if num_proc < 1:
        raise UsageError(f"num_proc must be at least 1, not {num_proc}")
    missing = _check_ids(predictions, truth, allow_missing)
    if write_native is None:
        return _score(predictions, truth, num_proc, missing, None)
    from ..tools.outputs import replacing

    protected = [(Path(folder), "a folder the ground truth is read from") for folder in truth.folders]
    read = sorted({Path(p).parent for p in predictions.values() if isinstance(p, (str, os.PathLike))})
    protected += [(folder, "the predictions folder") for folder in read]
    with replacing(Path(write_native), "native-size predictions", overwrite, protected) as scratch:
        return _score(predictions, truth, num_proc, missing, str(scratch))


def _score(
    predictions: Mapping[str, Prediction], truth: Truth, num_proc: int, missing: list[str], write_native: str | None
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
        )
        for row in truth.rows
        if row.image_id in predictions
    ]
    per_image = _run(tasks, num_proc)
    return EvaluationReport(
        truth.split, truth.resize_mode, truth.size, truth.source, per_image, missing, len(truth.rows)
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
) -> EvaluationReport:
    """Score {image_id: prediction} at native resolution (and at the square size) with the ISIC metrics.

    With data_dir the build of (size, resize_mode="pad" by default, image_format) is prepared or
    reused; with dataset (a staged folder or Hub repo) the configuration `config` (default: the
    card's default) is read, and its name (pad-512, ...) gives the resize mode.
    """
    truth = load_truth(data_dir, dataset, split, resize_mode, size, image_format, num_proc, cache_dir, config, release)
    return score(predictions, truth, num_proc, allow_missing, write_native, overwrite)
