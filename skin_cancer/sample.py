"""A small synthetic tree in the official ISIC-2017 layout, generated on demand.

Real ISIC data is a large manual download and cannot be shipped, so `skin-cancer build --sample`
and the tests run on this instead: official folder and file names, JPEGs of several sizes and
orientations, binary PNG masks, Part3 and metadata CSVs and the superpixel files the builder
must ignore. The same arguments always give the same bytes.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .layout import DIAGNOSIS_NAMES, MASK_SUFFIX, SPLITS_BY_NAME

SAMPLE_VERSION = "1"


@dataclass(frozen=True)
class SamplePair:
    image_id: str
    width: int
    height: int
    diagnosis: str
    age: int | None
    sex: str | None


# Landscape and portrait, odd sizes and one large image, like the real spread of 1-4K pixels.
DEFAULT_PAIRS: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9000001", 1024, 768, "nevus", 55, "female"),
        SamplePair("ISIC_9000002", 767, 1023, "melanoma", 70, "male"),
        SamplePair("ISIC_9000003", 2048, 1536, "seborrheic_keratosis", None, None),
        SamplePair("ISIC_9000004", 641, 479, "nevus", 35, "male"),
        SamplePair("ISIC_9000005", 1504, 1000, "melanoma", 60, None),
        SamplePair("ISIC_9000006", 800, 800, "nevus", 25, "female"),
    ],
    "valid": [
        SamplePair("ISIC_9000101", 1022, 767, "nevus", 45, "female"),
        SamplePair("ISIC_9000102", 900, 1200, "seborrheic_keratosis", 80, "male"),
    ],
    "test": [
        SamplePair("ISIC_9000201", 1296, 972, "melanoma", 65, "male"),
        SamplePair("ISIC_9000202", 999, 666, "nevus", None, "female"),
    ],
}


def synthetic_pair(width: int, height: int, seed: int) -> tuple[Image.Image, Image.Image]:
    """A skin-toned RGB image with a darker elliptical lesion, and its {0, 255} mask."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    centre_x = width * rng.uniform(0.35, 0.65)
    centre_y = height * rng.uniform(0.35, 0.65)
    radius_x = width * rng.uniform(0.12, 0.3)
    radius_y = height * rng.uniform(0.12, 0.3)
    inside = ((xs - centre_x) / radius_x) ** 2 + ((ys - centre_y) / radius_y) ** 2 <= 1.0
    skin = np.array([214, 170, 150], dtype=np.float32) + rng.normal(0, 6, size=3)
    lesion = np.array([110, 70, 55], dtype=np.float32) + rng.normal(0, 6, size=3)
    shading = (0.85 + 0.15 * np.cos(xs / width * np.pi - 0.5))[..., None]
    pixels = np.where(inside[..., None], lesion, skin) * shading
    pixels += rng.normal(0, 4, size=pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    mask = Image.fromarray(np.where(inside, 255, 0).astype(np.uint8), mode="L")
    return image, mask


def jpeg_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, **options)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_sample_tree(root: str | os.PathLike[str], pairs: dict[str, list[SamplePair]] | None = None) -> Path:
    """Write an ISIC-2017-shaped tree under root/ISIC-2017 and return that folder."""
    pairs = DEFAULT_PAIRS if pairs is None else pairs
    top = Path(root) / "ISIC-2017"
    for split_name, split_pairs in pairs.items():
        split = SPLITS_BY_NAME[split_name]
        data_folder, mask_folder = top / split.data_folder, top / split.mask_folder
        data_folder.mkdir(parents=True, exist_ok=True)
        mask_folder.mkdir(parents=True, exist_ok=True)
        for number, pair in enumerate(split_pairs):
            image, mask = synthetic_pair(pair.width, pair.height, seed=int(pair.image_id[-7:]))
            (data_folder / f"{pair.image_id}.jpg").write_bytes(jpeg_bytes(image))
            (mask_folder / f"{pair.image_id}{MASK_SUFFIX}").write_bytes(png_bytes(mask))
            superpixels = Image.new("RGB", (pair.width, pair.height), (number, 0, 0))
            (data_folder / f"{pair.image_id}_superpixels.png").write_bytes(png_bytes(superpixels))
        write_labels_csv(top / split.labels_csv, split_pairs)
        write_metadata_csv(data_folder / split.metadata_csv, split_pairs)
    return top


def write_labels_csv(path: Path, pairs: list[SamplePair]) -> None:
    """Part3 ground truth as ISIC wrote it: Windows line endings, flags as 0.0 / 1.0."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(["image_id", "melanoma", "seborrheic_keratosis"])
        for pair in pairs:
            if pair.diagnosis not in DIAGNOSIS_NAMES:
                raise ValueError(f"{pair.image_id}: unknown diagnosis {pair.diagnosis!r}")
            melanoma = float(pair.diagnosis == "melanoma")
            keratosis = float(pair.diagnosis == "seborrheic_keratosis")
            writer.writerow([pair.image_id, melanoma, keratosis])


def write_metadata_csv(path: Path, pairs: list[SamplePair]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image_id", "age_approximate", "sex"])
        for pair in pairs:
            age = "unknown" if pair.age is None else pair.age
            writer.writerow([pair.image_id, age, pair.sex or "unknown"])


def default_sample_dir() -> Path:
    """Where `--sample` keeps its tree: beside the `datasets` cache, versioned."""
    from datasets import config

    return Path(config.HF_DATASETS_CACHE).parent / "skin_cancer_sample" / f"v{SAMPLE_VERSION}"


def ensure_sample_tree(root: str | os.PathLike[str] | None = None) -> Path:
    """The built-in sample's ISIC-2017 folder, written once and then reused."""
    root = Path(root) if root is not None else default_sample_dir()
    done = root / ".complete"
    top = root / "ISIC-2017"
    if not done.exists():
        write_sample_tree(root)
        done.write_text("ok\n")
    return top
