"""The dataset's columns, declared once: the builder's features, the folder export's metadata columns, the
card's schema table and the README's all come from this table, so a new column is one edit here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import datasets

from .dataset.transforms import JPEG_QUALITY
from .releases import (
    DEFAULT_RELEASE,
    IMAPLUSPLUS_SKILLS,
    IMAPLUSPLUS_TOOLS,
    LABELS_HAM10000_METADATA,
    LABELS_PH2_TXT,
    LAYOUT_MULTI_ANNOTATOR,
    RELEASES,
    SPLIT_BY_LESION_HASH,
    Release,
    get_release,
)


@dataclass(frozen=True)
class Column:
    name: str
    feature: Callable[[Release], datasets.features.features.FeatureType]
    type_name: str
    meaning: Callable[[Release], str]
    # Written to the folder export's metadata.jsonl (the image and mask are files there; `also_in` is left
    # out because `imagefolder` infers an empty list's type per split and then cannot join the splits, and
    # so are the archive's columns, which can be null throughout a split: their type would then be `null`).
    in_folder_export: bool = True


def _diagnosis(release: Release) -> str:
    if not release.diagnosis_names:
        return f"always null: {release.short_name} has no diagnosis labels (no class names)"
    names = ", ".join(f"{index} = {name}" for index, name in enumerate(release.diagnosis_names))
    return f"{names}, from {_diagnosis_source(release)}; null where it has no row"


def _patient(meaning: str, noun: str) -> Callable[[Release], str]:
    return lambda release: meaning if release.has_metadata else f"always null: {release.short_name} records no {noun}"


def _isic_ids_only(meaning: Callable[[Release], str], empty: str = "null") -> Callable[[Release], str]:
    # Columns looked up by ISIC image id (the challenge id lists, the ISIC Archive's records): a release whose
    # ids are not ISIC ids (PH2's IMDxxx) has nothing to look up.
    return lambda release: (
        meaning(release)
        if release.isic_ids
        else f"always {empty}: {release.short_name}'s image ids are not ISIC ids, so no ISIC record holds them"
    )


def _also_in(release: Release) -> str:
    # The example names the latest other release's first split, so it is never the release itself.
    other = [c for c in RELEASES.values() if c.name != release.name and c.name.startswith("isic")][-1]
    example = f"{other.name}/{other.splits[0].name}"
    return (
        f"the other ISIC release splits holding the same image id, e.g. `{example}` (every split of every "
        "release is checked); empty when none"
    )


def _ham10000_only(meaning: str) -> Callable[[Release], str]:
    # Columns of HAM10000_metadata.csv that no other release records.
    return lambda release: (
        meaning if release.label_kind == LABELS_HAM10000_METADATA else f"always null: {release.short_name} records none"
    )


def _multi_annotator_only(meaning: str) -> Callable[[Release], str]:
    # Columns of a release with several masks per image (IMA++); null in every other release.
    return lambda release: (
        meaning
        if release.layout == LAYOUT_MULTI_ANNOTATOR
        else f"always null: {release.short_name} has one mask per image"
    )


def _codes(codes: dict[str, str]) -> str:
    return ", ".join(f"`{code}` {name}" for code, name in codes.items())


def _mask(release: Release) -> str:
    rule = (
        "; the STAPLE consensus where the image has one (two or more annotators), else its first annotator mask "
        "(by file name)"
        if release.layout == LAYOUT_MULTI_ANNOTATOR
        else ""
    )
    return (
        "palette PNG of class indices, 0 = background, 1 = lesion (shown black and white), aligned "
        f'with `image`; `convert("L")` gives {{0, 255}}{rule}'
    )


def _lesion_id(release: Release) -> str:
    if release.label_kind == LABELS_HAM10000_METADATA:
        return "the lesion id of HAM10000_metadata.csv (`HAM_0000118`): images of one lesion; the split follows it"
    return _archive("lesion id (`IL_...`): images of one lesion")


def _license(release: Release) -> str:
    if release.image_license:
        return f"`{release.image_license}` for every image (the {release.short_name} licence)"
    return (
        "the image's licence in the ISIC Archive as the Hub spells it (`cc0-1.0`, `cc-by-4.0`, `cc-by-nc-4.0`); "
        "null where the archive has no record of the image"
    )


def _diagnosis_source(release: Release) -> str:
    if release.label_kind == LABELS_HAM10000_METADATA:
        return "HAM10000_metadata.csv's `dx`"
    if release.label_kind == LABELS_PH2_TXT:
        return "the Clinical Diagnosis of PH2_dataset.txt"
    return "the split's label CSV"


def _image_id(release: Release) -> str:
    if not release.isic_ids:
        return f"the {release.short_name} case id, e.g. `IMD002`; the key"
    return "the ISIC image id, e.g. `ISIC_0000000`; the key"


def _archive(what: str) -> str:
    return f"the ISIC Archive's {what} share it; null where the archive records none (never guessed)"


FOLD_MEANING = (
    "cross-validation fold 0-4 of the `train` split: grouped by patient, else lesion, else image, stratified by "
    "diagnosis, dealt over the official training list (README: Folds); null in every other split"
)


def _fold_meaning(release: Release) -> str:
    # How dataset/folds.py groups and deals each release's training images (its rules 1-4).
    if "train" not in release.split_names:
        return f"always null: {release.short_name} has no `train` split"
    if release.split_rule == SPLIT_BY_LESION_HASH:
        return (
            f"cross-validation fold 0-4 of the `train` split: grouped by the `lesion_id` of {release.short_name}'s "
            "metadata table, stratified by diagnosis, dealt over the training split's shipped id list (README: "
            "Folds); null in every other split"
        )
    if not release.split("train").ids_file:
        return (
            "cross-validation fold 0-4 of the `train` split: the hash bucket (SHA-256, modulo 5) of the image's key, "
            "its `patient_id`, else its `lesion_id`, else its `image_id`, so no patient or lesion crosses folds; "
            f"not stratified ({release.short_name} ships no training list to deal over); null in every other split"
        )
    return FOLD_MEANING


def _string() -> datasets.Value:
    return datasets.Value("string")


def _int32() -> datasets.Value:
    return datasets.Value("int32")


COLUMNS: tuple[Column, ...] = (
    Column("image_id", lambda r: _string(), "string", _image_id),
    Column(
        "image",
        lambda r: datasets.Image(mode="RGB"),
        "Image",
        lambda r: f"RGB, square (`size` x `size`), JPEG quality {JPEG_QUALITY} or lossless PNG",
        in_folder_export=False,
    ),
    Column(
        # No forced mode: a forced "L" would turn the palette's class indices back into 0/255.
        "mask",
        lambda r: datasets.Image(),
        "Image",
        _mask,
        in_folder_export=False,
    ),
    Column("diagnosis", lambda r: datasets.ClassLabel(names=list(r.diagnosis_names)), "ClassLabel", _diagnosis),
    Column(
        "age_approximate", lambda r: _int32(), "int32", _patient("approximate age in years; null where unknown", "age")
    ),
    Column("sex", lambda r: _string(), "string", _patient("`male` or `female`; null where unknown", "sex")),
    Column("original_width", lambda r: _int32(), "int32", lambda r: "width of the source image, in its mask's frame"),
    Column("original_height", lambda r: _int32(), "int32", lambda r: "height of the source image, in its mask's frame"),
    Column(
        "phash",
        lambda r: _string(),
        "string",
        lambda r: (
            "64-bit DCT perceptual hash of the source image (16 hex digits, as `imagehash.phash`), the same for "
            "every size and resize mode; near-duplicates differ in few bits (`skin-cancer leaks --data-dir`)"
        ),
    ),
    Column(
        "also_in",
        lambda r: datasets.List(_string()),
        "list of strings",
        _isic_ids_only(_also_in, "empty"),
        in_folder_export=False,
    ),
    # From the ISIC Archive's per-image metadata (skin_cancer/data/archive/, its source in SOURCES.md there).
    Column(
        "lesion_id",
        lambda r: _string(),
        "string",
        _isic_ids_only(_lesion_id),
        in_folder_export=False,
    ),
    Column(
        "patient_id",
        lambda r: _string(),
        "string",
        _isic_ids_only(lambda r: _archive("patient id (`IP_...`): images of one patient")),
        in_folder_export=False,
    ),
    Column(
        "license",
        lambda r: _string(),
        "string",
        _license,
        in_folder_export=False,
    ),
    Column(
        "attribution",
        lambda r: _string(),
        "string",
        _isic_ids_only(lambda r: "the ISIC Archive's attribution text for the image (e.g. `Anonymous`); null if none"),
        in_folder_export=False,
    ),
    Column("fold", lambda r: _int32(), "int32", _fold_meaning, in_folder_export=False),
    # From HAM10000_metadata.csv; null in every other release.
    Column(
        "dx_type",
        lambda r: _string(),
        "string",
        _ham10000_only("how the diagnosis was made: `histo`, `follow_up`, `consensus` or `confocal`"),
        in_folder_export=False,
    ),
    Column(
        "localization",
        lambda r: _string(),
        "string",
        _ham10000_only("body site, e.g. `back`, `trunk`, `face`; null where `unknown`"),
        in_folder_export=False,
    ),
    # A release with several masks per image (IMA++'s IMAplusplus_seg_metadata.csv); null in every other release.
    Column(
        "masks",
        lambda r: datasets.List(datasets.Image()),
        "list of Image",
        _multi_annotator_only(
            "every annotator's mask, each like `mask` (same geometry, same rule), in file-name order (so by annotator)"
        ),
        in_folder_export=False,
    ),
    Column(
        "annotators",
        lambda r: datasets.List(_string()),
        "list of strings",
        _multi_annotator_only("the annotator of each of `masks`, `A00` to `A15`"),
        in_folder_export=False,
    ),
    Column(
        "tools",
        lambda r: datasets.List(_string()),
        "list of strings",
        _multi_annotator_only(f"the tool of each of `masks`: {_codes(IMAPLUSPLUS_TOOLS)}"),
        in_folder_export=False,
    ),
    Column(
        "skill_levels",
        lambda r: datasets.List(_string()),
        "list of strings",
        _multi_annotator_only(f"the annotator's skill for each of `masks`: {_codes(IMAPLUSPLUS_SKILLS)}"),
        in_folder_export=False,
    ),
    Column(
        "consensus_staple",
        lambda r: datasets.Image(),
        "Image",
        _multi_annotator_only("the STAPLE consensus of `masks`, like `mask`; null where the image has one annotator"),
        in_folder_export=False,
    ),
    Column(
        "consensus_majority",
        lambda r: datasets.Image(),
        "Image",
        _multi_annotator_only("the majority-vote consensus of `masks`, like `mask`; null where the image has one"),
        in_folder_export=False,
    ),
)


def features(release: str | Release = DEFAULT_RELEASE) -> datasets.Features:
    """The `datasets.Features` of a release's builds: one feature per column of COLUMNS, in that order.

    image: datasets.Image (RGB, size x size pixels, JPEG or PNG bytes); mask: datasets.Image (palette PNG,
    size x size, class indices {0, 1}: `np.array(mask)` is uint8 {0, 1}); diagnosis: a ClassLabel over the
    release's diagnosis names; the rest as `markdown_table` lists them. Raises UsageError for an unknown
    release (releases.get_release).
    """
    release = get_release(release)
    return datasets.Features({column.name: column.feature(release) for column in COLUMNS})


def folder_export_columns() -> tuple[str, ...]:
    """The columns a folder export writes into its metadata.jsonl, in COLUMNS order (images and masks are files)."""
    return tuple(column.name for column in COLUMNS if column.in_folder_export)


def markdown_table(release: str | Release = DEFAULT_RELEASE) -> str:
    """The Markdown table (column, type, meaning) of a release's columns, as the README and the dataset card
    show it. Raises UsageError for an unknown release.
    """
    release = get_release(release)
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{column.name}` | {column.type_name} | {column.meaning(release)} |" for column in COLUMNS]
    return "\n".join(lines)


__all__ = [
    "COLUMNS",
    "features",
    "folder_export_columns",
    "markdown_table",
]
