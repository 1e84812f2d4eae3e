"""Export a prepared build as image/mask folders (the seed's layout) or as Parquet shards.

Both are written aside and swapped in at the end by `outputs.replacing`, so an interrupted export
never leaves a half-written destination and never deletes anything but an earlier export. Image and
mask bytes are copied as the builder encoded them: nothing is decoded or re-encoded.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import datasets
import numpy as np
from PIL import Image

from ..dataset.compat import convert_file_size_to_int, tqdm
from ..errors import UsageError
from ..options import DEFAULT_MAX_SHARD_SIZE, DEFAULT_NNUNET_DATASET_ID, EXPORT_FORMATS
from ..schema import folder_export_columns
from .outputs import interruption_point, replacing, require_free_space, written_files
from .pipeline import Build, split_num_bytes

# Parquet of already-encoded images is about the size of the Arrow data; this covers its metadata.
SPACE_MARGIN = 16 * 2**20
METADATA_FILE = "metadata.jsonl"
METADATA_COLUMNS = folder_export_columns()


def export(
    build: Build,
    output: Path,
    export_format: str = "folders",
    overwrite: bool = False,
    dataset_id: int = DEFAULT_NNUNET_DATASET_ID,
) -> list[Path]:
    """Write the build to `output`; return the files written (relative to `output`).

    Only an earlier output of this tool is ever replaced (see `outputs`), and only with `overwrite`.
    `dataset_id` is the nnU-Net dataset number (format "nnunet" only).
    """
    writers: dict[str, Callable[[Build, Path], None]] = {
        "folders": write_folders,
        "parquet": write_parquet,
        "nnunet": lambda build, root: write_nnunet(build, root, dataset_id),
    }
    if export_format == "nnunet":
        nnunet_dataset_name(build.release.name, dataset_id)  # a bad number is refused before anything is written
        check_nnunet_release(build.release.name, build.release.split_names)
    if export_format not in writers:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {export_format!r}")
    with replacing(output, "export", overwrite, build.protected_folders) as scratch:
        writers[export_format](build, scratch)
    return [Path(name) for name in written_files(output.expanduser().resolve())]


def write_folders(build: Build, root: Path) -> None:
    """OUT/<split>/{images,masks}/ plus OUT/<split>/metadata.jsonl that `imagefolder` understands."""
    image_suffix = ".jpg" if build.options.image_format == "jpeg" else ".png"
    for split, dataset in build.dataset.items():
        (root / split / "images").mkdir(parents=True)
        (root / split / "masks").mkdir()
        names = dataset.features["diagnosis"].names
        raw = _undecoded(dataset)
        with open(root / split / METADATA_FILE, "w") as metadata:
            for row in tqdm(raw, desc=f"Exporting {split}", unit=" pairs"):
                interruption_point()
                image_name = f"images/{row['image_id']}{image_suffix}"
                mask_name = f"masks/{row['image_id']}.png"
                (root / split / image_name).write_bytes(row["image"]["bytes"])
                (root / split / mask_name).write_bytes(row["mask"]["bytes"])
                record = {"image_file_name": image_name, "mask_file_name": mask_name}
                record.update({column: row[column] for column in METADATA_COLUMNS})
                record["diagnosis"] = None if row["diagnosis"] is None else names[row["diagnosis"]]
                metadata.write(json.dumps(record) + "\n")


def write_parquet(build: Build, root: Path, max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE) -> None:
    for split in build.dataset:
        write_split_shards(build, split, root, max_shard_size)


def write_split_shards(
    build: Build, split: str, root: Path, max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE, folder: str = "data"
) -> list[str]:
    """<folder>/<split>-XXXXX-of-YYYYY.parquet with the bytes embedded and the features in the schema.

    Every row group holds at most `ROWS_PER_ROW_GROUP` rows (we choose, not the installed `datasets`), and a
    split of at least `MIN_SHARDS` * `ROWS_PER_ROW_GROUP` rows is at least `MIN_SHARDS` shards, each at most
    `max_shard_size` (the larger count of the two rules wins).
    """
    from ..options import MIN_SHARDS, ROWS_PER_ROW_GROUP

    dataset = build.dataset[split]
    limit = convert_file_size_to_int(max_shard_size)
    num_bytes = split_num_bytes(dataset)
    by_size = math.ceil(num_bytes / limit)
    by_workers = min(MIN_SHARDS, len(dataset) // ROWS_PER_ROW_GROUP)
    shards = min(max(1, by_size, by_workers), max(1, len(dataset)))
    (root / folder).mkdir(parents=True, exist_ok=True)
    paths = []
    shard_bytes = num_bytes // shards
    for index in range(shards):
        interruption_point()
        require_free_space(root, shard_bytes + SPACE_MARGIN, root)
        relative = f"{folder}/{split}-{index:05d}-of-{shards:05d}.parquet"
        # batch_size: `datasets` writes one row group per batch, in every version from 4.0 on.
        shard = dataset.shard(num_shards=shards, index=index, contiguous=True)
        shard.to_parquet(str(root / relative), batch_size=ROWS_PER_ROW_GROUP)
        paths.append(relative)
    return paths


# nnU-Net v2's layout for natural 2D images (its own Dataset120_RoadSegmentation conversion does the same): one
# RGB PNG per case named <case>_0000.png, read as three channels R, G, B by its NaturalImage2DIO; labels as
# single-channel PNGs of class indices (a palette PNG would be read as RGB and refused).
NNUNET_CHANNELS = {"0": "R", "1": "G", "2": "B"}
NNUNET_LABELS = {"background": 0, "lesion": 1}
NNUNET_TRAINING_SPLITS = ("train", "valid")  # imagesTr/labelsTr; the valid split is fold 5 of splits_final.json
NNUNET_TEST_SPLIT = "test"  # imagesTs/labelsTs


def nnunet_dataset_name(release: str, dataset_id: int) -> str:
    """`Dataset500_ISIC2017`: nnU-Net's `DatasetXXX_Name` with three digits; UsageError outside 1..999."""
    if not isinstance(dataset_id, int) or not 1 <= dataset_id <= 999:
        raise UsageError(f"--dataset-id must be a number from 1 to 999 (nnU-Net's DatasetXXX), not {dataset_id!r}")
    return f"Dataset{dataset_id:03d}_{release.upper()}"


