"""Prepare (or reuse) one configuration of the dataset, timing each split: shared by every command."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from ..dataset.builder import SkinCancer, partial_message, warn_user
from ..errors import DataError, PartialSplitWarning
from ..options import BuildOptions
from ..releases import DEFAULT_RELEASE, Release, get_release


@dataclass
class Build:
    """A prepared dataset, where it came from, and what it cost."""

    builder: SkinCancer
    dataset: datasets.DatasetDict
    data_dir: str | None
    options: BuildOptions
    reused: bool
    seconds_per_split: dict[str, float] = field(default_factory=dict)
    cache_dir: str | None = None
    release: Release = field(default_factory=lambda: get_release(DEFAULT_RELEASE))

    @property
    def load_line(self) -> str:
        """The line of Python that loads this exact build from the cache."""
        config = "" if self.release.name == DEFAULT_RELEASE else f", {json.dumps(self.release.name)}"
        arguments = {} if self.data_dir is None else {"data_dir": self.data_dir}
        arguments.update(self.options.changed())
        if self.cache_dir:
            arguments["cache_dir"] = os.path.abspath(self.cache_dir)
        spelled = "".join(f", {key}={json.dumps(value)}" for key, value in arguments.items())
        return (
            f'import skin_cancer; from datasets import load_dataset; ds = load_dataset("skin_cancer"{config}{spelled})'
        )

    @property
    def protected_folders(self) -> list[tuple[Path, str]]:
        return protected_folders(self.data_dir, self.cache_dir)


def protected_folders(data_dir: str | None, cache_dir: str | None) -> list[tuple[Path, str]]:
    """Folders no output may replace or contain, with what each is: the input data and the cache
    (the `protected` of `outputs.check_output`)."""
    cache = (Path(cache_dir or datasets.config.HF_DATASETS_CACHE), "the datasets cache")
    return [cache] if data_dir is None else [(Path(data_dir), "the data folder"), cache]


def resolve_data_dir(data_dir: str | None) -> str | None:
    """None means download; an empty string is a mistake (an unset shell variable), never a download."""
    if data_dir is None:
        return None
    if not str(data_dir).strip():
        from ..errors import UsageError

        raise UsageError("the data folder is empty (an unset variable?): give --data-dir DIR, or --download")
    return os.path.abspath(os.path.expanduser(data_dir))


def prepare_dataset(
    data_dir: str | None,
    options: BuildOptions | None = None,
    num_proc: int = 1,
    cache_dir: str | None = None,
    rebuild: bool = False,
    release: str | Release = DEFAULT_RELEASE,
    verify: bool = True,
    base_url: str | None = None,
) -> Build:
    """Build one configuration of a release into the `datasets` cache, or reuse the build already there.

    data_dir: the folder holding the release's files (extracted folders or ISIC's zips, as the README's
        "Getting the data" says); None downloads them from the release's address (`Release.base_url`).
        "~" is expanded and the path made absolute; an empty string is a UsageError (an unset shell variable).
    options: size (pixels of the square side), resize_mode, image_format and the rest of `BuildOptions`;
        None means the defaults of `options.DEFAULTS`.
    num_proc: worker processes for the build (1: in this process); splits are built by up to this many.
    cache_dir: the `datasets` cache folder; None means `datasets`' own (HF_DATASETS_CACHE).
    rebuild: build again even when the cache holds this exact build (downloads already made are kept).
    release: a release name ("isic2017") or `Release`; see `releases.RELEASES`.
    verify: False skips the downloads' checksums (datasets' verification_mode="no_checks").
    base_url: download from this mirror instead of the release's official address.

    Returns a `Build`: the DatasetDict (one Dataset per split, columns of `schema.COLUMNS`), whether it was
    reused, and the seconds each split took. Raises UsageError for bad options or data_dir, DataError
    naming the file for bad input (a missing folder, an undecodable image, a mask that fits no image, a
    checksum that differs) or an unreadable cache, DiskFullError when the disk fills; a split with fewer
    pairs than the official release (a partial data_dir) warns with PartialSplitWarning.
    """
    options = options or BuildOptions()
    release = get_release(release)
    data_dir = resolve_data_dir(data_dir)
    mirror = {} if base_url is None else {"base_url": base_url}
    builder = SkinCancer(
        config_name=release.name, data_dir=data_dir, cache_dir=cache_dir, **options.as_dict(), **mirror
    )
    reused = builder.is_prepared() and not rebuild
    mode = datasets.DownloadMode.REUSE_CACHE_IF_EXISTS if rebuild else None  # downloads kept, dataset rebuilt
    builder.download_and_prepare(
        num_proc=num_proc if num_proc > 1 else None,
        download_mode=mode,
        verification_mode=None if verify else datasets.VerificationMode.NO_CHECKS,
    )
    seconds = dict(builder.seconds_per_split)
    try:
        dataset = builder.as_dataset()
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(
            builder.cache_dir,
            f"the prepared dataset in the cache cannot be read ({' '.join(str(error).split())})",
            'prepare it again: --rebuild, or download_mode="reuse_cache_if_exists" in Python',
        ) from error
    if reused:
        _warn_reused_partial(release, dataset)
    return Build(builder, dataset, data_dir, options, reused, seconds, cache_dir, release)


def _warn_reused_partial(release: Release, dataset: datasets.DatasetDict) -> None:
    # A build reused from the cache runs no generator, so it gives no partial warning of its own: say it again,
    # so that a partial split never reads as the official one on the second run.
    for split in release.split_names:
        message = partial_message(release, split, len(dataset[split]) if split in dataset else 0)
        if message:
            warn_user(PartialSplitWarning(message + " (a reused build)"))


def split_num_bytes(dataset: datasets.Dataset) -> int:
    """The split's size in bytes, the one number the summary, stats.json, the card and the Parquet sharding
    use: its Arrow data as one table, whatever num_proc built it.

    `datasets` counts each worker's Arrow file on its own, which gives a few bytes more for
    num_proc > 1; the card must not change with num_proc, or an unchanged re-publish would commit.
    Column by column, so at most one column is ever combined in memory.
    """
    table = dataset.data.table
    return sum(column.combine_chunks().nbytes for column in table.columns)


__all__ = [
    "Build",
    "prepare_dataset",
    "protected_folders",
    "resolve_data_dir",
    "split_num_bytes",
]
