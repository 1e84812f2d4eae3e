"""One harness every release's test fills in, in the spirit of torchvision's `DatasetTestCase`.

A release's test subclasses `ReleaseTestCase`, names the release and the exact pairs per split its fake tree
holds, and (when `tools.sample` cannot write it) how to write that tree. The harness builds the tree once per
class at a small size and checks what every release must give: exactly those splits and counts, no image in two
splits, size x size RGB images and masks, masks of class indices {0, 1} only.

    class TestISIC2017(ReleaseTestCase):
        RELEASE = "isic2017"
        COUNTS: ClassVar = {"train": 6, "valid": 2, "test": 2}
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import datasets
import numpy as np
import pytest

import skin_cancer  # noqa: F401  (registers the builder)
from skin_cancer.releases import get_release
from skin_cancer.schema import features
from skin_cancer.tools.sample import write_sample_tree

SIZE = 64  # small squares: .ci/run builds every release's tree


def check_splits_and_counts(dataset: datasets.DatasetDict, release: str, counts: dict[str, int]) -> None:
    """The release's splits, in its order, each with exactly the expected number of pairs."""
    expected = list(get_release(release).split_names)
    assert list(dataset) == expected, f"splits {list(dataset)}, expected {expected}"
    got = {split: len(rows) for split, rows in dataset.items()}
    assert got == counts, f"pairs per split {got}, expected {counts}"


def check_no_image_in_two_splits(dataset: datasets.DatasetDict) -> None:
    """Each image_id is in one split only, and once in it."""
    seen: dict[str, str] = {}
    for split, rows in dataset.items():
        for image_id in rows["image_id"]:
            assert image_id not in seen, f"{image_id} is in {seen[image_id]} and in {split}"
            seen[image_id] = split


def check_square_pairs(dataset: datasets.DatasetDict, size: int) -> None:
    """Every image is RGB and every mask a single channel, both size x size pixels; mask values are {0, 1}
    (uint8 class indices), and each split has some lesion and some background."""
    for split, rows in dataset.items():
        found: set[int] = set()
        for row in rows.select_columns(["image_id", "image", "mask"]):
            image, mask = row["image"], row["mask"]
            assert (image.mode, image.size) == ("RGB", (size, size)), f"{split} {row['image_id']} image"
            values = np.asarray(mask)
            assert values.shape == (size, size) and values.dtype == np.uint8, f"{split} {row['image_id']} mask"
            unique = set(np.unique(values).tolist())
            assert unique <= {0, 1}, f"{split} {row['image_id']}: mask values {sorted(unique)}"
            found |= unique
        assert found == {0, 1}, f"{split}: masks hold only {sorted(found)}"


class ReleaseTestCase:
    """Subclass as `Test<Release>` and set RELEASE and COUNTS (pairs per split of the fake tree)."""

    RELEASE: ClassVar[str]
    COUNTS: ClassVar[dict[str, int]]
    _built: ClassVar[datasets.DatasetDict]

    @classmethod
    def write_tree(cls, root: Path) -> Path:
        """Write the release's fake tree under root and return the folder to pass as data_dir."""
        return write_sample_tree(root, release=cls.RELEASE)

    @pytest.fixture
    def built(self, tmp_path_factory) -> datasets.DatasetDict:
        """The fake tree built once per class (kept on the class: pytest deprecates class-scoped method fixtures)."""
        cls = type(self)
        if "_built" not in cls.__dict__:
            root = tmp_path_factory.mktemp(f"harness-{cls.RELEASE}")
            data_dir = cls.write_tree(root / "data")
            cls._built = datasets.load_dataset(
                "skin_cancer", cls.RELEASE, data_dir=str(data_dir), cache_dir=str(root / "cache"), size=SIZE
            )
        return cls._built

    def test_splits_and_exact_counts(self, built):
        check_splits_and_counts(built, self.RELEASE, self.COUNTS)

    def test_features_are_the_schema(self, built):
        for rows in built.values():
            assert rows.features == features(self.RELEASE), f"{rows.split}: features differ from schema.features"

    def test_no_image_in_two_splits(self, built):
        check_no_image_in_two_splits(built)

    def test_square_images_and_zero_one_masks(self, built):
        check_square_pairs(built, SIZE)
