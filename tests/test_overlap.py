"""The shipped id lists, `also_in` and the overlap table, against the shared lists and the official CSVs."""

from __future__ import annotations

import csv
import importlib.resources
import re

import pytest

from skin_cancer.dataset import overlap
from skin_cancer.releases import RELEASES
from skin_cancer.tools import summary

from .helpers import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "skin_cancer" / "data" / "ids"
KNOWN = [(release, split) for release in RELEASES.values() for split in release.splits if split.ids_file]
# The lists copied from ../shared/isic-releases (the HAM10000 lists are computed: tests/test_ham10000.py).
COPIED = [(release, split) for release, split in KNOWN if release.name.startswith("isic")]


def _direct(file_name: str) -> set[str]:
    """A list read straight from the source tree, without the module under test."""
    return set((SHIPPED / file_name).read_text().split())


@pytest.mark.parametrize(("release", "split"), COPIED, ids=lambda value: getattr(value, "name", None))
def test_each_shipped_list_is_the_shared_one_and_has_the_official_count(release, split, shared_releases):
    shipped = (SHIPPED / split.ids_file).read_bytes()
    assert shipped == (shared_releases / split.ids_file).read_bytes(), "the shipped copy differs from ../shared"
    ids = overlap.read_id_list(split.ids_file)
    assert len(ids) == len(set(ids)) == split.official_count
    assert ids == sorted(ids)
    assert all(re.fullmatch(r"ISIC_\d{7}", image_id) for image_id in ids)


def test_every_split_with_a_shipped_list_names_it_and_no_list_is_left_over():
    listed = {split.ids_file for _, split in KNOWN}
    assert listed == {path.name for path in SHIPPED.glob("*.txt")}
    assert (SHIPPED / "SOURCES.md").is_file()
    for name in listed:
        assert name in (SHIPPED / "SOURCES.md").read_text()


def test_lists_are_package_resources():
    """Read through importlib.resources, as an installed wheel would be (pyproject must list data/ids/*)."""
    folder = importlib.resources.files("skin_cancer").joinpath("data", "ids")
    assert folder.joinpath("isic2017-test.txt").is_file()
    assert folder.joinpath("SOURCES.md").is_file()


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_the_2017_lists_are_the_official_csv_ids(reference_csvs, split):
    release_split = RELEASES["isic2017"].split(split)
    with open(reference_csvs / release_split.labels_csv, newline="") as file:
        official = [row["image_id"] for row in csv.DictReader(file)]
    assert sorted(official) == overlap.read_id_list(release_split.ids_file)


def test_known_and_unknown_splits():
    assert list(overlap.id_lists()) == [
        "isic2016/train",
        "isic2016/test",
        "isic2017/train",
        "isic2017/valid",
        "isic2017/test",
        "isic2018/train",
        "isic2018/valid",
        "isic2018/test",
        "ham10000/train",
        "ham10000/valid",
        "ham10000/test",
    ]
    assert overlap.unknown_splits() == []


# The counts the issue and ../shared/isic-releases/README.md quote: (split, other split, shared ids).
QUOTED_OVERLAPS = [
    ("isic2017/train", "isic2018/train", 1800),
    ("isic2017/valid", "isic2018/train", 121),
    ("isic2017/test", "isic2018/train", 529),
    ("isic2016/test", "isic2017/train", 305),
    ("isic2016/train", "isic2017/valid", 3),
    ("isic2016/train", "isic2017/test", 0),
]


@pytest.mark.parametrize(("first", "second", "count"), QUOTED_OVERLAPS)
def test_the_quoted_overlaps(first, second, count):
    table = overlap.overlap_table()
    assert table.count(first, second) == table.count(second, first) == count


def test_the_table_is_every_pair_counted_from_the_lists():
    table = overlap.overlap_table()
    keys = list(overlap.id_lists())
    assert table.splits == keys
    for first in keys:
        assert table.sizes[first] == len(_direct(first.replace("/", "-") + ".txt"))
        for second in keys:
            expected = len(_direct(first.replace("/", "-") + ".txt") & _direct(second.replace("/", "-") + ".txt"))
            assert table.count(first, second) == expected


