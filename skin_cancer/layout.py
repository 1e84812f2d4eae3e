"""The official ISIC-2017 Task 1 layout: split names, folder, zip and CSV names, counts and URLs.

Everything that knows how ISIC named its files lives here, so the rest of the package
never spells an ISIC file name itself.
"""

from __future__ import annotations

from dataclasses import dataclass

ISIC_BASE_URL = "https://isic-challenge-data.s3.amazonaws.com/2017/"

DIAGNOSIS_NAMES = ["nevus", "melanoma", "seborrheic_keratosis"]

MASK_SUFFIX = "_segmentation.png"
IMAGE_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class OfficialSplit:
    """One ISIC-2017 split as the challenge published it."""

    name: str
    prefix: str
    official_count: int
    long_name: str

    @property
    def data_folder(self) -> str:
        return f"{self.prefix}_Data"

    @property
    def mask_folder(self) -> str:
        return f"{self.prefix}_Part1_GroundTruth"

    @property
    def labels_csv(self) -> str:
        return f"{self.prefix}_Part3_GroundTruth.csv"

    @property
    def metadata_csv(self) -> str:
        return f"{self.prefix}_Data_metadata.csv"

    @property
    def folders(self) -> tuple[str, str]:
        return (self.data_folder, self.mask_folder)


SPLITS: tuple[OfficialSplit, ...] = (
    OfficialSplit("train", "ISIC-2017_Training", 2000, "training"),
    OfficialSplit("valid", "ISIC-2017_Validation", 150, "validation"),
    OfficialSplit("test", "ISIC-2017_Test_v2", 600, "test"),
)

SPLITS_BY_NAME = {split.name: split for split in SPLITS}


def zip_name(folder: str) -> str:
    return f"{folder}.zip"


def official_url(file_name: str, base_url: str = ISIC_BASE_URL) -> str:
    return base_url.rstrip("/") + "/" + file_name
