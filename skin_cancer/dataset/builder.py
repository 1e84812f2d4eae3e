"""The `datasets` builder: glue between discovery, annotations and the pixel transforms.

Everything ISIC-specific is in `releases` (one named configuration per release), `discovery` and
`annotations`; everything about pixels is in `transforms`. This module only tells `datasets` which
splits exist, what the features are and how to turn one pair of files into one example.

The private `datasets` methods it overrides (`_download_and_prepare`, `_prepare_split`,
`_prepare_split_single`) are declared, and checked at registration, in compat.OVERRIDDEN.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import datasets
from datasets.exceptions import DatasetGenerationError

from ..errors import (
    DataError,
    PartialSplitWarning,
    SkinCancerError,
    UsageError,
    causes,
    find_skin_cancer_error,
    is_disk_full,
)
from ..options import DEFAULTS, check_options
from ..releases import (
    DEFAULT_RELEASE,
    LABELS_HAM10000_METADATA,
    LAYOUT_MULTI_ANNOTATOR,
    RELEASES,
    Release,
    checksum_problem,
    get_release,
    size_problem,
)
from ..schema import features
from . import compat
from .annotations import (
    AnnotationError,
    Metadata,
    parse_ham10000,
    parse_isic_cli_metadata,
    parse_labels,
    parse_metadata,
)
from .archive import UNKNOWN, ImageFacts, image_facts
from .cache import NotASupersededBuild, remove_build, superseded_builds
from .discovery import AnnotatedMask, Location, SplitSource, find_in_data_dir, find_in_downloads, read_bytes
from .fingerprint import cache_hash, first_change, input_listing, listing_fingerprint, package_code_hash
from .folds import split_fold
from .masks import NOTE_ORIENTATION_IGNORED, ReadingNotes
from .overlap import also_in
from .registration import DATASET_NAME
from .transforms import (
    ImageDecodeError,
    MaskDecodeError,
    MaskMeaningError,
    MaskSizeError,
    UnsupportedImageError,
    prepare_frame_mask,
    prepare_pair,
)
from .workers import bound_workers

# Bump whenever the bytes written change; one line per version in the README.
BUILDER_VERSION = "2.1.0"


_CORRUPT_HINT = "the file is truncated or corrupt: replace it"


NO_CHECKS_HINT = (
    'download it again with download_mode="force_redownload", or pass verification_mode="no_checks" '
    "(command line: --no-verify) to skip the check"
)


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
    archive: ImageFacts = UNKNOWN  # lesion, patient, licence and attribution from the ISIC Archive
    fold: int | None = None  # folds.split_fold: 0-4 in the training split, None elsewhere
    # A multi-annotator release (IMA++) only: every annotator's mask and the consensus masks (discovery.PairSource).
    annotations: tuple[AnnotatedMask, ...] = ()
    staple: Location | None = None
    majority: Location | None = None

    @property
    def more_masks(self) -> tuple[Location, ...]:
        """The mask files read besides `mask`, each once, in the order annotations, STAPLE, majority vote."""
        found = [annotation.location for annotation in self.annotations]
        found += [location for location in (self.staple, self.majority) if location is not None]
        return tuple(location for location in dict.fromkeys(found) if location != self.mask)


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
        # `datasets` also puts data_dir itself in the cache folder's name, only normalised (normpath):
        # made absolute here, a relative data_dir finds what the absolute path built.
        data_dir = kwargs.get("data_dir")
        self._inputs: tuple[str, ...] | None = None
        if isinstance(data_dir, (str, os.PathLike)) and str(data_dir).strip():
            kwargs["data_dir"] = data_dir = os.path.abspath(os.path.expanduser(data_dir))
            self._inputs = input_listing(data_dir)  # compared again once the build is written
        fingerprint = None if self._inputs is None else listing_fingerprint(self._inputs)
        kwargs["hash"] = cache_hash(kwargs.get("hash") or package_code_hash(), data_dir, fingerprint)
        # `datasets` keys the cache on the options passed, not on their values: size=512 given
        # explicitly would otherwise build a second copy of the default dataset. Only a value of
        # the default's own type is dropped, so size=512.0 is refused like size=256.0.
        for option, default in _OPTION_DEFAULTS.items():
            if option in kwargs and type(kwargs[option]) is type(default) and kwargs[option] == default:
                del kwargs[option]
        super().__init__(*args, **kwargs)
        self.config.check()
        self.seconds_per_split: dict[str, float] = {}
        self.removed_builds: list[str] = []  # superseded builds this builder deleted (cache.py)
        self._verification_mode: datasets.VerificationMode | None = None
        self._streaming_notes: dict[str, ReadingNotes] = {}  # per split, while a stream is read

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
            found = None if isinstance(error, SkinCancerError) else _disk_error(error, compat.cache_root(self))
            if found is None:
                raise
            raise found from error
        self._remove_superseded_builds()

    def _download_and_prepare(self, dl_manager, verification_mode, **kwargs: Any) -> None:
        # Kept for _download: `datasets` hands the mode only to this method.
        self._verification_mode = verification_mode
        super()._download_and_prepare(dl_manager, verification_mode, **kwargs)
        # Still inside datasets' `.incomplete` folder, which it deletes when this raises: a build whose
        # inputs changed after they were fingerprinted (the key) is never stored under that key.
        self._check_inputs_unchanged()

    def _check_inputs_unchanged(self) -> None:
        """DataError when data_dir's listing differs from the one the cache key was computed from."""
        if self._inputs is None or not self.config.data_dir:
            return
        changed = first_change(self._inputs, input_listing(self.config.data_dir))
        if changed is not None:
            raise DataError(
                os.path.join(self.config.data_dir, changed),
                "changed while the dataset was being built; nothing was kept",
                "build again once nothing is writing into the data folder",
            )

    def _remove_superseded_builds(self) -> None:
        """Delete the other complete builds of the same data folder, options and builder version (cache.py).

        Only for a data_dir on a local cache; a failure to delete warns and keeps the new build."""
        kept = os.path.normpath(os.path.abspath(self.cache_dir))
        if not self.config.data_dir or not self.is_prepared() or "://" in compat.cache_root(self):
            return
        for path in superseded_builds(kept):
            try:
                remove_build(path, kept)
            except (OSError, NotASupersededBuild) as error:
                warn_user(f"could not remove the superseded build {path}: {error}")
            else:
                self.removed_builds.append(path)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        release = self.config.release
        if self.config.data_dir:
            sources = find_in_data_dir(self.config.data_dir, release)
        elif not release.downloadable:
            raise UsageError(
                f"{release.short_name} is not downloaded by the builder: get it from {release.data_page} and "
                "pass its folder as data_dir (on the command line: --data-dir)"
            )
        else:
            sources = self._download(dl_manager, release)
        generators = []
        for source in sources:
            _warn_if_partial(source, release)
            if not source.pairs:
                continue  # a split divided by a rule may be empty in a partial copy; `datasets` cannot store it
            examples = _example_sources(source, release)
            # The split's first and last ids: streaming reads each example as a shard of its own, and
            # gives the split's warnings when the last one has been read.
            ends = (examples[0].image_id, examples[-1].image_id) if examples else ("", "")
            generators.append(
                datasets.SplitGenerator(
                    name=source.split.name,
                    gen_kwargs={"examples": examples, "split": source.split.name, "first": ends[0], "last": ends[1]},
                )
            )
        return generators

    def _download(self, dl_manager: datasets.DownloadManager, release: Release) -> list[SplitSource]:
        base_url = self.config.base_url
        zips = release.zip_downloads
        with _mirror_allowed_offline(base_url):
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
        # Each job (one per worker process with num_proc) writes what its masks and images gave to warn
        # about into this folder; the split's warnings are the sum, given once here.
        with tempfile.TemporaryDirectory(prefix="skin-cancer-notes-") as notes_folder:
            split_generator.gen_kwargs["notes_folder"] = notes_folder
            try:
                with bound_workers(kwargs.get("num_proc")):
                    super()._prepare_split(split_generator, **kwargs)
            finally:
                del split_generator.gen_kwargs["notes_folder"]
            notes = ReadingNotes()
            for name in sorted(os.listdir(notes_folder)):
                with open(os.path.join(notes_folder, name)) as file:
                    notes.merge(json.load(file))
        for message in notes.messages(f"{split_generator.name} split"):
            warn_user(message)
        self.seconds_per_split[split_generator.name] = time.perf_counter() - started

    def _prepare_split_single(self, *args: Any, **kwargs: Any):
        # `datasets` wraps worker errors in DatasetGenerationError, and the cause does not survive
        # the trip back from a worker process; raise our own error, which names the file, instead.
        try:
            yield from super()._prepare_split_single(*args, **kwargs)
        except DatasetGenerationError as error:
            found = find_skin_cancer_error(error) or _disk_error(error, compat.cache_root(self))
            if found is None:
                raise
            raise found from error

    def _generate_examples(
        self,
        examples: list[ExampleSource],
        split: str = "",
        first: str = "",
        last: str = "",
        notes_folder: str | None = None,
    ):
        """The examples of one split, or of one part of it (a job with num_proc, a shard when streaming).

        What the masks and images give to warn about (masks.ReadingNotes) is written to `notes_folder` when
        building, for `_prepare_split` to warn once per split; when streaming (no folder), it is kept on the
        builder from the split's `first` example on and warned once its `last` example has been read.
        """
        config = self.config
        if notes_folder is not None:
            notes = ReadingNotes()
        else:
            if examples and examples[0].image_id == first:
                self._streaming_notes[split] = ReadingNotes()  # a new pass over the split
            notes = self._streaming_notes.setdefault(split, ReadingNotes())
        for example, (image_bytes, mask_bytes, more) in zip(examples, _read_ahead(examples), strict=True):
            with _naming(example.image, example.mask):
                pair = prepare_pair(image_bytes, mask_bytes, config.size, config.resize_mode, config.image_format)
            for note in pair.notes:
                notes.add(note, example.image.label if note == NOTE_ORIENTATION_IGNORED else example.mask.label)
            annotated = {}
            if example.annotations:
                frame = (pair.original_width, pair.original_height)
                annotated = _annotated_columns(example, frame, pair.mask, more, config, notes)
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
                    "lesion_id": example.metadata.lesion_id or example.archive.lesion_id,
                    "patient_id": example.archive.patient_id,
                    "license": example.archive.license or self.release.image_license,
                    "attribution": example.archive.attribution,
                    "fold": example.fold,
                    "dx_type": example.metadata.dx_type,
                    "localization": example.metadata.localization,
                    **dict.fromkeys(MULTI_ANNOTATOR_COLUMNS),
                    **annotated,
                },
            )
        if notes_folder is not None:
            with open(os.path.join(notes_folder, f"{uuid.uuid4().hex}.json"), "w") as file:
                json.dump(notes.found, file)
        elif examples and examples[-1].image_id == last:
            for message in self._streaming_notes.pop(split, notes).messages(f"{split} split"):
                warn_user(message)


