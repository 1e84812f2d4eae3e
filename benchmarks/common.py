"""Benchmark inputs: the real ISIC sample repeated under new ids, so timings cover a few hundred pairs."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from skin_cancer.releases import ISIC2017

SPLITS = ISIC2017.splits
MASK_SUFFIX = ISIC2017.mask_suffix


DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "isic-2017-mini" / "ISIC-2017"


def repeated_tree(source: Path, destination: Path, repeats: int) -> Path:
    """Symlink every pair `repeats` times as ISIC_<rr><last 5 digits>, with matching CSV rows."""
    if destination.exists():
        shutil.rmtree(destination)
    for split in SPLITS:
        data_out, mask_out = destination / split.data_folder, destination / split.mask_folder
        data_out.mkdir(parents=True)
        mask_out.mkdir(parents=True)
        with open(source / split.labels_csv, newline="") as file:
            labels = {row["image_id"]: row for row in csv.DictReader(file)}
        rows = []
        for image in sorted((source / split.data_folder).glob("*.jpg")):
            original = image.stem
            for repeat in range(repeats):
                new_id = f"ISIC_{repeat:02d}{original[-5:]}"
                os.symlink(image.resolve(), data_out / f"{new_id}.jpg")
                mask = source / split.mask_folder / f"{original}{MASK_SUFFIX}"
                os.symlink(mask.resolve(), mask_out / f"{new_id}{MASK_SUFFIX}")
                rows.append({**labels[original], "image_id": new_id})
        with open(destination / split.labels_csv, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["image_id", "melanoma", "seborrheic_keratosis"])
            writer.writeheader()
            writer.writerows(rows)
    return destination


def pair_paths(tree: Path) -> list[tuple[str, Path, Path]]:
    """(split name, image path, mask path) for every pair of an ISIC tree."""
    return [
        (split.name, image, tree / split.mask_folder / f"{image.stem}{MASK_SUFFIX}")
        for split in SPLITS
        for image in sorted((tree / split.data_folder).glob("*.jpg"))
    ]
