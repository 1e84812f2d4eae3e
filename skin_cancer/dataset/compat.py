"""Every private `datasets` API skin_cancer uses, in this one place.

Private means undocumented: helpers imported from `datasets`' internal modules, the packaged-module
table that registration joins, the multiprocessing pool that `workers` hooks, and the builder methods
that `builder.SkinCancer` overrides. A `datasets` release may move or drop any of them. Each is checked
here: `missing()` names what is gone, `registration.register()` reports it as one RegistrationError when
`datasets` is loaded, and a missing helper raises that same error the moment it is used, so a changed
release never breaks `import skin_cancer` with an ImportError or, worse, silently skips an override.
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import json
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ..errors import RegistrationError

# name -> the module of `datasets` it is taken from (all private API, none documented). Only what the
# package calls is listed: a release that drops something else must not stop the registration.
INTERNALS = {
    "xopen": "datasets.utils.file_utils",
    "convert_file_size_to_int": "datasets.utils.py_utils",
    "MetadataConfigs": "datasets.utils.metadata",
    "DatasetInfosDict": "datasets.info",
    "tqdm": "datasets.utils.tqdm",
    "known_task_ids": "datasets.utils.metadata",
}

# The copies `datasets` ships of the Hub's lists of allowed card values (hub/card.py checks a card offline).
HUB_LISTS_PACKAGE = "datasets.utils.resources"
HUB_LISTS = ("size_categories.json", "creators.json")

# The pool `datasets.builder` creates its num_proc workers with; workers.bound_workers swaps it.
POOL_MODULE, POOL_NAME = "datasets.builder", "Pool"

# Private methods of `datasets.GeneratorBasedBuilder` that builder.SkinCancer overrides, with the
# parameters the override relies on: a release that renamed one would call the original, and the override
# (which records the verification mode, bounds the workers and names the file of a worker's error) would
# silently not run. `_info`, `_split_generators` and `_generate_examples` are the documented builder API.
OVERRIDDEN: dict[str, tuple[str, ...]] = {
    "_download_and_prepare": ("dl_manager", "verification_mode"),
    "_prepare_split": ("split_generator", "num_proc"),
    "_prepare_split_single": ("gen_kwargs", "job_id"),
}
# The builder attribute holding the cache folder's root, named in a full-disk error.
CACHE_ROOT_ATTRIBUTE = "_cache_dir_root"


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


def datasets_version() -> str:
    import datasets

    return datasets.__version__


def _resolve(name: str) -> Any:
    """The internal itself; ImportError (or AttributeError) when this release lacks it."""
    return getattr(importlib.import_module(INTERNALS[name]), name)


def missing() -> list[str]:
    """Each private API this `datasets` release lacks, as 'module.name (why)'; checked afresh on every call."""
    gone = []
    for name, module in INTERNALS.items():
        try:
            _resolve(name)
        except (ImportError, AttributeError) as error:
            gone.append(f"{module}.{name} ({type(error).__name__}: {error})")
    gone += [
        f"{HUB_LISTS_PACKAGE}/{name} (the Hub's allowed card values)" for name in HUB_LISTS if _hub_list(name) is None
    ]
    if _pool_module() is None:
        gone.append(f"{POOL_MODULE}.{POOL_NAME} (the pool of num_proc workers)")
    gone += _changed_overrides()
    return gone


def _changed_overrides() -> list[str]:
    import datasets

    changed = []
    for name, needed in OVERRIDDEN.items():
        method = getattr(datasets.GeneratorBasedBuilder, name, None)
        where = f"datasets.GeneratorBasedBuilder.{name}"
        if method is None:
            changed.append(f"{where} (gone, so skin_cancer's override would never run)")
            continue
        parameters = inspect.signature(method).parameters
        lacking = [parameter for parameter in needed if parameter not in parameters]
        if lacking:
            changed.append(f"{where} (takes {list(parameters)[1:]}, no longer {', '.join(lacking)})")
    return changed


class _Missing:
    """Stands in for an internal this release lacks: any use raises the one clear error."""

    def __init__(self, name: str, error: Exception) -> None:
        self._where = f"{INTERNALS[name]}.{name}"
        self._error = error

    def _fail(self) -> RegistrationError:
        return missing_error(f"{self._where} ({self._error})")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise self._fail()


def missing_error(what: str) -> RegistrationError:
    """The error for one private API this release lacks, at the moment it is used."""
    return RegistrationError(
        f"datasets {datasets_version()} has no {what}, which skin_cancer needs: install {supported_datasets()}"
    )


def _load(name: str) -> Any:
    try:
        return _resolve(name)
    except (ImportError, AttributeError) as error:
        return _Missing(name, error)


def __getattr__(name: str) -> Any:
    """`compat.xopen` and friends, resolved on first use (PEP 562) rather than at import: importing this
    module must not import `datasets`, whose first import runs the registration, which reads this module."""
    if name not in INTERNALS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _load(name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # what type checkers see (the `as` marks each as re-exported)
    from datasets.info import DatasetInfosDict as DatasetInfosDict
    from datasets.utils.file_utils import xopen as xopen
    from datasets.utils.metadata import MetadataConfigs as MetadataConfigs
    from datasets.utils.metadata import known_task_ids as known_task_ids
    from datasets.utils.py_utils import convert_file_size_to_int as convert_file_size_to_int
    from datasets.utils.tqdm import tqdm as tqdm


# --- the Hub's lists ----------------------------------------------------------------------------


def _hub_list(file_name: str) -> Any | None:
    try:
        return json.loads((importlib.resources.files(HUB_LISTS_PACKAGE) / file_name).read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return None


def hub_list(file_name: str) -> Any:
    """One of the Hub's lists of allowed card values as `datasets` ships it (parsed JSON); RegistrationError
    when this release no longer ships it."""
    parsed = _hub_list(file_name)
    if parsed is None:
        raise missing_error(f"{HUB_LISTS_PACKAGE}/{file_name} (the Hub's allowed card values)")
    return parsed


# --- the pool of num_proc workers ---------------------------------------------------------------


def _pool_module() -> Any | None:
    """`datasets.builder` when it still creates its workers from a module-level `Pool`, else None."""
    module = importlib.import_module(POOL_MODULE)
    return module if callable(getattr(module, POOL_NAME, None)) else None


def builder_pool() -> Callable[..., Any]:
    """The pool factory `datasets.builder` uses for num_proc > 1; RegistrationError when it is gone."""
    module = _pool_module()
    if module is None:
        raise missing_error(f"{POOL_MODULE}.{POOL_NAME} (the pool of num_proc workers)")
    return getattr(module, POOL_NAME)


def set_builder_pool(pool: Callable[..., Any]) -> None:
    """Make `datasets.builder` create its workers with `pool` (workers.bound_workers puts the original back)."""
    setattr(importlib.import_module(POOL_MODULE), POOL_NAME, pool)


# --- the builder's private state ------------------------------------------------------------------


def cache_root(builder: Any) -> str:
    """The root of the cache folder a `datasets` builder writes into (private `_cache_dir_root`)."""
    try:
        return getattr(builder, CACHE_ROOT_ATTRIBUTE)
    except AttributeError:
        raise missing_error(f"DatasetBuilder.{CACHE_ROOT_ATTRIBUTE} (the cache folder's root)") from None


# --- the packaged-module table ------------------------------------------------------------------


def add_packaged_module(name: str, module_path: str, module_hash: Callable[[], str]) -> None:
    """Make `load_dataset(name)` build `module_path`'s builder, as it does `csv` or `imagefolder`.

    `datasets` 4+ refuses loading scripts, so the builder joins the private table of packaged modules
    ({name: (module path, hash)}), and the factory that turns a table entry into a module is told to
    skip its data-file search for this name (the builder finds its own files). `module_hash` is called
    only when a module is loaded, so that importing costs no hashing. Idempotent. Raises
    RegistrationError (via `broken`) naming what a release changed.
    """
    try:
        from datasets import load
        from datasets.data_files import DataFilesDict
        from datasets.load import DatasetModule, PackagedDatasetModuleFactory
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES
    except ImportError as error:
        raise broken(f"an import failed: {error}") from error
    if not isinstance(_PACKAGED_DATASETS_MODULES, dict) or not all(
        isinstance(entry, tuple) and len(entry) == 2 for entry in _PACKAGED_DATASETS_MODULES.values()
    ):
        raise broken("datasets.packaged_modules._PACKAGED_DATASETS_MODULES is no longer {name: (module, hash)}")
    if load._PACKAGED_DATASETS_MODULES is not _PACKAGED_DATASETS_MODULES:
        raise broken("datasets.load no longer reads the packaged-module table from datasets.packaged_modules")
    parameters = inspect.signature(DatasetModule).parameters
    if not {"module_path", "hash", "builder_kwargs"} <= parameters.keys():
        raise broken(f"datasets.load.DatasetModule takes {list(parameters)}")

    # The table's hash is read only by the factory below for this name; the real one is computed there.
    _PACKAGED_DATASETS_MODULES[name] = (module_path, LAZY_HASH)

    original = PackagedDatasetModuleFactory.get_module
    if getattr(original, "_skin_cancer", False):
        return

    def get_module(self: PackagedDatasetModuleFactory) -> DatasetModule:
        # The generic factory would glob data_dir for csv/json/... files and fail on an empty or
        # missing folder before our builder could say what is wrong; our builder finds its own files.
        if getattr(self, "name", None) != name:
            return original(self)
        path, _ = _PACKAGED_DATASETS_MODULES[name]
        empty = DataFilesDict()
        return DatasetModule(path, module_hash(), {"dataset_name": name, "data_files": empty})

    get_module._skin_cancer = True  # type: ignore[attr-defined]
    PackagedDatasetModuleFactory.get_module = get_module


LAZY_HASH = "computed-when-loaded"


def broken(what: str, builder_works: bool = True) -> RegistrationError:
    """The one registration error: what changed, the tested range, and the way out."""
    advice = (
        "or use the builder class directly, which needs no registration: "
        "skin_cancer.SkinCancer(data_dir=...).download_and_prepare(), then .as_dataset()"
        if builder_works
        else "the builder itself needs these too, so only such a release will do"
    )
    return RegistrationError(
        f"cannot register skin_cancer with datasets {datasets_version()}: {what}. "
        f"skin_cancer is tested with {supported_datasets()}: install that, {advice}"
    )


# With the `datasets` internals of INTERNALS (resolved on first use): the package reaches them only here.
__all__ = [
    "INTERNALS",
    "OVERRIDDEN",
    "DatasetInfosDict",
    "MetadataConfigs",
    "add_packaged_module",
    "broken",
    "builder_pool",
    "cache_root",
    "convert_file_size_to_int",
    "hub_list",
    "known_task_ids",
    "missing",
    "set_builder_pool",
    "tqdm",
    "xopen",
]
