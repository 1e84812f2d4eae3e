"""Benchmark inputs: the real ISIC sample repeated under new ids, so timings cover a few hundred pairs."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from skin_cancer.releases import ISIC2017, Release

SPLITS = ISIC2017.splits
MASK_SUFFIX = ISIC2017.mask_suffix


DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "isic-2017-mini" / "ISIC-2017"


def repeated_tree(source: Path, destination: Path, repeats: int, release: Release = ISIC2017) -> Path:
    """Symlink every pair of an ISIC-2017 tree `repeats` times as ISIC_<rr><last 5 digits>, in the layout of
    `release` (a split the release lacks goes to its first split), with matching label rows for ISIC-2017."""
    if destination.exists():
        shutil.rmtree(destination)
    rows: dict[str, list[dict]] = {}
    for split in SPLITS:
        target = release.splits_by_name.get(split.name, release.splits[0])
        data_out, mask_out = destination / target.data_folder, destination / target.mask_folder
        data_out.mkdir(parents=True, exist_ok=True)
        mask_out.mkdir(parents=True, exist_ok=True)
        with open(source / split.labels_csv, newline="") as file:
            labels = {row["image_id"]: row for row in csv.DictReader(file)}
        for image in sorted((source / split.data_folder).glob("*.jpg")):
            original = image.stem
            for repeat in range(repeats):
                new_id = f"ISIC_{repeat:02d}{original[-5:]}"
                os.symlink(image.resolve(), data_out / f"{new_id}.jpg")
                mask = source / split.mask_folder / f"{original}{MASK_SUFFIX}"
                os.symlink(mask.resolve(), mask_out / release.mask_name(new_id))
                rows.setdefault(target.name, []).append({**labels[original], "image_id": new_id})
    if release.name == ISIC2017.name:
        for split in SPLITS:
            with open(destination / split.labels_csv, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=["image_id", "melanoma", "seborrheic_keratosis"])
                writer.writeheader()
                writer.writerows(rows.get(split.name, []))
    return destination


def pair_paths(tree: Path, release: Release = ISIC2017) -> list[tuple[str, Path, Path]]:
    """(split name, image path, mask path) for every pair of a tree in the release's layout."""
    return [
        (split.name, image, tree / split.mask_folder / release.mask_name(image.stem))
        for split in release.splits
        for image in sorted((tree / split.data_folder).glob("*.jpg"))
    ]
