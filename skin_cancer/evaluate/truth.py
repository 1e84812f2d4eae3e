"""Ground truth for scoring: the native and square masks of a build and its ISIC tree, or of a staged or Hub
repository."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image

from ..dataset.discovery import Location
from ..dataset.masks import TruthMask
from ..dataset.transforms import PixelError, read_mask
from ..errors import DataError, UsageError, find_skin_cancer_error
from ..options import DEFAULTS, NATIVE_MASKS_CONFIG
from ..releases import DEFAULT_RELEASE, Release, get_release

if TYPE_CHECKING:
    import datasets

    from ..tools.pipeline import Build


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
    """One image of the ground truth.

    width, height: the image's native size in pixels (the original_width/original_height columns), the frame
    ISIC scores in. square_mask: the encoded PNG of the build's size x size mask (class indices {0, 1}).
    native_mask: the native-size mask, as encoded bytes (a staged or Hub repository's `native_masks`) or as
    the Location of ISIC's own file ({0, 255} PNG) in the data folder, read when scored.
    """

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
    # The local folders the truth is read from (the ISIC tree, a staged repository): no output may touch them.
    folders: tuple[str, ...] = ()
    # A multi-annotator release (IMA++) read from its data folder: {image_id: every annotator's native mask} of
    # the images with two or more, for the human reference (scoring.annotator_agreement); empty otherwise.
    annotator_masks: dict[str, tuple[Location, ...]] = field(default_factory=dict)
    # The release's official number of images in this split, where the truth comes from a data folder (None for
    # a staged or Hub repository): a smaller split is partial, and the report says so.
    official_count: int | None = None

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
        if split in build.release.split_names:
            raise UsageError(f"--split {split}: this build holds no {split} images (it has {', '.join(build.dataset)})")
        raise UsageError(f"--split must be one of {', '.join(build.release.split_names)}, not {split!r}")
    if not build.data_dir:
        raise UsageError("evaluating reads the native masks from the ISIC folders or zips: give --data-dir")
    sources = find_in_data_dir(build.data_dir, build.release)
    (source,) = [source for source in sources if source.split.name == split]
    native = {pair.image_id: pair.mask for pair in source.pairs}
    rows = []
    for image_id, width, height, square in _square_rows(build.dataset[split]):
        rows.append(TruthRow(image_id, width, height, square, native[image_id]))
    options = build.options
    folders = (build.data_dir,)
    annotators = {
        pair.image_id: tuple(annotation.location for annotation in pair.annotations)
        for pair in source.pairs
        if len(pair.annotations) >= 2
    }
    square = build.dataset[split]
    official = build.release.split(split).official_count
    return Truth(split, options.resize_mode, options.size, build.data_dir, rows, square, folders, annotators, official)


def truth_from_dataset(
    source: str,
    split: str,
    config: str | None = None,
    resize_mode: str | None = None,
    cache_dir: str | None = None,
) -> Truth:
    """A staged folder or Hub repository: one square configuration and the `native_masks` configuration.

    `config` defaults to the card's default configuration. How it was built comes from the card's YAML
    (`skin_cancer.variants`, see `options.card_variants`), else from a name such as `pad-512`; a
    `resize_mode` given here must agree, and is needed when neither says.
    A local folder is read locally only, and must hold the staged README.md (its card).
    Raises UsageError for a missing folder, a folder without README.md, or a configuration that is not a
    square one, DataError when the repository cannot be read.
    """
    import datasets

    _check_source(source)
    local = os.path.expanduser(source)
    if os.path.isdir(local) and not os.path.isfile(os.path.join(local, "README.md")):
        # Never sent to the Hub: DatasetCard.load takes a README.md path that does not exist for a repository id.
        raise UsageError(
            f"{source} is not a folder staged by `skin-cancer publish --dry-run` (it has no README.md): "
            "give a staged folder, a Hub repository OWNER/NAME, or the data with --data-dir"
        )
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
        raise UsageError(f"{source}: cannot load the {split} split of {config}: {_one_line(error)}") from None
    except Exception as error:  # datasets' own errors (missing or mismatching files) in one line
        if find_skin_cancer_error(error) is not None or isinstance(error, KeyboardInterrupt):
            raise
        raise DataError(source, f"the {split} split of {config} cannot be read: {_one_line(error)}") from error
    if card is not None and NATIVE_MASKS_CONFIG not in _card_configs(card):
        raise DataError(source, f"has no {NATIVE_MASKS_CONFIG} configuration", _NO_NATIVE_HINT)
    try:
        native = datasets.load_dataset(source, NATIVE_MASKS_CONFIG, split=split, cache_dir=cache_dir)
    except Exception as error:  # a listed configuration whose files are missing or damaged, too
        if find_skin_cancer_error(error) is not None:
            raise
        raise DataError(
            source,
            f"its {NATIVE_MASKS_CONFIG} configuration cannot be read for {split}: {_one_line(error)}",
            _NO_NATIVE_HINT,
        ) from error
    native = native.cast_column("mask", datasets.Image(decode=False))
    native_bytes = {row["image_id"]: row["mask"]["bytes"] for row in native}
    rows = []
    for image_id, width, height, square_mask in _square_rows(square):
        if image_id not in native_bytes:
            raise DataError(source, f"the {NATIVE_MASKS_CONFIG} configuration has no mask for {image_id} ({split})")
        rows.append(TruthRow(image_id, width, height, square_mask, native_bytes[image_id]))
    if not rows:
        raise DataError(source, f"the {split} split of {config} is empty")
    with Image.open(io.BytesIO(rows[0].square_mask)) as first:
        size = first.size[0]
    folders = (os.path.abspath(os.path.expanduser(source)),) if os.path.isdir(os.path.expanduser(source)) else ()
    return Truth(split, mode, size, f"{source} ({config})", rows, square, folders)


_NO_NATIVE_HINT = "republish with a publisher that stages native_masks/, or evaluate with --data-dir"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _check_source(source: str) -> None:
    """A local folder, or else a Hub repository id: a path that does not exist is not sent to the Hub."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    path = os.path.expanduser(source)
    if os.path.isdir(path):
        return
    if os.path.exists(path):
        raise UsageError(f"{source} is a file, not a staged folder or a Hub repository OWNER/NAME")
    # OWNER/NAME, unless it starts like a path or its first part is a local folder (`staged/repo`, mistyped).
    hub_shaped = not source.startswith(("/", ".", "~")) and source.count("/") == 1
    if hub_shaped and not os.path.isdir(os.path.dirname(path)):
        try:
            validate_repo_id(source)
            return
        except HFValidationError:
            pass
    raise UsageError(f"{source}: no such folder (and not a Hub repository id OWNER/NAME)")


def _load_card(source: str):
    from huggingface_hub import DatasetCard

    try:
        local = os.path.expanduser(source)
        return DatasetCard.load(os.path.join(local, "README.md") if os.path.isdir(local) else source)
    except Exception:  # no card: the configuration must then be named, and the resize mode given
        return None


def _card_configs(card):
    from ..dataset.compat import MetadataConfigs

    return MetadataConfigs.from_dataset_card_data(card.data) if card is not None else MetadataConfigs()


def _choose_config(source: str, card, config: str | None) -> str:
    configs = _card_configs(card)
    square = [name for name in configs if name != NATIVE_MASKS_CONFIG]
    if config == NATIVE_MASKS_CONFIG:
        listed = f" ({', '.join(square)})" if square else ""
        raise UsageError(
            f"--config {NATIVE_MASKS_CONFIG} is the native-size ground truth, not a configuration predictions are made "
            f"on: give the square configuration of the predictions{listed}"
        )
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
    """How `config` was made square: the card's YAML record of it (found by its name, else by the folder of
    its shards, which a configuration renamed by hand keeps), else its name (pad-512, ...), else None.
    The card's prose is never read."""
    from ..options import BuildOptions, card_variants, options_from_record

    records = card_variants(card.data.to_dict()) if card is not None else {}
    record = records.get(config)
    if record is None and records:
        files = _card_configs(card).get(config, {}).get("data_files") or []
        folders = {str(entry.get("path", "")).split("/")[0] for entry in files if isinstance(entry, dict)}
        if len(folders) == 1:
            record = records.get(folders.pop())
    recorded = options_from_record(record) if record is not None else None
    if recorded is not None:
        return recorded.resize_mode
    try:
        return BuildOptions.from_config_name(config).resize_mode
    except UsageError:
        return None


def load_truth(
    data_dir: str | None = None,
    dataset: str | None = None,
    split: str = "test",
    resize_mode: str | None = None,
    size: int = DEFAULTS.size,
    image_format: str = DEFAULTS.image_format,
    num_proc: int = 1,
    cache_dir: str | None = None,
    config: str | None = None,
    release: str | Release = DEFAULT_RELEASE,
) -> Truth:
    """The ground truth of one split, from exactly one of an ISIC tree (`data_dir`) or a repository (`dataset`).

    data_dir: a release's files, as for `load_dataset("skin_cancer", data_dir=...)`; the square masks come
        from the build of (size, resize_mode, image_format) in the cache (built first when missing, with
        `num_proc` processes), the native ones from ISIC's own files in data_dir.
    dataset: a staged folder (`skin-cancer publish --dry-run OUT`) or a Hub repository id ("owner/name");
        its `native_masks` configuration gives the native masks (see `truth_from_dataset`).
    split: "train", "valid" or "test" (the splits the release has; ISIC 2016 has no "valid").
    resize_mode: "pad", "stretch" or "center_crop"; with data_dir None means the default ("pad"); with
        dataset None means what the card records, and a value here must agree with it.
    size: the square side in pixels (data_dir only). image_format: "jpeg" or "png" (data_dir only).
    num_proc: worker processes if the build must be made (data_dir only).
    cache_dir: the `datasets` cache; None means its default.
    config: the repository's square configuration ("pad-512"; dataset only); None means the card's default.
    release: the release name or `Release` of data_dir ("isic2017"; data_dir only).

    Raises UsageError when both or neither of data_dir and dataset are given, for a split the release lacks,
    and for a configuration or resize_mode the repository does not have; DataError (naming the file) for
    input a build refuses and a repository that cannot be read.
    """
    if (data_dir is None) == (dataset is None):
        raise UsageError("give exactly one of data_dir (an ISIC tree) and dataset (a staged folder or Hub repo)")
    if dataset is not None:
        return truth_from_dataset(dataset, split, config, resize_mode, cache_dir)
    release = get_release(release)
    if split not in release.split_names:
        raise UsageError(f"split must be one of {', '.join(release.split_names)}, not {split!r}")
    from ..options import BuildOptions
    from ..tools.pipeline import prepare_dataset

    options = BuildOptions(size=size, resize_mode=resize_mode or DEFAULTS.resize_mode, image_format=image_format)  # type: ignore[arg-type]
    build = prepare_dataset(data_dir, options, num_proc=num_proc, cache_dir=cache_dir, release=release)
    return truth_from_build(build, split)


def ceiling_predictions(truth: Truth) -> dict[str, bytes]:
    """The dataset's own square masks as predictions: their native score is the best any model can reach."""
    return {row.image_id: row.square_mask for row in truth.rows}


__all__ = [
    "Truth",
    "TruthRow",
    "ceiling_predictions",
    "decode_truth",
    "load_truth",
    "truth_from_build",
    "truth_from_dataset",
]
