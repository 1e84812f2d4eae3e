"""Dividing a release without official splits (HAM10000) into train/valid/test by lesion, stratified by diagnosis.

The rule, so that a paper can cite it (the README's HAM10000 section says the same):

1. Universe. The lesions of the full official table (HAM10000_metadata.csv, all 10,015 rows: 7,470 lesions),
   each with its one `dx` and its number of images, shipped as skin_cancer/data/diagnoses/<release>-lesions.tsv
   (written by scripts/diagnoses.py from the official table; no download is needed to know a split).
2. Deal. The lesions are dealt to 10 buckets by folds.assign_groups, the machinery of the cross-validation
   folds, with the salt `skin-cancer-splits-1`: each `dx` is a stratum (smallest stratum first); within
   one, lesions go largest first (most images), ties in the order of sha256(salt + NUL + lesion_id) (the
   first 8 bytes, big-endian), each to the bucket holding the fewest images of that dx so far, ties to the
   bucket with the fewest images so far, then the lowest bucket number. Buckets 0-6 are `train`, 7 is
   `valid`, 8-9 are `test` (70/10/20): bucket b goes to the split whose upper bound exceeds (b + 0.5) / 10.
   So each dx is divided 70/10/20 by images, to within one lesion's images per bucket.
3. Fallback. A lesion outside the universe (an image a user added to the table) goes by its id alone: the
   first 16 hex digits of the SHA-256 of its `lesion_id` (UTF-8), over 2**64, give a fraction u in [0, 1),
   and the lesion goes to the first split whose upper bound exceeds u (train below 0.70, valid below 0.80,
   else test).

Every image of a lesion therefore lands in one split, and a lesion's split depends on the shipped universe
and its id only: the same whatever subset of the data is present. Pure functions over the shipped facts,
read once (functools.cache).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections.abc import Mapping

from ..releases import SPLIT_BY_LESION_HASH, Release, get_release
from .folds import DIAGNOSES_FOLDER, assign_groups
from .overlap import IDS_PACKAGE

# Part of the dealing's hash: a new salt is a new split (and a new dataset version), never a silent change.
SPLIT_SALT = "skin-cancer-splits-1"
# The number of buckets the lesions are dealt to; each split's upper bound is a multiple of 1/SPLIT_BUCKETS.
SPLIT_BUCKETS = 10
LESION_TABLE_HEADER = "lesion_id\tdx\timages"


def lesion_fraction(lesion_id: str) -> float:
    """u in [0, 1): the first 64 bits of sha256(lesion_id) over 2**64."""
    return int(hashlib.sha256(lesion_id.encode("utf-8")).hexdigest()[:16], 16) / 2**64


def fraction_split(fraction: float, bounds: tuple[tuple[str, float], ...]) -> str:
    """The first (name, upper bound) of `bounds` whose bound exceeds `fraction`; the last name above them all.

    `bounds` are increasing and end at 1.0, e.g. (("train", 0.7), ("valid", 0.8), ("test", 1.0))."""
    for name, bound in bounds:
        if fraction < bound:
            return name
    return bounds[-1][0]


def lesion_split(lesion_id: str, bounds: tuple[tuple[str, float], ...]) -> str:
    """The hash rule (rule 3, for a lesion outside the universe): the split of `lesion_fraction(lesion_id)`."""
    return fraction_split(lesion_fraction(lesion_id), bounds)


def bucket_splits(bounds: tuple[tuple[str, float], ...], buckets: int = SPLIT_BUCKETS) -> tuple[str, ...]:
    """The split of each bucket 0..buckets-1: the split of (bucket + 0.5) / buckets (70/10/20 -> 7, 1, 2 buckets).

    Raises ValueError when a bound is not a multiple of 1/buckets (the buckets could not give the proportions)."""
    for name, bound in bounds:
        if abs(bound * buckets - round(bound * buckets)) > 1e-9:
            raise ValueError(f"the bound {bound} of {name!r} is not a multiple of 1/{buckets}")
    return tuple(fraction_split((bucket + 0.5) / buckets, bounds) for bucket in range(buckets))


def deal_lesions(
    lesions: Mapping[str, tuple[str, int]],
    bounds: tuple[tuple[str, float], ...],
    buckets: int = SPLIT_BUCKETS,
    salt: str = SPLIT_SALT,
) -> dict[str, str]:
    """Rule 2: {lesion_id: split} for every lesion of `lesions` (lesion_id -> (dx, number of images)).

    Call it with the whole universe, never with what a build happens to hold."""
    splits = bucket_splits(bounds, buckets)
    sizes = {lesion_id: images for lesion_id, (_, images) in lesions.items()}
    strata = {lesion_id: dx for lesion_id, (dx, _) in lesions.items()}
    return {lesion_id: splits[bucket] for lesion_id, bucket in assign_groups(sizes, strata, buckets, salt).items()}


def lesion_table(rows: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """{lesion_id: (dx, images)} from {image_id: (lesion_id, dx)} (the rows of the metadata table).

    Raises ValueError naming a lesion recorded with two diagnoses (the dx is the lesion's stratum)."""
    table: dict[str, tuple[str, int]] = {}
    for lesion_id, dx in rows.values():
        known, images = table.get(lesion_id, (dx, 0))
        if known != dx:
            raise ValueError(f"lesion {lesion_id} has two diagnoses, {known} and {dx}")
        table[lesion_id] = (dx, images + 1)
    return table


def lesion_table_file(release: str | Release) -> str:
    """The file name of a release's shipped lesion universe, e.g. "ham10000-lesions.tsv"."""
    return f"{get_release(release).name}-lesions.tsv"


def lesion_table_tsv(table: Mapping[str, tuple[str, int]]) -> str:
    """The shipped universe's text: a header, then one sorted `lesion_id<TAB>dx<TAB>images` line per lesion."""
    lines = (f"{key}\t{table[key][0]}\t{table[key][1]}\n" for key in sorted(table))
    return "".join([f"{LESION_TABLE_HEADER}\n", *lines])


def parse_lesion_table(text: str, names: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """`lesion_id<TAB>dx<TAB>images` lines after the header; a ValueError names the first bad line."""
    lines = text.splitlines()
    if not lines or lines[0] != LESION_TABLE_HEADER:
        raise ValueError("the lesion table should start with the header lesion_id<TAB>dx<TAB>images")
    found = {}
    for number, line in enumerate(lines[1:], start=2):
        lesion_id, dx, images = ([*line.split("\t"), "", ""])[:3]
        if not lesion_id or dx not in names or not images.isdigit() or int(images) < 1:
            raise ValueError(f"line {number}: expected lesion_id<TAB>dx<TAB>images with dx one of {names}: {line!r}")
        found[lesion_id] = (dx, int(images))
    return found


def shipped_lesion_table(release: str | Release) -> dict[str, tuple[str, int]]:
    """{lesion_id: (dx, images)}: the universe of a release split by lesion (HAM10000), {} for every other."""
    return dict(_shipped_lesion_table(get_release(release).name))


@functools.cache
def _shipped_lesion_table(name: str) -> tuple[tuple[str, tuple[str, int]], ...]:
    release = get_release(name)
    if release.split_rule != SPLIT_BY_LESION_HASH:  # only HAM10000 ships a table; IMA++ goes by the hash alone
        return ()
    resource = importlib.resources.files(IDS_PACKAGE).joinpath(*DIAGNOSES_FOLDER, lesion_table_file(release))
    return tuple(parse_lesion_table(resource.read_text(encoding="utf-8"), release.diagnosis_names).items())


@functools.cache
def _dealt(name: str) -> Mapping[str, str]:
    release = get_release(name)
    return deal_lesions(shipped_lesion_table(release), release.split_bounds)


def release_lesion_split(release: str | Release, lesion_id: str) -> str:
    """The split of a lesion: its dealt split when it is in the shipped universe (rule 2), else the hash rule."""
    release = get_release(release)
    dealt = _dealt(release.name).get(lesion_id)
    return lesion_split(lesion_id, release.split_bounds) if dealt is None else dealt


def split_diagnosis_counts(release: str | Release) -> dict[str, dict[str, int]]:
    """{split: {dx: images}} of the shipped universe under rule 2, splits and dx in the release's order."""
    release = get_release(release)
    counts = {split: dict.fromkeys(release.diagnosis_names, 0) for split in release.split_names}
    dealt = _dealt(release.name)
    for lesion_id, (dx, images) in shipped_lesion_table(release).items():
        counts[dealt[lesion_id]][dx] += images
    return counts


__all__ = [
    "LESION_TABLE_HEADER",
    "SPLIT_BUCKETS",
    "SPLIT_SALT",
    "bucket_splits",
    "deal_lesions",
    "fraction_split",
    "lesion_fraction",
    "lesion_split",
    "lesion_table",
    "lesion_table_file",
    "lesion_table_tsv",
    "parse_lesion_table",
    "release_lesion_split",
    "shipped_lesion_table",
    "split_diagnosis_counts",
]
