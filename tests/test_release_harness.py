"""Each release filled into the one harness (tests/harness.py), and the harness's checks shown to fail."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import datasets
import numpy as np
import pytest
from PIL import Image

from skin_cancer.releases import RELEASES
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
    RELEASE = "ham10000"
    COUNTS: ClassVar = {"train": 3, "valid": 1, "test": 1}  # by the lesion rule; one lesion has two images


class TestPH2(ReleaseTestCase):
    RELEASE = "ph2"
    COUNTS: ClassVar = {"test": 3}


class TestIMAplusplus(ReleaseTestCase):
    """A fake IMA++ tree: ISIC's client's image folder with its metadata.csv, the mask folder and the seg metadata.
    ISIC_9920001/2 share patient IP_9900000 (train); ISIC_9920002 has two annotators and both consensus masks;
    ISIC_9920003 has only a lesion (IL_9900002: valid); ISIC_9920004/5 have neither (their own ids: train, test)."""

    RELEASE = "imaplusplus"
    COUNTS: ClassVar = {"train": 3, "valid": 1, "test": 1}
    # (image id, patient id, lesion id, annotators)
    ROWS = (
        ("ISIC_9920001", "IP_9900000", "", ("A00",)),
        ("ISIC_9920002", "IP_9900000", "IL_9900001", ("A01", "A03", "ST", "MV")),
        ("ISIC_9920003", "", "IL_9900002", ("A02",)),
        ("ISIC_9920004", "", "", ("A04",)),
        ("ISIC_9920005", "", "", ("A05",)),
    )

    @classmethod
    def write_tree(cls, root: Path) -> Path:
        images, masks = root / "images", root / "segs"
        images.mkdir(parents=True)
        masks.mkdir()
        records = ["isic_id,attribution,copyright_license,age_approx,lesion_id,patient_id,sex"]
        seg = ["ISIC_id,img_filename,seg_filename,annotator,tool,skill_level,mskObjectID,mask_md5"]
        for image_id, patient, lesion, annotators in cls.ROWS:
            image, mask = synthetic_pair(120, 90, seed=int(image_id[-7:]))
            (images / f"{image_id}.jpg").write_bytes(jpeg_bytes(image))
            records.append(f"{image_id},Anonymous,CC-0,45,{lesion},{patient},female")
            for number, annotator in enumerate(annotators):
                code = annotator if annotator in ("ST", "MV") else None
                tool, skill, object_id = (code, code, code) if code else ("T1", "S1", f"obj{number}")
                name = f"{image_id}_{annotator}_{tool}_{skill}_{object_id}.png"
                (masks / name).write_bytes(png_bytes(mask))
                seg.append(f"{image_id},{image_id}.JPG,{name},{annotator},{tool},{skill},{object_id},md5")
        (images / "metadata.csv").write_text("\n".join(records) + "\n")
        (root / "IMAplusplus_seg_metadata.csv").write_text("\n".join(seg) + "\n")
        return root


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
