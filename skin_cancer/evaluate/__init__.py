"""Scoring predictions the way the ISIC challenge does: at each image's native resolution.

A square prediction is mapped back through the same `transforms.placement` that built the pair:
its pixels inside the target box are upsampled with bilinear interpolation on the values onto the
source box at native resolution (edge pixels clamp), thresholded as the official scorer does
(> 128 of 255 for 8-bit values, > 0.5 for float probabilities), and placed in a frame of the
source's size; whatever lies outside the source box (the cut-off ends of center_crop) is background.
The metrics themselves are the pure functions of `metrics`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from ..dataset.discovery import Location, read_bytes
from ..dataset.transforms import RESIZE_MODES, Placement, encode_png, placement, prepare_mask
from ..errors import DataError, UsageError
from ..releases import DEFAULT_RELEASE, Release, get_release
from ..tools.preview import outline
from .metrics import METRIC_NAMES, Confusion, confusion, macro_average, scores

if TYPE_CHECKING:
    import datasets

    from ..tools.pipeline import Build

Prediction = np.ndarray | Image.Image | str | os.PathLike | bytes

PREDICTION_SUFFIXES = (".png", ".npy")
NATIVE_CONFIG = "native_masks"
CARD_METADATA_KEY = "skin_cancer"  # card YAML: skin_cancer: {size: 512, resize_mode: pad, ...}
EIGHT_BIT_THRESHOLD = 128.0  # official: value > 128 of 255 is lesion
PROBABILITY_THRESHOLD = 0.5
WORST_COUNT = 10
TRUTH_COLOUR, PREDICTION_COLOUR = (0, 255, 0), (255, 0, 255)

_ID_PATTERN = re.compile(r"^(ISIC_\d{7})(?!\d)")
_CARD_RESIZE_PATTERN = re.compile(r"`resize_mode=(\w+)`")


# ----------------------------------------------------------------------------------------------
# Reading a prediction's values


def _values(prediction: Prediction, name: str) -> tuple[np.ndarray, float]:
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
# Mapping back to the native frame


@dataclass(frozen=True)
class _Window:
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


def _map_back(values: np.ndarray, threshold: float, place: Placement, native: tuple[int, int]) -> _Window:
    """Bilinear upsampling of the target box onto the source box, only around non-zero values."""
    width, height = native
    left, top, right, bottom = place.target_box
    crop = values[top:bottom, left:right]
    rows, columns = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if rows.size == 0:
        return _Window(0, 0, np.zeros((0, 0), dtype=bool), width, height)
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
        return _Window(0, 0, np.zeros((0, 0), dtype=bool), width, height)
    # Edge padding makes bilinear clamp at the crop's border and keeps Pillow's box inside the image.
    padded = np.pad(crop.astype(np.float32, copy=False), margin, mode="edge")
    box = (
        (x0 - source_left) / scale_x + margin,
        (y0 - source_top) / scale_y + margin,
        (x1 - source_left) / scale_x + margin,
        (y1 - source_top) / scale_y + margin,
    )
    resized = Image.fromarray(padded, mode="F").resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=box)
    return _Window(x0, y0, np.asarray(resized) > threshold, width, height)


def _native_window(
    prediction: Prediction, native: tuple[int, int], resize_mode: str, size: int | None, name: str
) -> tuple[_Window, np.ndarray | None]:
    """The native binary prediction, and the square one when the prediction was square."""
    values, threshold = _values(prediction, name)
    square = _check_size(values.shape, native, size, name)
    if square is None:
        binary = values > threshold
        square_binary = binary if native == (size, size) else None
        return _Window(0, 0, binary, native[0], native[1]), square_binary
    window = _map_back(values, threshold, placement(native[0], native[1], square, resize_mode), native)
    return window, values > threshold


def to_original(
    prediction: Prediction, example: Mapping[str, Any], resize_mode: str = "pad", size: int | None = None
) -> np.ndarray:
    """A square prediction as a boolean (original_height, original_width) array; native-size ones as they are.

    `example` is a row of the dataset (it gives original_width and original_height); `resize_mode`
    must be the one the dataset was built with ("pad" unless you chose otherwise); `size` is the
    square side, by default the prediction's own.
    """
    if resize_mode not in RESIZE_MODES:
        raise UsageError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, not {resize_mode!r}")
    native = (int(example["original_width"]), int(example["original_height"]))
    name = _prediction_name(prediction, str(example.get("image_id", "")))
    window, _ = _native_window(prediction, native, resize_mode, size, name)
    return window.full()


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


def _decode_truth(data: bytes, label: str, native: tuple[int, int]) -> Image.Image:
    """The truth mask as the official scorer reads it: single channel (L, or 1 made L), the image's size."""
    try:
        image = Image.open(io.BytesIO(data))
        with image:
            image.load()
            if image.mode == "1":
                image = image.convert("L")
            if image.mode != "L":
                raise DataError(label, f"is not a single-channel mask (mode {image.mode})")
            if image.size != native:
                raise DataError(label, f"is {image.size[0]}x{image.size[1]} but its image is {native[0]}x{native[1]}")
            return image
    except DataError:
        raise
    except Exception as error:
        raise DataError(label, f"cannot be decoded as a mask: {error}") from None


