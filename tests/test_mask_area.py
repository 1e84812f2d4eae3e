"""The mask rule, checked against references that share no code with it.

The rule: an output pixel is lesion when at least half of the area under it (its footprint in
the source box, with fractional source pixels at its edges) is lesion. `prepare_mask` computes
it only around the lesion and with integer sums; the references here use the whole frame
and either exact fractions per pixel (small masks) or an explicit list of overlaps (real masks).
Only the geometry (`placement`, tested on its own in test_transforms) is shared.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
from PIL import Image

from skin_cancer.dataset.transforms import placement, prepare_mask
from skin_cancer.tools.sample import png_bytes

MODES = ("pad", "stretch", "center_crop")


def ours(lesion: np.ndarray, size: int, mode: str) -> np.ndarray:
    mask = Image.fromarray(np.where(lesion, 255, 0).astype(np.uint8))
    square = np.asarray(Image.open(io.BytesIO(prepare_mask(png_bytes(mask), mask.size, size, mode))))
    assert set(np.unique(square)) <= {0, 1}, "class indices"
    return square > 0


def footprints(low: Fraction, high: Fraction, count: int) -> list[tuple[Fraction, Fraction]]:
    step = (high - low) / count
    return [(low + i * step, low + (i + 1) * step) for i in range(count)]


def brute_force(lesion: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Every output pixel, every source pixel, exact fractions: slow and obviously right."""
    height, width = lesion.shape
    place = placement(width, height, size, mode)
    left, top, right, bottom = (Fraction(edge) for edge in place.source_box)
    columns = footprints(left, right, place.target_size[0])
    rows = footprints(top, bottom, place.target_size[1])
    square = np.zeros((size, size), dtype=bool)
    for j, (y0, y1) in enumerate(rows):
        for i, (x0, x1) in enumerate(columns):
            area = Fraction(0)
            for q in range(height):
                for p in range(width):
                    overlap_x, overlap_y = min(x1, p + 1) - max(x0, p), min(y1, q + 1) - max(y0, q)
                    if lesion[q, p] and overlap_x > 0 and overlap_y > 0:
                        area += overlap_x * overlap_y
            square[place.target_box[1] + j, place.target_box[0] + i] = area >= (x1 - x0) * (y1 - y0) / 2
    return square


@cache
def overlap_taps(low: Fraction, high: Fraction, count: int) -> tuple[np.ndarray, np.ndarray, int]:
    """For each output pixel, the source pixels its footprint overlaps and by how much.

    Returns sources and lengths as count x taps arrays (unused taps: source 0, length 0) and the
    unit of the lengths: 1/denominator of a source pixel, the least common denominator of all
    footprint edges, so that every length and every sum below is an exact integer.
    """
    pixels = footprints(low, high, count)
    denominator = math.lcm(*(edge.denominator for footprint in pixels for edge in footprint))
    taps = max(math.ceil(end) - math.floor(start) for start, end in pixels)
    sources = np.zeros((count, taps), dtype=np.intp)
    lengths = np.zeros((count, taps), dtype=np.int32)
    for i, (start, end) in enumerate(pixels):
        for tap, p in enumerate(range(math.floor(start), math.ceil(end))):
            sources[i, tap] = p
            lengths[i, tap] = int((min(end, p + 1) - max(start, p)) * denominator)
    assert (lengths.sum(axis=1) == (high - low) / count * denominator).all()
    return sources, lengths, denominator


def overlap_reference(lesion: np.ndarray, size: int, mode: str) -> np.ndarray:
    """The whole frame, overlap by overlap: lesion height under each footprint row, then area under each footprint."""
    height, width = lesion.shape
    place = placement(width, height, size, mode)
    left, top, right, bottom = (Fraction(edge) for edge in place.source_box)
    x_sources, x_lengths, x_unit = overlap_taps(left, right, place.target_size[0])
    y_sources, y_lengths, y_unit = overlap_taps(top, bottom, place.target_size[1])
    heights = np.zeros((place.target_size[1], width), dtype=np.int32)  # output rows x source columns
    for tap in range(y_sources.shape[1]):
        heights += lesion[y_sources[:, tap], :] * y_lengths[:, tap, None]
    areas = np.zeros(place.target_size[::-1], dtype=np.int64)  # output rows x output columns
    for tap in range(x_sources.shape[1]):
        areas += heights[:, x_sources[:, tap]] * x_lengths[None, :, tap]
    footprint = (right - left) / place.target_size[0] * x_unit * (bottom - top) / place.target_size[1] * y_unit
    assert footprint.denominator == 1
    footprint = int(footprint)
    square = np.zeros((size, size), dtype=bool)
    target_left, target_top, target_right, target_bottom = place.target_box
    square[target_top:target_bottom, target_left:target_right] = 2 * areas >= footprint
    return square


