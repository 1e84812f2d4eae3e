"""The ISIC lesion-segmentation releases (2016 Part 1, 2017 Task 1, 2018 Task 1), each described once.

Every fact about how ISIC named, counted, served and licensed a release lives in this table, so
the rest of the package takes a `Release` and never spells a year or an ISIC file name itself.
The facts were gathered in the project's ../shared/isic-releases/README.md (a developers' folder); each
fact a user may see names its public source instead. Where a fact is not known it is None.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from .errors import UsageError

ISIC_CHALLENGE_BUCKET = "https://isic-challenge-data.s3.amazonaws.com/"

# How a release's Part3 label CSV is parsed.
LABELS_2017_PART3_FLAGS = "isic2017-part3-flags"  # header image_id,melanoma,seborrheic_keratosis; 0.0/1.0 flags
LABELS_2016_PART3_BENIGN_MALIGNANT = "isic2016-part3-benign-malignant"  # no header; benign/malignant or 0/1
LABELS_NONE = "none"
# HAM10000_metadata.csv: lesion_id,image_id,dx,dx_type,age,sex,localization (one table for every split).
LABELS_HAM10000_METADATA = "ham10000-metadata"
# PH2_dataset.txt: `||`-separated rows, the Clinical Diagnosis column 0/1/2 (common nevus, atypical nevus, melanoma).
LABELS_PH2_TXT = "ph2-dataset-txt"
# How a release's files are laid out: flat image and mask folders (ISIC, HAM10000), or one folder per case (PH2).
LAYOUT_FLAT = "flat"
LAYOUT_PH2_CASES = "ph2-cases"
# Several masks per image named in a table (IMA++): an image folder, a mask folder and the seg metadata CSV.
LAYOUT_MULTI_ANNOTATOR = "multi-annotator"
# How a release without official splits is divided (dataset/lesion_splits.py): by lesion, the lesions of the
# official table dealt within each diagnosis, a lesion outside it by a hash of its id.
SPLIT_BY_LESION_HASH = "lesion-hash"
# The hash rule alone, of the image's group key: its patient_id, else its lesion_id, else its image id (IMA++).
SPLIT_BY_PATIENT_HASH = "patient-hash"

SEGMENTATION_NAMES = ("background", "lesion")
IMAGE_SUFFIXES = (".jpg", ".jpeg")
CC0_URL = "https://creativecommons.org/publicdomain/zero/1.0/"

# Where the checksums come from (ISIC publishes none): public download scripts, named so a user can look.
_TORCH_EM = (
    "the ISIC 2018 download script of github.com/constantinpape/torch-em (torch_em/data/datasets/medical/isic.py)"
)
_PUBLIC_2017 = "public ISIC-2017 download scripts on GitHub that verify the official zips by MD5"


@dataclass(frozen=True)
class Checksum:
    """A checksum someone recorded for an official file: never computed here, so its source is named."""

    algorithm: str  # a hashlib name: "md5" or "sha256"
    value: str
    source: str


@dataclass(frozen=True)
class Download:
    """One file served at the release's base URL; `folder` is the folder a zip extracts to (None for a CSV).

    `size` is the file's length in bytes as a public source records it beside the checksum (the checksum's
    `source`); None where no source in hand records it (ISIC's bucket lists no sizes). `served_as` is the path
    below the release's base URL the file is served at when it is not the file name (Harvard Dataverse
    serves a file by its numeric id); a mirror given as `base_url` must serve the same paths.
    """

    file_name: str
    checksum: Checksum | None
    folder: str | None = None
    size: int | None = None
    served_as: str | None = None


@dataclass(frozen=True)
class Split:
    """One official split: its name here and in messages, its image and mask folders as ISIC named them, the
    official pair count, its label and metadata CSVs (None when the release has none) and its id list."""

    name: str
    long_name: str
    data_folder: str
    mask_folder: str
    official_count: int
    labels_csv: str | None
    metadata_csv: str | None
    ids_file: str | None  # the shipped id list in skin_cancer/data/ids/, None when the list is not known
    # Further image folders beside `data_folder` (HAM10000 ships its images in two parts).
    more_data_folders: tuple[str, ...] = ()

    @property
    def data_folders(self) -> tuple[str, ...]:
        return (self.data_folder, *self.more_data_folders)

    @property
    def folders(self) -> tuple[str, ...]:
        return (*self.data_folders, self.mask_folder)


@dataclass(frozen=True)
class Release:
    """Every fact about one ISIC release the package needs: folder and file names, splits, downloads (checksums,
    and sizes where a source records them), mask naming, labels and licence. One instance per release in RELEASES; the
    sources of each value are given beside it (the release's data page, ISIC's download listings).
    """

    name: str
    short_name: str  # in messages: "ISIC-2017"
    pretty_name: str  # the card's title
    hub_id: str  # how the Hub names the source dataset in a card's `source_datasets` (extended|isic-2017)
    top_folder: str  # the usual name of the folder holding the extracted release (the sample uses it)
    splits: tuple[Split, ...]
    downloads: tuple[Download, ...]
    base_url: str
    data_page: str  # where a user downloads the files by hand
    mask_suffix: str  # as ISIC wrote it; match case-insensitively
    image_suffixes: tuple[str, ...]
    label_kind: str
    diagnosis_names: tuple[str, ...]
    segmentation_names: tuple[str, ...]
    non_image_files: tuple[str, ...]  # in the image/mask folders, neither images nor masks
    companion_suffixes: tuple[str, ...]  # files beside each image that are not inputs (2017 superpixels)
    description: str
    citation: str
    homepage: str
    license: str
    license_id: str
    # True only where a source states the licence (the card says "unknown" otherwise); each release's
    # licence source, and how sure it is, is the comment beside its `license`.
    license_confirmed: bool = False
    # None: every split has its own folders (the ISIC releases). SPLIT_BY_LESION_HASH: the splits share
    # their folders and dataset/lesion_splits.py assigns each image to one by its lesion.
    split_rule: str | None = None
    split_bounds: tuple[tuple[str, float], ...] = ()  # (split, upper bound of the lesion fraction), increasing
    # The `license` column where the ISIC Archive records none for an image (HAM10000: the whole set's).
    image_license: str | None = None
    # False: the builder never downloads (no verified address in hand); the user passes data_dir.
    downloadable: bool = True
    layout: str = LAYOUT_FLAT
    # False where the image ids are not ISIC ids (PH2's IMDxxx): no other release can hold them, so the
    # overlap and leak tables have nothing to check for its splits.
    isic_ids: bool = True
    # The card's words for the source data and its owner; None: the ISIC challenge wording.
    source_data: str | None = None
    source_owner: str | None = None
    # What each diagnosis name stands for, in diagnosis_names' order, where the names are codes (HAM10000's dx).
    diagnosis_descriptions: tuple[str, ...] = ()
    # True for a collection of ISIC Archive images that holds the challenge images themselves (IMA++): its
    # splits, made here by a rule, stay out of the overlap and leak tables (and out of every other release's
    # `also_in`); its own `also_in` still names the challenge splits holding each image.
    archive_collection: bool = False
    # False where the data's terms forbid sharing the build (PH2; IMA++'s no-derivatives masks): `publish` stages
    # it locally (--dry-run, for `evaluate --dataset`) but never uploads it, and the staged card says so. The
    # source is beside each False.
    redistributable: bool = True
    # The card's words where the ISIC wording would be wrong (hub/card.py); None: the ISIC Archive's wording.
    # Where the images were taken, as a sentence (the card's Known limitations).
    image_origin: str | None = None
    # Who removed identifying information before publishing, as a clause; "" where no source in hand says.
    deidentified: str | None = None
    # What the `native_masks` configuration holds: the release's own mask files, as published.
    native_mask_files: str | None = None
    # Where to check a licence that is not confirmed (the card's licence sentence).
    license_check: str | None = None

    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(split.name for split in self.splits)

    @property
    def splits_by_name(self) -> dict[str, Split]:
        return {split.name: split for split in self.splits}

    def split(self, name: str) -> Split:
        try:
            return self.splits_by_name[name]
        except KeyError:
            raise KeyError(f"{self.name} has no split {name!r} (it has {', '.join(self.split_names)})") from None

    @property
    def folders(self) -> tuple[str, ...]:
        """Every folder once, in the splits' order (splits divided by a rule share theirs)."""
        return tuple(dict.fromkeys(folder for split in self.splits for folder in split.folders))

    @property
    def has_metadata(self) -> bool:
        return any(split.metadata_csv for split in self.splits)

    @property
    def downloads_by_name(self) -> dict[str, Download]:
        return {download.file_name: download for download in self.downloads}

    @property
    def zip_downloads(self) -> dict[str, Download]:
        """{folder name: its zip}."""
        return {download.folder: download for download in self.downloads if download.folder}

    @property
    def csv_downloads(self) -> tuple[Download, ...]:
        return tuple(download for download in self.downloads if download.folder is None)

    def url(self, file_name: str, base_url: str | None = None) -> str:
        """Where a download is fetched: base_url (the official one by default) + its `served_as` or file name."""
        download = self.downloads_by_name.get(file_name)
        served = download.served_as if download is not None and download.served_as else file_name
        return official_url(served, base_url or self.base_url)

    def mask_image_id(self, file_name: str) -> str | None:
        """The image id a mask file belongs to, or None: `_segmentation.png` and `_Segmentation.png` alike."""
        if file_name.lower().endswith(self.mask_suffix.lower()):
            return file_name[: -len(self.mask_suffix)]
        return None

    def mask_name(self, image_id: str) -> str:
        return f"{image_id}{self.mask_suffix}"

    def is_image(self, file_name: str) -> bool:
        return file_name.lower().endswith(self.image_suffixes) and not any(
            file_name.lower().endswith(suffix.lower()) for suffix in self.companion_suffixes
        )


