"""The official splits and the five folds of a release as files: id lists, nnU-Net's splits_final.json, JSON.

No data is needed: the splits come from the shipped id lists (skin_cancer/data/ids/) and the folds from
dataset/folds.py over the shipped archive facts and diagnoses. The output folder is written aside and
swapped in by `outputs.replacing` (marker, --overwrite), like an export.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..dataset.folds import FOLDS, SALT, TRAINING_SPLIT, fold_facts, group_key, release_folds
from ..dataset.overlap import read_id_list
from ..errors import UsageError
from ..options import SPLIT_FORMATS
from ..releases import Release, get_release
from .outputs import replacing, written_files

NNUNET_SPLITS_FILE = "splits_final.json"
JSON_FILE = "splits.json"
# The official validation split, where a release has one, is nnU-Net's sixth fold choice (fold 5).
VALIDATION_SPLIT = "valid"


def official_splits(release: str | Release) -> dict[str, list[str]]:
    """{split: sorted ids} of every split whose id list is shipped, in the release's split order."""
    release = get_release(release)
    return {split.name: sorted(read_id_list(split.ids_file)) for split in release.splits if split.ids_file}


def fold_lists(folds: Mapping[str, int], buckets: int = FOLDS) -> list[list[str]]:
    """[sorted ids of fold 0, ..., of fold buckets-1] from {image_id: fold}."""
    lists: list[list[str]] = [[] for _ in range(buckets)]
    for image_id, fold in folds.items():
        lists[fold].append(image_id)
    return [sorted(ids) for ids in lists]


def nnunet_splits(folds: Mapping[str, int], valid_ids: Sequence[str] = (), buckets: int = FOLDS) -> list[dict]:
    """nnU-Net v2's splits_final.json: [{"train": [...], "val": [...]}, ...], sorted ids.

    Entries 0..buckets-1 are the cross-validation folds of the training split (fold k validates on the
    images of fold k and trains on the others; the official validation images are in none of them). When
    `valid_ids` is given, one more entry (fold 5) trains on the whole training split and validates on the
    official validation split: the challenge's own protocol, `nnUNetv2_train ID 2d 5`.
    """
    lists = fold_lists(folds, buckets)
    train = sorted(folds)
    entries = [{"train": [i for i in train if folds[i] != k], "val": lists[k]} for k in range(buckets)]
    if valid_ids:
        entries.append({"train": train, "val": sorted(valid_ids)})
    return entries


def splits_record(release: str | Release) -> dict:
    """Everything `--format json` writes: the official splits, the folds and each training image's group."""
    release = get_release(release)
    splits = official_splits(release)
    folds = release_folds(release).folds_of(splits.get(TRAINING_SPLIT, []))
    return {
        "release": release.name,
        "folds": {"count": FOLDS, "split": TRAINING_SPLIT, "salt": SALT, "rule": "README.md, section Folds"},
        "splits": splits,
        "fold_ids": fold_lists(folds),
        "groups": {i: group_key(i, fold_facts(release, i)) for i in splits.get(TRAINING_SPLIT, [])},
    }


def write_splits(release: str | Release, split_format: str, root: Path) -> None:
    """Write one format into the (empty) folder `root`; see `SPLIT_FORMATS` and the README."""
    record = splits_record(release)
    splits, fold_ids = record["splits"], record["fold_ids"]
    folds = {image_id: k for k, ids in enumerate(fold_ids) for image_id in ids}
    if split_format == "ids":
        for name, ids in splits.items():
            (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids))
        for k, ids in enumerate(fold_ids):
            (root / f"{TRAINING_SPLIT}-fold{k}.txt").write_text("".join(f"{i}\n" for i in ids))
    elif split_format == "nnunet":
        entries = nnunet_splits(folds, splits.get(VALIDATION_SPLIT, ()))
        (root / NNUNET_SPLITS_FILE).write_text(json.dumps(entries, indent=1) + "\n")
    elif split_format == "json":
        (root / JSON_FILE).write_text(json.dumps(record, indent=1) + "\n")
    else:
        raise UsageError(f"--format must be one of {', '.join(SPLIT_FORMATS)}, not {split_format!r}")


def splits(release: str | Release, split_format: str, output: Path, overwrite: bool = False) -> list[Path]:
    """Write the splits of `release` in `split_format` to `output`; return the files written (relative).

    Only an earlier output of this tool is ever replaced, and only with `overwrite` (outputs.check_output).
    """
    if split_format not in SPLIT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(SPLIT_FORMATS)}, not {split_format!r}")
    release = get_release(release)
    if TRAINING_SPLIT not in release.split_names:
        raise UsageError(
            f"{release.name} has no {TRAINING_SPLIT} split (only {', '.join(release.split_names)}): "
            "it has no folds and no official split lists to write"
        )
    if not release.split(TRAINING_SPLIT).ids_file:
        raise UsageError(
            f"{release.name}'s splits and folds are made at build time from the patient and lesion ids of your "
            "metadata.csv, so there is no shipped list to write: build it and read the split and `fold` columns"
        )
    with replacing(output, "splits", overwrite) as scratch:
        write_splits(release, split_format, scratch)
    return [Path(name) for name in written_files(output.expanduser().resolve())]


__all__ = [
    "JSON_FILE",
    "NNUNET_SPLITS_FILE",
    "VALIDATION_SPLIT",
    "fold_lists",
    "nnunet_splits",
    "official_splits",
    "splits",
    "splits_record",
    "write_splits",
]