def _union(box: tuple[int, int, int, int] | None, window: _Window) -> tuple[int, int, int, int] | None:
    boxes = [box] if box else []
    if window.array.size:
        boxes.append((window.left, window.top, window.left + window.array.shape[1], window.top + window.array.shape[0]))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _score_task(task: _Task) -> dict[str, Any]:
    native = (task.width, task.height)
    window, square_prediction = _native_window(task.prediction, native, task.resize_mode, task.size, task.name)
    if isinstance(task.truth, Location):
        truth_bytes, truth_label = read_bytes(task.truth), task.truth.label
    else:
        truth_bytes, truth_label = task.truth, f"{NATIVE_CONFIG} mask of {task.image_id}"
    truth = _decode_truth(truth_bytes, truth_label, native)

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
        values, threshold = _values(task.square_truth, f"square mask of {task.image_id}")
        square_scores = scores(confusion(values > threshold, square_prediction))
    row.update({f"square_{name}": value for name, value in square_scores.items()})

    if task.write_native:
        frame = window.full().astype(np.uint8) * np.uint8(255)
        Image.fromarray(frame, mode="L").save(Path(task.write_native) / f"{task.image_id}{WRITTEN_MASK_SUFFIX}")
    return row


# Native masks written by --write-native are named as the ISIC scorer and the 2017/2018 ground truth name them.
WRITTEN_MASK_SUFFIX = "_segmentation.png"


# ----------------------------------------------------------------------------------------------
# Ground truth: a build and its ISIC tree, or a staged / published repository


@dataclass(frozen=True)
class TruthRow:
    image_id: str
    width: int
    height: int
    square_mask: bytes
    native_mask: bytes | Location


@dataclass
class Truth:
    """One split's square and native masks, with the geometry that links them."""

    split: str
    resize_mode: str
    size: int
    source: str
    rows: list[TruthRow]
    dataset: datasets.Dataset  # the square split, for drawing

    @property
    def ids(self) -> list[str]:
        return [row.image_id for row in self.rows]


def _square_rows(dataset: datasets.Dataset) -> list[tuple[str, int, int, bytes]]:
    import datasets

    columns = dataset.select_columns(["image_id", "mask", "original_width", "original_height"])
    columns = columns.cast_column("mask", datasets.Image(decode=False))
    return [(row["image_id"], row["original_width"], row["original_height"], row["mask"]["bytes"]) for row in columns]