def zip_name(folder: str) -> str:
    """The file name ISIC ships a release folder as: "ISIC-2017_Training_Data" -> "ISIC-2017_Training_Data.zip"."""
    return f"{folder}.zip"


def official_url(file_name: str, base_url: str) -> str:
    return base_url.rstrip("/") + "/" + file_name


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """The hex digest of a file's bytes with a hashlib algorithm ("sha256", "md5"), read in 1 MiB chunks.
    Raises OSError when the file cannot be read and ValueError for an unknown algorithm.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def size_problem(download: Download, path: str | os.PathLike[str]) -> str | None:
    """None when the file has its recorded size in bytes (or none is recorded), else what is wrong, in one line.

    Cheap (no read), so a truncated or wrong download is told apart before its checksum is computed."""
    if download.size is None:
        return None
    actual = os.path.getsize(path)
    if actual == download.size:
        return None
    source = f" (recorded by {download.checksum.source})" if download.checksum is not None else ""
    return f"{download.file_name}: {actual} bytes, expected {download.size}{source}"


def checksum_problem(download: Download, path: str | os.PathLike[str]) -> str | None:
    """None when the file matches its recorded checksum (or none is recorded), else what is wrong, in one line."""
    if download.checksum is None:
        return None
    actual = file_digest(path, download.checksum.algorithm)
    if actual == download.checksum.value.lower():
        return None
    return (
        f"{download.file_name}: {download.checksum.algorithm} is {actual}, expected {download.checksum.value} "
        f"(recorded by {download.checksum.source})"
    )


def _zips(names: list[tuple[str, Checksum | None]]) -> tuple[Download, ...]:
    return tuple(Download(zip_name(folder), checksum, folder) for folder, checksum in names)


# --- ISIC 2016 Part 1 ---------------------------------------------------------------------------

_ISIC2016_CITATION = """@article{gutman2016skin,
  title   = {Skin Lesion Analysis toward Melanoma Detection: A Challenge at the International Symposium on
             Biomedical Imaging (ISBI) 2016, hosted by the International Skin Imaging Collaboration (ISIC)},
  author  = {Gutman, David and Codella, Noel C. F. and Celebi, Emre and Helba, Brian and Marchetti, Michael
             and Mishra, Nabin and Halpern, Allan},
  journal = {arXiv preprint arXiv:1605.01397},
  year    = {2016}
}"""

ISIC2016 = Release(
    name="isic2016",
    short_name="ISIC 2016",
    pretty_name="ISIC 2016 skin lesion segmentation",
    hub_id="isic-2016",
    top_folder="ISBI2016",
    splits=(
        Split(
            "train",
            "training",
            "ISBI2016_ISIC_Part1_Training_Data",
            "ISBI2016_ISIC_Part1_Training_GroundTruth",
            900,
            "ISBI2016_ISIC_Part3_Training_GroundTruth.csv",
            None,
            "isic2016-train.txt",
        ),
        Split(
            "test",
            "test",
            "ISBI2016_ISIC_Part1_Test_Data",
            "ISBI2016_ISIC_Part1_Test_GroundTruth",
            379,
            "ISBI2016_ISIC_Part3_Test_GroundTruth.csv",
            None,
            "isic2016-test.txt",
        ),
    ),
    downloads=(
        *_zips(
            [
                ("ISBI2016_ISIC_Part1_Training_Data", None),
                ("ISBI2016_ISIC_Part1_Training_GroundTruth", None),
                ("ISBI2016_ISIC_Part1_Test_Data", None),
                ("ISBI2016_ISIC_Part1_Test_GroundTruth", None),
            ]
        ),
        Download("ISBI2016_ISIC_Part3_Training_GroundTruth.csv", None),
        Download("ISBI2016_ISIC_Part3_Test_GroundTruth.csv", None),
    ),
    base_url=ISIC_CHALLENGE_BUCKET + "2016/",
    data_page="https://challenge.isic-archive.com/data/#2016",
    mask_suffix="_Segmentation.png",
    image_suffixes=IMAGE_SUFFIXES,
    label_kind=LABELS_2016_PART3_BENIGN_MALIGNANT,
    diagnosis_names=("benign", "malignant"),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=(),
    companion_suffixes=(),
    description=(
        "ISIC 2016 Part 1 skin-lesion segmentation: dermoscopy images and binary lesion masks, "
        "made square (default 512x512) with image and mask aligned pixel for pixel, plus the Part3 "
        "diagnosis (benign, malignant). There is no official validation split."
    ),
    citation=_ISIC2016_CITATION,
    homepage="https://challenge.isic-archive.com/landing/2016/",
    # CC-0 as for ISIC-2017; not stated by any source in hand: check the ISIC challenge data page.
    license=f"CC-0 ({CC0_URL}); ISIC 2016 data by the International Skin Imaging Collaboration",
    license_id="cc0-1.0",
)

# --- ISIC-2017 Task 1 (the default) ------------------------------------------------------------

_ISIC2017_CITATION = """@article{codella2017skin,
  title   = {Skin Lesion Analysis Toward Melanoma Detection: A Challenge at the 2017 International
             Symposium on Biomedical Imaging (ISBI), Hosted by the International Skin Imaging
             Collaboration (ISIC)},
  author  = {Codella, Noel C. F. and Gutman, David and Celebi, M. Emre and Helba, Brian and
             Marchetti, Michael A. and Dusza, Stephen W. and Kalloo, Aadi and Liopyris, Konstantinos
             and Mishra, Nabin and Kittler, Harald and Halpern, Allan},
  journal = {arXiv preprint arXiv:1710.05006},
  year    = {2017}
}"""


def _split_2017(name: str, long_name: str, prefix: str, count: int) -> Split:
    return Split(
        name,
        long_name,
        f"{prefix}_Data",
        f"{prefix}_Part1_GroundTruth",
        count,
        f"{prefix}_Part3_GroundTruth.csv",
        f"{prefix}_Data_metadata.csv",
        f"isic2017-{name}.txt",
    )


def _md5_2017(value: str) -> Checksum:
    return Checksum("md5", value, _PUBLIC_2017)


ISIC2017 = Release(
    name="isic2017",
    short_name="ISIC-2017",
    pretty_name="ISIC-2017 skin lesion segmentation",
    hub_id="isic-2017",
    top_folder="ISIC-2017",
    splits=(
        _split_2017("train", "training", "ISIC-2017_Training", 2000),
        _split_2017("valid", "validation", "ISIC-2017_Validation", 150),
        _split_2017("test", "test", "ISIC-2017_Test_v2", 600),
    ),
    downloads=(
        *_zips(
            [
                ("ISIC-2017_Training_Data", _md5_2017("a14a7e622c67a358797ae59abb8a0b0c")),
                ("ISIC-2017_Training_Part1_GroundTruth", _md5_2017("77fdbeb6fbec4139937224416b250f4c")),
                ("ISIC-2017_Validation_Data", _md5_2017("8d6419d942112f709894c0d82f6c9038")),
                ("ISIC-2017_Validation_Part1_GroundTruth", _md5_2017("64d3e68fa2deeb8a5e89aa8dec2efd44")),
                ("ISIC-2017_Test_v2_Data", _md5_2017("5f6a0b5e1f2972bd1f5ea02680489f09")),
                ("ISIC-2017_Test_v2_Part1_GroundTruth", _md5_2017("b1742de6bd257faca3b2b21a4aa3b781")),
            ]
        ),
        Download("ISIC-2017_Training_Part3_GroundTruth.csv", None),
        Download("ISIC-2017_Validation_Part3_GroundTruth.csv", None),
        Download("ISIC-2017_Test_v2_Part3_GroundTruth.csv", None),
    ),
    base_url=ISIC_CHALLENGE_BUCKET + "2017/",
    data_page="https://challenge.isic-archive.com/data/#2017",
    mask_suffix="_segmentation.png",
    image_suffixes=IMAGE_SUFFIXES,
    label_kind=LABELS_2017_PART3_FLAGS,
    diagnosis_names=("nevus", "melanoma", "seborrheic_keratosis"),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=(),
    companion_suffixes=("_superpixels.png",),
    description=(
        "ISIC-2017 Task 1 skin-lesion segmentation: dermoscopy images and binary lesion masks, "
        "made square (default 512x512) with image and mask aligned pixel for pixel, plus the Part3 "
        "diagnosis (nevus, melanoma, seborrheic keratosis) and the age and sex metadata."
    ),
    citation=_ISIC2017_CITATION,
    homepage="https://challenge.isic-archive.com/landing/2017/",
    # CC-0, stated for the ISIC-2017 challenge data by the project's ../shared/README.md.
    license=f"CC-0 ({CC0_URL}); ISIC-2017 data by the International Skin Imaging Collaboration",
    license_id="cc0-1.0",
    license_confirmed=True,
)

# --- ISIC 2018 Task 1 ---------------------------------------------------------------------------

_ISIC2018_CITATION = """@article{codella2019skin,
  title   = {Skin Lesion Analysis Toward Melanoma Detection 2018: A Challenge Hosted by the International
             Skin Imaging Collaboration (ISIC)},
  author  = {Codella, Noel and Rotemberg, Veronica and Tschandl, Philipp and Celebi, M. Emre and Dusza,
             Stephen and Gutman, David and Helba, Brian and Kalloo, Aadi and Liopyris, Konstantinos and
             Marchetti, Michael and Kittler, Harald and Halpern, Allan},
  journal = {arXiv preprint arXiv:1902.03368},
  year    = {2019}
}

