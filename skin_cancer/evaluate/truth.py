"""Ground truth for scoring: the native and square masks of a build and its ISIC tree, or of a staged or Hub
repository."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from ..dataset.discovery import Location
from ..dataset.masks import TruthMask
from ..dataset.transforms import RESIZE_MODES, PixelError, read_mask
from ..errors import DataError, UsageError
from ..releases import DEFAULT_RELEASE, Release, get_release

if TYPE_CHECKING:
    import datasets

    from ..tools.pipeline import Build


NATIVE_CONFIG = "native_masks"
CARD_METADATA_KEY = "skin_cancer"  # card YAML: skin_cancer: {size: 512, resize_mode: pad, ...}
_CARD_RESIZE_PATTERN = re.compile(r"`resize_mode=(\w+)`")


def decode_truth(data: bytes, label: str, native: tuple[int, int]) -> TruthMask:
    """The truth mask read by the one rule the build reads it with (`dataset.masks.read_truth`): for ISIC's
    own {0, 255} files exactly as the official scorer reads them; the image's size.

    Raises DataError naming `label` for undecodable files, masks whose values have no meaning, and sizes
    other than `native`.
    """
    try:
        truth = read_mask(data)
    except PixelError as error:  # MaskMeaningError or MaskDecodeError; the text says which
        raise DataError(label, str(error)) from None
    size = truth.binary.size
    if size != native:
        raise DataError(label, f"is {size[0]}x{size[1]} but its image is {native[0]}x{native[1]}")
    return truth


# ----------------------------------------------------------------------------------------------
# Ground truth: a build and its ISIC tree, or a staged / published repository


@dataclass(frozen=True)
class TruthRow:
    image_id: str
    width: int
    height: int
    square_mask: bytes
    native_mask: bytes | Location


@dataclass
class Truth:
    """One split's square and native masks, with the geometry that links them."""

    split: str
    resize_mode: str
    size: int
    source: str
    rows: list[TruthRow]
    dataset: datasets.Dataset  # the square split, for drawing

    @property
    def ids(self) -> list[str]:
        return [row.image_id for row in self.rows]


def _square_rows(dataset: datasets.Dataset) -> list[tuple[str, int, int, bytes]]:
    import datasets

    columns = dataset.select_columns(["image_id", "mask", "original_width", "original_height"])
    columns = columns.cast_column("mask", datasets.Image(decode=False))
    return [(row["image_id"], row["original_width"], row["original_height"], row["mask"]["bytes"]) for row in columns]


def truth_from_build(build: Build, split: str) -> Truth:
    """Square masks from a prepared build; native masks from its ISIC tree, found as the builder finds them."""
    from ..dataset.discovery import find_in_data_dir

    if split not in build.dataset:
        raise UsageError(f"--split must be one of {', '.join(build.dataset)}, not {split!r}")
    if not build.data_dir:
        raise UsageError("evaluating reads the native masks from the ISIC folders or zips: give --data-dir")
    sources = find_in_data_dir(build.data_dir, build.release)
    (source,) = [source for source in sources if source.split.name == split]
    native = {pair.image_id: pair.mask for pair in source.pairs}
    rows = []
    for image_id, width, height, square in _square_rows(build.dataset[split]):
        rows.append(TruthRow(image_id, width, height, square, native[image_id]))
    options = build.options
    return Truth(split, options.resize_mode, options.size, build.data_dir, rows, build.dataset[split])