def truth_from_build(build: Build, split: str) -> Truth:
    """Square masks from a prepared build; native masks from its ISIC tree, found as the builder finds them."""
    from ..dataset.discovery import find_in_data_dir

    if split not in build.dataset:
        raise UsageError(f"--split must be one of {', '.join(build.dataset)}, not {split!r}")
    if not build.data_dir:
        raise UsageError("evaluating reads the native masks from the ISIC folders or zips: give --data-dir")
    sources = find_in_data_dir(build.data_dir, build.release)
    (source,) = [source for source in sources if source.split.name == split]
    native = {pair.image_id: pair.mask for pair in source.pairs}
    rows = []
    for image_id, width, height, square in _square_rows(build.dataset[split]):
        rows.append(TruthRow(image_id, width, height, square, native[image_id]))
    options = build.options
    return Truth(split, options.resize_mode, options.size, build.data_dir, rows, build.dataset[split])


def truth_from_dataset(
    source: str,
    split: str,
    config: str | None = None,
    resize_mode: str | None = None,
    cache_dir: str | None = None,
) -> Truth:
    """A staged folder or Hub repository: one square configuration and the `native_masks` configuration.

    `config` defaults to the card's default configuration. Its name (`pad-512`, `center_crop-256`, ...)
    says how it was built; a card whose configuration is not so named is read for a `resize_mode=...`
    line. A `resize_mode` given here must agree.
    """
    import datasets

    card = _load_card(source)
    config = _choose_config(source, card, config)
    built_with = _config_resize_mode(config, card)
    if built_with is None and resize_mode is None:
        raise UsageError(
            f"{source}: the dataset card does not say which resize_mode built {config}; pass --resize-mode"
        )
    if built_with is not None and resize_mode is not None and built_with != resize_mode:
        raise UsageError(f"{source} ({config}) was built with resize_mode={built_with}, not {resize_mode}")
    mode = built_with or str(resize_mode)
    try:
        square = datasets.load_dataset(source, config, split=split, cache_dir=cache_dir)
    except ValueError as error:
        raise UsageError(f"{source}: cannot load the {split} split of {config}: {error}") from None
    try:
        native = datasets.load_dataset(source, NATIVE_CONFIG, split=split, cache_dir=cache_dir)
    except ValueError as error:
        raise DataError(
            source,
            f"has no {NATIVE_CONFIG} configuration for {split}: {error}",
            "republish with a publisher that stages native_masks/, or evaluate with --data-dir",
        ) from None
    native = native.cast_column("mask", datasets.Image(decode=False))
    native_bytes = {row["image_id"]: row["mask"]["bytes"] for row in native}
    rows = []
    for image_id, width, height, square_mask in _square_rows(square):
        if image_id not in native_bytes:
            raise DataError(source, f"the {NATIVE_CONFIG} configuration has no mask for {image_id} ({split})")
        rows.append(TruthRow(image_id, width, height, square_mask, native_bytes[image_id]))
    if not rows:
        raise DataError(source, f"the {split} split of {config} is empty")
    with Image.open(io.BytesIO(rows[0].square_mask)) as first:
        size = first.size[0]
    return Truth(split, mode, size, f"{source} ({config})", rows, square)


def _load_card(source: str):
    from huggingface_hub import DatasetCard

    try:
        return DatasetCard.load(os.path.join(source, "README.md") if os.path.isdir(source) else source)
    except Exception:  # no card: the configuration must then be named, and the resize mode given
        return None


def _choose_config(source: str, card, config: str | None) -> str:
    from ..dataset.compat import MetadataConfigs

    configs = MetadataConfigs.from_dataset_card_data(card.data) if card is not None else MetadataConfigs()
    square = [name for name in configs if name != NATIVE_CONFIG]
    if config is None:
        config = configs.get_default_config_name() if configs else None
        if config is None and len(square) == 1:
            config = square[0]
    if config is None:
        listed = f": it has {', '.join(square)}" if square else ""
        raise UsageError(f"{source}: say which configuration the predictions are for with --config{listed}")
    if configs and config not in configs:
        raise UsageError(f"{source} has no configuration {config!r}; it has {', '.join(square)}")
    return config


