"""Reading predictions: files, arrays and images as values with the threshold that makes them lesion.

How values are read is the one rule of `dataset.masks`, chosen per run, never per image: by default
greyscale images exactly as ISIC's scorer reads them (> 128 of 255), palette images and integer or
boolean arrays as class indices, floating arrays as probabilities (> 0.5); `prediction_values`
("official", "indices" or "probabilities"; command line --prediction-values) reads every one of a run alike.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from ..dataset.masks import (
    OFFICIAL_THRESHOLD,
    PREDICTION_VALUES,
    MaskValueError,
    as_greyscale,
    default_prediction_values,
    only_zero_one,
    prediction_lesion_values,
)
from ..errors import DataError, UsageError

Prediction = np.ndarray | Image.Image | str | os.PathLike | bytes

PREDICTION_SUFFIXES = (".png", ".npy")
EIGHT_BIT_THRESHOLD = float(OFFICIAL_THRESHOLD)  # official: value > 128 of 255 is lesion
FLAG = "--prediction-values {value} (prediction_values='{value}')"  # how a reading is chosen, in messages

_ID_PATTERN = re.compile(r"^(ISIC_\d{7}|IMD\d{3})(?!\d)")  # ISIC ids; PH2 ids (IMDxxx)
_INTEGER_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")

Kind = Literal["greyscale", "palette", "integer", "float"]

# ----------------------------------------------------------------------------------------------
# Reading a prediction's values


@dataclass(frozen=True)
class PredictionRead:
    """A prediction's 2-D values, the threshold above which a value is lesion, what kind of prediction it
    was, and whether it is a greyscale image holding only 0 and 1 (empty under ISIC's `> 128`)."""

    values: np.ndarray
    threshold: float
    kind: Kind
    zero_one_greyscale: bool


def check_prediction_values(prediction_values: str | None) -> str | None:
    """None (each prediction by its kind) or one of PREDICTION_VALUES; else a UsageError."""
    if prediction_values is not None and prediction_values not in PREDICTION_VALUES:
        raise UsageError(f"prediction_values must be one of {', '.join(PREDICTION_VALUES)}, not {prediction_values!r}")
    return prediction_values


def read_prediction(prediction: Prediction, name: str, prediction_values: str | None = None) -> PredictionRead:
    """The prediction's values read as `prediction_values` says, or by its kind (see the module docstring).

    Raises DataError naming `name` for unreadable files, multi-channel images whose channels differ,
    and values the reading cannot hold.
    """
    raw, kind = _raw_values(prediction, name)
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[:, :, 0]
    if raw.ndim != 2:
        raise DataError(name, f"has shape {raw.shape}; a prediction must be single-channel (height, width)")
    reading = check_prediction_values(prediction_values) or default_prediction_values(kind)
    try:
        values, threshold = prediction_lesion_values(raw, reading, FLAG)  # type: ignore[arg-type]
    except MaskValueError as error:
        raise DataError(name, str(error)) from None
    return PredictionRead(values, threshold, kind, kind == "greyscale" and only_zero_one(raw))


def read_values(prediction: Prediction, name: str, prediction_values: str | None = None) -> tuple[np.ndarray, float]:
    """The prediction as a 2-D array and the threshold above which a value is lesion."""
    read = read_prediction(prediction, name, prediction_values)
    return read.values, read.threshold


def _raw_values(prediction: Prediction, name: str) -> tuple[np.ndarray, Kind]:
    if isinstance(prediction, (str, os.PathLike)):
        return _values_from_file(Path(prediction))
    if isinstance(prediction, bytes):
        return _values_from_image_bytes(prediction, name)
    if isinstance(prediction, Image.Image):
        return _values_from_pil(prediction, name)
    if isinstance(prediction, np.ndarray):
        return prediction, _array_kind(prediction, name)
    raise DataError(name, f"is a {type(prediction).__name__}; a prediction must be a numpy array, PIL image or file")


def _array_kind(array: np.ndarray, name: str) -> Kind:
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        return "integer"
    if np.issubdtype(array.dtype, np.floating):
        return "float"
    raise DataError(name, f"has dtype {array.dtype}; expected bool, integers or floats")


def _values_from_file(path: Path) -> tuple[np.ndarray, Kind]:
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise DataError(str(path), f"cannot be read as a .npy array: {error}") from None
        return array, _array_kind(array, str(path))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(str(path), f"cannot be read: {error}") from None
    return _values_from_image_bytes(data, str(path))


def _values_from_image_bytes(data: bytes, name: str) -> tuple[np.ndarray, Kind]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return _values_from_pil(image, name)
    except DataError:
        raise
    except Image.UnidentifiedImageError:
        problem = "the file is empty" if not data else "not a recognised image format"
        raise DataError(name, f"cannot be decoded as an image: {problem}") from None
    except Exception as error:  # Pillow raises many types for broken files
        raise DataError(name, f"cannot be decoded as an image: {error}") from None


def _values_from_pil(image: Image.Image, name: str) -> tuple[np.ndarray, Kind]:
    """Mode 1 becomes L 0/255, as ISIC's scorer converts it; equal-channel colour images are greyscale."""
    if image.mode == "1":
        return np.asarray(image.convert("L")), "greyscale"
    if image.mode == "L":
        return np.asarray(image), "greyscale"
    if image.mode == "P":
        return np.asarray(image), "palette"
    if image.mode in _INTEGER_MODES:
        return np.asarray(image), "integer"
    if image.mode == "F":
        return np.asarray(image), "float"
    try:
        return np.asarray(as_greyscale(image)), "greyscale"
    except MaskValueError as error:
        raise DataError(name, f"{error}; a prediction must be single-channel") from None


# ----------------------------------------------------------------------------------------------
# Predictions from a folder, and checking them against the split


def collect_predictions(folder: str | os.PathLike) -> dict[str, Path]:
    """{image_id: file} for ISIC_XXXXXXX*.png / *.npy (PH2: IMDxxx*); two files for one id is an error naming both."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"--predictions {folder}: not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        match = _ID_PATTERN.match(path.name)
        if path.name.startswith(".") or not path.is_file() or match is None:
            continue
        if path.suffix.lower() not in PREDICTION_SUFFIXES:
            raise DataError(str(path), f"is a {path.suffix or 'suffix-less'} file; predictions must be .png or .npy")
        image_id = match.group(1)
        if image_id in found:
            raise DataError(str(path), f"is a second prediction for {image_id}, besides {found[image_id]}")
        found[image_id] = path
    if not found:
        raise UsageError(f"--predictions {folder}: no ISIC_XXXXXXX*.png or *.npy files (IMDxxx* for PH2)")
    return found


def prediction_name(prediction: Prediction, image_id: str) -> str:
    """How messages name a prediction: its path when it is a file, else "prediction for <image_id>" (arrays and
    in-memory bytes have no name of their own).
    """
    return str(prediction) if isinstance(prediction, (str, os.PathLike)) else f"prediction for {image_id}"


__all__ = [
    "EIGHT_BIT_THRESHOLD",
    "FLAG",
    "PREDICTION_SUFFIXES",
    "Prediction",
    "PredictionRead",
    "check_prediction_values",
    "collect_predictions",
    "prediction_name",
    "read_prediction",
    "read_values",
]
