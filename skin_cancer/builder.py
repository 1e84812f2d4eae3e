"""The `datasets` builder: glue between discovery, annotations and the pixel transforms.

Everything ISIC-specific is in `layout`, `discovery` and `annotations`; everything about pixels
is in `transforms`. This module only tells `datasets` which splits exist, what the features
are and how to turn one pair of files into one example.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import datasets
from datasets.exceptions import DatasetGenerationError
from datasets.utils.file_utils import xopen

from . import about
from .annotations import AnnotationError, Metadata, parse_diagnoses, parse_metadata
from .discovery import Location, SplitSource, find_in_data_dir, find_in_downloads
from .errors import DataError, UsageError, find_skin_cancer_error
from .layout import DIAGNOSIS_NAMES, ISIC_BASE_URL, SPLITS, official_url, zip_name
from .transforms import (
    IMAGE_FORMATS,
    MAX_SIZE,
    MIN_SIZE,
    RESIZE_MODES,
    ImageDecodeError,
    MaskDecodeError,
    MaskSizeError,
    prepare_pair,
)
from .workers import bound_workers

DATASET_NAME = "skin_cancer"
# Bump whenever the bytes written change; one line per version in the README.
BUILDER_VERSION = "1.0.0"


_CORRUPT_HINT = "the file is truncated or corrupt: replace it"


class PartialSplitWarning(UserWarning):
    """A split holds fewer pairs than the official ISIC-2017 release."""


@dataclass
class SkinCancerConfig(datasets.BuilderConfig):
    """Options of the square dataset; every one of them changes the cache folder."""

    size: int = 512
    resize_mode: str = "pad"
    image_format: str = "jpeg"
    base_url: str = ISIC_BASE_URL

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check()

    def check(self) -> None:
        """`datasets` sets keyword options after construction, so the builder calls this again."""
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not MIN_SIZE <= self.size <= MAX_SIZE:
            raise UsageError(f"size must be a whole number from {MIN_SIZE} to {MAX_SIZE}, not {self.size!r}")
        if self.resize_mode not in RESIZE_MODES:
            raise UsageError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, not {self.resize_mode!r}")
        if self.image_format not in IMAGE_FORMATS:
            raise UsageError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, not {self.image_format!r}")


_OPTION_DEFAULTS = {
    option.name: option.default
    for option in dataclasses.fields(SkinCancerConfig)
    if option.name in ("size", "resize_mode", "image_format", "base_url")
}


@dataclass(frozen=True)
class ExampleSource:
    """Everything one worker needs for one example; picklable for num_proc."""

    image_id: str
    image: Location
    mask: Location
    diagnosis: str | None
    metadata: Metadata


def features() -> datasets.Features:
    return datasets.Features(
        {
            "image_id": datasets.Value("string"),
            "image": datasets.Image(mode="RGB"),
            "mask": datasets.Image(mode="L"),
            "diagnosis": datasets.ClassLabel(names=DIAGNOSIS_NAMES),
            "age_approximate": datasets.Value("int32"),
            "sex": datasets.Value("string"),
            "original_width": datasets.Value("int32"),
            "original_height": datasets.Value("int32"),
        }
    )


class SkinCancer(datasets.GeneratorBasedBuilder):
    """ISIC-2017 Task 1 as square image/mask pairs with labels and metadata."""

    VERSION = datasets.Version(BUILDER_VERSION)
    BUILDER_CONFIG_CLASS = SkinCancerConfig
    BUILDER_CONFIGS: ClassVar[list[SkinCancerConfig]] = [
        SkinCancerConfig(name="default", version=datasets.Version(BUILDER_VERSION))
    ]
    DEFAULT_CONFIG_NAME = "default"
    DEFAULT_WRITER_BATCH_SIZE = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .registration import SOURCE_HASH

        if kwargs.get("data_files"):
            raise UsageError("skin_cancer reads an ISIC-2017 tree: pass data_dir=..., not data_files")
        kwargs.pop("data_files", None)
        kwargs.setdefault("dataset_name", DATASET_NAME)
        if kwargs.get("hash") is None:
            kwargs["hash"] = SOURCE_HASH
        # `datasets` keys the cache on the options passed, not on their values: size=512 given
        # explicitly would otherwise build a second copy of the default dataset.
        for option, default in _OPTION_DEFAULTS.items():
            if option in kwargs and kwargs[option] == default:
                del kwargs[option]
        super().__init__(*args, **kwargs)
        self.config.check()
        self.seconds_per_split: dict[str, float] = {}

    def is_prepared(self) -> bool:
        """True when this exact configuration is already in the cache."""
        return os.path.isfile(os.path.join(self.cache_dir, datasets.config.DATASET_INFO_FILENAME))

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=about.DESCRIPTION,
            features=features(),
            homepage=about.HOMEPAGE,
            citation=about.CITATION,
            license=about.LICENSE,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if self.config.data_dir:
            sources = find_in_data_dir(self.config.data_dir, extract=dl_manager.extract)
        else:
            sources = self._download(dl_manager)
        generators = []
        for source in sources:
            _warn_if_partial(source)
            generators.append(
                datasets.SplitGenerator(name=source.split.name, gen_kwargs={"examples": _example_sources(source)})
            )
        return generators

    def _download(self, dl_manager: datasets.DownloadManager) -> list[SplitSource]:
        base_url = self.config.base_url
        folders = [name for split in SPLITS for name in split.folders]
        zip_paths = dl_manager.download({name: official_url(zip_name(name), base_url) for name in folders})
        csv_names = [split.labels_csv for split in SPLITS]
        csvs = dl_manager.download({name: official_url(name, base_url) for name in csv_names})
        return find_in_downloads(zip_paths, extract=dl_manager.extract, csvs=csvs)

    def _prepare_split(self, split_generator: datasets.SplitGenerator, **kwargs: Any) -> None:
        started = time.perf_counter()
        with bound_workers():
            super()._prepare_split(split_generator, **kwargs)
        self.seconds_per_split[split_generator.name] = time.perf_counter() - started

    def _prepare_split_single(self, *args: Any, **kwargs: Any):
        # `datasets` wraps worker errors in DatasetGenerationError, and the cause does not survive
        # the trip back from a worker process; raise our own error, which names the file, instead.
        try:
            yield from super()._prepare_split_single(*args, **kwargs)
        except DatasetGenerationError as error:
            found = find_skin_cancer_error(error)
            if found is None:
                raise
            raise found from error

    def _generate_examples(self, examples: list[ExampleSource]):
        config = self.config
        for example in examples:
            image_bytes = _read(example.image)
            mask_bytes = _read(example.mask)
            try:
                pair = prepare_pair(image_bytes, mask_bytes, config.size, config.resize_mode, config.image_format)
            except ImageDecodeError as error:
                raise DataError(example.image.label, str(error), _CORRUPT_HINT) from error
            except MaskDecodeError as error:
                raise DataError(example.mask.label, str(error), _CORRUPT_HINT) from error
            except MaskSizeError as error:
                raise DataError(example.mask.label, str(error), "a mask must have its image's size") from error
            yield (
                example.image_id,
                {
                    "image_id": example.image_id,
                    "image": {"bytes": pair.image, "path": None},
                    "mask": {"bytes": pair.mask, "path": None},
                    "diagnosis": example.diagnosis,
                    "age_approximate": example.metadata.age_approximate,
                    "sex": example.metadata.sex,
                    "original_width": pair.original_width,
                    "original_height": pair.original_height,
                },
            )


def _example_sources(source: SplitSource) -> list[ExampleSource]:
    diagnoses = _parse_csv(source.labels_csv, parse_diagnoses) if source.labels_csv else {}
    metadata = _parse_csv(source.metadata_csv, parse_metadata) if source.metadata_csv else {}
    if source.labels_csv is None:
        warnings.warn(
            f"no {source.split.labels_csv} found for the {source.split.name} split: diagnosis will be null",
            stacklevel=3,
        )
    unknown = Metadata(None, None)
    return [
        ExampleSource(
            pair.image_id, pair.image, pair.mask, diagnoses.get(pair.image_id), metadata.get(pair.image_id, unknown)
        )
        for pair in source.pairs
    ]


def _warn_if_partial(source: SplitSource) -> None:
    found, official = len(source.pairs), source.split.official_count
    if found < official:
        warnings.warn(
            PartialSplitWarning(
                f"found {found} of {official} official {source.split.long_name} images "
                f"({source.split.name} split); the dataset is partial"
            ),
            stacklevel=3,
        )


def _parse_csv(location: Location, parse):
    try:
        return parse(_read(location).decode("utf-8-sig"))
    except (AnnotationError, UnicodeDecodeError) as error:
        raise DataError(location.label, f"cannot read this CSV: {error}") from error


def _read(location: Location) -> bytes:
    try:
        with xopen(location.path, "rb") as file:
            return file.read()
    except OSError as error:
        raise DataError(location.label, f"cannot be read: {error}") from error
