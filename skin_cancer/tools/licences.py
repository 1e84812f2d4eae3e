"""Which licences each release split holds, by the ISIC Archive's per-image records: text for
`skin-cancer releases`, Markdown for the README. The counts come from dataset.archive."""

from __future__ import annotations

from ..dataset.archive import LICENSE_ORDER, license_counts
from ..dataset.overlap import id_lists
from .summary import format_table

NO_RECORD = "no record"


def split_licence_rows() -> list[list[object]]:
    """[split, images, count per licence..., no record] for every release split, in release-table order."""
    return [
        [key, len(ids), *(license_counts(ids).get(licence, 0) for licence in (*LICENSE_ORDER, None))]
        for key, ids in id_lists().items()
    ]


def render_split_licences() -> str:
    """A plain-text table: images of each known release split per licence, as the ISIC Archive records them
    (the shipped archive metadata, data/ids/SOURCES.md), with a column for ids the archive has no record of.
    """
    header = ["split", "images", *LICENSE_ORDER, NO_RECORD]
    return "Licences of each split's images, as the ISIC Archive records them (the `license` column):\n" + format_table(
        header, split_licence_rows(), names_left=True
    )


def split_licences_markdown() -> str:
    """The same counts as `render_split_licences`, as a Markdown table for the dataset card."""
    header = ["split", "images", *(f"`{licence}`" for licence in LICENSE_ORDER), NO_RECORD]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += [f"| `{row[0]}` | " + " | ".join(str(cell) for cell in row[1:]) + " |" for row in split_licence_rows()]
    return "\n".join(lines)


__all__ = [
    "render_split_licences",
    "split_licences_markdown",
]