@pytest.mark.parametrize("mode", MODES)
def test_real_masks_at_every_size_equal_the_whole_frame_reference(real_sample, mode):
    """Ours reads only the lesion's window; the reference reads the whole frame: not one pixel may differ."""
    paths = sorted(real_sample.glob("*_Part1_GroundTruth/*.png"))
    assert len(paths) == 14
    for path in paths:
        data = path.read_bytes()
        lesion = np.asarray(Image.open(path)) != 0
        size_of_source = lesion.shape[::-1]
        for size in (64, 100, 256, 333, 512, 640, 1024):
            square = np.asarray(Image.open(io.BytesIO(prepare_mask(data, size_of_source, size, mode)))) > 0
            reference = overlap_reference(lesion, size, mode)
            assert np.array_equal(square, reference), (path.name, size, mode, int((square != reference).sum()))


def test_overlap_reference_agrees_with_brute_force():
    """The real-mask reference itself, against exact fractions on small random masks."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        width, height = (int(n) for n in rng.integers(1, 12, 2))
        lesion = rng.random((height, width)) < rng.random()
        size = int(rng.integers(1, 10))
        for mode in MODES:
            assert np.array_equal(overlap_reference(lesion, size, mode), brute_force(lesion, size, mode))


@pytest.mark.parametrize("mode", MODES)
def test_small_random_masks_equal_brute_force(mode):
    """Down- and upscaling, odd sizes, half-pixel centre-crop offsets, lesions touching the frame's edges."""
    rng = np.random.default_rng(11)
    for _ in range(100):
        width, height = (int(n) for n in rng.integers(1, 14, 2))
        lesion = rng.random((height, width)) < rng.random()
        size = int(rng.integers(1, 12))
        assert np.array_equal(ours(lesion, size, mode), brute_force(lesion, size, mode)), (width, height, size)


def test_ties_at_exactly_one_half_are_lesion():
    # stretch 4x4 to 2x2: each output pixel is a 2x2 block; two of its four source pixels are lesion
    lesion = np.zeros((4, 4), dtype=bool)
    lesion[0, 0:2] = True  # top-left block: exactly half
    lesion[2, 2] = True  # bottom-right block: a quarter
    assert ours(lesion, 2, "stretch").tolist() == [[True, False], [False, False]]
    # centre crop of 5x4: the square is x in [0.5, 4.5], so output column 0 is x in [0.5, 2.5]
    lesion = np.zeros((4, 5), dtype=bool)
    lesion[:, 1] = True  # the whole of source column 1 is half of output column 0
    assert ours(lesion, 2, "center_crop").tolist() == [[True, False], [True, False]]
    lesion = np.zeros((4, 5), dtype=bool)
    lesion[:, 0] = True  # source column 0 lies half outside the crop: a quarter of output column 0
    assert not ours(lesion, 2, "center_crop").any()
    lesion[:, 2] = True  # plus the half of column 2 inside output column 0: exactly half
    assert ours(lesion, 2, "center_crop").tolist() == [[True, False], [True, False]]


def test_a_quarter_covered_column_stays_background():
    """1231x900 at pad/640: 1.0.0 marked a whole 377-pixel column lesion that is 26% covered."""
    width, height, size = 1231, 900, 640
    lesion = np.zeros((height, width), dtype=bool)
    lesion[100:825, 20:189] = True  # output column 98 covers x in [188.50, 190.42]: 26% of it is lesion
    column = Fraction(189 - 98 * Fraction(width, size)) / Fraction(width, size)
    assert 0.26 < column < 0.27
    square = ours(lesion, size, "pad")
    assert np.array_equal(square, overlap_reference(lesion, size, "pad"))
    left, top, _, _ = placement(width, height, size, "pad").target_box
    assert square[top + 60 : top + 420, left + 97].all()
    assert not square[:, left + 98].any()
