"""Per-image facts from the ISIC Archive: lesion, patient, licence and attribution of each release image.

Read from skin_cancer/data/archive/images.tsv (package data, its source in SOURCES.md beside it: the
ISIC Archive metadata published by IMA++), never from the network. An image the archive does not list
has every fact unknown (None); so does an empty cell. Nothing is guessed.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

ARCHIVE_PACKAGE = "skin_cancer"
ARCHIVE_FILE = ("data", "archive", "images.tsv")
COLUMNS = ("image_id", "lesion_id", "patient_id", "license", "attribution")
# The licences the shipped facts may hold, as the Hub spells them, least restrictive first: where two
# licences apply to one image (the release's notice and the archive's record), the later one is followed.
LICENSE_ORDER = ("cc0-1.0", "cc-by-4.0", "cc-by-nc-4.0")
LICENSE_NAMES = {
    "cc0-1.0": "CC0 1.0 (public domain dedication)",
    "cc-by-4.0": "CC BY 4.0 (attribution)",
    "cc-by-nc-4.0": "CC BY-NC 4.0 (attribution, non-commercial)",
}


@dataclass(frozen=True)
class ImageFacts:
    """What the archive records for one image; None where it records nothing."""

    lesion_id: str | None = None  # "IL_..."
    patient_id: str | None = None  # "IP_..."
    license: str | None = None  # Hub spelling, one of LICENSE_ORDER
    attribution: str | None = None

    @property
    def known(self) -> bool:
        return self != UNKNOWN


UNKNOWN = ImageFacts()


def parse_facts(text: str) -> dict[str, ImageFacts]:
    """{image_id: facts} from the TSV's text; a ValueError names the first bad line."""
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader, None)
    if tuple(header or ()) != COLUMNS:
        raise ValueError(f"the archive facts should start with the header {'/'.join(COLUMNS)}, not {header}")
    facts = {}
    for line, row in enumerate(reader, start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"line {line} has {len(row)} fields, not {len(COLUMNS)}")
        image_id, *values = row
        licence = values[2]
        if licence and licence not in LICENSE_ORDER:
            raise ValueError(f"line {line}: unknown licence {licence!r}")
        facts[image_id] = ImageFacts(*(value or None for value in values))
    return facts


@functools.cache
def archive_facts() -> dict[str, ImageFacts]:
    """Every shipped row: {image_id: facts} (3,874 release images)."""
    resource = importlib.resources.files(ARCHIVE_PACKAGE).joinpath(*ARCHIVE_FILE)
    return parse_facts(resource.read_text(encoding="utf-8"))


def image_facts(image_id: str) -> ImageFacts:
    """The archive's facts for one image; UNKNOWN for an id it does not list."""
    return archive_facts().get(image_id, UNKNOWN)


def stricter_license(*licences: str | None) -> str | None:
    """The most restrictive of the given Hub licence ids (None ignored); None when none is given. An id outside
    LICENSE_ORDER (`other`: PH2's own terms) counts as the most restrictive."""
    known = [licence for licence in licences if licence is not None]
    return max(known, key=_strictness) if known else None


def _strictness(licence: str) -> int:
    return LICENSE_ORDER.index(licence) if licence in LICENSE_ORDER else len(LICENSE_ORDER)


def license_counts(ids: Iterable[str]) -> dict[str | None, int]:
    """{licence (None: no archive record): images} over the given ids, in LICENSE_ORDER then None."""
    counts = Counter(image_facts(image_id).license for image_id in ids)
    return {licence: counts[licence] for licence in (*LICENSE_ORDER, None) if counts[licence]}


__all__ = [
    "COLUMNS",
    "LICENSE_NAMES",
    "LICENSE_ORDER",
    "UNKNOWN",
    "ImageFacts",
    "archive_facts",
    "image_facts",
    "license_counts",
    "parse_facts",
    "stricter_license",
]
