"""Reading predictions: files, arrays and images as values with the threshold that makes them lesion.

The threshold follows ISIC's scorer: > 128 of 255 for 8-bit values, > 0.5 for float probabilities.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..errors import DataError, UsageError

if TYPE_CHECKING:
    pass

Prediction = np.ndarray | Image.Image | str | os.PathLike | bytes

PREDICTION_SUFFIXES = (".png", ".npy")
EIGHT_BIT_THRESHOLD = 128.0  # official: value > 128 of 255 is lesion
PROBABILITY_THRESHOLD = 0.5

_ID_PATTERN = re.compile(r"^(ISIC_\d{7})(?!\d)")

# ----------------------------------------------------------------------------------------------
# Reading a prediction's values


def read_values(prediction: Prediction, name: str) -> tuple[np.ndarray, float]:
    """The prediction as a 2-D array and the threshold above which a value is lesion."""
    if isinstance(prediction, (str, os.PathLike)):
        return _values_from_file(Path(prediction))
    if isinstance(prediction, bytes):
        return _values_from_image_bytes(prediction, name)
    if isinstance(prediction, Image.Image):
        return _values_from_pil(prediction, name)
    if isinstance(prediction, np.ndarray):
        return _values_from_array(prediction, name)
    raise DataError(name, f"is a {type(prediction).__name__}; a prediction must be a numpy array, PIL image or file")


def _values_from_file(path: Path) -> tuple[np.ndarray, float]:
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise DataError(str(path), f"cannot be read as a .npy array: {error}") from None
        return _values_from_array(array, str(path))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(str(path), f"cannot be read: {error}") from None
    return _values_from_image_bytes(data, str(path))


def _values_from_image_bytes(data: bytes, name: str) -> tuple[np.ndarray, float]:
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


def _values_from_pil(image: Image.Image, name: str) -> tuple[np.ndarray, float]:
    if image.mode == "1":
        return _values_from_array(np.asarray(image.convert("L")) > 0, name)
    if image.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image)
        if image.mode == "P" and values.size and int(values.max()) > 1:
            raise DataError(
                name,
                "is a palette image with indices other than 0 and 1",
                "save a prediction as L with 0/255 (or soft 0..255) or as P with class indices {0, 1}",
            )
        return _values_from_array(values, name)
    channels = len(image.getbands())
    raise DataError(name, f"has {channels} channels (mode {image.mode}); a prediction must be single-channel")


def _values_from_array(array: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """bool and 0/1 class indices (of any dtype) become 0/255; 8-bit soft values stay; floats are probabilities."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise DataError(name, f"has shape {array.shape}; a prediction must be single-channel (height, width)")
    if array.dtype == bool:
        return array.astype(np.uint8) * np.uint8(255), EIGHT_BIT_THRESHOLD
    if np.issubdtype(array.dtype, np.integer):
        low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        if low < 0 or high > 255:
            raise DataError(name, f"has values from {low} to {high}; integer predictions must lie in 0..255")
        if high <= 1:
            return array.astype(np.uint8) * np.uint8(255), EIGHT_BIT_THRESHOLD
        return array, EIGHT_BIT_THRESHOLD
    if np.issubdtype(array.dtype, np.floating):
        if array.size and not np.isfinite(array).all():
            raise DataError(name, "contains NaN or infinite values")
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if low < 0.0 or high > 1.0:
            raise DataError(
                name,
                f"has float values from {low:g} to {high:g}; float predictions must be probabilities in [0, 1]",
                "pass 8-bit values as an integer array",
            )
        if np.logical_or(array == 0, array == 1).all():  # a binary mask stored as floats: class indices
            return (array == 1).astype(np.uint8) * np.uint8(255), EIGHT_BIT_THRESHOLD
        return array, PROBABILITY_THRESHOLD
    raise DataError(name, f"has dtype {array.dtype}; expected bool, integers or floats")


# ----------------------------------------------------------------------------------------------
# Predictions from a folder, and checking them against the split


def collect_predictions(folder: str | os.PathLike) -> dict[str, Path]:
    """{image_id: file} for ISIC_XXXXXXX*.png / *.npy; two files for one id is an error naming both."""
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
        raise UsageError(f"--predictions {folder}: no ISIC_XXXXXXX*.png or *.npy files")
    return found


def prediction_name(prediction: Prediction, image_id: str) -> str:
    return str(prediction) if isinstance(prediction, (str, os.PathLike)) else f"prediction for {image_id}"