# The columns only a multi-annotator release fills (null elsewhere): see schema.py.
MULTI_ANNOTATOR_COLUMNS = ("masks", "annotators", "tools", "skill_levels", "consensus_staple", "consensus_majority")


@contextlib.contextmanager
def _naming(image: Location, mask: Location):
    """The pixel errors of one image and mask as DataErrors naming the file at fault."""
    try:
        yield
    except UnsupportedImageError as error:
        raise DataError(image.label, str(error)) from error
    except ImageDecodeError as error:
        raise DataError(image.label, str(error), _CORRUPT_HINT) from error
    except MaskDecodeError as error:
        raise DataError(mask.label, str(error), _CORRUPT_HINT) from error
    except MaskSizeError as error:
        raise DataError(mask.label, str(error), "a mask must have its image's size") from error
    except MaskMeaningError as error:
        raise DataError(mask.label, str(error)) from error


def _annotated_columns(
    example: ExampleSource,
    frame: tuple[int, int],
    mask: bytes,
    more: dict[Location, bytes],
    config: SkinCancerConfig,
    notes: ReadingNotes,
) -> dict[str, Any]:
    """`masks` (every annotator's, through the pair's geometry and the one mask rule), its parallel lists and the
    two consensus masks (None where absent). `frame` is the pair's (original_width, original_height) and `mask`
    its prepared mask, reused where `mask` is one of these files."""
    prepared: dict[Location, bytes] = {example.mask: mask}
    for location, data in more.items():
        with _naming(example.image, location):
            prepared[location], found = prepare_frame_mask(data, frame, config.size, config.resize_mode)
        for note in found:
            notes.add(note, location.label)

    def stored(location: Location | None) -> dict[str, Any] | None:
        return None if location is None else {"bytes": prepared[location], "path": None}

    return {
        "masks": [stored(annotation.location) for annotation in example.annotations],
        "annotators": [annotation.annotator for annotation in example.annotations],
        "tools": [annotation.tool for annotation in example.annotations],
        "skill_levels": [annotation.skill_level for annotation in example.annotations],
        "consensus_staple": stored(example.staple),
        "consensus_majority": stored(example.majority),
    }


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


