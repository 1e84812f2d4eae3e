"""Each release filled into the one harness (tests/harness.py), and the harness's checks shown to fail."""

from __future__ import annotations

from typing import ClassVar

import datasets
import numpy as np
import pytest
from PIL import Image

from skin_cancer.releases import RELEASES

from .harness import ReleaseTestCase, check_no_image_in_two_splits, check_splits_and_counts, check_square_pairs


class TestISIC2016(ReleaseTestCase):
    RELEASE = "isic2016"
    COUNTS: ClassVar = {"train": 4, "test": 2}  # no validation split in 2016


class TestISIC2017(ReleaseTestCase):
    RELEASE = "isic2017"
    COUNTS: ClassVar = {"train": 6, "valid": 2, "test": 2}


class TestISIC2018(ReleaseTestCase):
    RELEASE = "isic2018"
    COUNTS: ClassVar = {"train": 4, "valid": 2, "test": 2}


class TestHAM10000(ReleaseTestCase):
    RELEASE = "ham10000"
    COUNTS: ClassVar = {"train": 3, "valid": 1, "test": 1}  # by the lesion rule; one lesion has two images


class TestPH2(ReleaseTestCase):
    RELEASE = "ph2"
    COUNTS: ClassVar = {"test": 3}


class TestIMAplusplus(ReleaseTestCase):
    RELEASE = "imaplusplus"
    COUNTS: ClassVar = {"train": 3, "valid": 1, "test": 1}  # by the patient-hash rule; one patient, two images


def test_every_release_fills_in_the_harness():
    filled = {case.RELEASE for case in ReleaseTestCase.__subclasses__()}
    assert filled == set(RELEASES), f"add a ReleaseTestCase for {sorted(set(RELEASES) - filled)}"


def _split(ids: list[str], mask: np.ndarray, size: int = 4) -> datasets.Dataset:
    image = Image.new("RGB", (size, size))
    rows = {"image_id": ids, "image": [image] * len(ids), "mask": [Image.fromarray(mask)] * len(ids)}
    columns = datasets.Features(image_id=datasets.Value("string"), image=datasets.Image(), mask=datasets.Image())
    return datasets.Dataset.from_dict(rows, features=columns)


def test_the_harness_checks_can_fail():
    zero_one = np.array([[0, 1], [1, 0]], dtype=np.uint8).repeat(2, 0).repeat(2, 1)
    good = datasets.DatasetDict(train=_split(["a", "b"], zero_one), test=_split(["c"], zero_one))
    check_splits_and_counts(good, "isic2016", {"train": 2, "test": 1})
    check_no_image_in_two_splits(good)
    check_square_pairs(good, 4)
    with pytest.raises(AssertionError):
        check_splits_and_counts(good, "isic2016", {"train": 2, "test": 2})
    with pytest.raises(AssertionError):
        check_splits_and_counts(good, "isic2017", {"train": 2, "test": 1})
    with pytest.raises(AssertionError, match="is in train and in test"):
        check_no_image_in_two_splits(datasets.DatasetDict(train=good["train"], test=_split(["a"], zero_one)))
    with pytest.raises(AssertionError):
        check_square_pairs(good, 8)
    with pytest.raises(AssertionError, match="mask values"):
        check_square_pairs(datasets.DatasetDict(train=_split(["a"], zero_one * 255)), 4)
    with pytest.raises(AssertionError, match="masks hold only"):
        check_square_pairs(datasets.DatasetDict(train=_split(["a"], zero_one * 0)), 4)
