"""Near-duplicates by content: pairs of images in different splits whose perceptual hashes (`phash`) are close.

Ids and archive metadata miss a photograph uploaded twice under two ids (the 2016-2020 ISIC classification sets
held thousands: Cassidy et al., "Analysis of the ISIC image datasets", Medical Image Analysis 75, 2022). Every
build carries a 64-bit DCT hash of each source image (dataset/phash.py); two images of one photograph, re-encoded,
resized or lightly cropped, differ in few of its bits, two different photographs in about half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..dataset.phash import hamming_matrix, hash_values
from .preview import preview_grid

if TYPE_CHECKING:
    from .pipeline import Build

# The largest Hamming distance (of 64 bits) reported as a near-duplicate. A DCT pHash has exactly 32 bits set
# (above the median of 64), so distances are even. Measured on the 47 real images of ../shared (14 ISIC-2017,
# 17 ISIC 2018 validation/test, 16 HAM10000), each hashed as the builder does, against a copy of itself:
#   re-encoded as JPEG (quality 95, 75) or PNG, or resized to 70%, 50% or 25% (JPEG 60-90): at most 2;
#   cropped by 1% of the width and height on each edge: at most 10 (one image; 43 of 47 at most 4);
#   2% cut off one edge, then halved and re-encoded: at most 10; 3% off one edge: up to 14 (not found).
# Between the 1081 pairs of distinct images: smallest 12 (two photographs of one HAM10000 lesion, HAM_0000778),
# then 14 (twice), 16 (7); median 30, standard deviation 4.8.
# 10 is the largest value that finds every re-encoded, resized or lightly (<= 2%) cropped copy above and no pair
# of the distinct images. On a whole release (ISIC 2018: about 2.9 million cross-split pairs) a few different but
# similar-looking photographs may still fall within it: the pairs are candidates to look at, hence the grid.
MAX_DISTANCE = 10
# Pairs drawn in the preview grid (two columns each); all are printed.
GRID_PAIRS = 12


@dataclass(frozen=True)
class DuplicatePair:
    """Two images of different splits whose hashes differ in `distance` bits (0-64)."""

    first_id: str
    first_split: str
    second_id: str
    second_split: str
    distance: int


def near_duplicates(
    hashes: Mapping[str, Sequence[tuple[str, str]]], max_distance: int = MAX_DISTANCE
) -> list[DuplicatePair]:
    """Every pair of images in different splits whose hashes differ by at most `max_distance` bits.

    `hashes` maps a split name to its (image_id, phash) rows, splits in their build order; a pair names the
    earlier split first. Sorted by distance, then by the splits' order and the ids. Pairs within one split are
    not reported (the leak is between splits). ValueError when a hash is not 16 hex digits. Time grows with the
    product of two splits' sizes, memory with one split's, in blocks of 256 rows (ISIC 2018: 0.2 s).
    """
    names = list(hashes)
    values = {split: hash_values([phash for _, phash in hashes[split]]) for split in names}
    found: list[tuple[int, int, int, str, str, DuplicatePair]] = []
    for first_index, first in enumerate(names):
        for second_index in range(first_index + 1, len(names)):
            second = names[second_index]
            for start in range(0, len(values[first]), 256):
                distances = hamming_matrix(values[first][start : start + 256], values[second])
                for row, column in zip(*np.nonzero(distances <= max_distance), strict=True):
                    first_id = hashes[first][start + int(row)][0]
                    second_id = hashes[second][int(column)][0]
                    distance = int(distances[row, column])
                    pair = DuplicatePair(first_id, first, second_id, second, distance)
                    found.append((distance, first_index, second_index, first_id, second_id, pair))
    return [entry[-1] for entry in sorted(found, key=lambda entry: entry[:-1])]


def build_hashes(build: Build) -> dict[str, list[tuple[str, str]]]:
    """The (image_id, phash) rows of each split of a build, read without decoding any image."""
    return {
        split: list(zip(dataset["image_id"], dataset["phash"], strict=True)) for split, dataset in build.dataset.items()
    }


def find_duplicates(build: Build, max_distance: int = MAX_DISTANCE) -> list[DuplicatePair]:
    """`near_duplicates` of a prepared build's splits."""
    return near_duplicates(build_hashes(build), max_distance)


def format_pairs(pairs: Sequence[DuplicatePair], max_distance: int = MAX_DISTANCE) -> str:
    """One line per pair: both ids with their splits and the distance; a sentence when there is none."""
    if not pairs:
        return f"No near-duplicates between splits (perceptual hashes differing by at most {max_distance} of 64 bits)."
    lines = [f"{len(pairs)} near-duplicate pair(s) between splits (hashes differing by at most {max_distance} bits):"]
    width = max(len(f"{pair.first_id} ({pair.first_split})") for pair in pairs)
    for pair in pairs:
        first = f"{pair.first_id} ({pair.first_split})"
        lines.append(f"  {first:<{width}}  {pair.second_id} ({pair.second_split})  distance {pair.distance}")
    return "\n".join(lines)


def duplicates_grid(build: Build, pairs: Sequence[DuplicatePair], limit: int = GRID_PAIRS) -> Image.Image:
    """The first `limit` pairs side by side (two columns each: image, mask, outline), titled with id, split and
    distance, drawn by preview.preview_grid. ValueError when `pairs` is empty."""
    if not pairs:
        raise ValueError("a duplicates grid needs at least one pair")
    shown = list(pairs[:limit])
    rows = {
        split: {image_id: index for index, image_id in enumerate(build.dataset[split]["image_id"])}
        for split in {split for pair in shown for split in (pair.first_split, pair.second_split)}
    }
    columns, titles = [], []
    for pair in shown:
        for image_id, split in ((pair.first_id, pair.first_split), (pair.second_id, pair.second_split)):
            row = build.dataset[split][rows[split][image_id]]
            columns.append((row["image"], row["mask"]))
            titles.append(f"{image_id} {split}")
        titles[-1] += f" d={pair.distance}"
    return preview_grid(columns, titles=titles, tile=160)


__all__ = [
    "GRID_PAIRS",
    "MAX_DISTANCE",
    "DuplicatePair",
    "duplicates_grid",
    "find_duplicates",
    "format_pairs",
    "near_duplicates",
]
