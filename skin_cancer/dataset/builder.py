"""The `datasets` builder: glue between discovery, annotations and the pixel transforms.

Everything ISIC-specific is in `releases` (one named configuration per release), `discovery` and
`annotations`; everything about pixels is in `transforms`. This module only tells `datasets` which
splits exist, what the features are and how to turn one pair of files into one example.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import datasets
from datasets.exceptions import DatasetGenerationError

from ..errors import DataError, SkinCancerError, UsageError, causes, find_skin_cancer_error, is_disk_full
from ..options import DEFAULTS, check_options
from ..releases import DEFAULT_RELEASE, RELEASES, Release, checksum_problem, get_release
from ..schema import features
from .annotations import AnnotationError, Metadata, parse_labels, parse_metadata
from .discovery import Location, SplitSource, find_in_data_dir, find_in_downloads, read_bytes
from .fingerprint import CODE_HASH, cache_hash
from .overlap import also_in
from .transforms import (
    ImageDecodeError,
    MaskDecodeError,
    MaskSizeError,
    UnsupportedImageError,
    prepare_pair,
)
from .workers import bound_workers

DATASET_NAME = "skin_cancer"
# Bump whenever the bytes written change; one line per version in the README.
BUILDER_VERSION = "2.0.0"


_CORRUPT_HINT = "the file is truncated or corrupt: replace it"


NO_CHECKS_HINT = (
    'download it again with download_mode="force_redownload", or pass verification_mode="no_checks" '
    "(command line: --no-verify) to skip the check"
)


class PartialSplitWarning(UserWarning):
    """A split holds fewer pairs than the official release."""


@dataclass
class SkinCancerConfig(datasets.BuilderConfig):
    """One release (the configuration's name) and the options of the square dataset; every option
    changes the cache folder. The options' defaults and checks are those of options.BuildOptions."""

    size: int = DEFAULTS.size
    resize_mode: str = DEFAULTS.resize_mode
    image_format: str = DEFAULTS.image_format
    base_url: str | None = None  # None: the release's official address

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check()

    def check(self) -> None:
        """`datasets` sets keyword options after construction, so the builder calls this again."""
        get_release(self.name)
        check_options(self.size, self.resize_mode, self.image_format)

    @property
    def release(self) -> Release:
        return get_release(self.name)


_OPTION_DEFAULTS = {**DEFAULTS.as_dict(), "base_url": None}


@dataclass(frozen=True)
class ExampleSource:
    """Everything one worker needs for one example; picklable for num_proc."""

    image_id: str
    image: Location
    mask: Location
    diagnosis: str | None
    metadata: Metadata
    also_in: tuple[str, ...] = ()


class SkinCancer(datasets.GeneratorBasedBuilder):
    """An ISIC lesion-segmentation release (one configuration each) as square image/mask pairs."""

    VERSION = datasets.Version(BUILDER_VERSION)
    BUILDER_CONFIG_CLASS = SkinCancerConfig
    BUILDER_CONFIGS: ClassVar[list[SkinCancerConfig]] = [
        SkinCancerConfig(name=release.name, version=datasets.Version(BUILDER_VERSION), description=release.description)
        for release in RELEASES.values()
    ]
    DEFAULT_CONFIG_NAME = DEFAULT_RELEASE
    DEFAULT_WRITER_BATCH_SIZE = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("data_files"):
            raise UsageError("skin_cancer reads an ISIC release's folders or zips: pass data_dir=..., not data_files")
        kwargs.pop("data_files", None)
        kwargs.setdefault("dataset_name", DATASET_NAME)
        # The cache key: the code (load_dataset passes the same code hash as `hash`) and, for a
        # data_dir, a listing of its files, so that a changed input is never served from the cache.
        kwargs["hash"] = cache_hash(kwargs.get("hash") or CODE_HASH, kwargs.get("data_dir"))
        # `datasets` keys the cache on the options passed, not on their values: size=512 given
        # explicitly would otherwise build a second copy of the default dataset. Only a value of
        # the default's own type is dropped, so size=512.0 is refused like size=256.0.
        for option, default in _OPTION_DEFAULTS.items():
            if option in kwargs and type(kwargs[option]) is type(default) and kwargs[option] == default:
                del kwargs[option]
        super().__init__(*args, **kwargs)
        self.config.check()
        self.seconds_per_split: dict[str, float] = {}
        self._verification_mode: datasets.VerificationMode | None = None

    @property
    def release(self) -> Release:
        return self.config.release

    def is_prepared(self) -> bool:
        """True when this exact configuration is already in the cache."""
        return os.path.isfile(os.path.join(self.cache_dir, datasets.config.DATASET_INFO_FILENAME))

    def _info(self) -> datasets.DatasetInfo:
        release = self.config.release
        return datasets.DatasetInfo(
            description=release.description,
            features=features(release),
            homepage=release.homepage,
            citation=release.citation,
            license=release.license,
        )

    def download_and_prepare(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().download_and_prepare(*args, **kwargs)
        except Exception as error:
            found = None if isinstance(error, SkinCancerError) else _disk_error(error, self._cache_dir_root)
            if found is None:
                raise
            raise found from error

    def _download_and_prepare(self, dl_manager, verification_mode, **kwargs: Any) -> None:
        # Kept for _download: `datasets` hands the mode only to this method.
        self._verification_mode = verification_mode
        super()._download_and_prepare(dl_manager, verification_mode, **kwargs)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        release = self.config.release
        if self.config.data_dir:
            sources = find_in_data_dir(self.config.data_dir, release)
        else:
            sources = self._download(dl_manager, release)
        generators = []
        for source in sources:
            _warn_if_partial(source, release)
            generators.append(
                datasets.SplitGenerator(
                    name=source.split.name, gen_kwargs={"examples": _example_sources(source, release)}
                )
            )
        return generators

    def _download(self, dl_manager: datasets.DownloadManager, release: Release) -> list[SplitSource]:
        base_url = self.config.base_url
        zips = release.zip_downloads
        zip_paths = dl_manager.download({folder: release.url(zips[folder].file_name, base_url) for folder in zips})
        csvs = dl_manager.download(
            {item.file_name: release.url(item.file_name, base_url) for item in release.csv_downloads}
        )
        if self._verification_mode not in (None, datasets.VerificationMode.NO_CHECKS):
            downloaded = {zips[folder].file_name: path for folder, path in zip_paths.items()}
            _verify_downloads(release, {**downloaded, **csvs})
        return find_in_downloads(zip_paths, csvs, release)

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
            found = find_skin_cancer_error(error) or _disk_error(error, self._cache_dir_root)
            if found is None:
                raise
            raise found from error

    def _generate_examples(self, examples: list[ExampleSource]):
        config = self.config
        for example, (image_bytes, mask_bytes) in zip(examples, _read_ahead(examples), strict=True):
            try:
                pair = prepare_pair(image_bytes, mask_bytes, config.size, config.resize_mode, config.image_format)
            except UnsupportedImageError as error:
                raise DataError(example.image.label, str(error)) from error
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
                    "phash": pair.phash,
                    "also_in": list(example.also_in),
                },
            )


