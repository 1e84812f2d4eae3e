"""Parsing the official CSVs, checked against the complete reference files."""

from __future__ import annotations

import csv

import pytest

from skin_cancer.dataset.annotations import AnnotationError, Metadata, parse_diagnoses, parse_metadata
from skin_cancer.releases import ISIC2017

SPLITS = ISIC2017.splits


@pytest.mark.parametrize("split", SPLITS, ids=lambda split: split.name)
def test_official_label_files_have_the_official_counts(reference_csvs, split):
    text = (reference_csvs / split.labels_csv).read_text()
    diagnoses = parse_diagnoses(text)
    assert len(diagnoses) == split.official_count
    with open(reference_csvs / split.labels_csv, newline="") as file:
        rows = list(csv.reader(file))[1:]
    melanoma = sum(1 for row in rows if float(row[1]) == 1.0)
    keratosis = sum(1 for row in rows if float(row[2]) == 1.0)
    assert list(diagnoses.values()).count("melanoma") == melanoma
    assert list(diagnoses.values()).count("seborrheic_keratosis") == keratosis
    assert list(diagnoses.values()).count("nevus") == len(rows) - melanoma - keratosis


def test_official_metadata_unknowns_become_none(reference_csvs):
    text = (reference_csvs / "ISIC-2017_Training_Data_metadata.csv").read_text()
    metadata = parse_metadata(text)
    assert len(metadata) == 2000
    raw = list(csv.DictReader(text.splitlines()))
    for row in raw:
        parsed = metadata[row["image_id"]]
        assert parsed.age_approximate == (None if row["age_approximate"] == "unknown" else int(row["age_approximate"]))
        assert parsed.sex == (None if row["sex"] == "unknown" else row["sex"])
    assert any(value.age_approximate is None for value in metadata.values())


def test_windows_line_endings_and_bom_are_fine():
    text = "\ufeffimage_id,melanoma,seborrheic_keratosis\r\nISIC_1,0.0,1.0\r\nISIC_2,1.0,0.0\r\nISIC_3,0,0\r\n"
    assert parse_diagnoses(text) == {"ISIC_1": "seborrheic_keratosis", "ISIC_2": "melanoma", "ISIC_3": "nevus"}
    assert parse_metadata("image_id,age_approximate,sex\nISIC_1,unknown,unknown\n") == {"ISIC_1": Metadata(None, None)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image_id,melanoma\nISIC_1,0\n", "lacks the column"),
        ("image_id,melanoma,seborrheic_keratosis\nISIC_1,1.0,1.0\n", "both melanoma and keratosis"),
        ("image_id,melanoma,seborrheic_keratosis\nISIC_1,yes,0\n", "line 2: melanoma is 'yes'"),
        ("image_id,melanoma,seborrheic_keratosis\nISIC_1,0,0\nISIC_1,0,0\n", "line 3: ISIC_1 appears twice"),
    ],
)
def test_bad_label_rows_are_named(text, message):
    with pytest.raises(AnnotationError, match=message):
        parse_diagnoses(text)


def test_bad_age_is_named():
    with pytest.raises(AnnotationError, match="line 2: age_approximate 'old'"):
        parse_metadata("image_id,age_approximate,sex\nISIC_1,old,male\n")


@pytest.mark.parametrize("age", ["inf", "-inf", "1e12", "3000000000", "-5"])
def test_ages_that_are_not_ages_are_named(age):
    with pytest.raises(AnnotationError, match=rf"line 3: age_approximate '{age}' is not an age from 0 to 150"):
        parse_metadata(f"image_id,age_approximate,sex\nISIC_1,55,male\nISIC_2,{age},male\n")


def test_a_row_with_more_cells_than_the_header_is_named():
    with pytest.raises(AnnotationError, match="line 3: has 1 more cell"):
        parse_diagnoses("image_id,melanoma,seborrheic_keratosis\nISIC_1,0,0\n,,,extra\n")
    assert parse_diagnoses("image_id,melanoma,seborrheic_keratosis\nISIC_1,0,0,\n") == {"ISIC_1": "nevus"}


def test_sex_spellings_are_mapped_and_the_rest_counted():
    from collections import Counter

    text = "image_id,age_approximate,sex\n" + "".join(
        f"ISIC_{n},50,{sex}\n" for n, sex in enumerate(["M", "Female", "FEMALE", "m", "other", "Other", "x", "unknown"])
    )
    unrecognised: Counter[str] = Counter()
    parsed = parse_metadata(text, unrecognised)
    assert [parsed[f"ISIC_{n}"].sex for n in range(8)] == ["male", "female", "female", "male", None, None, None, None]
    assert unrecognised == Counter({"other": 1, "Other": 1, "x": 1})
