"""A small synthetic tree in the official layout of any release, generated on demand.

Real ISIC data is a large manual download and cannot be shipped, so `skin-cancer build --sample`
and the tests run on this instead: the release's folder and file names, JPEGs of several sizes and
orientations, binary PNG masks, its label and metadata CSVs (where it has them) and the files the
builder must ignore (2017 superpixels, 2018 ATTRIBUTION.txt and LICENSE.txt); HAM10000's two image parts,
mask folder and metadata table, PH2's case folders of BMPs with PH2_dataset.txt, and IMA++'s image folder
(as ISIC's client writes it), mask folder and seg metadata table. The same arguments
always give the same bytes; the ISIC-2017 tree is byte-identical to the one before releases existed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..releases import (
    DEFAULT_RELEASE,
    IMAPLUSPLUS_SEG_METADATA,
    LABELS_2016_PART3_BENIGN_MALIGNANT,
    LABELS_2017_PART3_FLAGS,
    LABELS_HAM10000_METADATA,
    LABELS_NONE,
    LAYOUT_MULTI_ANNOTATOR,
    LAYOUT_PH2_CASES,
    Release,
    get_release,
)

SAMPLE_VERSION = "1"


@dataclass(frozen=True)
class SamplePair:
    """One synthetic image of a sample tree: its id (ISIC_9xxxxxx, in no real id list), its size in pixels, and
    what its label and metadata CSV rows say (None: the release has no labels, or a blank cell).
    """

    image_id: str
    width: int
    height: int
    diagnosis: str | None
    age: int | None
    sex: str | None
    lesion_id: str | None = None  # HAM10000 only: its metadata table's lesion_id, which decides the split


# Landscape and portrait, odd sizes and one large image, like the real spread of 1-4K pixels.
# Ids from ISIC_9000000 up are not real ISIC ids, so no sample image is in any shipped id list.
DEFAULT_PAIRS: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9000001", 1024, 768, "nevus", 55, "female"),
        SamplePair("ISIC_9000002", 767, 1023, "melanoma", 70, "male"),
        SamplePair("ISIC_9000003", 2048, 1536, "seborrheic_keratosis", None, None),
        SamplePair("ISIC_9000004", 641, 479, "nevus", 35, "male"),
        SamplePair("ISIC_9000005", 1504, 1000, "melanoma", 60, None),
        SamplePair("ISIC_9000006", 800, 800, "nevus", 25, "female"),
    ],
    "valid": [
        SamplePair("ISIC_9000101", 1022, 767, "nevus", 45, "female"),
        SamplePair("ISIC_9000102", 900, 1200, "seborrheic_keratosis", 80, "male"),
    ],
    "test": [
        SamplePair("ISIC_9000201", 1296, 972, "melanoma", 65, "male"),
        SamplePair("ISIC_9000202", 999, 666, "nevus", None, "female"),
    ],
}


# ISIC 2016: train and test only, benign/malignant, no age or sex.
PAIRS_2016: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9160001", 1022, 767, "benign", None, None),
        SamplePair("ISIC_9160002", 767, 1022, "malignant", None, None),
        SamplePair("ISIC_9160003", 1504, 1000, "benign", None, None),
        SamplePair("ISIC_9160004", 641, 479, "malignant", None, None),
    ],
    "test": [
        SamplePair("ISIC_9160101", 1024, 768, "malignant", None, None),
        SamplePair("ISIC_9160102", 900, 1200, "benign", None, None),
    ],
}

# ISIC 2018 Task 1: three splits, no labels and no metadata.
PAIRS_2018: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9180001", 1024, 768, None, None, None),
        SamplePair("ISIC_9180002", 767, 1023, None, None, None),
        SamplePair("ISIC_9180003", 2048, 1536, None, None, None),
        SamplePair("ISIC_9180004", 800, 800, None, None, None),
    ],
    "valid": [
        SamplePair("ISIC_9180101", 1022, 767, None, None, None),
        SamplePair("ISIC_9180102", 641, 479, None, None, None),
    ],
    "test": [
        SamplePair("ISIC_9180201", 1296, 972, None, None, None),
        SamplePair("ISIC_9180202", 999, 666, None, None, None),
    ],
}

# HAM10000: 600x450 JPEGs; the split is the lesion rule of the release (dataset/lesion_splits.py), so the lesion
# ids are chosen for it to give each split a lesion; HAM_9900002 has two images (one in each image part).
PAIRS_HAM10000: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9910001", 600, 450, "nv", 45, "female", "HAM_9900002"),
        SamplePair("ISIC_9910002", 600, 450, "nv", 45, "female", "HAM_9900002"),
        SamplePair("ISIC_9910003", 600, 450, "mel", 70, "male", "HAM_9900003"),
    ],
    "valid": [SamplePair("ISIC_9910004", 600, 450, "bkl", 60, None, "HAM_9900009")],
    "test": [SamplePair("ISIC_9910005", 600, 450, "bcc", None, "male", "HAM_9900000")],
}

# PH2: 768x560 BMPs, one folder per case, ids IMDxxx (IMD9xx is no real case).
PAIRS_PH2: dict[str, list[SamplePair]] = {
    "test": [
        SamplePair("IMD901", 768, 560, "common_nevus", None, None),
        SamplePair("IMD902", 768, 560, "atypical_nevus", None, None),
        SamplePair("IMD903", 765, 572, "melanoma", None, None),
    ],
}

# IMA++: the split is the patient-hash rule (patient, else lesion, else image id), so the sample's groups are
# chosen for it: ISIC_9920001/2 share patient IP_9900000 (train), ISIC_9920003 has only a lesion (valid),
# ISIC_9920004/5 neither (train, test). ISIC_9920002 (two annotators) and ISIC_9920005 (three) have both
# consensus masks, so `evaluate --sample --release imaplusplus` shows the annotators' agreement.
PAIRS_IMAPLUSPLUS: dict[str, list[SamplePair]] = {
    "train": [
        SamplePair("ISIC_9920001", 1024, 768, None, 45, "female"),
        SamplePair("ISIC_9920002", 767, 1023, None, 45, "female", "IL_9900001"),
        SamplePair("ISIC_9920004", 800, 600, None, None, None),
    ],
    "valid": [SamplePair("ISIC_9920003", 1022, 767, None, 60, "male", "IL_9900002")],
    "test": [SamplePair("ISIC_9920005", 999, 666, None, 30, "male")],
}
# image id -> (patient id, mask codes: annotators A00-A15, ST = STAPLE, MV = majority vote)
IMAPLUSPLUS_MASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ISIC_9920001": ("IP_9900000", ("A00",)),
    "ISIC_9920002": ("IP_9900000", ("A01", "A03", "ST", "MV")),
    "ISIC_9920003": ("", ("A02",)),
    "ISIC_9920004": ("", ("A04",)),
    "ISIC_9920005": ("", ("A05", "A06", "A07", "ST", "MV")),
}

SAMPLE_PAIRS: dict[str, dict[str, list[SamplePair]]] = {
    "isic2016": PAIRS_2016,
    "isic2017": DEFAULT_PAIRS,
    "isic2018": PAIRS_2018,
    "ham10000": PAIRS_HAM10000,
    "ph2": PAIRS_PH2,
    "imaplusplus": PAIRS_IMAPLUSPLUS,
}

# What the sample writes in place of the official notices that some zips hold (not ISIC's text).
NOTICE_TEXT = "Synthetic stand-in for the official {name} of {release}; written by skin_cancer's sample.\n"


def synthetic_pair(width: int, height: int, seed: int) -> tuple[Image.Image, Image.Image]:
    """A skin-toned RGB image with a darker elliptical lesion, and its {0, 255} mask."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    centre_x = width * rng.uniform(0.35, 0.65)
    centre_y = height * rng.uniform(0.35, 0.65)
    radius_x = width * rng.uniform(0.12, 0.3)
    radius_y = height * rng.uniform(0.12, 0.3)
    inside = ((xs - centre_x) / radius_x) ** 2 + ((ys - centre_y) / radius_y) ** 2 <= 1.0
    skin = np.array([214, 170, 150], dtype=np.float32) + rng.normal(0, 6, size=3)
    lesion = np.array([110, 70, 55], dtype=np.float32) + rng.normal(0, 6, size=3)
    shading = (0.85 + 0.15 * np.cos(xs / width * np.pi - 0.5))[..., None]
    pixels = np.where(inside[..., None], lesion, skin) * shading
    pixels += rng.normal(0, 4, size=pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    mask = Image.fromarray(np.where(inside, 255, 0).astype(np.uint8), mode="L")
    return image, mask


def jpeg_bytes(image: Image.Image, **options: object) -> bytes:
    """`image` as JPEG bytes at quality 90 (the sample's own choice, unlike the build's JPEG_QUALITY); `options`
    go to Pillow's save (exif=..., subsampling=...).
    """
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, **options)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    """`image` as PNG bytes, in its own mode and size."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_sample_tree(
    root: str | os.PathLike[str],
    pairs: dict[str, list[SamplePair]] | None = None,
    release: str | Release = DEFAULT_RELEASE,
) -> Path:
    """Write a tree shaped like the release under root/<release.top_folder> and return that folder."""
    release = get_release(release)
    pairs = SAMPLE_PAIRS[release.name] if pairs is None else pairs
    top = Path(root) / release.top_folder
    if release.label_kind == LABELS_HAM10000_METADATA:
        return write_ham10000_tree(top, [pair for split_pairs in pairs.values() for pair in split_pairs], release)
    if release.layout == LAYOUT_PH2_CASES:
        return write_ph2_tree(top, [pair for split_pairs in pairs.values() for pair in split_pairs], release)
    if release.layout == LAYOUT_MULTI_ANNOTATOR:
        return write_imaplusplus_tree(top, [pair for split_pairs in pairs.values() for pair in split_pairs], release)
    for split_name, split_pairs in pairs.items():
        split = release.split(split_name)
        data_folder, mask_folder = top / split.data_folder, top / split.mask_folder
        data_folder.mkdir(parents=True, exist_ok=True)
        mask_folder.mkdir(parents=True, exist_ok=True)
        for number, pair in enumerate(split_pairs):
            image, mask = synthetic_pair(pair.width, pair.height, seed=int(pair.image_id[-7:]))
            (data_folder / f"{pair.image_id}.jpg").write_bytes(jpeg_bytes(image))
            (mask_folder / release.mask_name(pair.image_id)).write_bytes(png_bytes(mask))
            for suffix in release.companion_suffixes:
                companion = Image.new("RGB", (pair.width, pair.height), (number, 0, 0))
                (data_folder / f"{pair.image_id}{suffix}").write_bytes(png_bytes(companion))
        for folder in (data_folder, mask_folder):
            for name in release.non_image_files:
                (folder / name).write_text(NOTICE_TEXT.format(name=name, release=release.short_name))
        if split.labels_csv:
            write_release_labels_csv(top / split.labels_csv, split_pairs, release)
        if split.metadata_csv:
            write_metadata_csv(data_folder / split.metadata_csv, split_pairs)
    return top


def write_ham10000_tree(top: Path, pairs: list[SamplePair], release: Release) -> Path:
    """HAM10000 as Dataverse serves it: two image parts (pairs alternate between them), one mask folder and
    HAM10000_metadata.csv, whose lesion_id decides each image's split. Returns `top`."""
    split = release.splits[0]  # every HAM10000 split reads the same folders
    parts = (split.data_folder, *split.more_data_folders)
    masks = top / split.mask_folder
    masks.mkdir(parents=True, exist_ok=True)
    sites = ("back", "trunk", "face", "lower extremity", "unknown")
    with open(top / split.labels_csv, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        for number, pair in enumerate(pairs):
            if pair.diagnosis not in release.diagnosis_names or not pair.lesion_id:
                raise ValueError(f"{pair.image_id}: a HAM10000 sample pair needs a dx and a lesion_id")
            images = top / parts[number % len(parts)]
            images.mkdir(parents=True, exist_ok=True)
            image, mask = synthetic_pair(pair.width, pair.height, seed=int(pair.image_id[-7:]))
            (images / f"{pair.image_id}.jpg").write_bytes(jpeg_bytes(image))
            (masks / release.mask_name(pair.image_id)).write_bytes(png_bytes(mask))
            dx_type = "histo" if pair.diagnosis in ("mel", "bcc", "akiec") else "follow_up"
            age = "" if pair.age is None else f"{pair.age:.1f}"
            writer.writerow(
                [pair.lesion_id, pair.image_id, pair.diagnosis, dx_type, age, pair.sex or "unknown", sites[number % 5]]
            )
    return top


def write_ph2_tree(top: Path, pairs: list[SamplePair], release: Release) -> Path:
    """PH2 as its download unpacks: `PH2 Dataset images/IMDxxx/` with `IMDxxx_Dermoscopic_Image/IMDxxx.bmp` and a
    1-bit `IMDxxx_lesion/IMDxxx_lesion.bmp` per case, and PH2_dataset.txt with the clinical diagnoses in its
    `||` table layout. Returns `top`."""
    (split,) = release.splits
    cases = top / split.data_folder
    rows = ["||   Name || Histological Diagnosis || Clinical Diagnosis || Asymmetry ||"]
    for pair in pairs:
        case = cases / pair.image_id
        (case / f"{pair.image_id}_Dermoscopic_Image").mkdir(parents=True, exist_ok=True)
        (case / f"{pair.image_id}_lesion").mkdir(exist_ok=True)
        image, mask = synthetic_pair(pair.width, pair.height, seed=int(pair.image_id[3:]))
        image.save(case / f"{pair.image_id}_Dermoscopic_Image" / f"{pair.image_id}.bmp")
        mask.point(lambda value: 255 if value > 128 else 0).convert("1").save(
            case / f"{pair.image_id}_lesion" / release.mask_name(pair.image_id)
        )
        rows.append(f"|| {pair.image_id} ||  || {release.diagnosis_names.index(pair.diagnosis)} || 0 ||")
    legend = "Legend: " + ", ".join(f"{index} - {name}" for index, name in enumerate(release.diagnosis_names))
    (top / split.labels_csv).write_text("\n".join([*rows, "", legend]) + "\n")
    return top


def write_imaplusplus_tree(top: Path, pairs: list[SamplePair], release: Release) -> Path:
    """IMA++ as its inputs come: `images/` with ISIC's client's metadata.csv, `segs/` with every mask named
    `ISIC_<id>_<annotator>_<tool>_<skill>_<objectID>.png`, and IMAplusplus_seg_metadata.csv. Each pair's
    patient and masks come from IMAPLUSPLUS_MASKS (an id not there is refused). Annotators' masks differ: the
    k-th is the synthetic mask dilated k times by one pixel. Returns `top`."""
    from PIL import ImageFilter

    split = release.splits[0]  # every IMA++ split reads the same folders
    images, masks = top / split.data_folder, top / split.mask_folder
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    records = ["isic_id,attribution,copyright_license,age_approx,lesion_id,patient_id,sex"]
    seg = ["ISIC_id,img_filename,seg_filename,annotator,tool,skill_level,mskObjectID,mask_md5"]
    for pair in pairs:
        if pair.image_id not in IMAPLUSPLUS_MASKS:
            raise ValueError(f"{pair.image_id}: an IMA++ sample pair needs its patient and masks in IMAPLUSPLUS_MASKS")
        patient, codes = IMAPLUSPLUS_MASKS[pair.image_id]
        image, mask = synthetic_pair(pair.width, pair.height, seed=int(pair.image_id[-7:]))
        (images / f"{pair.image_id}.jpg").write_bytes(jpeg_bytes(image))
        age = "" if pair.age is None else pair.age
        records.append(f"{pair.image_id},Anonymous,CC-0,{age},{pair.lesion_id or ''},{patient},{pair.sex or ''}")
        for number, code in enumerate(codes):
            consensus = code in ("ST", "MV")
            tool, skill, object_id = (code, code, code) if consensus else ("T1", "S1", f"obj{number}")
            drawn = mask if consensus or number == 0 else mask.filter(ImageFilter.MaxFilter(2 * number + 1))
            name = f"{pair.image_id}_{code}_{tool}_{skill}_{object_id}.png"
            data = png_bytes(drawn)
            (masks / name).write_bytes(data)
            digest = hashlib.md5(data).hexdigest()
            seg.append(f"{pair.image_id},{pair.image_id}.JPG,{name},{code},{tool},{skill},{object_id},{digest}")
    (images / split.metadata_csv).write_text("\n".join(records) + "\n")
    (top / IMAPLUSPLUS_SEG_METADATA).write_text("\n".join(seg) + "\n")
    return top


def write_release_labels_csv(path: Path, pairs: list[SamplePair], release: Release) -> None:
    for pair in pairs:
        if pair.diagnosis not in release.diagnosis_names:
            raise ValueError(f"{pair.image_id}: unknown {release.name} diagnosis {pair.diagnosis!r}")
    if release.label_kind == LABELS_2017_PART3_FLAGS:
        write_labels_csv(path, pairs)
    elif release.label_kind == LABELS_2016_PART3_BENIGN_MALIGNANT:
        write_labels_csv_2016(path, pairs, release.diagnosis_names)
    elif release.label_kind != LABELS_NONE:
        raise ValueError(f"the sample cannot write labels of kind {release.label_kind!r}")


def write_labels_csv(path: Path, pairs: list[SamplePair]) -> None:
    """ISIC-2017 Part3 ground truth as ISIC wrote it: Windows line endings, flags as 0.0 / 1.0."""
    names = get_release(DEFAULT_RELEASE).diagnosis_names
    for pair in pairs:
        if pair.diagnosis not in names:
            raise ValueError(f"{pair.image_id}: unknown diagnosis {pair.diagnosis!r}")
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(["image_id", "melanoma", "seborrheic_keratosis"])
        for pair in pairs:
            melanoma = float(pair.diagnosis == "melanoma")
            keratosis = float(pair.diagnosis == "seborrheic_keratosis")
            writer.writerow([pair.image_id, melanoma, keratosis])


def write_labels_csv_2016(path: Path, pairs: list[SamplePair], names: tuple[str, ...]) -> None:
    """ISIC 2016 Part3: no header; reports differ on words or 0/1, so odd rows get words and even rows 0.0/1.0."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        for number, pair in enumerate(pairs):
            index = names.index(pair.diagnosis)
            writer.writerow([pair.image_id, names[index] if number % 2 == 0 else float(index)])


def write_metadata_csv(path: Path, pairs: list[SamplePair]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image_id", "age_approximate", "sex"])
        for pair in pairs:
            age = "unknown" if pair.age is None else pair.age
            writer.writerow([pair.image_id, age, pair.sex or "unknown"])


def default_sample_dir() -> Path:
    """Where `--sample` keeps its tree: beside the `datasets` cache, versioned."""
    from datasets import config

    return Path(config.HF_DATASETS_CACHE).parent / "skin_cancer_sample" / f"v{SAMPLE_VERSION}"


def ensure_sample_tree(root: str | os.PathLike[str] | None = None, release: str | Release = DEFAULT_RELEASE) -> Path:
    """The built-in sample's folder for the release, written once and then reused."""
    release = get_release(release)
    root = Path(root) if root is not None else default_sample_dir()
    done = root / f".complete-{release.name}"
    top = root / release.top_folder
    if not done.exists():
        write_sample_tree(root, release=release)
        done.write_text("ok\n")
    return top


__all__ = [
    "NOTICE_TEXT",
    "SAMPLE_PAIRS",
    "SamplePair",
    "ensure_sample_tree",
    "jpeg_bytes",
    "png_bytes",
    "synthetic_pair",
    "write_sample_tree",
]
