"""Parsing the releases' CSVs: Part3 diagnosis labels (in each release's own form) and per-image metadata.

Pure functions over CSV text, so they are tested on the official files without any images.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass

from ..releases import (
    DEFAULT_RELEASE,
    LABELS_2016_PART3_BENIGN_MALIGNANT,
    LABELS_2017_PART3_FLAGS,
    LABELS_HAM10000_METADATA,
    LABELS_NONE,
    LABELS_PH2_TXT,
    RELEASES,
    Release,
)
from .archive import ImageFacts
from .labels2016 import Labels2016Error, parse_benign_malignant

LABEL_COLUMNS = ("image_id", "melanoma", "seborrheic_keratosis")
METADATA_COLUMNS = ("image_id", "age_approximate", "sex")
HAM10000_COLUMNS = ("lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization")
# IMAplusplus_seg_metadata.csv (IMA++; ../shared/isic-archive-metadata/README.md): one row per mask file.
SEG_COLUMNS = ("ISIC_id", "seg_filename", "annotator", "tool", "skill_level")
# The columns read from the metadata.csv ISIC's command-line client writes beside the images it downloads.
ISIC_CLI_COLUMNS = ("isic_id", "attribution", "copyright_license", "lesion_id", "patient_id")
# The ISIC Archive's licence names as the Hub spells them (the archive facts of archive.py use the same).
ARCHIVE_LICENSES = {"CC-0": "cc0-1.0", "CC-BY": "cc-by-4.0", "CC-BY-NC": "cc-by-nc-4.0"}
_UNKNOWN = {"", "unknown"}
# Spellings of sex that mean the same as ISIC's own "male" / "female"; anything else is stored as null.
SEX_SPELLINGS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}
# Ages outside this range are typos or overflow (int32 column), never a patient's age.
MAX_AGE = 150


class AnnotationError(ValueError):
    """A CSV row cannot be understood; the caller adds the file name."""


@dataclass(frozen=True)
class Metadata:
    """One image's row of a release's metadata CSV (columns METADATA_COLUMNS, as ISIC 2017 ships them).

    age_approximate: years, as the CSV gives it; None when blank or "unknown" (`parse_metadata` raises
    AnnotationError for a value that is not an age from 0 to MAX_AGE).
    sex: "male" or "female" (SEX_SPELLINGS maps other spellings); None otherwise.
    """

    age_approximate: int | None
    sex: str | None
    # HAM10000_metadata.csv only (None elsewhere): how the diagnosis was made, the body site, the lesion.
    dx_type: str | None = None
    localization: str | None = None
    lesion_id: str | None = None


def parse_labels(release: Release, text: str) -> dict[str, str]:
    """image_id -> one of release.diagnosis_names, read the way the release wrote its label CSV."""
    if release.label_kind == LABELS_2017_PART3_FLAGS:
        return parse_diagnoses(text, release.diagnosis_names)
    if release.label_kind == LABELS_2016_PART3_BENIGN_MALIGNANT:
        try:
            return parse_benign_malignant(text, release.diagnosis_names)
        except Labels2016Error as error:
            raise AnnotationError(str(error)) from error
    if release.label_kind == LABELS_NONE:
        return {}
    if release.label_kind == LABELS_PH2_TXT:
        return parse_ph2_txt(text, release.diagnosis_names)
    if release.label_kind == LABELS_HAM10000_METADATA:
        return {image_id: row.dx for image_id, row in parse_ham10000(text, release.diagnosis_names).items()}
    raise ValueError(f"{release.name}: unknown label kind {release.label_kind!r}")


def parse_diagnoses(text: str, names: tuple[str, ...] = RELEASES[DEFAULT_RELEASE].diagnosis_names) -> dict[str, str]:
    """image_id -> names[0] (nevus, where both Part3 flags are 0), names[1] (melanoma) or names[2] (keratosis)."""
    diagnoses: dict[str, str] = {}
    for line_number, row in _rows(text, LABEL_COLUMNS):
        melanoma = _flag(row["melanoma"], "melanoma", line_number)
        keratosis = _flag(row["seborrheic_keratosis"], "seborrheic_keratosis", line_number)
        if melanoma and keratosis:
            raise AnnotationError(f"line {line_number}: {row['image_id']} is marked both melanoma and keratosis")
        diagnosis = names[1] if melanoma else names[2] if keratosis else names[0]
        diagnoses[_image_id(row, line_number, diagnoses)] = diagnosis
    return diagnoses


def parse_metadata(text: str, unrecognised_sex: Counter[str] | None = None) -> dict[str, Metadata]:
    """image_id -> Metadata, with "unknown" and empty cells as None.

    Sex spellings such as "M" or "Female" become male/female; any other value becomes None and is
    counted in `unrecognised_sex` (as written), so the caller can warn naming the file.
    """
    metadata: dict[str, Metadata] = {}
    for line_number, row in _rows(text, METADATA_COLUMNS):
        age = _age(row["age_approximate"].strip(), line_number)
        sex_text = row["sex"].strip()
        sex = SEX_SPELLINGS.get(sex_text.lower())
        if sex is None and sex_text.lower() not in _UNKNOWN and unrecognised_sex is not None:
            unrecognised_sex[sex_text] += 1
        metadata[_image_id(row, line_number, metadata)] = Metadata(age, sex)
    return metadata


def parse_ph2_txt(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """image_id (IMDxxx) -> names[c] for the Clinical Diagnosis c (0 common nevus, 1 atypical nevus,
    2 melanoma) of PH2_dataset.txt, whose rows are cells between `||` (the criteria inside one cell split
    by single `|`). Lines that are not rows (blank, the legend below the table) are skipped.

    Raises AnnotationError for a file without a `Name` and `Clinical Diagnosis` header or a diagnosis
    outside 0-2."""
    header: list[str] | None = None
    diagnoses: dict[str, str] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip().startswith("||"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("||")]
        if header is None:
            header = [cell.lower() for cell in cells]
            if "name" not in header or "clinical diagnosis" not in header:
                raise AnnotationError(f"line {line_number}: the header {cells} lacks Name or Clinical Diagnosis")
            continue
        name = cells[header.index("name")] if len(cells) > header.index("name") else ""
        if not name.startswith("IMD"):
            continue
        index = header.index("clinical diagnosis")
        value = cells[index] if index < len(cells) else ""
        if value not in ("0", "1", "2"):
            raise AnnotationError(f"line {line_number}: {name}'s Clinical Diagnosis is {value!r}, expected 0, 1 or 2")
        if name in diagnoses:
            raise AnnotationError(f"line {line_number}: {name} appears twice")
        diagnoses[name] = names[int(value)]
    if header is None:
        raise AnnotationError("no table (rows between ||) found")
    return diagnoses


@dataclass(frozen=True)
class Ham10000Row:
    """One row of HAM10000_metadata.csv; empty and `unknown` cells as None."""

    lesion_id: str
    dx: str
    metadata: Metadata


def parse_ham10000(
    text: str, diagnosis_names: tuple[str, ...], unrecognised_sex: Counter[str] | None = None
) -> dict[str, Ham10000Row]:
    """image_id -> its row of HAM10000_metadata.csv (header lesion_id,image_id,dx,dx_type,age,sex,localization;
    other columns, such as the `dataset` of Dataverse's copy, are ignored), comma- or tab-separated (Dataverse's
    `HAM10000_metadata.tab`: the delimiter is read from the header line).

    Raises AnnotationError for a missing column, an empty lesion_id, a dx outside `diagnosis_names`, an
    age that is not a number or a repeated image_id."""
    rows: dict[str, Ham10000Row] = {}
    for line_number, row in _rows(text, HAM10000_COLUMNS):
        lesion_id, dx = row["lesion_id"].strip(), row["dx"].strip()
        if not lesion_id:
            raise AnnotationError(f"line {line_number}: the lesion_id is empty")
        if dx not in diagnosis_names:
            raise AnnotationError(f"line {line_number}: dx {dx!r} is not one of {', '.join(diagnosis_names)}")
        age = _age(row["age"].strip(), line_number)
        sex_text = row["sex"].strip()
        sex = SEX_SPELLINGS.get(sex_text.lower())
        if sex is None and sex_text.lower() not in _UNKNOWN and unrecognised_sex is not None:
            unrecognised_sex[sex_text] += 1
        metadata = Metadata(age, sex, _known(row["dx_type"]), _known(row["localization"]), lesion_id)
        rows[_image_id(row, line_number, rows)] = Ham10000Row(lesion_id, dx, metadata)
    return rows


@dataclass(frozen=True)
class SegRow:
    """One row of IMAplusplus_seg_metadata.csv: a mask file of one image and who drew it with what.

    annotator: `A00`-`A15`, or the consensus codes `ST` (STAPLE) / `MV` (majority vote), which then fill
    tool and skill_level too; tool: `T1`-`T3`; skill_level: `S1` (expert) or `S2` (novice)."""

    image_id: str
    file_name: str
    annotator: str
    tool: str
    skill_level: str


def parse_seg_metadata(text: str) -> dict[str, list[SegRow]]:
    """image_id -> its mask rows of IMAplusplus_seg_metadata.csv, sorted by file name (so by annotator).

    Raises AnnotationError for a missing column, an empty cell among SEG_COLUMNS, a file name that does not start
    with its image id, or a file named twice."""
    rows: dict[str, list[SegRow]] = {}
    seen: set[str] = set()
    for line_number, row in _rows(text, SEG_COLUMNS):
        cells = {column: row[column].strip() for column in SEG_COLUMNS}
        empty = [column for column, value in cells.items() if not value]
        if empty:
            raise AnnotationError(f"line {line_number}: {', '.join(empty)} is empty")
        image_id, file_name = cells["ISIC_id"], cells["seg_filename"]
        if not file_name.startswith(f"{image_id}_"):
            raise AnnotationError(f"line {line_number}: the mask {file_name} is not named after its image {image_id}")
        if file_name in seen:
            raise AnnotationError(f"line {line_number}: {file_name} appears twice")
        seen.add(file_name)
        entry = SegRow(image_id, file_name, cells["annotator"], cells["tool"], cells["skill_level"])
        rows.setdefault(image_id, []).append(entry)
    return {image_id: sorted(found, key=lambda entry: entry.file_name) for image_id, found in rows.items()}


@dataclass(frozen=True)
class IsicCliRow:
    """One image's row of ISIC's metadata.csv: its archive facts (lesion, patient, licence as the Hub spells it,
    attribution; None where a cell is empty) and its age and sex (as Metadata)."""

    facts: ImageFacts
    metadata: Metadata


def parse_isic_cli_metadata(text: str, unrecognised_sex: Counter[str] | None = None) -> dict[str, IsicCliRow]:
    """isic_id -> IsicCliRow, from the metadata.csv ISIC's command-line client writes beside the images
    (`isic image download`; the columns ISIC_CLI_COLUMNS among many others; `age_approx` and `sex` when present).

    Raises AnnotationError for a missing column, an empty or repeated isic_id, a licence outside
    ARCHIVE_LICENSES or an age that is not one."""
    records: dict[str, IsicCliRow] = {}
    for line_number, row in _rows(text, ISIC_CLI_COLUMNS):
        image_id = row["isic_id"].strip()
        if not image_id:
            raise AnnotationError(f"line {line_number}: the isic_id is empty")
        if image_id in records:
            raise AnnotationError(f"line {line_number}: {image_id} appears twice")
        licence = row["copyright_license"].strip()
        if licence and licence not in ARCHIVE_LICENSES:
            raise AnnotationError(
                f"line {line_number}: copyright_license {licence!r} is not one of {', '.join(ARCHIVE_LICENSES)}"
            )
        facts = ImageFacts(
            row["lesion_id"].strip() or None,
            row["patient_id"].strip() or None,
            ARCHIVE_LICENSES.get(licence),
            row["attribution"].strip() or None,
        )
        sex_text = (row.get("sex") or "").strip()
        sex = SEX_SPELLINGS.get(sex_text.lower())
        if sex is None and sex_text.lower() not in _UNKNOWN and unrecognised_sex is not None:
            unrecognised_sex[sex_text] += 1
        age = _age((row.get("age_approx") or "").strip(), line_number)
        records[image_id] = IsicCliRow(facts, Metadata(age, sex))
    return records


def _known(text: str) -> str | None:
    text = text.strip()
    return None if text.lower() in _UNKNOWN else text


def _age(text: str, line_number: int) -> int | None:
    if text.lower() in _UNKNOWN:
        return None
    try:
        number = float(text)
    except ValueError:
        problem = f"age_approximate {text!r} is neither a number nor 'unknown'"
        raise AnnotationError(f"line {line_number}: {problem}") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_AGE:
        raise AnnotationError(f"line {line_number}: age_approximate {text!r} is not an age from 0 to {MAX_AGE}")
    return int(number)


def _rows(text: str, columns: tuple[str, ...]):
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in columns if column not in header]
    if missing:
        raise AnnotationError(f"the header {header} lacks the column(s) {missing}")
    reader.fieldnames = header
    for line_number, row in enumerate(reader, start=2):
        extra = row.pop(None, None)  # type: ignore[call-overload]
        if extra and any(value.strip() for value in extra):
            raise AnnotationError(f"line {line_number}: has {len(extra)} more cell(s) than the header {header}")
        if not any((value or "").strip() for value in row.values()):
            continue
        if any(row.get(column) is None for column in columns):
            raise AnnotationError(f"line {line_number}: has fewer cells than the header")
        yield line_number, row


def _delimiter(text: str) -> str:
    """Tab for a tab-separated table (Harvard Dataverse serves HAM10000_metadata as `HAM10000_metadata.tab`,
    tab-separated with quoted strings), found by a tab in the header line; else a comma. No column name of
    these tables holds a tab or a comma."""
    header = text.split("\n", 1)[0]
    return "\t" if "\t" in header and "," not in header else ","


def _flag(value: str, column: str, line_number: int) -> bool:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number not in (0.0, 1.0):
        raise AnnotationError(f"line {line_number}: {column} is {value!r}, expected 0 or 1")
    return number == 1.0


def _image_id(row: dict[str, str], line_number: int, seen: dict) -> str:
    image_id = row["image_id"].strip()
    if not image_id:
        raise AnnotationError(f"line {line_number}: the image_id is empty")
    if image_id in seen:
        raise AnnotationError(f"line {line_number}: {image_id} appears twice")
    return image_id


__all__ = [
    "AnnotationError",
    "IsicCliRow",
    "Metadata",
    "SegRow",
    "parse_diagnoses",
    "parse_ham10000",
    "parse_isic_cli_metadata",
    "parse_labels",
    "parse_metadata",
    "parse_ph2_txt",
    "parse_seg_metadata",
]
