"""The private `datasets` internals skin_cancer uses, imported in this one place.

A `datasets` release may move or drop any of them. Importing them here, each inside a try, means
such a release never breaks `import skin_cancer` with an ImportError: `missing()` names what is
gone, `registration.register()` reports it as one RegistrationError when the package is imported,
and a missing internal raises that same error the moment it is used.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

from ..errors import RegistrationError

# name -> the module of `datasets` it is taken from (all private API, none documented).
INTERNALS = {
    "xopen": "datasets.utils.file_utils",
    "xisdir": "datasets.utils.file_utils",
    "xisfile": "datasets.utils.file_utils",
    "xjoin": "datasets.utils.file_utils",
    "xlistdir": "datasets.utils.file_utils",
    "convert_file_size_to_int": "datasets.utils.py_utils",
    "MetadataConfigs": "datasets.utils.metadata",
    "DatasetInfosDict": "datasets.info",
    "tqdm": "datasets.utils.tqdm",
    "known_task_ids": "datasets.utils.metadata",
}


def supported_datasets() -> str:
    """The `datasets` range this installation declares, e.g. 'datasets <6,>=4.0' (pyproject.toml holds it)."""
    from packaging.requirements import Requirement

    try:
        requirements = [Requirement(text) for text in metadata.requires("skin-cancer") or []]
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        if requirement.name == "datasets" and requirement.marker is None:
            return f"datasets {requirement.specifier}"
    return "the datasets releases skin-cancer's pyproject.toml declares"


def _resolve(name: str) -> Any:
    """The internal itself; ImportError (or AttributeError) when this release lacks it."""
    return getattr(importlib.import_module(INTERNALS[name]), name)


def missing() -> list[str]:
    """Each internal this `datasets` release lacks, as 'module.name (why)'; checked afresh on every call."""
    gone = []
    for name, module in INTERNALS.items():
        try:
            _resolve(name)
        except (ImportError, AttributeError) as error:
            gone.append(f"{module}.{name} ({type(error).__name__}: {error})")
    return gone


class _Missing:
    """Stands in for an internal this release lacks: any use raises the one clear error."""

    def __init__(self, name: str, error: Exception) -> None:
        self._where = f"{INTERNALS[name]}.{name}"
        self._error = error

    def _fail(self) -> RegistrationError:
        import datasets

        return RegistrationError(
            f"datasets {datasets.__version__} has no {self._where} ({self._error}), which skin_cancer needs: "
            f"install {supported_datasets()}"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise self._fail()


def _load(name: str) -> Any:
    try:
        return _resolve(name)
    except (ImportError, AttributeError) as error:
        return _Missing(name, error)


xopen = _load("xopen")
xisdir = _load("xisdir")
xisfile = _load("xisfile")
xjoin = _load("xjoin")
xlistdir = _load("xlistdir")
convert_file_size_to_int = _load("convert_file_size_to_int")
MetadataConfigs = _load("MetadataConfigs")
DatasetInfosDict = _load("DatasetInfosDict")
tqdm = _load("tqdm")
known_task_ids = _load("known_task_ids")