def test_every_2018_training_image_is_in_2016_or_2017_and_no_release_overlaps_itself():
    table = overlap.overlap_table()
    assert overlap.in_other_releases("isic2018/train") == 2594
    # The 2018 validation and test ids share no id with any other split (../shared/isic-releases/README.md).
    assert overlap.in_other_releases("isic2018/valid") == overlap.in_other_releases("isic2018/test") == 0
    for first in table.splits:
        for second in table.splits:
            if first != second and first.split("/")[0] == second.split("/")[0]:
                assert table.count(first, second) == 0, (first, second)


def _mini_ids(real_sample) -> list[str]:
    return sorted(path.stem for path in real_sample.glob("*_Data/ISIC_*.jpg"))


def test_also_in_for_every_real_sample_id_matches_a_direct_lookup(real_sample):
    ids = _mini_ids(real_sample)
    assert len(ids) == 14
    lists = {path.stem.replace("-", "/"): set(path.read_text().split()) for path in SHIPPED.glob("*.txt")}
    for image_id in ids:
        holders = sorted(key for key, members in lists.items() if image_id in members)
        assert "isic2017/valid" in holders, f"{image_id} should be an official validation image"
        assert overlap.also_in("isic2017", "valid", image_id) == [key for key in holders if key != "isic2017/valid"]
        # Placed in another split's folder (as the sample does), the image's official split shows up.
        assert overlap.also_in("isic2017", "train", image_id) == holders
        assert overlap.also_in(RELEASES["isic2018"], "valid", image_id) == holders


def test_also_in_never_names_the_split_itself_and_is_empty_for_unknown_ids():
    for key in list(overlap.id_lists()):
        release, split = key.split("/")
        for image_id in sorted(overlap.id_lists()[key])[:50]:
            found = overlap.also_in(release, split, image_id)
            assert key not in found and found == sorted(found)
    assert overlap.also_in("isic2017", "test", "ISIC_9000001") == []
    assert overlap.also_in("isic2018", "test", "ISIC_0000000") == overlap.also_in("isic2018", "valid", "ISIC_0000000")


def test_split_overlaps_for_a_card():
    rows = overlap.split_overlaps("isic2018")
    for split in ("valid", "test"):
        assert rows[split] == {key: 0 for key in overlap.id_lists() if key != f"isic2018/{split}"}
    assert rows["train"]["isic2017/test"] == 529
    assert "isic2018/train" not in rows["train"]
    assert overlap.split_overlaps("isic2017")["test"] == {
        "isic2016/train": 0,
        "isic2016/test": 0,
        "isic2017/train": 0,
        "isic2017/valid": 0,
        "isic2018/train": 529,
        "isic2018/valid": 0,
        "isic2018/test": 0,
        # HAM10000 shares no id with the segmentation releases (the claim, checked on the lists).
        "ham10000/train": 0,
        "ham10000/valid": 0,
        "ham10000/test": 0,
    }


def test_the_rendered_table_shows_every_release_and_the_counts():
    text = summary.render_releases()
    for release in RELEASES.values():
        assert release.name in text
        for split in release.splits:
            assert split.data_folder in text and str(split.official_count) in text
    assert "529 in isic2018/train (88%)" in text
    assert "305 in isic2017/train (80%)" in text
    assert "Not checked" not in text  # every split's list is known
    matrix = summary.render_overlap_table().splitlines()
    header = matrix[0].split()
    assert header == list(overlap.id_lists())
    table = overlap.overlap_table()
    for line in matrix[1:]:
        row, *cells = line.split()
        for column, cell in zip(header, cells, strict=True):
            expected = f"({table.sizes[row]})" if row == column else str(table.count(row, column))
            assert cell == expected
