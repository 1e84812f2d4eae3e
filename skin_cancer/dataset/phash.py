"""Perceptual hash of an image: the DCT "pHash", 64 bits written as 16 hex digits, as `imagehash.phash` gives it.

The rule (C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash Functions", 2010; N. Krawetz,
"Looks Like It", hackerfactor.com, 2011), step for step as ImageHash 4.3 (`imagehash.phash`, hash_size 8,
highfreq_factor 4) computes it, so that a hash written here can be compared with one computed elsewhere:
Pillow's greyscale (ITU-R 601-2 luma), resized to 32 x 32 with Lanczos, 2-D DCT-II, the 8 x 8 lowest
frequencies (DC included), one bit per coefficient: 1 when it is above their median; bits row by row (vertical
frequency first), the first bit the most significant. tests/test_phash.py checks equality with `imagehash`.

Why not `imagehash` itself: it needs SciPy and PyWavelets, two large compiled packages, for what is here a
32 x 32 matrix product; the core install stays at datasets, numpy and Pillow. ImageHash is the outside reference
in the dev extra instead.

The hash depends on which pixels it is given: the same photograph decoded at two of libjpeg's DCT scales can
differ in up to 4 bits. The builder therefore always hashes one fixed decode of the source (HASH_DECODE_SIDE);
see transforms.source_phash.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_BITS = 64
_LOW = 8  # hash_size: the 8 x 8 lowest frequencies
_SIDE = 32  # hash_size * highfreq_factor: the greyscale image the DCT is taken of

# The source is hashed decoded at the DCT scale that covers this many pixels along its longer side, whatever the
# build's size and resize mode: a fixed function of the source, so every build hashes the same pixels. 512 is the
# default build's side, whose own decode (pad) is that very one, so the default build decodes each image once.
HASH_DECODE_SIDE = 512


def _dct_rows(count: int, side: int) -> np.ndarray:
    """The first `count` rows of the unnormalised DCT-II matrix of size `side`, as scipy.fftpack.dct (type 2)
    defines it: y[k] = 2 * sum_n x[n] * cos(pi * k * (2n + 1) / (2 * side))."""
    k = np.arange(count, dtype=np.float64)[:, None]
    n = np.arange(side, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * side))


_DCT = _dct_rows(_LOW, _SIDE)
# Coefficients are at most 2 * 2 * 32 * 32 * 255 (about 1e6), computed to about 1e-10; rounded to 1e-6, a
# matrix library that sums in another order cannot move a bit, and a flat image's AC terms are exactly 0.
_DECIMALS = 6


def phash(image: Image.Image) -> str:
    """The 64-bit DCT perceptual hash of `image` (any Pillow mode), as 16 lower-case hex digits.

    Equals `str(imagehash.phash(image))`. Whole frame, no crop; EXIF orientation is the caller's to apply.
    """
    grey = image.convert("L").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    low = np.round(_DCT @ pixels @ _DCT.T, _DECIMALS)  # DCT down the columns, then along the rows
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):0{HASH_BITS // 4}x}"


_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def hash_values(hashes: list[str] | tuple[str, ...]) -> np.ndarray:
    """16-hex-digit hashes as uint64, shape (n,); ValueError names the first one that is not such a hash."""
    values = np.zeros(len(hashes), dtype=np.uint64)
    for index, text in enumerate(hashes):
        if not isinstance(text, str) or len(text) != HASH_BITS // 4:
            raise ValueError(f"{text!r} is not a {HASH_BITS}-bit hash of {HASH_BITS // 4} hex digits")
        try:
            values[index] = int(text, 16)
        except ValueError:
            raise ValueError(f"{text!r} is not a {HASH_BITS}-bit hash of {HASH_BITS // 4} hex digits") from None
    return values


def hamming(first: str, second: str) -> int:
    """How many of the 64 bits differ between two hashes."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")


def hamming_matrix(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Bit differences between every uint64 of `rows` (n,) and of `columns` (m,): uint8, shape (n, m)."""
    xor = (rows[:, None] ^ columns[None, :]).astype(np.uint64)
    return _POPCOUNT[xor.view(np.uint8).reshape(*xor.shape, 8)].sum(axis=-1, dtype=np.uint8)


__all__ = [
    "HASH_DECODE_SIDE",
    "hamming",
    "hamming_matrix",
    "hash_values",
    "phash",
]