@article{tschandl2018ham10000,
  title   = {The {HAM10000} dataset, a large collection of multi-source dermatoscopic images of common
             pigmented skin lesions},
  author  = {Tschandl, Philipp and Rosendahl, Cliff and Kittler, Harald},
  journal = {Scientific Data},
  volume  = {5},
  pages   = {180161},
  year    = {2018},
  doi     = {10.1038/sdata.2018.161}
}"""


def _sha256_2018(value: str) -> Checksum:
    return Checksum("sha256", value, _TORCH_EM)


ISIC2018 = Release(
    name="isic2018",
    short_name="ISIC 2018",
    pretty_name="ISIC 2018 skin lesion segmentation",
    hub_id="isic-2018",
    top_folder="ISIC2018",
    splits=(
        Split(
            "train",
            "training",
            "ISIC2018_Task1-2_Training_Input",
            "ISIC2018_Task1_Training_GroundTruth",
            2594,
            None,
            None,
            "isic2018-train.txt",
        ),
        Split(
            "valid",
            "validation",
            "ISIC2018_Task1-2_Validation_Input",
            "ISIC2018_Task1_Validation_GroundTruth",
            100,
            None,
            None,
            "isic2018-valid.txt",
        ),
        Split(
            "test",
            "test",
            "ISIC2018_Task1-2_Test_Input",
            "ISIC2018_Task1_Test_GroundTruth",
            1000,
            None,
            None,
            "isic2018-test.txt",
        ),
    ),
    downloads=_zips(
        [
            (
                "ISIC2018_Task1-2_Training_Input",
                _sha256_2018("80f98572347a2d7a376227fa9eb2e4f7459d317cb619865b8b9910c81446675f"),
            ),
            (
                "ISIC2018_Task1_Training_GroundTruth",
                _sha256_2018("99f8b2bb3c4d6af483362010715f7e7d5d122d9f6c02cac0e0d15bef77c7604c"),
            ),
            (
                "ISIC2018_Task1-2_Validation_Input",
                _sha256_2018("0ea920fcfe512d12a6e620b50b50233c059f67b10146e1479c82be58ff15a797"),
            ),
            (
                "ISIC2018_Task1_Validation_GroundTruth",
                _sha256_2018("f6911e9c0a64e6d687dd3ca466ca927dd5e82145cb2163b7a1e5b37d7a716285"),
            ),
            (
                "ISIC2018_Task1-2_Test_Input",
                _sha256_2018("e59ae1f69f4ed16f09db2cb1d76c2a828487b63d28f6ab85997f5616869b127d"),
            ),
            (
                "ISIC2018_Task1_Test_GroundTruth",
                _sha256_2018("2e8f6edce454a5bdee52485e39f92bd6eddf357e81f39018d05512175238ef82"),
            ),
        ]
    ),
    base_url=ISIC_CHALLENGE_BUCKET + "2018/",
    data_page="https://challenge.isic-archive.com/data/#2018",
    mask_suffix="_segmentation.png",
    image_suffixes=IMAGE_SUFFIXES,
    label_kind=LABELS_NONE,
    diagnosis_names=(),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=("ATTRIBUTION.txt", "LICENSE.txt"),
    companion_suffixes=(),
    description=(
        "ISIC 2018 Task 1 skin-lesion segmentation: dermoscopy images and binary lesion masks, "
        "made square (default 512x512) with image and mask aligned pixel for pixel. Task 1 has no "
        "diagnosis labels and no age or sex metadata."
    ),
    citation=_ISIC2018_CITATION,
    homepage="https://challenge.isic-archive.com/landing/2018/",
    # UNCERTAIN: assumed CC-0 for the Task 1-2 images and masks; no source in hand states it, the zips' own
    # LICENSE.txt is authoritative, and some catalogues list the whole 2018 challenge as CC BY-NC 4.0 (the
    # licence of the HAM10000 Task 3 data): check before publishing.
    license=f"CC-0 ({CC0_URL}); ISIC 2018 Task 1-2 data by the International Skin Imaging Collaboration",
    license_id="cc0-1.0",
)

# --- HAM10000 with the lesion masks of Tschandl et al. ------------------------------------------

# Facts from the Harvard Dataverse record (doi 10.7910/DVN/DBW86T) as the project's
# ../shared/ham10000-mini/README.md records them: folder and file names, 10,015 images and masks,
# the licence and the two papers.
HAM10000_DOI = "10.7910/DVN/DBW86T"
HAM10000_PAGE = f"https://doi.org/{HAM10000_DOI}"
HAM10000_METADATA = "HAM10000_metadata.csv"  # Dataverse also serves it as `HAM10000_metadata`, no extension
# Dataverse's access API: a file of the record is served at <this>/<file id> (a redirect to its storage).
DATAVERSE_ACCESS = "https://dataverse.harvard.edu/api/access/datafile/"
# The record's files (version 4.0): Dataverse file id, size in bytes and the MD5 Dataverse publishes for each.
# Not read from Dataverse here (no internet): quoted by public GitHub download scripts and data cards that fetch
# these ids and verify these MD5s, which agree exactly with each other and with this table:
#   DataScienceVishal/lesion-split, src/lesionsplit/fetch.py: ids, sizes and MD5s of both image zips and the
#     metadata (`?format=original`);
#   yanguanyue/DFTA-, scripts/dataset_downloader.sh: ids and MD5s of both image zips and the masks zip;
#   erjonb19/clinical-drift-monitor, src/cdm/data.py and docs/DATA_CARD.md: ids and MD5s of both image zips and
#     the metadata ("MD5 as published by Dataverse");
#   aniketmeena12/medxai, scripts/download_data_official.sh and data/raw/*/SOURCE.md: every id, the masks zip's
#     size, and that each MD5 "matches the value Dataverse publishes".
# The metadata table is ingested by Dataverse: only `?format=original` serves the
# uploaded CSV (690,218 bytes, with a `dataset` column) whose MD5 is published; the plain URL serves a
# re-exported TSV. The shared copy in ../shared/ham10000-mini is a different export (563,277 bytes).
_DATAVERSE_SOURCE = (
    "Harvard Dataverse's record doi 10.7910/DVN/DBW86T (v4.0), as quoted with the file id by public HAM10000 "
    "download scripts on GitHub (DataScienceVishal/lesion-split, yanguanyue/DFTA-, erjonb19/clinical-drift-monitor)"
)
HAM10000_FILES = {  # file name: (Dataverse path below DATAVERSE_ACCESS, size in bytes, MD5)
    "HAM10000_images_part_1.zip": ("3172585", 1_366_522_108, "4639bfa73ab251610530a97c898e6e46"),
    "HAM10000_images_part_2.zip": ("3172584", 1_403_566_547, "da43d6cc50f6613013be07e8986b384b"),
    "HAM10000_segmentations_lesion_tschandl.zip": ("3838943", 10_808_743, "6e8d252e09cfdb0189199f15985a5b84"),
    HAM10000_METADATA: ("4338392?format=original", 690_218, "8f85fb1aa29d80a2797247e434deb79d"),
}


def _dataverse_download(file_name: str, folder: str | None) -> Download:
    served_as, size, md5 = HAM10000_FILES[file_name]
    return Download(file_name, Checksum("md5", md5, _DATAVERSE_SOURCE), folder, size, served_as)


CC_BY_NC_URL = "https://creativecommons.org/licenses/by-nc/4.0/"
CC_BY_NC_ND_URL = "https://creativecommons.org/licenses/by-nc-nd/4.0/"
# The seven `dx` codes of HAM10000_metadata.csv, in the ClassLabel's order, and their names in
# Tschandl et al. 2018 (Sci Data 5, 180161).
HAM10000_DIAGNOSES = {
    "akiec": "actinic keratoses and intraepithelial carcinoma (Bowen's disease)",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis-like lesions (solar lentigines, seborrheic keratoses, lichen-planus like keratoses)",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevi",
    "vasc": "vascular lesions (angiomas, angiokeratomas, pyogenic granulomas, hemorrhage)",
}
# The split proportions (dataset/lesion_splits.py): the lesions of the official table are dealt to 10 buckets
# within each dx, buckets 0-6 `train`, 7 `valid`, 8-9 `test`; a lesion outside that table goes by its hash
# (the first 64 bits of the SHA-256 of its lesion_id over 2**64: `train` below 0.70, `valid` below 0.80).
HAM10000_SPLIT_BOUNDS = (("train", 0.70), ("valid", 0.80), ("test", 1.0))
# The rule applied to all 10,015 rows of the official HAM10000_metadata.csv (computed by scripts/diagnoses.py;
# tests/test_ham10000.py::test_the_release_counts_are_the_rule_on_the_official_table checks them): images
# per split (lesions: 5,234 / 745 / 1,491 of 7,470).
HAM10000_SPLIT_COUNTS = {"train": 7012, "valid": 1001, "test": 2002}
# The same, per dx (images): each dx divided 70/10/20 to within one lesion per bucket.
HAM10000_SPLIT_DX_COUNTS = {
    "train": {"akiec": 228, "bcc": 360, "bkl": 770, "df": 82, "mel": 777, "nv": 4695, "vasc": 100},
    "valid": {"akiec": 33, "bcc": 52, "bkl": 109, "df": 11, "mel": 112, "nv": 670, "vasc": 14},
    "test": {"akiec": 66, "bcc": 102, "bkl": 220, "df": 22, "mel": 224, "nv": 1340, "vasc": 28},
}

_HAM10000_CITATION = """@article{tschandl2018ham10000,
  title   = {The {HAM10000} dataset, a large collection of multi-source dermatoscopic images of common
             pigmented skin lesions},
  author  = {Tschandl, Philipp and Rosendahl, Cliff and Kittler, Harald},
  journal = {Scientific Data},
  volume  = {5},
  pages   = {180161},
  year    = {2018},
  doi     = {10.1038/sdata.2018.161}
}

