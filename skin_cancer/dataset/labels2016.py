"""The ISIC 2016 Part3 label CSV: no header, one `ISIC_XXXXXXX,<label>` row per image.

Reports differ on whether the label is written as a word (`benign` / `malignant`) or a number
(`0` / `1`, also `0.0` / `1.0`), so both are read. A pure function over the CSV text.
"""

from __future__ import annotations

import csv
import io

BENIGN_MALIGNANT = ("benign", "malignant")
_VALUES = {"benign": 0, "malignant": 1, "0": 0, "1": 1, "0.0": 0, "1.0": 1}


class Labels2016Error(ValueError):
    """A row of the 2016 Part3 CSV cannot be understood; the message names the line, the caller the file."""


def parse_benign_malignant(text: str, names: tuple[str, ...] = BENIGN_MALIGNANT) -> dict[str, str]:
    """image_id -> names[0] (benign) or names[1] (malignant)."""
    if len(names) != 2:
        raise ValueError(f"expected two class names (benign, malignant), not {names!r}")
    labels: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    for line_number, row in enumerate(reader, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) != 2:
            raise Labels2016Error(
                f"line {line_number}: has {len(cells)} cells, expected 2 (image_id,benign|malignant|0|1)"
            )
        image_id, value = cells
        if not image_id:
            raise Labels2016Error(f"line {line_number}: the image_id is empty")
        if value.lower() not in _VALUES:
            hint = " (this file has no header row)" if line_number == 1 else ""
            raise Labels2016Error(
                f"line {line_number}: {image_id} has the label {value!r}, expected benign, malignant, 0 or 1{hint}"
            )
        if image_id in labels:
            raise Labels2016Error(f"line {line_number}: {image_id} appears twice")
        labels[image_id] = names[_VALUES[value.lower()]]
    return labels


__all__ = [
    "Labels2016Error",
    "parse_benign_malignant",
]