def _config_resize_mode(config: str, card) -> str | None:
    """From the configuration's name (pad-512, ...), else from the card's `resize_mode=...` line."""
    from ..options import BuildOptions

    try:
        return BuildOptions.from_config_name(config).resize_mode
    except UsageError:
        pass
    if card is None:
        return None
    recorded = (card.data.to_dict().get(CARD_METADATA_KEY) or {}).get("resize_mode")
    if recorded is None:
        found = _CARD_RESIZE_PATTERN.search(card.text)
        recorded = found.group(1) if found else None
    return recorded if recorded in RESIZE_MODES else None


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
# The report


@dataclass
class EvaluationReport:
    """Per-image rows and their macro averages, at native resolution and at the square size."""

    split: str
    resize_mode: str
    size: int
    source: str
    per_image: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def summary(self) -> dict[str, Any]:
        square_rows = [row for row in self.per_image if row["square_jaccard"] is not None]
        return {
            "note": self.first_line,
            "split": self.split,
            "resize_mode": self.resize_mode,
            "size": self.size,
            "images": len(self.per_image),
            "images_in_split": self.total,
            "missing": len(self.missing),
            "native": macro_average(self.per_image),
            "square": macro_average(square_rows, prefix="square_"),
            "square_images": len(square_rows),
        }

    @property
    def first_line(self) -> str:
        scored = f"{len(self.per_image)} of {self.total} {self.split} images"
        if self.missing:
            return (
                f"PARTIAL: scored only {scored} ({len(self.missing)} without a prediction, allow_missing); "
                "not comparable with scores on the whole split"
            )
        return f"Scored all {scored} (built {self.size}x{self.size}, resize_mode {self.resize_mode}) from {self.source}"

    def table(self) -> str:
        summary = self.summary
        lines = [
            self.first_line,
            "",
            f"| metric (macro average) | native resolution | square {self.size}x{self.size} |",
            "|---|---|---|",
        ]
        for name in METRIC_NAMES:
            native, square = summary["native"][name], summary["square"][name]
            square_text = "n/a" if square is None else f"{square:.4f}"
            lines.append(f"| {name} | {native:.4f} | {square_text} |")
        if summary["square_images"] < summary["images"]:
            lines.append("")
            lines.append(
                f"Square column: {summary['square_images']} of {summary['images']} images "
                "(predictions given at native size have no square score)."
            )
        return "\n".join(lines)

    def write(
        self, folder: str | os.PathLike, predictions: Mapping[str, Prediction] | None = None, truth: Truth | None = None
    ) -> list[Path]:
        """per_image.csv, summary.json, summary.md, and worst.png when the truth and predictions are given."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / name for name in REPORT_FILES[:3]]
        with open(written[0], "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(self.per_image[0]))
            writer.writeheader()
            writer.writerows(self.per_image)
        written[1].write_text(json.dumps(self.summary, indent=2) + "\n")
        written[2].write_text(self.table() + "\n")
        if predictions is not None and truth is not None:
            path = folder / "worst.png"
            worst_grid(self, predictions, truth).save(path)
            written.append(path)
        return written


# ----------------------------------------------------------------------------------------------
# Drawing the worst images


def _square_prediction_image(prediction: Prediction, row: TruthRow, truth: Truth) -> Image.Image:
    values, threshold = _values(prediction, row.image_id)
    binary = ((values > threshold).astype(np.uint8)) * np.uint8(255)
    if values.shape == (truth.size, truth.size):
        return Image.fromarray(binary, mode="L")
    # Given at native size: draw it through the builder's own mask geometry.
    square = prepare_mask(
        encode_png(Image.fromarray(binary, mode="L")), (row.width, row.height), truth.size, truth.resize_mode
    )  # type: ignore[arg-type]
    return Image.open(io.BytesIO(square))


def worst_grid(
    report: EvaluationReport,
    predictions: Mapping[str, Prediction],
    truth: Truth,
    count: int = WORST_COUNT,
    tile: int = 224,
) -> Image.Image:
    """The lowest-Jaccard images: truth outline in green, prediction outline in magenta, on the square image."""
    worst = sorted(report.per_image, key=lambda row: (row["jaccard"], row["image_id"]))[:count]
    by_id = {row.image_id: row for row in truth.rows}
    index = {image_id: position for position, image_id in enumerate(truth.ids)}
    margin, header = 6, 34
    grid = Image.new("RGB", (margin + len(worst) * (tile + margin), header + tile + margin), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((margin, 2), "green: truth   magenta: prediction   (native Jaccard)", fill="black")
    for column, scored in enumerate(worst):
        image_id = scored["image_id"]
        row = by_id[image_id]
        image = truth.dataset[index[image_id]]["image"].convert("RGB")
        line = max(1, image.width // 160)
        image.paste(TRUTH_COLOUR, mask=outline(Image.open(io.BytesIO(row.square_mask)), line))
        image.paste(PREDICTION_COLOUR, mask=outline(_square_prediction_image(predictions[image_id], row, truth), line))
        left = margin + column * (tile + margin)
        draw.text((left, 18), f"{image_id} J={scored['jaccard']:.3f}", fill="black")
        grid.paste(image.resize((tile, tile)), (left, header))
    return grid


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


def _prediction_name(prediction: Prediction, image_id: str) -> str:
    return str(prediction) if isinstance(prediction, (str, os.PathLike)) else f"prediction for {image_id}"


REPORT_FILES = ("per_image.csv", "summary.json", "summary.md", "worst.png")


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

    protected = [Path(truth.source)] if Path(truth.source).exists() else []
    protected += sorted({Path(p).parent for p in predictions.values() if isinstance(p, (str, os.PathLike))})
    with replacing(Path(write_native), "native-size predictions", overwrite, protected) as scratch:
        return _score(predictions, truth, num_proc, missing, str(scratch))


def _score(
    predictions: Mapping[str, Prediction], truth: Truth, num_proc: int, missing: list[str], write_native: str | None
) -> EvaluationReport:
    tasks = [
        _Task(
            row.image_id,
            predictions[row.image_id],
            _prediction_name(predictions[row.image_id], row.image_id),
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


def load_truth(
    data_dir: str | None = None,
    dataset: str | None = None,
    split: str = "test",
    resize_mode: str | None = None,
    size: int = 512,
    image_format: str = "jpeg",
    num_proc: int = 1,
    cache_dir: str | None = None,
    config: str | None = None,
    release: str | Release = DEFAULT_RELEASE,
) -> Truth:
    if (data_dir is None) == (dataset is None):
        raise UsageError("give exactly one of data_dir (an ISIC tree) and dataset (a staged folder or Hub repo)")
    if dataset is not None:
        return truth_from_dataset(dataset, split, config, resize_mode, cache_dir)
    release = get_release(release)
    if split not in release.split_names:
        raise UsageError(f"split must be one of {', '.join(release.split_names)}, not {split!r}")
    from ..options import BuildOptions
    from ..tools.pipeline import prepare_dataset

    options = BuildOptions(size=size, resize_mode=resize_mode or "pad", image_format=image_format)  # type: ignore[arg-type]
    build = prepare_dataset(data_dir, options, num_proc=num_proc, cache_dir=cache_dir, release=release)
    return truth_from_build(build, split)


def evaluate(
    predictions: Mapping[str, Prediction],
    data_dir: str | None = None,
    split: str = "test",
    resize_mode: str | None = None,
    size: int = 512,
    *,
    dataset: str | None = None,
    config: str | None = None,
    image_format: str = "jpeg",
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


def ceiling_predictions(truth: Truth) -> dict[str, bytes]:
    """The dataset's own square masks as predictions: their native score is the best any model can reach."""
    return {row.image_id: row.square_mask for row in truth.rows}
