"""What a mask file's values mean: the one rule that the build, streaming, stats, preview and `evaluate`
(ground truth, ceiling, native masks and predictions) all read masks with. Pure: a decoded Pillow image or
an array in, a boolean lesion and a description of how it was read out; no file system.

Ground truth (the README's table "What a mask value means" says the same):

- values {0, 255} (ISIC's own files) are binary; a bilevel (mode 1) file is the same;
- values {0, 1} are class indices (1 is lesion); the caller warns once per split with the count;
- a palette PNG whose indices are {0, 1} (what the builder writes) is class indices;
- any other values are binarised at ISIC's `> 128`; the caller warns once per split (re-saved as JPEG?);
- an RGB or RGBA file whose colour channels are equal (and, for RGBA, fully opaque) is read as greyscale;
  any other multi-channel file is refused (`MaskValueError`, one line naming its mode);
- a lesion covering `FULL_FRACTION` or more of its image is named in a warning by the caller.

Predictions are read one way for a whole run (`PredictionValues`), never by looking at one image's values:
by default greyscale images as ISIC's scorer reads them (`> 128`: isic_challenge_scoring.load_image
loads mode L or 1 and `segmentation.py` compares `> 128`), palette images and integer or boolean arrays
as class indices, floating arrays as probabilities (`> 0.5`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
from PIL import Image, ImageChops

OFFICIAL_THRESHOLD = 128  # ISIC's scorer: a value > 128 of 255 is lesion (isic_challenge_scoring/segmentation.py)
PROBABILITY_THRESHOLD = 0.5
FULL_FRACTION = 0.995  # a "mask" this full is more likely a blank, an inverted or a wrong file than a lesion

TruthKind = Literal["binary", "indices", "palette", "thresholded"]
PredictionValues = Literal["official", "indices", "probabilities"]
PREDICTION_VALUES: tuple[str, ...] = get_args(PredictionValues)

_OFFICIAL_LUT = [0] * (OFFICIAL_THRESHOLD + 1) + [255] * (255 - OFFICIAL_THRESHOLD)
_INDEX_LUT = [0, 255] + [0] * 254  # only ever applied to images whose values are {0, 1}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_GREY_WITH_ALPHA = ("LA", "La")
_COLOUR_MODES = ("RGB", "RGBA", "RGBa", "RGBX")

# The notes a reading can give, each warned once per split (or per evaluation) with its count.
NOTE_INDICES = "indices"
NOTE_THRESHOLDED = "thresholded"
NOTE_FULL = "full"
NOTE_ORIENTATION_IGNORED = "orientation_ignored"


class MaskValueError(ValueError):
    """A mask whose values have no defined meaning; the caller adds the file name."""


@dataclass(frozen=True)
class TruthMask:
    """A ground-truth mask as read by the rule.

    `binary` is a mode L image of the mask's size with 0 (background) and 255 (lesion), so that the
    callers can crop to `binary.getbbox()` before going to numpy; `lesion` is the same as a bool array.
    """

    binary: Image.Image
    kind: TruthKind
    mode: str  # the file's Pillow mode
    values: tuple[int, ...]  # the distinct values read, at most the first `_VALUES_KEPT`
    lesion_fraction: float

    @property
    def lesion(self) -> np.ndarray:
        """bool, (height, width)."""
        return np.asarray(self.binary) > OFFICIAL_THRESHOLD

    @property
    def notes(self) -> tuple[str, ...]:
        found = []
        if self.kind == "indices":
            found.append(NOTE_INDICES)
        if self.kind == "thresholded":
            found.append(NOTE_THRESHOLDED)
        if self.lesion_fraction >= FULL_FRACTION:
            found.append(NOTE_FULL)
        return tuple(found)


_VALUES_KEPT = 8


def read_truth(mask: Image.Image) -> TruthMask:
    """The lesion of a decoded (loaded) ground-truth mask, by the rule in this module's docstring.

    Raises MaskValueError for a multi-channel file whose channels differ, a varying alpha channel,
    and modes with no 8-bit meaning (32-bit or float values other than {0, 1} / {0, 255}).
    """
    mode = mask.mode
    if mode == "1":
        binary = mask.convert("L")
        return _truth(binary, "binary", mode, _present(binary))
    if mode == "P":
        indices = Image.fromarray(np.asarray(mask), mode="L")  # the raw indices, whatever colours they show
        present = _present(indices)
        if set(present) <= {0, 1}:
            return _truth(indices.point(_INDEX_LUT), "palette", mode, present)
        # Not class indices: the colours it shows are what the person saw, read like a colour file.
        shown = mask.convert("RGBA" if "transparency" in mask.info else "RGB")
        return _read_grey(_as_grey(shown, shown.mode), mode)
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        return _read_wide(mask, mode)
    if mode == "L":
        return _read_grey(mask, mode)
    return _read_grey(_as_grey(mask, mode), mode)


def _read_grey(grey: Image.Image, mode: str) -> TruthMask:
    histogram = grey.histogram()[:256]  # one pass over the pixels gives the values and the lesion's area
    present = tuple(value for value, count in enumerate(histogram) if count)
    values = set(present)
    if values <= {0, 255}:
        return _truth(grey, "binary", mode, present, histogram[255])
    if values <= {0, 1}:
        return _truth(grey.point(_INDEX_LUT), "indices", mode, present, histogram[1])
    lesion = sum(histogram[OFFICIAL_THRESHOLD + 1 :])
    return _truth(grey.point(_OFFICIAL_LUT), "thresholded", mode, present, lesion)


def _read_wide(mask: Image.Image, mode: str) -> TruthMask:
    """16-bit, 32-bit and float greyscale: 0/1 indices, 0/255 or 0/65535 binary; 16-bit otherwise scaled
    to 8 bits (65535 is 255, as the image transform scales) and binarised at `> 128`."""
    array = np.asarray(mask)
    present = tuple(int(value) for value in np.unique(array)[: _VALUES_KEPT + 1]) if array.dtype != np.float32 else ()
    if mode == "F":
        values = set(np.unique(array).tolist())
        if values <= {0.0, 1.0}:
            return _truth(_from_bool(array == 1), "indices", mode, tuple(int(v) for v in sorted(values)))
        if values <= {0.0, 255.0}:
            return _truth(_from_bool(array == 255), "binary", mode, tuple(int(v) for v in sorted(values)))
        raise MaskValueError(f"has floating-point values (Pillow mode {mode}) other than 0/1 or 0/255")
    values = set(np.unique(array).tolist())
    if values <= {0, 1}:
        return _truth(_from_bool(array == 1), "indices", mode, present)
    if values <= {0, 255} or values <= {0, 65535}:
        return _truth(_from_bool(array != 0), "binary", mode, present)
    if mode == "I":
        raise MaskValueError(
            f"has 32-bit values (Pillow mode {mode}) other than 0/1, 0/255 or 0/65535: save it as 8-bit greyscale"
        )
    scaled = (array.astype(np.uint32) * 255 + 32767) // 65535
    return _truth(_from_bool(scaled > OFFICIAL_THRESHOLD), "thresholded", mode, present)


def as_greyscale(mask: Image.Image) -> Image.Image:
    """A multi-channel image (RGB, RGBA, LA) as mode L when its colour channels are equal and it is opaque.

    Raises MaskValueError naming the mode otherwise: such a file is not a mask whatever its name.
    """
    return _as_grey(mask, mask.mode)


def _as_grey(mask: Image.Image, mode: str) -> Image.Image:
    """A multi-channel mask as greyscale when its colour channels are equal and it is opaque; else refused."""
    if mode in _GREY_WITH_ALPHA:
        grey, alpha = mask.convert("LA").split()
        _check_opaque(alpha, mode)
        return grey
    if mode not in _COLOUR_MODES:
        raise MaskValueError(
            f"has {len(mask.getbands())} channels (Pillow mode {mode}), not a mask: "
            "save it as greyscale (0 background, 255 lesion)"
        )
    bands = mask.split()
    if mode == "RGBA":
        _check_opaque(bands[3], mode)
    red, green, blue = bands[:3]
    if ImageChops.difference(red, green).getbbox() is not None or ImageChops.difference(green, blue).getbbox():
        raise MaskValueError(
            f"is a colour image (mode {mode}) whose channels differ, not a mask (a superpixel or "
            "visualisation file?): a mask is greyscale, 0 background and 255 lesion"
        )
    return red


def _check_opaque(alpha: Image.Image, mode: str) -> None:
    if alpha.getextrema() != (255, 255):
        raise MaskValueError(
            f"is a {mode} image whose alpha channel varies (the lesion drawn in the transparency?): "
            "save the mask as greyscale, 0 background and 255 lesion"
        )


def _present(grey: Image.Image) -> tuple[int, ...]:
    histogram = grey.histogram()[:256]
    return tuple(value for value, count in enumerate(histogram) if count)


def _from_bool(lesion: np.ndarray) -> Image.Image:
    return Image.fromarray(lesion.astype(np.uint8) * np.uint8(255), mode="L")


def _truth(
    binary: Image.Image, kind: TruthKind, mode: str, present: tuple[int, ...], lesion: int | None = None
) -> TruthMask:
    area = binary.width * binary.height
    if lesion is None:
        lesion = binary.histogram()[255]
    return TruthMask(binary, kind, mode, present[:_VALUES_KEPT], lesion / area if area else 0.0)


# ----------------------------------------------------------------------------------------------
# Predictions: one reading per run


def default_prediction_values(kind: Literal["greyscale", "palette", "integer", "float"]) -> PredictionValues:
    """How a prediction of this kind is read when the run does not say: greyscale images as ISIC's
    scorer does, palette images and integer or boolean arrays as class indices, floats as probabilities."""
    if kind == "greyscale":
        return "official"
    if kind == "float":
        return "probabilities"
    return "indices"


def prediction_lesion_values(values: np.ndarray, reading: PredictionValues, flag: str) -> tuple[np.ndarray, float]:
    """A 2-D array of values and the threshold above which a value is lesion, for `reading`.

    `official`: integers 0..255, lesion `> 128` (as ISIC's scorer); `indices`: class indices {0, 1}
    (returned as 0/255 with the official threshold); `probabilities`: floats in [0, 1] (or 8-bit values,
    divided by 255), lesion `> 0.5`. Booleans are lesion where True in every reading. Raises
    MaskValueError for values the reading cannot hold, naming how to choose another: `flag` is a format
    string with a `{value}` field, e.g. "--prediction-values {value}".
    """
    if values.dtype == bool:
        return values.astype(np.uint8) * np.uint8(255), float(OFFICIAL_THRESHOLD)
    integer = np.issubdtype(values.dtype, np.integer)
    floating = np.issubdtype(values.dtype, np.floating)
    if not (integer or floating):
        raise MaskValueError(f"has dtype {values.dtype}; expected bool, integers or floats")
    if floating and values.size and not np.isfinite(values).all():
        raise MaskValueError("contains NaN or infinite values")
    low, high = (values.min().item(), values.max().item()) if values.size else (0, 0)
    if reading == "indices":
        if values.size and not np.isin(values, (0, 1)).all():
            raise MaskValueError(
                f"holds values from {low:g} to {high:g}, but is read as class indices (0 background, 1 lesion); "
                f"pass {flag.format(value='official')} for 0..255 values read as ISIC's scorer does (> 128), "
                f"or {flag.format(value='probabilities')}"
            )
        return (values == 1).astype(np.uint8) * np.uint8(255), float(OFFICIAL_THRESHOLD)
    if reading == "official":
        if floating or low < 0 or high > 255:
            kind = "float values" if floating else "values"
            raise MaskValueError(
                f"has {kind} from {low:g} to {high:g}, but is read as 8-bit values 0..255 (ISIC's > 128); "
                f"pass {flag.format(value='probabilities')} for values in [0, 1], "
                f"or {flag.format(value='indices')} for class indices"
            )
        return values, float(OFFICIAL_THRESHOLD)
    if integer:
        if low < 0 or high > 255:
            raise MaskValueError(f"has values from {low} to {high}; integer probabilities must be 8-bit, 0..255")
        return values.astype(np.float32) / np.float32(255), PROBABILITY_THRESHOLD
    if low < 0.0 or high > 1.0:
        raise MaskValueError(
            f"has float values from {low:g} to {high:g}, but probabilities lie in [0, 1]; "
            f"pass {flag.format(value='official')} for 8-bit values"
        )
    if np.logical_or(values == 0, values == 1).all():
        # Certain 0/1 probabilities are a binary mask: mapped back exactly as its 0/255 or boolean form is.
        return (values == 1).astype(np.uint8) * np.uint8(255), float(OFFICIAL_THRESHOLD)
    return values, PROBABILITY_THRESHOLD


def only_zero_one(values: np.ndarray) -> bool:
    """True when a greyscale prediction holds only 0 and 1 with at least one 1: empty under `> 128`."""
    return bool(values.size) and int(values.max()) == 1 and int(values.min()) >= 0


# ----------------------------------------------------------------------------------------------
# Notes: what to warn about, once per split (or per evaluation), with counts and the first files


@dataclass
class ReadingNotes:
    """{note: (count, first few file labels)}; merged across workers, then turned into warning lines."""

    found: dict[str, list] = field(default_factory=dict)
    kept: int = 3

    def add(self, note: str, label: str) -> None:
        count, labels = self.found.get(note, [0, []])
        if len(labels) < self.kept:
            labels = [*labels, label]
        self.found[note] = [count + 1, labels]

    def add_all(self, notes: Iterable[str], label: str) -> None:
        for note in notes:
            self.add(note, label)

    def merge(self, other: Mapping[str, list]) -> None:
        for note, (count, labels) in other.items():
            mine_count, mine = self.found.get(note, [0, []])
            self.found[note] = [mine_count + count, [*mine, *labels][: self.kept]]

    def messages(self, where: str) -> list[str]:
        """One line per note; `where` names the split, e.g. "train split"."""
        lines = []
        for note in (NOTE_INDICES, NOTE_THRESHOLDED, NOTE_FULL, NOTE_ORIENTATION_IGNORED):
            if note not in self.found:
                continue
            count, labels = self.found[note]
            first = ", ".join(labels) + (", ..." if count > len(labels) else "")
            lines.append(_NOTE_TEXT[note].format(count=count, where=where, first=first))
        return lines


_NOTE_TEXT = {
    NOTE_INDICES: (
        "{count} mask(s) of the {where} hold only the values 0 and 1: read as class indices, 1 is lesion "
        "(first: {first})"
    ),
    NOTE_THRESHOLDED: (
        "{count} mask(s) of the {where} hold values other than 0 and 255: binarised as ISIC's scorer does, "
        "lesion where the value is > 128 (re-saved as JPEG? first: {first})"
    ),
    NOTE_FULL: (
        f"{{count}} mask(s) of the {{where}} cover {FULL_FRACTION:.1%} or more of their image: a blank, "
        "inverted or wrong file? (first: {first})"
    ),
    NOTE_ORIENTATION_IGNORED: (
        "{count} image(s) of the {where} carry an EXIF orientation that their mask does not follow: read in "
        "their stored frame, as the mask is (ISIC masks are drawn on the stored pixels; first: {first})"
    ),
}


__all__ = [
    "FULL_FRACTION",
    "NOTE_ORIENTATION_IGNORED",
    "OFFICIAL_THRESHOLD",
    "PREDICTION_VALUES",
    "MaskValueError",
    "ReadingNotes",
    "TruthMask",
    "as_greyscale",
    "default_prediction_values",
    "only_zero_one",
    "prediction_lesion_values",
    "read_truth",
]