def truth_from_dataset(
    source: str,
    split: str,
    config: str | None = None,
    resize_mode: str | None = None,
    cache_dir: str | None = None,
) -> Truth:
    """A staged folder or Hub repository: one square configuration and the `native_masks` configuration.

    `config` defaults to the card's default configuration. Its name (`pad-512`, `center_crop-256`, ...)
    says how it was built; a card whose configuration is not so named is read for a `resize_mode=...`
    line. A `resize_mode` given here must agree.
    """
    import datasets

    card = _load_card(source)
    config = _choose_config(source, card, config)
    built_with = _config_resize_mode(config, card)
    if built_with is None and resize_mode is None:
        raise UsageError(
            f"{source}: the dataset card does not say which resize_mode built {config}; pass --resize-mode"
        )
    if built_with is not None and resize_mode is not None and built_with != resize_mode:
        raise UsageError(f"{source} ({config}) was built with resize_mode={built_with}, not {resize_mode}")
    mode = built_with or str(resize_mode)
    try:
        square = datasets.load_dataset(source, config, split=split, cache_dir=cache_dir)
    except ValueError as error:
        raise UsageError(f"{source}: cannot load the {split} split of {config}: {error}") from None
    try:
        native = datasets.load_dataset(source, NATIVE_CONFIG, split=split, cache_dir=cache_dir)
    except ValueError as error:
        raise DataError(
            source,
            f"has no {NATIVE_CONFIG} configuration for {split}: {error}",
            "republish with a publisher that stages native_masks/, or evaluate with --data-dir",
        ) from None
    native = native.cast_column("mask", datasets.Image(decode=False))
    native_bytes = {row["image_id"]: row["mask"]["bytes"] for row in native}
    rows = []
    for image_id, width, height, square_mask in _square_rows(square):
        if image_id not in native_bytes:
            raise DataError(source, f"the {NATIVE_CONFIG} configuration has no mask for {image_id} ({split})")
        rows.append(TruthRow(image_id, width, height, square_mask, native_bytes[image_id]))
    if not rows:
        raise DataError(source, f"the {split} split of {config} is empty")
    with Image.open(io.BytesIO(rows[0].square_mask)) as first:
        size = first.size[0]
    return Truth(split, mode, size, f"{source} ({config})", rows, square)


def _load_card(source: str):
    from huggingface_hub import DatasetCard

    try:
        return DatasetCard.load(os.path.join(source, "README.md") if os.path.isdir(source) else source)
    except Exception:  # no card: the configuration must then be named, and the resize mode given
        return None


def _choose_config(source: str, card, config: str | None) -> str:
    from ..dataset.compat import MetadataConfigs

    configs = MetadataConfigs.from_dataset_card_data(card.data) if card is not None else MetadataConfigs()
    square = [name for name in configs if name != NATIVE_CONFIG]
    if config is None:
        config = configs.get_default_config_name() if configs else None
        if config is None and len(square) == 1:
            config = square[0]
    if config is None:
        listed = f": it has {', '.join(square)}" if square else ""
        raise UsageError(f"{source}: say which configuration the predictions are for with --config{listed}")
    if configs and config not in configs:
        raise UsageError(f"{source} has no configuration {config!r}; it has {', '.join(square)}")
    return config


def _config_resize_mode(config: str, card) -> str | None:
    """From the configuration's name (pad-512, ...), else from the card's `resize_mode=...` line."""
    from ..options import BuildOptions

    try:
        return BuildOptions.from_config_name(config).resize_mode
    except UsageError:
        pass
    if card is None:
        return None
    recorded = (card.data.to_dict().get(CARD_METADATA_KEY) or {}).get("resize_mode")
    if recorded is None:
        found = _CARD_RESIZE_PATTERN.search(card.text)
        recorded = found.group(1) if found else None
    return recorded if recorded in RESIZE_MODES else None


def load_truth(
    data_dir: str | None = None,
    dataset: str | None = None,
    split: str = "test",
    resize_mode: str | None = None,
    size: int = 512,
    image_format: str = "jpeg",
    num_proc: int = 1,
    cache_dir: str | None = None,
    config: str | None = None,
    release: str | Release = DEFAULT_RELEASE,
) -> Truth:
    if (data_dir is None) == (dataset is None):
        raise UsageError("give exactly one of data_dir (an ISIC tree) and dataset (a staged folder or Hub repo)")
    if dataset is not None:
        return truth_from_dataset(dataset, split, config, resize_mode, cache_dir)
    release = get_release(release)
    if split not in release.split_names:
        raise UsageError(f"split must be one of {', '.join(release.split_names)}, not {split!r}")
    from ..options import BuildOptions
    from ..tools.pipeline import prepare_dataset

    options = BuildOptions(size=size, resize_mode=resize_mode or "pad", image_format=image_format)  # type: ignore[arg-type]
    build = prepare_dataset(data_dir, options, num_proc=num_proc, cache_dir=cache_dir, release=release)
    return truth_from_build(build, split)


def ceiling_predictions(truth: Truth) -> dict[str, bytes]:
    """The dataset's own square masks as predictions: their native score is the best any model can reach."""
    return {row.image_id: row.square_mask for row in truth.rows}
