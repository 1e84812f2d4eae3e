"""The build options, typed and validated once: the command line, the builder, the transforms, the
evaluation, the exporter, the publisher, the summary, the card and the printed load line all read their
choices and defaults from here, and this module imports nothing heavy (`skin-cancer --help` reads it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, get_args

from .errors import UsageError

ResizeMode = Literal["pad", "stretch", "center_crop"]
ImageFormat = Literal["jpeg", "png"]
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)
MIN_SIZE, MAX_SIZE = 16, 4096  # pixels, the side of the square output
EXPORT_FORMATS = ("folders", "parquet", "nnunet")
# `skin-cancer splits --format`: id lists, nnU-Net's splits_final.json, one JSON file (tools/splits.py).
SPLIT_FORMATS = ("ids", "nnunet", "json")
# `export --format nnunet`: the default dataset number (Dataset500_ISIC2017); nnU-Net numbers run 1 to 999.
DEFAULT_NNUNET_DATASET_ID = 500
# A configuration's name spells the image format only when it is not this one (`pad-512` vs `pad-512-png`).
DEFAULT_IMAGE_FORMAT: ImageFormat = "jpeg"
# The largest Parquet shard that `publish` and the Parquet export write (a size `datasets` understands).
DEFAULT_MAX_SHARD_SIZE = "500MB"
# Rows per Parquet row group of every shard we write, whatever the installed `datasets` would choose (4.0 writes
# 100, 5.2 one group per shard): the Hub's viewer pages by row group, and a re-publish stays byte-identical
# across `datasets` versions. 100 is what `datasets` itself uses for image features.
ROWS_PER_ROW_GROUP = 100
# A split of at least this many row groups is written as at least this many shards, so that a streaming
# DataLoader(num_workers=4) gives every worker its own shard (datasets hands whole shards to workers).
MIN_SHARDS = 4


@dataclass(frozen=True)
class BuildOptions:
    """What decides the pixels written, besides the input files."""

    size: int = 512  # pixels
    resize_mode: ResizeMode = "pad"
    image_format: ImageFormat = DEFAULT_IMAGE_FORMAT

    def __post_init__(self) -> None:
        check_options(self.size, self.resize_mode, self.image_format)

    def changed(self) -> dict[str, object]:
        """The options that differ from their defaults (what a load line must spell out)."""
        return {
            option.name: getattr(self, option.name)
            for option in dataclasses.fields(self)
            if getattr(self, option.name) != option.default
        }

    def as_dict(self) -> dict[str, object]:
        """{"size": 512, "resize_mode": "pad", "image_format": "jpeg"}, in field order."""
        return dataclasses.asdict(self)

    @property
    def config_name(self) -> str:
        """The Hub configuration of this variant, e.g. `pad-512`, `center_crop-256`, `pad-512-png`."""
        name = f"{self.resize_mode}-{self.size}"
        return name if self.image_format == DEFAULT_IMAGE_FORMAT else f"{name}-{self.image_format}"

    @classmethod
    def from_config_name(cls, name: str) -> BuildOptions:
        """The options of a Hub configuration name (`pad-512`, `pad-512-png`); UsageError for another name."""
        parts = name.split("-")
        if len(parts) not in (2, 3) or not parts[1].isdigit():
            raise UsageError(f"{name!r} is not a variant name such as pad-512 or center_crop-256")
        return cls(int(parts[1]), parts[0], parts[2] if len(parts) == 3 else DEFAULT_IMAGE_FORMAT)  # type: ignore[arg-type]

    @classmethod
    def from_variant(cls, text: str) -> BuildOptions:
        """`512:pad`, `256:center_crop` or `512:pad:png`, as `publish --variant` takes them."""
        parts = text.strip().split(":")
        if len(parts) not in (2, 3) or not parts[0].strip().isdigit():
            raise UsageError(f"--variant {text!r}: expected SIZE:RESIZE_MODE[:IMAGE_FORMAT], e.g. 512:pad")
        image_format = parts[2].strip() if len(parts) == 3 else DEFAULT_IMAGE_FORMAT
        return cls(int(parts[0]), parts[1].strip(), image_format)  # type: ignore[arg-type]


def check_options(size: object, resize_mode: object, image_format: object) -> None:
    """Raise UsageError naming the first option that is not one of its choices (size in pixels)."""
    # 512.0 and 256.0 alike are refused: a size is a whole number of pixels, and bool is not a number here.
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"size must be a whole number from {MIN_SIZE} to {MAX_SIZE}, not {size!r}")
    if resize_mode not in RESIZE_MODES:
        raise UsageError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, not {resize_mode!r}")
    if image_format not in IMAGE_FORMATS:
        raise UsageError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, not {image_format!r}")


DEFAULTS = BuildOptions()
# The Hub configurations a published repository is taken to hold when nothing says otherwise.
DEFAULT_CONFIGS = (DEFAULTS.config_name,)
# The configuration of a published repository that holds the original ISIC masks at native size (publish
# writes it, evaluate reads it).
NATIVE_MASKS_CONFIG = "native_masks"


# The card's YAML records how each configuration was built, so that nothing has to be read from a
# configuration's name or from the card's prose (`evaluate --dataset` needs the resize mode):
#   skin_cancer:
#     variants:
#       pad-512: {release: isic2017, size: 512, resize_mode: pad, image_format: jpeg, builder_version: 2.0.0}
CARD_KEY = "skin_cancer"
CARD_VARIANTS = "variants"


def variant_record(options: BuildOptions, release: str, builder_version: str) -> dict[str, object]:
    """One configuration's build options as the card's YAML records them."""
    return {"release": release, **options.as_dict(), "builder_version": builder_version}


def card_variants(metadata: dict) -> dict[str, dict]:
    """The card's records, by configuration name ({} for a card without them, e.g. one published by 2.0.0)."""
    variants = (metadata.get(CARD_KEY) or {}).get(CARD_VARIANTS) if isinstance(metadata.get(CARD_KEY), dict) else None
    if not isinstance(variants, dict):
        return {}
    return {str(name): record for name, record in variants.items() if isinstance(record, dict)}


def options_from_record(record: dict) -> BuildOptions | None:
    """The BuildOptions of a card record, or None when it does not hold valid ones."""
    try:
        return BuildOptions(record["size"], record["resize_mode"], record.get("image_format", "jpeg"))
    except (KeyError, TypeError, UsageError):
        return None


__all__ = [
    "CARD_KEY",
    "CARD_VARIANTS",
    "DEFAULTS",
    "DEFAULT_CONFIGS",
    "DEFAULT_MAX_SHARD_SIZE",
    "DEFAULT_NNUNET_DATASET_ID",
    "EXPORT_FORMATS",
    "IMAGE_FORMATS",
    "MIN_SHARDS",
    "NATIVE_MASKS_CONFIG",
    "RESIZE_MODES",
    "ROWS_PER_ROW_GROUP",
    "SPLIT_FORMATS",
    "BuildOptions",
    "ImageFormat",
    "ResizeMode",
    "card_variants",
    "check_options",
    "options_from_record",
    "variant_record",
]
