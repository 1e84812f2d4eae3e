"""Make `load_dataset("skin_cancer", ...)` work by registering the builder with `datasets`.

`datasets` 4+ refuses loading scripts, so the builder joins the table of packaged modules
(`csv`, `imagefolder`, ...). That table, and the helpers in skin_cancer/compat.py, are private API:
`register()` checks all of them and raises one RegistrationError naming what a release changed
(tests/test_registration.py simulates such releases). Both ends of the declared `datasets` range
are tested by .ci/run.
"""

from __future__ import annotations

import inspect

import datasets

from ..errors import RegistrationError
from . import compat
from .builder import DATASET_NAME
from .fingerprint import CODE_HASH as SOURCE_HASH

BUILDER_MODULE = "skin_cancer.dataset.builder"


def register() -> None:
    """Add `skin_cancer` to `datasets`' packaged modules; idempotent."""
    gone = compat.missing()
    if gone:
        raise _broken(f"it lacks {'; '.join(gone)}", builder_works=False)
    try:
        from datasets import load
        from datasets.data_files import DataFilesDict
        from datasets.load import DatasetModule, PackagedDatasetModuleFactory
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES
    except ImportError as error:
        raise _broken(f"an import failed: {error}") from error
    if not isinstance(_PACKAGED_DATASETS_MODULES, dict) or not all(
        isinstance(entry, tuple) and len(entry) == 2 for entry in _PACKAGED_DATASETS_MODULES.values()
    ):
        raise _broken("datasets.packaged_modules._PACKAGED_DATASETS_MODULES is no longer {name: (module, hash)}")
    if load._PACKAGED_DATASETS_MODULES is not _PACKAGED_DATASETS_MODULES:
        raise _broken("datasets.load no longer reads the packaged-module table from datasets.packaged_modules")
    parameters = inspect.signature(DatasetModule).parameters
    if not {"module_path", "hash", "builder_kwargs"} <= parameters.keys():
        raise _broken(f"datasets.load.DatasetModule takes {list(parameters)}")

    _PACKAGED_DATASETS_MODULES[DATASET_NAME] = (BUILDER_MODULE, SOURCE_HASH)

    original = PackagedDatasetModuleFactory.get_module
    if getattr(original, "_skin_cancer", False):
        return

    def get_module(self: PackagedDatasetModuleFactory) -> DatasetModule:
        # The generic factory would glob data_dir for csv/json/... files and fail on an empty or
        # missing folder before our builder could say what is wrong; our builder finds its own files.
        if getattr(self, "name", None) != DATASET_NAME:
            return original(self)
        module_path, module_hash = _PACKAGED_DATASETS_MODULES[DATASET_NAME]
        empty = DataFilesDict()
        return DatasetModule(module_path, module_hash, {"dataset_name": DATASET_NAME, "data_files": empty})

    get_module._skin_cancer = True  # type: ignore[attr-defined]
    PackagedDatasetModuleFactory.get_module = get_module


def _broken(what: str, builder_works: bool = True) -> RegistrationError:
    advice = (
        "or use the builder class directly, which needs no registration: "
        "skin_cancer.SkinCancer(data_dir=...).download_and_prepare(), then .as_dataset()"
        if builder_works
        else "the builder itself needs these too, so only such a release will do"
    )
    return RegistrationError(
        f"cannot register skin_cancer with datasets {datasets.__version__}: {what}. "
        f"skin_cancer is tested with {compat.supported_datasets()}: install that, {advice}"
    )