def _read_ahead(examples: list[ExampleSource]):
    """The bytes of each pair, the next pair read (and inflated, from a zip) in a thread while the
    caller decodes this one: zlib and Pillow release the GIL, so a zip costs about what a folder does."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skin-cancer-read") as pool:
        pending = pool.submit(_read_pair, examples[0]) if examples else None
        for index in range(len(examples)):
            assert pending is not None
            current = pending.result()
            pending = pool.submit(_read_pair, examples[index + 1]) if index + 1 < len(examples) else None
            yield current


def _read_pair(example: ExampleSource) -> tuple[bytes, bytes]:
    return read_bytes(example.image), read_bytes(example.mask)


def _verify_downloads(release: Release, paths: dict[str, str]) -> None:
    """Each downloaded file against the checksum recorded for it; files without one pass unchecked.

    Only local files are checked: streaming reads over HTTP and downloads nothing."""
    downloads = release.downloads_by_name
    for file_name, path in paths.items():
        if not os.path.isabs(path) or not os.path.isfile(path):
            continue
        problem = checksum_problem(downloads[file_name], path)
        if problem is not None:
            # checksum_problem starts with the file name, which DataError puts first already.
            detail = problem.split(": ", 1)[1]
            raise DataError(
                file_name, f"the downloaded file ({path}) does not match its checksum: {detail}", NO_CHECKS_HINT
            )


def _example_sources(source: SplitSource, release: Release) -> list[ExampleSource]:
    diagnoses = _parse_csv(source.labels_csv, lambda text: parse_labels(release, text)) if source.labels_csv else {}
    unrecognised_sex: Counter[str] = Counter()
    metadata = (
        _parse_csv(source.metadata_csv, lambda text: parse_metadata(text, unrecognised_sex))
        if source.metadata_csv
        else {}
    )
    if source.split.labels_csv is None:
        pass  # the release has no labels for this split: nothing is missing
    elif source.labels_csv is None:
        warn_user(f"no {source.split.labels_csv} found for the {source.split.name} split: diagnosis will be null")
    else:
        _warn_if_unlabelled(source, source.labels_csv, diagnoses)
    if source.metadata_csv is not None and unrecognised_sex:
        values = ", ".join(f"{value!r} ({count})" for value, count in sorted(unrecognised_sex.items()))
        warn_user(
            f"{source.metadata_csv.label}: {sum(unrecognised_sex.values())} sex value(s) are neither male, female "
            f"nor unknown and are stored as null: {values}"
        )
    unknown = Metadata(None, None)
    return [
        ExampleSource(
            pair.image_id,
            pair.image,
            pair.mask,
            diagnoses.get(pair.image_id),
            metadata.get(pair.image_id, unknown),
            tuple(also_in(release, source.split.name, pair.image_id)),
        )
        for pair in source.pairs
    ]


def _warn_if_unlabelled(source: SplitSource, labels_csv: Location, diagnoses: dict[str, str]) -> None:
    missing = [pair.image_id for pair in source.pairs if pair.image_id not in diagnoses]
    if not missing:
        return
    total = len(source.pairs)
    first = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    message = (
        f"{labels_csv.label}: {len(missing)} of {total} {source.split.name} images have no row, "
        f"so their diagnosis will be null (first: {first})"
    )
    if len(missing) == total:
        message += "; no image of this split is in it: the CSV probably belongs to another split"
    warn_user(message)


def _warn_if_partial(source: SplitSource, release: Release) -> None:
    found, official = len(source.pairs), source.split.official_count
    if found < official:
        warn_user(
            PartialSplitWarning(
                f"found {found} of {official} official {source.split.long_name} images "
                f"({source.split.name} split of {release.short_name}); the dataset is partial"
            )
        )


def warn_user(message: str | Warning) -> None:
    """Warn at the user's own line: the first caller outside this package and `datasets`."""
    internal = (os.path.dirname(__file__) + os.sep, os.path.dirname(datasets.__file__) + os.sep)
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame = frame.f_back
        level += 1
    warnings.warn(message, stacklevel=level)


def _disk_error(error: BaseException, cache_root: str) -> DataError | None:
    """A full disk or a file-size limit while writing the cache, named in one line."""
    full = next((cause for cause in causes(error) if is_disk_full(cause)), None)
    if full is None:
        return None
    return DataError(
        cache_root,
        f"cannot write the prepared dataset into this cache folder: {full}",
        "free some disk space, raise the file-size limit, or choose another cache_dir",
    )


def _parse_csv(location: Location, parse):
    try:
        return parse(read_bytes(location).decode("utf-8-sig"))
    except (AnnotationError, UnicodeDecodeError) as error:
        raise DataError(location.label, f"cannot read this CSV: {error}") from error
