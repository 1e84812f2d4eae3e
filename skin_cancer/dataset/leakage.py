"""Leaks between release splits at three levels, from the shipped id lists and archive facts; and
`leak_free`, which drops the leaking examples from a dataset.

Levels (the issue's definitions): an image of split S leaks into split T at the
- `image` level when T holds the same image id;
- `lesion` level when it does not share an id with T but shares a `lesion_id` with an image of T;
- `patient` level when it does not share an id with T but shares a `patient_id` or a `lesion_id` with an
  image of T (a lesion belongs to one patient, and many archive images record a lesion without a
  patient, so the patient level includes the lesion level).
Facts: the id lists in skin_cancer/data/ids/ and the ISIC Archive facts in skin_cancer/data/archive/
(each with its SOURCES.md). Where the archive records no lesion or patient, nothing is known: a zero
means "none known", which is why every report carries the archive's coverage of each split.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import UsageError
from .archive import ImageFacts, archive_facts
from .overlap import id_lists

LEVELS = ("image", "lesion", "patient")
TRAINING_SPLIT = "train"  # the split name of every release's training data; every other split is evaluation


@dataclass(frozen=True)
class SplitIdentity:
    """The image ids of one release split and the lesions and patients the archive records for them."""

    ids: frozenset[str]
    lesions: frozenset[str]
    patients: frozenset[str]


@dataclass(frozen=True)
class LeakRow:
    """One cell of the report: the images of `split` that leak into `against` at `level`."""

    split: str  # an evaluation split, "isic2017/test"
    against: str  # a training split, "isic2017/train"
    level: str  # one of LEVELS
    ids: tuple[str, ...]  # sorted

    @property
    def count(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "against": self.against,
            "level": self.level,
            "count": self.count,
            "ids": list(self.ids),
        }


@dataclass(frozen=True)
class Coverage:
    """How much of one split the archive metadata covers."""

    split: str
    images: int  # ids in the split's list
    listed: int  # ids with an archive record
    with_lesion: int  # ids whose record names a lesion
    with_patient: int  # ids whose record names a patient


def split_identity(ids: Iterable[str], facts: dict[str, ImageFacts] | None = None) -> SplitIdentity:
    facts = archive_facts() if facts is None else facts
    ids = frozenset(ids)
    records = [facts[image_id] for image_id in ids if image_id in facts]
    return SplitIdentity(
        ids,
        frozenset(record.lesion_id for record in records if record.lesion_id),
        frozenset(record.patient_id for record in records if record.patient_id),
    )


@functools.cache
def known_identity(key: str) -> SplitIdentity:
    """The identity of one shipped release split, "isic2017/train"; a UsageError for an unknown key."""
    lists = id_lists()
    if key not in lists:
        raise UsageError(f"unknown release split {key!r}: choose one of {', '.join(lists)}")
    return split_identity(lists[key])


def leak_level(image_id: str, lesion_id: str | None, patient_id: str | None, against: SplitIdentity) -> str | None:
    """The closest level at which one image leaks into `against`: "image", "lesion", "patient" or None."""
    if image_id in against.ids:
        return "image"
    if lesion_id is not None and lesion_id in against.lesions:
        return "lesion"
    if patient_id is not None and patient_id in against.patients:
        return "patient"
    return None


def leaks_at(level: str, found: str | None) -> bool:
    """Whether an image whose closest leak is `found` counts at `level` in leak_free (cumulative: `patient`
    includes `lesion`, which includes `image`)."""
    return found is not None and LEVELS.index(found) <= LEVELS.index(level)


def training_splits() -> list[str]:
    return [key for key in id_lists() if key.endswith(f"/{TRAINING_SPLIT}")]


def evaluation_splits() -> list[str]:
    return [key for key in id_lists() if not key.endswith(f"/{TRAINING_SPLIT}")]


def leak_rows(
    split: str, against: str, lists: dict[str, frozenset[str]] | None = None, facts: dict[str, ImageFacts] | None = None
) -> list[LeakRow]:
    """The three rows of one pair of splits: `image` (same id), `lesion` and `patient` (see the module)."""
    lists = id_lists() if lists is None else lists
    facts = archive_facts() if facts is None else facts
    target = split_identity(lists[against], facts)
    found: dict[str, list[str]] = {level: [] for level in LEVELS}
    for image_id in sorted(lists[split]):
        record = facts.get(image_id, ImageFacts())
        level = leak_level(image_id, record.lesion_id, record.patient_id, target)
        if level == "image":
            found["image"].append(image_id)
        elif level is not None:  # a lesion leak is also a patient-level leak (the definition)
            found["patient"].append(image_id)
            if level == "lesion":
                found["lesion"].append(image_id)
    return [LeakRow(split, against, level, tuple(found[level])) for level in LEVELS]


@functools.cache
def leak_report() -> tuple[LeakRow, ...]:
    """Every evaluation split (each release's valid and test) against every training split of every
    release, three rows each, in release-table order."""
    return tuple(
        row for split in evaluation_splits() for against in training_splits() for row in leak_rows(split, against)
    )


def coverage(
    key: str, lists: dict[str, frozenset[str]] | None = None, facts: dict[str, ImageFacts] | None = None
) -> Coverage:
    """How many ids of the split `key` ("isic2017/test", see overlap.split_key) have an ISIC Archive record, and
    how many of those name a lesion and a patient.

    `lists` defaults to the shipped id lists (overlap.id_lists) and `facts` to the shipped archive metadata
    (archive.archive_facts, from the ISIC Archive API: see data/ids/SOURCES.md). Raises KeyError for a key that
    is not in `lists`.
    """
    lists = id_lists() if lists is None else lists
    facts = archive_facts() if facts is None else facts
    records = [facts[image_id] for image_id in lists[key] if image_id in facts]
    return Coverage(
        key,
        len(lists[key]),
        len(records),
        sum(1 for record in records if record.lesion_id),
        sum(1 for record in records if record.patient_id),
    )


Data = TypeVar("Data")


def leak_free(dataset: Data, against: str | Sequence[str], level: str = "patient") -> Data:
    """The dataset without the examples that leak into `against` at `level` or closer.

    dataset: a `datasets` Dataset, IterableDataset or a dict of them (DatasetDict, IterableDatasetDict),
    with an `image_id` column; its `lesion_id` and `patient_id` columns are used where present, the
    shipped archive facts otherwise. against: a release split ("isic2017/test") or a list of them.
    level: "image" drops the examples sharing an image id, "lesion" also those sharing a lesion,
    "patient" (the default) also those sharing a patient. Raises UsageError for an unknown split or level.
    A Dataset is narrowed with `select` (no cache file is written); an iterable one is filtered lazily.
    """
    import datasets

    if level not in LEVELS:
        raise UsageError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    keys = [against] if isinstance(against, str) else list(against)
    if not keys:
        raise UsageError("give at least one release split to be leak-free against, e.g. 'isic2017/test'")
    targets = [known_identity(key) for key in keys]
    if isinstance(dataset, dict):
        return type(dataset)({name: leak_free(split, keys, level) for name, split in dataset.items()})  # type: ignore[return-value]

    def keep(image_id: str, lesion_id: str | None, patient_id: str | None) -> bool:
        if lesion_id is None and patient_id is None:
            record = archive_facts().get(image_id, ImageFacts())
            lesion_id, patient_id = record.lesion_id, record.patient_id
        return not any(leaks_at(level, leak_level(image_id, lesion_id, patient_id, target)) for target in targets)

    features = getattr(dataset, "features", None)
    columns = list(features) if features else list(getattr(dataset, "column_names", None) or [])
    if "image_id" not in columns:
        raise UsageError(f"leak_free needs an image_id column; the dataset has {', '.join(columns) or 'none'}")
    own = [column for column in ("lesion_id", "patient_id") if column in columns]

    def keep_row(row: dict[str, Any]) -> bool:
        return keep(row["image_id"], row.get("lesion_id"), row.get("patient_id"))

    if isinstance(dataset, datasets.Dataset):
        rows = dataset.select_columns(["image_id", *own])
        return dataset.select([index for index, row in enumerate(rows) if keep_row(row)])  # type: ignore[return-value]
    return dataset.filter(keep_row)  # type: ignore[attr-defined]


__all__ = [
    "LEVELS",
    "Coverage",
    "LeakRow",
    "coverage",
    "leak_free",
    "leak_report",
]
