"""The Hub dataset card: YAML metadata that `datasets` and the Hub read, and a body from dataset_card.md.

The metadata is written with `huggingface_hub`'s card classes and `datasets`' own card helpers,
and read back with the same tools before anything is uploaded.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

from . import about
from .builder import BUILDER_VERSION
from .compat import DatasetInfosDict, MetadataConfigs
from .errors import SkinCancerError
from .layout import SPLITS_BY_NAME

# The top-level dataset_card.md, shipped inside the package (skin_cancer/dataset_card.md links to it in a checkout).
TEMPLATE = "dataset_card.md"
TAGS = ["medical", "dermatology", "dermoscopy", "skin-lesion", "isic", "melanoma", "segmentation"]
REQUIRED_METADATA = ("license", "task_categories", "tags", "size_categories", "pretty_name", "configs", "dataset_info")

RESIZE_EXPLANATIONS = {
    "pad": "each image was padded to a centred square, filled with the colour found at (w-80, h-80), "
    "then resized; nothing is cut off and the aspect ratio is kept.",
    "stretch": "each image was resized straight to the square; nothing is cut off, the aspect ratio is not kept.",
    "center_crop": "the central square of side min(w, h) was cut out and resized; the ends of the long side are lost.",
}


class CardError(SkinCancerError):
    """The card template is missing, or the rendered card does not parse back into its metadata."""


def load_template() -> str:
    """The card template's text, read through importlib.resources (a wheel, a zip or a checkout alike)."""
    resource = resources.files(__package__) / TEMPLATE
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as error:
        raise CardError(
            f"the dataset card template {resource} cannot be read ({type(error).__name__}): this installation "
            "of skin-cancer is incomplete; reinstall it, or in a checkout restore the symlink "
            "skin_cancer/dataset_card.md -> ../dataset_card.md"
        ) from error
    if "$" not in text:  # a checkout without symlink support holds the link's target path as text
        raise CardError(
            f"the dataset card template {resource} is not the template (it reads {text.strip()[:60]!r}): "
            "check out the repository with symlinks enabled (git config core.symlinks true), or reinstall"
        )
    return text


@dataclass(frozen=True)
class SplitFacts:
    name: str
    pairs: int
    num_bytes: int
    diagnoses: dict[str, int]
    shard_paths: list[str]


def pretty_name(partial: bool) -> str:
    return "ISIC-2017 skin lesion segmentation" + (" (partial)" if partial else "")


def size_category(total: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if total < limit:
            return label
    return "100K<n<1M"


def render_card(
    repo_id: str,
    features: datasets.Features,
    splits: list[SplitFacts],
    options: dict[str, object],
    preview_path: str,
    download_size: int,
    partial: bool,
    template: str | None = None,
) -> str:
    total = sum(split.pairs for split in splits)
    card_data = DatasetCardData(
        license=about.LICENSE_ID,
        task_categories=["image-segmentation"],
        tags=TAGS,
        size_categories=[size_category(total)],
        pretty_name=pretty_name(partial),
        source_datasets=["original"],
    )
    MetadataConfigs(
        {"default": {"data_files": [{"split": split.name, "path": f"data/{split.name}-*.parquet"} for split in splits]}}
    ).to_dataset_card_data(card_data)
    info = datasets.DatasetInfo(
        features=features,
        splits=datasets.SplitDict(
            {split.name: datasets.SplitInfo(split.name, split.num_bytes, split.pairs) for split in splits}
        ),
        download_size=download_size,
        dataset_size=sum(split.num_bytes for split in splits),
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)

    body = string.Template(load_template() if template is None else template).substitute(
        _body_values(repo_id, splits, options, preview_path, partial)
    )
    return f"---\n{card_data.to_yaml()}\n---\n\n{body}"


def validate_card(content: str, splits: list[SplitFacts]) -> DatasetCard:
    """Parse the card back with huggingface_hub and datasets; refuse it unless every number matches."""
    card = DatasetCard(content)
    data = card.data.to_dict()
    missing = [key for key in REQUIRED_METADATA if not data.get(key)]
    if missing:
        raise CardError(f"the dataset card lacks the metadata {missing}")
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    if set(infos) != {"default"} or set(configs) != {"default"}:
        raise CardError(f"the dataset card should have one 'default' config, not {sorted(configs)}")
    parsed = infos["default"].splits
    for split in splits:
        if split.name not in parsed or parsed[split.name].num_examples != split.pairs:
            raise CardError(f"the dataset card's count for {split.name} does not match the {split.pairs} pairs")
    return card


def _body_values(
    repo_id: str, splits: list[SplitFacts], options: dict[str, object], preview_path: str, partial: bool
) -> dict[str, str]:
    image_format = options["image_format"]
    encoding = "JPEG quality 95" if image_format == "jpeg" else "lossless PNG"
    partial_notice = ""
    partial_limitation = ""
    if partial:
        counts = ", ".join(
            f"{split.name} {split.pairs} of {SPLITS_BY_NAME[split.name].official_count}" for split in splits
        )
        partial_notice = (
            f"> **Partial dataset.** This repository holds only part of ISIC-2017 ({counts} pairs). "
            "Do not compare results on it with results on the full dataset.\n"
        )
        partial_limitation = f"- This is a partial copy: {counts} pairs.\n"
    return {
        "pretty_name": pretty_name(partial),
        "partial_notice": partial_notice,
        "partial_limitation": partial_limitation,
        "size": str(options["size"]),
        "preview_path": preview_path,
        "repo_id": repo_id,
        "split_names": ", ".join(f"`{split.name}`" for split in splits),
        "split_table": split_table(splits),
        "image_encoding": encoding,
        "builder_version": BUILDER_VERSION,
        "resize_mode": str(options["resize_mode"]),
        "resize_mode_explanation": RESIZE_EXPLANATIONS[str(options["resize_mode"])],
        "citation": about.CITATION,
    }


def split_table(splits: list[SplitFacts]) -> str:
    names = list(next(iter(splits)).diagnoses)
    lines = [
        "| split | pairs | official pairs | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for split in splits:
        counts = " | ".join(str(split.diagnoses[name]) for name in names)
        lines.append(f"| {split.name} | {split.pairs} | {SPLITS_BY_NAME[split.name].official_count} | {counts} |")
    return "\n".join(lines)
