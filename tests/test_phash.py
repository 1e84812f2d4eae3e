"""The perceptual hash: equal to `imagehash.phash` (the outside reference), and the same for every build."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skin_cancer.dataset.phash import hamming, hamming_matrix, hash_values, phash
from skin_cancer.dataset.transforms import hash_decode_request, prepare_image, source_phash

from .conftest import SHARED, _require

imagehash = pytest.importorskip("imagehash")

# The 47 real dermoscopy JPEGs of ../shared: 14 ISIC-2017, 17 ISIC 2018 validation/test, 16 HAM10000.
REAL_FOLDERS = ("isic-2017-mini", "isic2018-images", "ham10000-mini")
REAL_COUNT = 47


def real_images() -> dict[str, bytes]:
    folders = [_require(SHARED / folder) for folder in REAL_FOLDERS]
    paths = sorted(path for folder in folders for path in folder.rglob("ISIC_*.jpg"))
    assert len(paths) == REAL_COUNT, [path.name for path in paths]
    return {path.stem: path.read_bytes() for path in paths}


@pytest.fixture(scope="module")
def real() -> dict[str, bytes]:
    return real_images()


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_matches_imagehash_on_every_real_image(real):
    for name, data in real.items():
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", hash_decode_request(image.size))
            image.load()
            assert phash(image) == str(imagehash.phash(image)), name
    # And at full resolution, where the Lanczos reduction starts from far more pixels.
    for name in list(real)[:3]:
        with Image.open(io.BytesIO(real[name])) as image:
            assert phash(image) == str(imagehash.phash(image)), name


@pytest.mark.parametrize("seed", range(20))
def test_matches_imagehash_on_varied_synthetic_images(seed):
    rng = np.random.default_rng(seed)
    height, width = (int(value) for value in rng.integers(8, 300, size=2))
    kind = seed % 4
    if kind == 0:  # noise
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    elif kind == 1:  # a smooth blob, as a lesion on skin
        y, x = np.mgrid[0:height, 0:width]
        blob = 255 * np.exp(
            -(((x - width * rng.random()) / width) ** 2 + ((y - height * rng.random()) / height) ** 2) * 8
        )
        image = Image.fromarray(blob.astype(np.uint8), mode="L")
    elif kind == 2:  # palette and alpha modes go through convert("L") like imagehash's
        image = Image.fromarray(rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8), mode="RGBA")
    else:
        image = Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)).convert("P")
    assert phash(image) == str(imagehash.phash(image))


def test_hash_is_sixteen_hex_digits_with_thirty_two_bits_set(real):
    for data in list(real.values())[:5]:
        value = source_phash(data)
        assert len(value) == 16 and int(value, 16) >= 0
        assert bin(int(value, 16)).count("1") == 32  # above the median of 64 distinct coefficients


def test_same_hash_for_every_size_and_resize_mode(real):
    """A 512 and a 256 build, padded, cropped or stretched, store the same hash: that of one fixed decode.

    Hashing each build's own decode instead (the DCT scale follows size and mode) gives different hashes for
    10 of these 47 images (measured), so this fails if the hash follows the build's decode."""
    configurations = [(512, "pad"), (256, "pad"), (512, "center_crop"), (256, "center_crop"), (384, "stretch")]
    for name, data in real.items():
        expected = source_phash(data)
        for size, mode in configurations:
            assert prepare_image(data, size, mode, "jpeg")[2] == expected, (name, size, mode)


def test_hash_is_of_the_displayed_image(real):
    """An EXIF-rotated copy (pixels stored turned, orientation 6) hashes like the upright picture."""
    with Image.open(io.BytesIO(real["ISIC_0012576"])) as image:
        upright = image.convert("RGB").reduce(2)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    upright_png, stored_png = io.BytesIO(), io.BytesIO()
    upright.save(upright_png, format="PNG")
    stored.save(stored_png, format="PNG", exif=exif)
    assert source_phash(stored_png.getvalue()) == source_phash(upright_png.getvalue())
    assert source_phash(stored_png.getvalue()) == phash(upright)
    assert prepare_image(stored_png.getvalue(), 128, "pad", "png")[2] == phash(upright)


def test_hamming_helpers_agree():
    rng = np.random.default_rng(1)
    texts = [f"{int(value):016x}" for value in rng.integers(0, 2**63, size=30)] + ["ffffffffffffffff", "0" * 16]
    values = hash_values(texts)
    matrix = hamming_matrix(values, values)
    assert matrix.shape == (32, 32)
    for row, first in enumerate(texts):
        for column, second in enumerate(texts):
            assert matrix[row, column] == hamming(first, second) == bin(int(first, 16) ^ int(second, 16)).count("1")
    assert hamming("ffffffffffffffff", "0" * 16) == 64


@pytest.mark.parametrize("bad", ["abc", "g" * 16, "0" * 17, None])
def test_hash_values_refuses_what_is_not_a_hash(bad):
    with pytest.raises(ValueError, match="64-bit hash of 16 hex digits"):
        hash_values(["0" * 16, bad])


def test_real_build_stores_the_source_hash(real_dataset, real_sample: Path):
    for split in real_dataset:
        for image_id, stored in zip(real_dataset[split]["image_id"], real_dataset[split]["phash"], strict=True):
            source = next(real_sample.glob(f"*_Data/{image_id}.jpg"))
            assert stored == source_phash(source.read_bytes()), image_id
