"""Which release splits share which images: the `also_in` column and the overlap table.

Read from the id lists shipped in skin_cancer/data/ids/ (package data, found with importlib.resources),
never from the network. A split whose list is not known (none today: the ISIC 2018 validation and test
lists are shipped too) would never be reported: `also_in` would say nothing about membership in it.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

from ..releases import RELEASES, Release, get_release
from ..tools.summary import format_table

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


def known_splits() -> list[str]:
    """The release splits whose id lists ship with the package."""
    return list(id_lists())


def unknown_splits() -> list[str]:
    """The release splits whose membership cannot be checked."""
    return [
        split_key(release, split.name)
        for release in RELEASES.values()
        for split in release.splits
        if split.ids_file is None
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
    elsewhere = frozenset().union(*(ids for other, ids in id_lists().items() if _release_of(other) != _release_of(key)))
    return len(id_lists()[key] & elsewhere)


def render_overlap_table(table: OverlapTable | None = None) -> str:
    """The matrix of shared ids: each cell counts the ids the row's split shares with the column's."""
    table = table or overlap_table()
    header = ["", *table.splits]
    rows = [
        [row, *(f"({table.sizes[row]})" if row == column else table.count(row, column) for column in table.splits)]
        for row in table.splits
    ]
    return format_table(header, rows, names_left=True)


def render_releases() -> str:
    """What `skin-cancer releases` prints: every release's splits and counts, then the overlap table."""
    table = overlap_table()
    lines: list[str] = []
    for release in RELEASES.values():
        lines.append(f"{release.name}  {release.short_name}  ({release.base_url})")
        rows = []
        for split in release.splits:
            key = split_key(release, split.name)
            rows.append(
                [
                    split.name,
                    split.official_count,
                    split.data_folder,
                    split.mask_folder,
                    "yes" if key in table.sizes else "not known",
                ]
            )
        lines.append(format_table(["split", "official", "images", "masks", "id list"], rows, names_left=True))
        lines.append("")
    lines.append("Images shared between release splits (diagonal: ids in the list):")
    lines.append(render_overlap_table(table))
    lines.append("")
    lines.append("Share of each split found in other releases:")
    for key in table.splits:
        parts = [
            f"{table.count(key, other)} in {other} ({_share(table.count(key, other), table.sizes[key])})"
            for other in table.splits
            if _release_of(other) != _release_of(key) and table.count(key, other)
        ]
        elsewhere = in_other_releases(key)
        parts.append(f"{elsewhere} in any other release ({_share(elsewhere, table.sizes[key])})")
        lines.append(f"  {key} ({table.sizes[key]}): " + "; ".join(parts))
    unknown = unknown_splits()
    if unknown:
        lines.append("")
        lines.append(f"Not checked (id lists not known): {', '.join(unknown)}")
    return "\n".join(lines)


def _release_of(key: str) -> str:
    return key.split("/", 1)[0]


def _share(count: int, total: int) -> str:
    return "<1%" if 0 < count < total / 100 else f"{count / total:.0%}"