def check_nnunet_release(release: str, split_names: tuple[str, ...] | list[str]) -> None:
    """UsageError for a release without a training split (PH2: test only): nnU-Net trains on imagesTr and its
    folds come from the train split, so such an export would be an empty training set and five empty folds."""
    if "train" not in split_names:
        raise UsageError(
            f"--format nnunet: {release} has no train split (only {', '.join(split_names)}), so nnU-Net would "
            "have nothing to train on and no folds: export it with --format folders or parquet"
        )


def empty_nnunet_folds(entries: list[dict]) -> list[int]:
    """The folds of splits_final.json (`tools/splits.nnunet_splits`) whose train or val list is empty:
    nnU-Net fails training such a fold (a partial build with few training images leaves some empty)."""
    return [index for index, entry in enumerate(entries) if not entry["train"] or not entry["val"]]


def write_nnunet(build: Build, root: Path, dataset_id: int = DEFAULT_NNUNET_DATASET_ID) -> None:
    """<root>/DatasetXXX_<RELEASE>/ for nnU-Net v2: imagesTr/<id>_0000.png (RGB), labelsTr/<id>.png (L, {0, 1}),
    imagesTs/labelsTs for the test split, dataset.json and splits_final.json (tools/splits.nnunet_splits: the
    five folds of the `fold` column, then the official valid split as fold 5)."""
    from .splits import nnunet_splits

    folder = root / nnunet_dataset_name(build.release.name, dataset_id)
    training = 0
    for split in build.dataset:
        if split in NNUNET_TRAINING_SPLITS:
            images, labels = folder / "imagesTr", folder / "labelsTr"
        elif split == NNUNET_TEST_SPLIT:
            images, labels = folder / "imagesTs", folder / "labelsTs"
        else:
            continue
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        raw = _undecoded(build.dataset[split]).select_columns(["image_id", "image", "mask"])
        for row in tqdm(raw, desc=f"Exporting {split} for nnU-Net", unit=" pairs"):
            interruption_point()
            image, label = nnunet_case(row["image"]["bytes"], row["mask"]["bytes"])
            (images / f"{row['image_id']}_0000.png").write_bytes(image)
            (labels / f"{row['image_id']}.png").write_bytes(label)
        training += len(raw) if split in NNUNET_TRAINING_SPLITS else 0
    (folder / "imagesTr").mkdir(parents=True, exist_ok=True)  # nnU-Net's integrity check wants both folders
    (folder / "labelsTr").mkdir(parents=True, exist_ok=True)
    description = {
        "name": build.release.pretty_name,
        "channel_names": NNUNET_CHANNELS,
        "labels": NNUNET_LABELS,
        "numTraining": training,
        "file_ending": ".png",
        "licence": build.release.license,
        "reference": build.release.homepage,
        "converted_by": "skin-cancer export --format nnunet",
    }
    (folder / "dataset.json").write_text(json.dumps(description, indent=1) + "\n")
    folds = {}
    if "train" in build.dataset:
        rows = build.dataset["train"].select_columns(["image_id", "fold"])
        folds = dict(zip(rows["image_id"], rows["fold"], strict=True))
    valid = list(build.dataset["valid"]["image_id"]) if "valid" in build.dataset else []
    entries = nnunet_splits(folds, valid)
    (folder / "splits_final.json").write_text(json.dumps(entries, indent=1) + "\n")
    empty = empty_nnunet_folds(entries)
    if empty:
        warnings.warn(
            f"{folder.name}/splits_final.json: fold{'s' if len(empty) > 1 else ''} {', '.join(map(str, empty))} "
            f"of {len(entries)} {'have' if len(empty) > 1 else 'has'} no training or no validation image (this "
            f"build holds {len(folds)} training images): nnU-Net fails training such a fold; train the others",
            stacklevel=3,
        )


def nnunet_case(image_bytes: bytes, mask_bytes: bytes) -> tuple[bytes, bytes]:
    """(RGB PNG, single-channel 8-bit PNG of {0, 1}) from the builder's encoded image and palette mask.

    The palette mask's indices are its classes (0 background, 1 lesion), written as they are; ValueError for
    a value above 1, which the builder never writes."""
    with Image.open(io.BytesIO(image_bytes)) as opened:
        image = opened.convert("RGB")
    with Image.open(io.BytesIO(mask_bytes)) as opened:
        indices = np.asarray(opened if opened.mode in ("P", "L") else opened.convert("L"))
    if indices.max(initial=0) > 1:
        raise ValueError(f"the mask holds the value {int(indices.max())}, not a class index 0 or 1")
    image_out, label_out = io.BytesIO(), io.BytesIO()
    image.save(image_out, format="PNG")
    Image.fromarray(indices.astype(np.uint8)).save(label_out, format="PNG")
    return image_out.getvalue(), label_out.getvalue()


def _undecoded(dataset: datasets.Dataset) -> datasets.Dataset:
    return dataset.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))


__all__ = [
    "METADATA_COLUMNS",
    "check_nnunet_release",
    "empty_nnunet_folds",
    "export",
    "nnunet_dataset_name",
    "split_num_bytes",  # defined in tools.pipeline; the shards' size in bytes is part of what an export reports
    "write_split_shards",
]