@article{tschandl2020humancomputer,
  title   = {Human--computer collaboration for skin cancer recognition},
  author  = {Tschandl, Philipp and Rinner, Christoph and Apalla, Zoe and others},
  journal = {Nature Medicine},
  volume  = {26},
  number  = {8},
  pages   = {1229--1234},
  year    = {2020},
  doi     = {10.1038/s41591-020-0942-0}
}"""


def _ham10000_split(name: str, long_name: str) -> Split:
    return Split(
        name,
        long_name,
        "HAM10000_images_part_1",
        "HAM10000_segmentations_lesion_tschandl",
        HAM10000_SPLIT_COUNTS[name],
        HAM10000_METADATA,
        HAM10000_METADATA,
        f"ham10000-{name}.txt",
        more_data_folders=("HAM10000_images_part_2",),
    )


HAM10000 = Release(
    name="ham10000",
    short_name="HAM10000",
    pretty_name="HAM10000 skin lesion segmentation (Tschandl et al. masks)",
    hub_id="ham10000",
    top_folder="HAM10000",
    splits=(
        _ham10000_split("train", "training"),
        _ham10000_split("valid", "validation"),
        _ham10000_split("test", "test"),
    ),
    downloads=(
        *(
            _dataverse_download(zip_name(folder), folder)
            for folder in ("HAM10000_images_part_1", "HAM10000_images_part_2", "HAM10000_segmentations_lesion_tschandl")
        ),
        _dataverse_download(HAM10000_METADATA, None),
    ),
    base_url=DATAVERSE_ACCESS,
    data_page=HAM10000_PAGE,
    mask_suffix="_segmentation.png",
    image_suffixes=IMAGE_SUFFIXES,
    label_kind=LABELS_HAM10000_METADATA,
    diagnosis_names=tuple(HAM10000_DIAGNOSES),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=(),
    companion_suffixes=(),
    description=(
        "HAM10000 (10,015 dermoscopy images, ViDIR Group, Medical University of Vienna) with the binary "
        "lesion masks of Tschandl et al. 2020, made square (default 512x512) with image and mask aligned "
        "pixel for pixel, plus the diagnosis (seven dx codes) and the metadata table's dx_type, age, sex, "
        "localization and lesion_id. There is no official split: train, valid and test (70/10/20) are made "
        "by lesion and stratified by diagnosis (the lesions of the official table dealt within each dx), so "
        "every image of a lesion is in one split. HAM10000 is "
        "the training set of ISIC 2018 Task 3; none of its ids is in the ISIC 2016/2017/2018 segmentation "
        "releases."
    ),
    citation=_HAM10000_CITATION,
    homepage=HAM10000_PAGE,
    # CC BY-NC 4.0, stated on the Dataverse record (as ../shared/ham10000-mini/README.md records it).
    license=f"CC BY-NC 4.0 ({CC_BY_NC_URL}); HAM10000 by the ViDIR Group, Medical University of Vienna",
    license_id="cc-by-nc-4.0",
    license_confirmed=True,
    split_rule=SPLIT_BY_LESION_HASH,
    split_bounds=HAM10000_SPLIT_BOUNDS,
    image_license="cc-by-nc-4.0",
    diagnosis_descriptions=tuple(HAM10000_DIAGNOSES.values()),
    source_data="HAM10000 (Harvard Dataverse, doi 10.7910/DVN/DBW86T) with the lesion masks of Tschandl et al. 2020",
    source_owner="HAM10000 data by the ViDIR Group, Medical University of Vienna",
    # Tschandl et al. 2018 (Sci Data 5, 180161), abstract: the two sites.
    image_origin=(
        "The images were collected over 20 years at two sites, the Department of Dermatology of the Medical "
        "University of Vienna (Austria) and the skin cancer practice of Cliff Rosendahl in Queensland (Australia)"
    ),
    deidentified="",  # no source in hand says who de-identified the images
    native_mask_files="lesion mask PNGs of Tschandl et al. (`HAM10000_segmentations_lesion_tschandl`)",
)

# --- PH2 (the usual external test set) --------------------------------------------------------

# Facts from the project's ../shared/ph2-mini/README.md: the layout of the official download, 200 images
# (80 common nevi, 80 atypical nevi, 40 melanomas), the terms (research and benchmarking, citing Mendonca et
# al. 2013; no redistribution, so the builder reads the user's copy and never downloads).
PH2_PAGE = "https://www.fc.up.pt/addi/ph2%20database.html"  # the ADDI project's page (registration needed)
PH2_IMAGES_FOLDER = "PH2 Dataset images"

_PH2_CITATION = r"""@inproceedings{mendonca2013ph2,
  title     = {{PH2} - A dermoscopic image database for research and benchmarking},
  author    = {Mendon{\c{c}}a, Teresa and Ferreira, Pedro M. and Marques, Jorge S. and Marcal, Andre R. S.
               and Rozeira, Jorge},
  booktitle = {35th Annual International Conference of the IEEE Engineering in Medicine and Biology Society
               (EMBC)},
  pages     = {5437--5440},
  year      = {2013},
  doi       = {10.1109/EMBC.2013.6610779}
}"""

PH2 = Release(
    name="ph2",
    short_name="PH2",
    pretty_name="PH2 skin lesion segmentation",
    hub_id="ph2",
    top_folder="PH2Dataset",
    # One split: PH2 is used as an external test set. Images and masks sit in one folder per case.
    splits=(Split("test", "test", PH2_IMAGES_FOLDER, PH2_IMAGES_FOLDER, 200, "PH2_dataset.txt", None, None),),
    downloads=(),
    base_url=PH2_PAGE,
    data_page=PH2_PAGE,
    mask_suffix="_lesion.bmp",
    image_suffixes=(".bmp",),
    label_kind=LABELS_PH2_TXT,
    diagnosis_names=("common_nevus", "atypical_nevus", "melanoma"),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=(),
    companion_suffixes=(),
    description=(
        "PH2 (200 dermoscopy images, Hospital Pedro Hispano, Matosinhos; ADDI project) with its lesion masks, "
        "made square (default 512x512) with image and mask aligned pixel for pixel, plus the clinical "
        "diagnosis (common nevus, atypical nevus, melanoma) where PH2_dataset.txt is present. One split, "
        "`test`: PH2 is the usual external test set of models trained on ISIC data."
    ),
    citation=_PH2_CITATION,
    homepage=PH2_PAGE,
    # Research and benchmarking use, citing Mendonca et al. 2013; no redistribution (../shared/ph2-mini/README.md).
    license="PH2 terms: free for research and benchmarking, citing Mendonca et al. 2013; not to be redistributed",
    license_id="other",
    license_confirmed=True,
    # "not to be redistributed": the PH2 terms (../shared/ph2-mini/README.md, the ADDI project's page PH2_PAGE).
    redistributable=False,
    downloadable=False,
    layout=LAYOUT_PH2_CASES,
    isic_ids=False,
    image_license="other",  # the PH2 terms above, on every image
    source_data="the PH2 database (ADDI project, Universidade do Porto and Hospital Pedro Hispano)",
    source_owner="PH2 data of the ADDI project (Universidade do Porto, Hospital Pedro Hispano)",
    # Mendonca et al. 2013 (the citation) and ../shared/ph2-mini/README.md: one hospital in Portugal.
    image_origin=(
        "The images come from one clinic, the dermatology service of Hospital Pedro Hispano (Matosinhos, Portugal)"
    ),
    deidentified="",  # no source in hand says who de-identified the images
    native_mask_files="PH2 lesion masks (`IMDxxx_lesion.bmp`, 1-bit or 24-bit BMPs)",
)

# --- IMA++ (ISIC MultiAnnot++): several annotators per image -----------------------------------

# Facts from the project's ../shared/isic-archive-metadata/README.md (the IMA++ repository's metadata,
# sfu-mial/IMAplusplus) and the paper (Abhishek et al., arXiv:2512.21472): 14,967 ISIC Archive images (collection
# 482), 22,472 mask files in `segs.zip` on Zenodo (doi 10.5281/zenodo.14201692): 17,684 masks of 16 annotators
# (A00-A15) plus a STAPLE (`_ST_`) and a majority-vote (`_MV_`) consensus mask for each of the 2,394 images with
# two or more annotators; IMAplusplus_seg_metadata.csv names them all. No size or checksum of the Zenodo files is
# in hand and the images come from the ISIC Archive through ISIC's own client, so the builder downloads nothing.
IMAPLUSPLUS_DOI = "10.5281/zenodo.14201692"
IMAPLUSPLUS_PAGE = f"https://doi.org/{IMAPLUSPLUS_DOI}"
IMAPLUSPLUS_COLLECTION = 482  # the ISIC Archive collection of the IMA++ images
IMAPLUSPLUS_SEG_METADATA = "IMAplusplus_seg_metadata.csv"
# What ISIC's command-line client (`isic image download --collections 482 images/`) writes beside the images.
ISIC_CLI_METADATA = "metadata.csv"
# The annotator (and tool, skill level) code of the two consensus masks in IMAplusplus_seg_metadata.csv.
IMAPLUSPLUS_STAPLE = "ST"
IMAPLUSPLUS_MAJORITY = "MV"
# The codes of the seg metadata, as ../shared/isic-archive-metadata/README.md gives them.
IMAPLUSPLUS_TOOLS = {"T1": "manual polyline", "T2": "unspecified", "T3": "semi-automatic flood fill"}
IMAPLUSPLUS_SKILLS = {"S1": "expert", "S2": "novice"}
# The patient-hash rule (dataset/lesion_splits.py, the HAM10000 fractions): an image's group key is its
# patient_id, else its lesion_id, else its image id (ISIC's metadata.csv); train below 0.70, valid below 0.80.
IMAPLUSPLUS_SPLIT_BOUNDS = (("train", 0.70), ("valid", 0.80), ("test", 1.0))
# The rule applied to all 14,967 rows of IMA++'s own copy of the collection's metadata
# (IMAplusplus_img_metadata.csv; recomputed by tests/test_imaplusplus.py::test_the_release_counts_are_the_rule):
# images per split. On that table no lesion has images with and without a patient_id, and no lesion two patients,
# so no patient and no lesion crosses splits.
IMAPLUSPLUS_SPLIT_COUNTS = {"train": 10546, "valid": 1523, "test": 2898}

_IMAPLUSPLUS_CITATION = """@article{abhishek2025imaplusplus,
  title   = {{IMA++}: {ISIC} Archive Multi-Annotator Dermoscopic Skin Lesion Segmentation Dataset},
  author  = {Abhishek, Kumar and others},
  journal = {arXiv preprint arXiv:2512.21472},
  year    = {2025}
}

