"""Prepare (or reuse) one configuration of the dataset, timing each split: shared by every command."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import datasets

from .builder import SkinCancer

DEFAULT_OPTIONS: dict[str, object] = {"size": 512, "resize_mode": "pad", "image_format": "jpeg"}


@dataclass
class Build:
    """A prepared dataset, where it came from, and what it cost."""

    builder: SkinCancer
    dataset: datasets.DatasetDict
    data_dir: str
    options: dict[str, object]
    reused: bool
    seconds_per_split: dict[str, float] = field(default_factory=dict)
    cache_dir: str | None = None

    @property
    def load_line(self) -> str:
        """The line of Python that loads this exact build from the cache."""
        changed = {key: value for key, value in self.options.items() if DEFAULT_OPTIONS.get(key) != value}
        if self.cache_dir:
            changed["cache_dir"] = os.path.abspath(self.cache_dir)
        arguments = "".join(f", {key}={json.dumps(value)}" for key, value in changed.items())
        call = f'load_dataset("skin_cancer", data_dir={json.dumps(self.data_dir)}{arguments})'
        return f"import skin_cancer; from datasets import load_dataset; ds = {call}"


def prepare_dataset(
    data_dir: str | None,
    options: dict[str, object] | None = None,
    num_proc: int = 1,
    cache_dir: str | None = None,
) -> Build:
    options = {**DEFAULT_OPTIONS, **(options or {})}
    data_dir = os.path.abspath(os.path.expanduser(data_dir)) if data_dir else None
    builder = SkinCancer(data_dir=data_dir, cache_dir=cache_dir, **options)
    reused = builder.is_prepared()
    builder.download_and_prepare(num_proc=num_proc if num_proc > 1 else None)
    seconds = dict(builder.seconds_per_split)
    return Build(builder, builder.as_dataset(), data_dir or "", options, reused, seconds, cache_dir)
