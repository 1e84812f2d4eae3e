"""Dividing a release without official splits (HAM10000) into train/valid/test by lesion.

The rule, so that a paper can cite it: take the SHA-256 of the lesion id (UTF-8, e.g. `HAM_0000118`), read
its first 16 hex digits as an integer and divide by 2**64, giving a fraction u in [0, 1); the lesion goes to
the first split whose bound exceeds u (HAM10000: train below 0.70, valid below 0.80, test otherwise). Every
image of a lesion therefore lands in one split, a lesion's split depends on its id alone (the same whatever
subset of the data is present), and, since every lesion has one diagnosis, the proportions hold within each
diagnosis in expectation (stratified by diagnosis without depending on which lesions are present).
"""

from __future__ import annotations

import hashlib


def lesion_fraction(lesion_id: str) -> float:
    """u in [0, 1): the first 64 bits of sha256(lesion_id) over 2**64."""
    return int(hashlib.sha256(lesion_id.encode("utf-8")).hexdigest()[:16], 16) / 2**64


def lesion_split(lesion_id: str, bounds: tuple[tuple[str, float], ...]) -> str:
    """The split of a lesion: the first (name, upper bound) of `bounds` whose bound exceeds its fraction.

    `bounds` are increasing and end at 1.0, e.g. (("train", 0.7), ("valid", 0.8), ("test", 1.0))."""
    fraction = lesion_fraction(lesion_id)
    for name, bound in bounds:
        if fraction < bound:
            return name
    return bounds[-1][0]


__all__ = ["lesion_fraction", "lesion_split"]