@inproceedings{abhishek2024segmentationstyle,
  title     = {Segmentation Style Discovery: Application to Skin Lesion Images},
  author    = {Abhishek, Kumar and Kawahara, Jeremy and Hamarneh, Ghassan},
  booktitle = {MICCAI ISIC Skin Image Analysis Workshop, LNCS 15274},
  pages     = {24--34},
  year      = {2025},
  doi       = {10.1007/978-3-031-77610-6_3}
}

@inproceedings{abhishek2025variability,
  title     = {What Can We Learn from Inter-Annotator Variability in Skin Lesion Segmentation?},
  author    = {Abhishek, Kumar and Kawahara, Jeremy and Hamarneh, Ghassan},
  booktitle = {MICCAI ISIC Skin Image Analysis Workshop, LNCS 16149},
  pages     = {23--33},
  year      = {2025},
  doi       = {10.1007/978-3-032-05825-6_3}
}"""


def _imaplusplus_split(name: str, long_name: str) -> Split:
    return Split(
        name,
        long_name,
        "images",
        "segs",
        IMAPLUSPLUS_SPLIT_COUNTS[name],
        None,
        ISIC_CLI_METADATA,
        None,
    )


IMAPLUSPLUS = Release(
    name="imaplusplus",
    short_name="IMA++",
    pretty_name="IMA++ (ISIC MultiAnnot++) multi-annotator skin lesion segmentation",
    hub_id="imaplusplus",
    top_folder="IMAplusplus",
    splits=(
        _imaplusplus_split("train", "training"),
        _imaplusplus_split("valid", "validation"),
        _imaplusplus_split("test", "test"),
    ),
    downloads=(Download("segs.zip", None, "segs"), Download(IMAPLUSPLUS_SEG_METADATA, None)),
    base_url=IMAPLUSPLUS_PAGE,
    data_page=IMAPLUSPLUS_PAGE,
    mask_suffix=".png",
    image_suffixes=IMAGE_SUFFIXES,
    label_kind=LABELS_NONE,
    diagnosis_names=(),
    segmentation_names=SEGMENTATION_NAMES,
    non_image_files=(),
    companion_suffixes=(),
    description=(
        "IMA++ (ISIC MultiAnnot++, Abhishek et al. 2025): 14,967 ISIC Archive dermoscopy images (collection 482) "
        "with 17,684 lesion masks from 16 annotators, and STAPLE and majority-vote consensus masks where an image "
        "has two or more, made square (default 512x512) with image and every mask aligned pixel for pixel. "
        "`masks` holds every annotator's mask with `annotators`, `tools` and `skill_levels`; `mask` is the STAPLE "
        "consensus where there is one, else the image's first annotator mask. There is no official split: train, "
        "valid and test (70/10/20) are made by patient, else lesion, else image, from the SHA-256 of that id, so "
        "no patient and no lesion crosses splits."
    ),
    citation=_IMAPLUSPLUS_CITATION,
    homepage="https://github.com/sfu-mial/IMAplusplus",
    # The masks: CC BY-NC-ND 4.0, the Zenodo record's licence as Zenodo's API reports it (`metadata.license.id`
    # "cc-by-nc-nd-4.0" of records/14201693, the version doi 10.5281/zenodo.14201692 resolves to). Not read from
    # Zenodo here (no internet): quoted by torch-em (constantinpape/torch-em,
    # torch_em/data/datasets/medical/ima_plus_plus.py: "under the CC BY-NC-ND 4.0 license (non-commercial use, no
    # derivatives)") and checked against the API by magicsistem/Thesis_Fitzpatrick
    # (scripts/benchmark/manage_datasets.py stops unless the id is "cc-by-nc-nd-4.0"). The IMA++ repository
    # (sfu-mial/IMAplusplus) states no data licence: its code is Apache-2.0, its README has a CC BY-NC 4.0 badge
    # commented out. Each image keeps its ISIC Archive licence (CC-0 or CC BY-NC: the `license` column, from
    # ISIC's metadata.csv).
    license=(
        f"masks: CC BY-NC-ND 4.0 ({CC_BY_NC_ND_URL}), the licence of the Zenodo record {IMAPLUSPLUS_PAGE}; "
        "images: each image's ISIC Archive licence (CC-0 or CC BY-NC 4.0, the `license` column)"
    ),
    license_id="cc-by-nc-nd-4.0",
    # Confirmed by the two independent sources above, one of which reads it from Zenodo's API: the card's YAML
    # gives `cc-by-nc-nd-4.0` (the stricter of it and each image's own licence, which is always this one).
    license_confirmed=True,
    # "NoDerivatives — If you remix, transform, or build upon the material, you may not distribute the modified
    # material" (the licence's deed, CC_BY_NC_ND_URL): the square masks made here are modified material, so
    # `publish` stages IMA++ but never uploads it.
    redistributable=False,
    split_rule=SPLIT_BY_PATIENT_HASH,
    split_bounds=IMAPLUSPLUS_SPLIT_BOUNDS,
    downloadable=False,
    layout=LAYOUT_MULTI_ANNOTATOR,
    source_data=(
        "IMA++ (ISIC MultiAnnot++; masks on Zenodo, doi 10.5281/zenodo.14201692) with the images of ISIC Archive "
        "collection 482"
    ),
    source_owner="IMA++ masks by Abhishek et al.; images by the International Skin Imaging Collaboration (ISIC)",
    archive_collection=True,
    # The `mask` column's source (evaluate/truth.py scores against it): one file of segs.zip per image.
    native_mask_files=(
        "IMA++ mask PNGs the `mask` column is made from (the STAPLE consensus where an image has two or more "
        "annotators, else its first annotator's mask)"
    ),
    license_check=(
        f"Check the licence of the Zenodo record {IMAPLUSPLUS_PAGE} for the masks (CC BY-NC-ND 4.0 as Zenodo "
        "reports it: no adapted masks may be shared), and each image's licence in the ISIC Archive (the `license` "
        "column)"
    ),
)

RELEASES: dict[str, Release] = {
    release.name: release for release in (ISIC2016, ISIC2017, ISIC2018, HAM10000, PH2, IMAPLUSPLUS)
}
DEFAULT_RELEASE = "isic2017"


def get_release(name: str | Release) -> Release:
    """The release of that name, or a UsageError listing the known names."""
    if isinstance(name, Release):
        return name
    try:
        return RELEASES[name]
    except KeyError:
        raise UsageError(f"unknown release {name!r}: choose one of {', '.join(RELEASES)}") from None


__all__ = [
    "DEFAULT_RELEASE",
    "IMAPLUSPLUS",
    "IMAPLUSPLUS_MAJORITY",
    "IMAPLUSPLUS_SEG_METADATA",
    "IMAPLUSPLUS_SKILLS",
    "IMAPLUSPLUS_SPLIT_BOUNDS",
    "IMAPLUSPLUS_SPLIT_COUNTS",
    "IMAPLUSPLUS_STAPLE",
    "IMAPLUSPLUS_TOOLS",
    "ISIC2017",
    "ISIC_CLI_METADATA",
    "LABELS_2016_PART3_BENIGN_MALIGNANT",
    "LABELS_2017_PART3_FLAGS",
    "LABELS_HAM10000_METADATA",
    "LABELS_NONE",
    "LABELS_PH2_TXT",
    "LAYOUT_MULTI_ANNOTATOR",
    "LAYOUT_PH2_CASES",
    "RELEASES",
    "SPLIT_BY_LESION_HASH",
    "SPLIT_BY_PATIENT_HASH",
    "Checksum",
    "Download",
    "Release",
    "Split",
    "checksum_problem",
    "file_digest",
    "get_release",
    "size_problem",
    "zip_name",
]
