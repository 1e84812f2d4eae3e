"""Each release filled into the one harness (tests/harness.py), and the harness's checks shown to fail."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import datasets
import numpy as np
import pytest
from PIL import Image

from skin_cancer.releases import RELEASES, get_release
from skin_cancer.tools.sample import jpeg_bytes, png_bytes, synthetic_pair

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
    """A fake HAM10000 tree: two image parts, one mask folder and the metadata table. The lesion ids are not in
    the official table, so they take the hash fallback (SHA-256 of lesion_id), chosen to put one in each split;
    HAM_9900002 has two images, which must stay together."""

    RELEASE = "ham10000"
    COUNTS: ClassVar = {"train": 3, "valid": 1, "test": 1}
    # (image id, lesion id, image part): HAM_9900002/3 fall in train, HAM_9900009 in valid, HAM_9900000 in test.
    ROWS = (
        ("ISIC_9910001", "HAM_9900002", 1),
        ("ISIC_9910002", "HAM_9900002", 2),
        ("ISIC_9910003", "HAM_9900003", 1),
        ("ISIC_9910004", "HAM_9900009", 2),
        ("ISIC_9910005", "HAM_9900000", 1),
    )

    @classmethod
    def write_tree(cls, root: Path) -> Path:
        release = get_release(cls.RELEASE)
        top = root / release.top_folder
        masks = top / "HAM10000_segmentations_lesion_tschandl"
        masks.mkdir(parents=True)
        lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization"]
        for image_id, lesion_id, part in cls.ROWS:
            image, mask = synthetic_pair(120, 90, seed=int(image_id[-7:]))
            images = top / f"HAM10000_images_part_{part}"
            images.mkdir(exist_ok=True)
            (images / f"{image_id}.jpg").write_bytes(jpeg_bytes(image))
            (masks / release.mask_name(image_id)).write_bytes(png_bytes(mask))
            lines.append(f"{lesion_id},{image_id},nv,histo,45.0,female,back")
        (top / "HAM10000_metadata.csv").write_text("\n".join(lines) + "\n")
        return top


class TestPH2(ReleaseTestCase):
    """A fake PH2 tree: one folder per case with its dermoscopic BMP and its 1-bit lesion BMP."""

    RELEASE = "ph2"
    COUNTS: ClassVar = {"test": 3}

    @classmethod
    def write_tree(cls, root: Path) -> Path:
        release = get_release(cls.RELEASE)
        cases = root / release.top_folder / release.split("test").data_folder
        for number in (901, 902, 903):
            case = f"IMD{number}"
            image, mask = synthetic_pair(100, 80, seed=number)
            (cases / case / f"{case}_Dermoscopic_Image").mkdir(parents=True)
            (cases / case / f"{case}_lesion").mkdir()
            image.save(cases / case / f"{case}_Dermoscopic_Image" / f"{case}.bmp")
            mask.point(lambda value: 255 if value > 128 else 0).convert("1").save(
                cases / case / f"{case}_lesion" / release.mask_name(case)
            )
        return root / release.top_folder


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
