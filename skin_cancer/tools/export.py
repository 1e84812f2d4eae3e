"""Export a prepared build as image/mask folders (the seed's layout) or as Parquet shards.

Both are written aside and swapped in at the end by `outputs.replacing`, so an interrupted export
never leaves a half-written destination and never deletes anything but an earlier export. Image and
mask bytes are copied as the builder encoded them: nothing is decoded or re-encoded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import datasets

from ..dataset.compat import convert_file_size_to_int, tqdm
from ..errors import UsageError
from ..options import DEFAULT_MAX_SHARD_SIZE, EXPORT_FORMATS
from ..schema import folder_export_columns
from .outputs import interruption_point, replacing, require_free_space, written_files
from .pipeline import Build, split_num_bytes

# Parquet of already-encoded images is about the size of the Arrow data; this covers its metadata.
SPACE_MARGIN = 16 * 2**20
METADATA_FILE = "metadata.jsonl"
METADATA_COLUMNS = folder_export_columns()


def export(build: Build, output: Path, export_format: str = "folders", overwrite: bool = False) -> list[Path]:
    """Write the build to `output`; return the files written (relative to `output`).

    Only an earlier output of this tool is ever replaced (see `outputs`), and only with `overwrite`.
    """
    writers: dict[str, Callable[[Build, Path], None]] = {"folders": write_folders, "parquet": write_parquet}
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


def _undecoded(dataset: datasets.Dataset) -> datasets.Dataset:
    return dataset.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))


__all__ = [
    "METADATA_COLUMNS",
    "export",
    "split_num_bytes",  # defined in tools.pipeline; the shards' size in bytes is part of what an export reports
    "write_split_shards",
]
