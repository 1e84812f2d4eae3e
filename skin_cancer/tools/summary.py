"""Plain-text tables and counts shown by the commands and written into the dataset card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..dataset.overlap import (
    OverlapTable,
    in_other_releases,
    overlap_table,
    release_of,
    split_key,
    unknown_splits,
)
from ..releases import RELEASES

if TYPE_CHECKING:
    from .pipeline import Build


def diagnosis_counts(labels: Sequence[int | None], names: Sequence[str]) -> dict[str, int]:
    """Count per diagnosis name, plus "no label" for examples without a Part3 row."""
    counts = {name: 0 for name in names}
    for label in labels:
        if label is not None:
            counts[names[label]] += 1
    counts["no label"] = sum(1 for label in labels if label is None)
    return counts


def format_table(header: Sequence[object], rows: Sequence[Sequence[object]], names_left: bool = False) -> str:
    """Columns right-aligned (numbers); with `names_left` the first column, the row names, aligned left."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(
            str(cell).ljust(width) if names_left and index == 0 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [header, *rows]
    )


def build_summary(build: Build) -> str:
    """Per split: pairs, diagnoses, megabytes written (pipeline.split_num_bytes) and seconds spent (or "cached")."""
    from .pipeline import split_num_bytes  # the pipeline imports datasets: only when a build is summarised

    names = next(iter(build.dataset.values())).features["diagnosis"].names
    rows = []
    for split, dataset in build.dataset.items():
        counts = diagnosis_counts(dataset["diagnosis"], names)
        megabytes = f"{split_num_bytes(dataset) / 1e6:.1f}"
        seconds = "cached" if build.reused else f"{build.seconds_per_split.get(split, 0.0):.1f}"
        rows.append([split, len(dataset), *counts.values(), megabytes, seconds])
    return format_table(["split", "pairs", *names, "no label", "MB", "seconds"], rows)


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
            if release_of(other) != release_of(key) and table.count(key, other)
        ]
        elsewhere = in_other_releases(key)
        parts.append(f"{elsewhere} in any other release ({_share(elsewhere, table.sizes[key])})")
        lines.append(f"  {key} ({table.sizes[key]}): " + "; ".join(parts))
    unknown = unknown_splits()
    if unknown:
        lines.append("")
        lines.append(f"Not checked (id lists not known): {', '.join(unknown)}")
    return "\n".join(lines)


def _share(count: int, total: int) -> str:
    return "<1%" if 0 < count < total / 100 else f"{count / total:.0%}"


__all__ = [
    "build_summary",
    "diagnosis_counts",
    "format_table",
    "render_overlap_table",
    "render_releases",
]
