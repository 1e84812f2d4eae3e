"""Which release splits share which images: the `also_in` column and the overlap table (counted here,
rendered as text by tools/summary.py).

Read from the id lists shipped in skin_cancer/data/ids/ (package data, found with importlib.resources),
never from the network. A split whose list is not known (none today: the ISIC 2018 validation and test
lists are shipped too) would never be reported: `also_in` would say nothing about membership in it.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

from ..releases import RELEASES, Release, get_release

IDS_PACKAGE = "skin_cancer"
IDS_FOLDER = ("data", "ids")


def split_key(release: str | Release, split: str) -> str:
    """ "isic2017/test": how `also_in` and the overlap table name a release split."""
    return f"{get_release(release).name}/{split}"


def read_id_list(file_name: str) -> list[str]:
    """One shipped id list, in file order."""
    resource = importlib.resources.files(IDS_PACKAGE).joinpath(*IDS_FOLDER, file_name)
    return [line.strip() for line in resource.read_text(encoding="utf-8").splitlines() if line.strip()]


@functools.cache
def id_lists() -> dict[str, frozenset[str]]:
    """{"isic2016/train": ids, ...} for every split whose list is known, in release-table order."""
    return {
        split_key(release, split.name): frozenset(read_id_list(split.ids_file))
        for release in RELEASES.values()
        for split in release.splits
        if split.ids_file is not None
    }


def unknown_splits() -> list[str]:
    """The release splits whose membership cannot be checked (an archive collection's own splits, IMA++'s, are
    made here and are no other release's: they are not counted)."""
    return [
        split_key(release, split.name)
        for release in RELEASES.values()
        for split in release.splits
        if split.ids_file is None and release.isic_ids and not release.archive_collection
    ]


@functools.cache
def _membership() -> dict[str, tuple[str, ...]]:
    holders: dict[str, list[str]] = {}
    for key, ids in id_lists().items():
        for image_id in ids:
            holders.setdefault(image_id, []).append(key)
    return {image_id: tuple(sorted(keys)) for image_id, keys in holders.items()}


def also_in(release: str | Release, split: str, image_id: str) -> list[str]:
    """Every other known release split holding image_id, sorted; never the split itself."""
    own = split_key(release, split)
    return [key for key in _membership().get(image_id, ()) if key != own]


@dataclass(frozen=True)
class OverlapTable:
    """How many image ids every pair of known release splits share, counted on the shipped id lists (data/ids/,
    sources in data/ids/SOURCES.md). Keys are split keys ("isic2017/test", see `split_key`).
    """

    splits: list[str]  # the known release splits, in release-table order
    sizes: dict[str, int]  # ids in each list
    shared: dict[tuple[str, str], int]  # ids two different splits share; symmetric

    def count(self, first: str, second: str) -> int:
        """Shared ids; a split with itself gives its size."""
        return self.sizes[first] if first == second else self.shared[(first, second)]


@functools.cache
def overlap_table() -> OverlapTable:
    """How many ids every pair of known release splits share, counted on the shipped lists."""
    lists = id_lists()
    keys = list(lists)
    shared = {
        (first, second): len(lists[first] & lists[second]) for first in keys for second in keys if first != second
    }
    return OverlapTable(keys, {key: len(ids) for key, ids in lists.items()}, shared)


def split_overlaps(release: str | Release) -> dict[str, dict[str, int] | None]:
    """{split: {other release split: shared ids}} for one release's card; None where the list is unknown."""
    release = get_release(release)
    table = overlap_table()
    result: dict[str, dict[str, int] | None] = {}
    for split in release.splits:
        key = split_key(release, split.name)
        if key not in table.sizes:
            result[split.name] = None
            continue
        result[split.name] = {other: table.count(key, other) for other in table.splits if other != key}
    return result


def in_other_releases(key: str) -> int:
    """How many ids of one known split appear in any split of another release."""
    elsewhere = frozenset().union(*(ids for other, ids in id_lists().items() if release_of(other) != release_of(key)))
    return len(id_lists()[key] & elsewhere)


def release_of(key: str) -> str:
    """The release name of a split key made by `split_key`: "isic2017" for "isic2017/test"."""
    return key.split("/", 1)[0]


__all__ = [
    "IDS_FOLDER",
    "IDS_PACKAGE",
    "OverlapTable",
    "also_in",
    "id_lists",
    "in_other_releases",
    "overlap_table",
    "read_id_list",
    "release_of",
    "split_key",
    "split_overlaps",
    "unknown_splits",
]
