"""Prepare (or reuse) one configuration of the dataset, timing each split: shared by every command."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from .builder import SkinCancer
from .options import BuildOptions


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

    @property
    def load_line(self) -> str:
        """The line of Python that loads this exact build from the cache."""
        arguments = {} if self.data_dir is None else {"data_dir": self.data_dir}
        arguments.update(self.options.changed())
        if self.cache_dir:
            arguments["cache_dir"] = os.path.abspath(self.cache_dir)
        spelled = "".join(f", {key}={json.dumps(value)}" for key, value in arguments.items())
        return f'import skin_cancer; from datasets import load_dataset; ds = load_dataset("skin_cancer"{spelled})'

    @property
    def protected_folders(self) -> list[Path]:
        """Folders no output may replace or contain: the input data and the cache."""
        cache = Path(self.cache_dir or datasets.config.HF_DATASETS_CACHE)
        return [cache] if self.data_dir is None else [Path(self.data_dir), cache]


def resolve_data_dir(data_dir: str | None) -> str | None:
    """None means download; an empty string is a mistake (an unset shell variable), never a download."""
    if data_dir is None:
        return None
    if not str(data_dir).strip():
        from .errors import UsageError

        raise UsageError("the data folder is empty (an unset variable?): give --data-dir DIR, or --download")
    return os.path.abspath(os.path.expanduser(data_dir))


def prepare_dataset(
    data_dir: str | None,
    options: BuildOptions | None = None,
    num_proc: int = 1,
    cache_dir: str | None = None,
    rebuild: bool = False,
) -> Build:
    options = options or BuildOptions()
    data_dir = resolve_data_dir(data_dir)
    builder = SkinCancer(data_dir=data_dir, cache_dir=cache_dir, **options.as_dict())
    reused = builder.is_prepared() and not rebuild
    mode = datasets.DownloadMode.REUSE_CACHE_IF_EXISTS if rebuild else None  # downloads kept, dataset rebuilt
    builder.download_and_prepare(num_proc=num_proc if num_proc > 1 else None, download_mode=mode)
    seconds = dict(builder.seconds_per_split)
    return Build(builder, builder.as_dataset(), data_dir, options, reused, seconds, cache_dir)
