"""Plain-text tables and counts shown by the commands and written into the dataset card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # summary is imported by the builder's own modules (overlap): no import of the builder here
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
    """Per split: pairs, diagnoses, megabytes written and seconds spent (or "cached")."""
    names = build.dataset["train"].features["diagnosis"].names
    rows = []
    for split, dataset in build.dataset.items():
        counts = diagnosis_counts(dataset["diagnosis"], names)
        megabytes = f"{build.builder.info.splits[split].num_bytes / 1e6:.1f}"
        seconds = "cached" if build.reused else f"{build.seconds_per_split.get(split, 0.0):.1f}"
        rows.append([split, len(dataset), *counts.values(), megabytes, seconds])
    return format_table(["split", "pairs", *names, "no label", "MB", "seconds"], rows)
