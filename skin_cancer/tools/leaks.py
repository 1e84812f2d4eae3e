"""The leak report as text (`skin-cancer leaks`), JSON rows and Markdown (README, dataset card).

The counts come from skin_cancer.dataset.leakage; this module only lays them out. Every table is shown
with the archive's coverage of its splits, so that a zero is read as "none known", not "none".
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..dataset.leakage import LEVELS, Coverage, LeakRow, coverage, leak_report
from ..dataset.overlap import id_lists
from ..releases import Release, get_release
from .summary import format_table

COVERAGE_NOTE = (
    "Lesion and patient leaks are counted on the ISIC Archive's per-image metadata (IMA++ copy, shipped in "
    "skin_cancer/data/archive/); an image without a recorded lesion or patient cannot be found to leak, so "
    "a zero means none known."
)


def release_rows(release: str | Release | None = None, rows: Sequence[LeakRow] | None = None) -> list[LeakRow]:
    """The report's rows that concern one release (its evaluation splits, or its training split as
    `against`); every row without a release."""
    rows = list(leak_report() if rows is None else rows)
    if release is None:
        return rows
    prefix = get_release(release).name + "/"
    return [row for row in rows if row.split.startswith(prefix) or row.against.startswith(prefix)]


def pairs(rows: Sequence[LeakRow]) -> list[tuple[str, str, dict[str, int]]]:
    """(split, against, {level: count}) per pair of splits, in the rows' order."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        grouped.setdefault((row.split, row.against), {})[row.level] = row.count
    return [(split, against, counts) for (split, against), counts in grouped.items()]


def splits_of(rows: Sequence[LeakRow]) -> list[str]:
    """The splits the rows name, in release-table order."""
    named = {key for row in rows for key in (row.split, row.against)}
    return [key for key in id_lists() if key in named]


def coverage_cells(found: Coverage) -> list[object]:
    return [
        found.split,
        found.images,
        f"{found.listed} ({_share(found.listed, found.images)})",
        found.with_lesion,
        found.with_patient,
    ]


COVERAGE_HEADER = ["split", "images", "in the archive", "with a lesion id", "with a patient id"]


def render_leaks(rows: Sequence[LeakRow]) -> str:
    """What `skin-cancer leaks` prints: the counts per pair and level, then the archive's coverage."""
    width = max((len(row.split) for row in rows), default=0)
    table = format_table(
        [f"{'split':<{width}}  against", *LEVELS],
        [
            [f"{split:<{width}}  {against}", *(counts[level] for level in LEVELS)]
            for split, against, counts in pairs(rows)
        ],
        names_left=True,
    )
    lines = [
        "Images of each evaluation split that leak into a training split: image = the same image id; lesion = "
        "another id of the same lesion; patient = another id of the same patient or lesion (includes lesion).",
        table,
        "",
        "How much of each split the ISIC Archive metadata covers:",
        format_table(COVERAGE_HEADER, [coverage_cells(coverage(key)) for key in splits_of(rows)], names_left=True),
        "",
        COVERAGE_NOTE,
    ]
    return "\n".join(lines)


def leaks_json(rows: Sequence[LeakRow]) -> str:
    """`--format json`: [{"split", "against", "level", "count", "ids"}, ...], one row per line."""
    return "[\n" + ",\n".join(json.dumps(row.as_dict()) for row in rows) + "\n]"


def leak_markdown(release: str | Release | None = None) -> str:
    """Markdown for the README and a release's card: counts per pair of splits, then the coverage."""
    rows = release_rows(release)
    lines = ["| split | against | image | lesion | patient |", "|---|---|---|---|---|"]
    for split, against, counts in pairs(rows):
        lines.append(f"| `{split}` | `{against}` | " + " | ".join(str(counts[level]) for level in LEVELS) + " |")
    lines += ["", "| " + " | ".join(COVERAGE_HEADER) + " |", "|---" * len(COVERAGE_HEADER) + "|"]
    for key in splits_of(rows):
        cells = coverage_cells(coverage(key))
        lines.append(f"| `{cells[0]}` | " + " | ".join(str(cell) for cell in cells[1:]) + " |")
    return "\n".join(lines)


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "-"


__all__ = [
    "leak_markdown",
    "leaks_json",
    "release_rows",
    "render_leaks",
]
