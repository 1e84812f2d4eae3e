"""Mapping a square prediction back to its image's native frame, through the geometry that built the pair.

A square prediction's pixels inside the target box are upsampled with bilinear interpolation on the values
onto the source box at native resolution (edge pixels clamp), thresholded as the official scorer does, and
placed in a frame of the source's size; whatever lies outside the source box is background.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ..dataset.transforms import Placement, placement
from ..errors import DataError, UsageError
from ..options import DEFAULTS, RESIZE_MODES

if TYPE_CHECKING:
    pass

from .predictions import Prediction, PredictionRead, prediction_name, read_prediction

# ----------------------------------------------------------------------------------------------
# Mapping back to the native frame


@dataclass(frozen=True)
class NativeWindow:
    """A native-resolution binary prediction that is zero outside `array`, placed at (left, top)."""

    left: int
    top: int
    array: np.ndarray
    width: int
    height: int

    def full(self) -> np.ndarray:
        frame = np.zeros((self.height, self.width), dtype=bool)
        rows, columns = self.array.shape
        frame[self.top : self.top + rows, self.left : self.left + columns] = self.array
        return frame


def _check_size(shape: tuple[int, ...], native: tuple[int, int], size: int | None, name: str) -> int | None:
    """None when the prediction has the native size, else the square size it must have."""
    height, width = shape
    if (width, height) == native:
        return None
    if width == height and (size is None or width == size):
        return width
    square = f"{size}x{size}" if size is not None else "square"
    raise DataError(
        name,
        f"is {width}x{height}, but predictions must be the square size ({square}) "
        f"or the native size ({native[0]}x{native[1]})",
    )


def _map_back(values: np.ndarray, threshold: float, place: Placement, native: tuple[int, int]) -> NativeWindow:
    """Bilinear upsampling of the target box onto the source box, only around non-zero values."""
    width, height = native
    left, top, right, bottom = place.target_box
    crop = values[top:bottom, left:right]
    rows, columns = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if rows.size == 0:
        return NativeWindow(0, 0, np.zeros((0, 0), dtype=bool), width, height)
    source_left, source_top, source_right, source_bottom = place.source_box
    crop_width, crop_height = right - left, bottom - top
    scale_x, scale_y = (source_right - source_left) / crop_width, (source_bottom - source_top) / crop_height
    # A native pixel reads the crop within the filter's support; beyond the non-zero box plus it, all is zero.
    margin = math.ceil(1 / min(scale_x, scale_y, 1.0)) + 1
    first_x, last_x = max(int(columns[0]) - margin, 0), min(int(columns[-1]) + 1 + margin, crop_width)
    first_y, last_y = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, crop_height)

    def native_range(first: int, last: int, origin: float, scale: float, limit: int) -> tuple[int, int]:
        # Native pixels whose centre (x + 0.5) falls inside [origin + first * scale, origin + last * scale).
        start = max(math.ceil(origin + first * scale - 0.5), 0)
        stop = min(math.ceil(origin + last * scale - 0.5), limit)
        return start, max(stop, start)

    x0, x1 = native_range(first_x, last_x, source_left, scale_x, width)
    y0, y1 = native_range(first_y, last_y, source_top, scale_y, height)
    if x0 == x1 or y0 == y1:
        return NativeWindow(0, 0, np.zeros((0, 0), dtype=bool), width, height)
    # Edge padding makes bilinear clamp at the crop's border and keeps Pillow's box inside the image.
    padded = np.pad(crop.astype(np.float32, copy=False), margin, mode="edge")
    box = (
        (x0 - source_left) / scale_x + margin,
        (y0 - source_top) / scale_y + margin,
        (x1 - source_left) / scale_x + margin,
        (y1 - source_top) / scale_y + margin,
    )
    resized = Image.fromarray(padded, mode="F").resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=box)
    return NativeWindow(x0, y0, np.asarray(resized) > threshold, width, height)


def native_window(
    prediction: Prediction | PredictionRead,
    native: tuple[int, int],
    resize_mode: str,
    size: int | None,
    name: str,
    prediction_values: str | None = None,
) -> tuple[NativeWindow, np.ndarray | None]:
    """The native binary prediction, and the square one when the prediction was square.

    `prediction` may be already read (`read_prediction`); else it is read as `prediction_values` says.
    """
    read = (
        prediction if isinstance(prediction, PredictionRead) else read_prediction(prediction, name, prediction_values)
    )
    values, threshold = read.values, read.threshold
    square = _check_size(values.shape, native, size, name)
    if square is None:
        binary = values > threshold
        square_binary = binary if native == (size, size) else None
        return NativeWindow(0, 0, binary, native[0], native[1]), square_binary
    window = _map_back(values, threshold, placement(native[0], native[1], square, resize_mode), native)
    return window, values > threshold


def to_original(
    prediction: Prediction,
    example: Mapping[str, Any],
    resize_mode: str = DEFAULTS.resize_mode,
    size: int | None = None,
    prediction_values: str | None = None,
) -> np.ndarray:
    """A square prediction as a boolean (original_height, original_width) array; native-size ones as they are.

    `example` is a row of the dataset (it gives original_width and original_height); `resize_mode`
    must be the one the dataset was built with ("pad" unless you chose otherwise); `size` is the
    square side, by default the prediction's own. `prediction_values` ("official", "indices",
    "probabilities") overrides how the values are read (by default: by the prediction's kind, see
    `predictions`).
    """
    if resize_mode not in RESIZE_MODES:
        raise UsageError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, not {resize_mode!r}")
    native = (int(example["original_width"]), int(example["original_height"]))
    name = prediction_name(prediction, str(example.get("image_id", "")))
    window, _ = native_window(prediction, native, resize_mode, size, name, prediction_values)
    return window.full()


__all__ = [
    "NativeWindow",
    "native_window",
    "to_original",
]