def _read_pair(example: ExampleSource) -> tuple[bytes, bytes, dict[Location, bytes]]:
    return read_bytes(example.image), read_bytes(example.mask), {path: read_bytes(path) for path in example.more_masks}


def _verify_downloads(release: Release, paths: dict[str, str]) -> None:
    """Each downloaded file against the size and the checksum recorded for it; files without them pass unchecked.

    Only local files are checked: streaming reads over HTTP and downloads nothing."""
    downloads = release.downloads_by_name
    for file_name, path in paths.items():
        if not os.path.isabs(path) or not os.path.isfile(path):
            continue
        wrong_size = size_problem(downloads[file_name], path)
        if wrong_size is not None:
            detail = wrong_size.split(": ", 1)[1]
            raise DataError(
                file_name, f"the downloaded file ({path}) is not the size recorded for it: {detail}", NO_CHECKS_HINT
            )
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
    if release.label_kind == LABELS_HAM10000_METADATA:
        parse = lambda text: {  # noqa: E731
            image_id: row.metadata
            for image_id, row in parse_ham10000(text, release.diagnosis_names, unrecognised_sex).items()
        }
    elif release.layout == LAYOUT_MULTI_ANNOTATOR:
        parse = lambda text: {  # noqa: E731
            image_id: row.metadata for image_id, row in parse_isic_cli_metadata(text, unrecognised_sex).items()
        }
    else:
        parse = lambda text: parse_metadata(text, unrecognised_sex)  # noqa: E731
    metadata = _parse_csv(source.metadata_csv, parse) if source.metadata_csv else {}
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
            pair.record.facts if pair.record is not None else image_facts(pair.image_id),
            split_fold(
                release,
                source.split.name,
                pair.image_id,
                pair.record.facts if pair.record is not None else _own_lesion(metadata.get(pair.image_id)),
            ),
            pair.annotations,
            pair.staple,
            pair.majority,
        )
        for pair in source.pairs
    ]


