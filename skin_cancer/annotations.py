"""Parsing the ISIC-2017 CSVs: Part3 diagnosis labels and the per-image metadata.

Pure functions over CSV text, so they are tested on the official files without any images.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass

from .layout import DIAGNOSIS_NAMES

LABEL_COLUMNS = ("image_id", "melanoma", "seborrheic_keratosis")
METADATA_COLUMNS = ("image_id", "age_approximate", "sex")
_UNKNOWN = {"", "unknown"}
# Spellings of sex that mean the same as ISIC's own "male" / "female"; anything else is stored as null.
SEX_SPELLINGS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}
# Ages outside this range are typos or overflow (int32 column), never a patient's age.
MAX_AGE = 150


class AnnotationError(ValueError):
    """A CSV row cannot be understood; the caller adds the file name."""


@dataclass(frozen=True)
class Metadata:
    age_approximate: int | None
    sex: str | None


def parse_diagnoses(text: str) -> dict[str, str]:
    """image_id -> one of DIAGNOSIS_NAMES ("nevus" where both Part3 flags are 0)."""
    diagnoses: dict[str, str] = {}
    for line_number, row in _rows(text, LABEL_COLUMNS):
        melanoma = _flag(row["melanoma"], "melanoma", line_number)
        keratosis = _flag(row["seborrheic_keratosis"], "seborrheic_keratosis", line_number)
        if melanoma and keratosis:
            raise AnnotationError(f"line {line_number}: {row['image_id']} is marked both melanoma and keratosis")
        diagnosis = DIAGNOSIS_NAMES[1] if melanoma else DIAGNOSIS_NAMES[2] if keratosis else DIAGNOSIS_NAMES[0]
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
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
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