def _own_lesion(metadata: Metadata | None) -> ImageFacts | None:
    # A release with its own lesion ids (HAM10000's table) groups the folds by them, also for an image
    # outside the shipped training list; None lets folds.py use the shipped facts.
    return ImageFacts(lesion_id=metadata.lesion_id) if metadata is not None and metadata.lesion_id else None


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
    message = partial_message(release, source.split.name, len(source.pairs))
    if message:
        warn_user(PartialSplitWarning(message))


def partial_message(release: Release, split: str, found: int) -> str | None:
    """The PartialSplitWarning text for a split holding `found` images, fewer than the release's official count
    (releases.py); None when the split is complete."""
    facts = release.split(split)
    if found >= facts.official_count:
        return None
    return (
        f"found {found} of {facts.official_count} official {facts.long_name} images "
        f"({facts.name} split of {release.short_name}); the dataset is partial"
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


@contextlib.contextmanager
def _mirror_allowed_offline(base_url: str | None):
    """HF_HUB_OFFLINE / HF_DATASETS_OFFLINE keep `datasets` off the Hub and the internet, and its download
    manager then refuses every URL. A `base_url` is a mirror the caller named (a local or campus server on
    an offline cluster): it is fetched even then. Without one (the official address) offline mode holds."""
    names = [name for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if hasattr(datasets.config, name)]
    saved = {name: getattr(datasets.config, name) for name in names}
    if base_url is not None:
        for name in names:
            setattr(datasets.config, name, False)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(datasets.config, name, value)


__all__ = [
    "BUILDER_VERSION",
    "SkinCancer",
    "SkinCancerConfig",
    "partial_message",
    "warn_user",
]
