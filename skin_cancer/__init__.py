"""ISIC skin-lesion segmentation releases as square image/mask datasets for Hugging Face `datasets`.

Importing this package registers the builder, so `load_dataset("skin_cancer", data_dir=...)` works: at
once when `datasets` is already imported, otherwise the moment it is (so that importing this package,
and `skin-cancer --version` or `--help`, cost no `datasets` import). The builder, the evaluation and
`register` are imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .dataset.registration import register_when_datasets_loads
from .errors import DataError, PartialSplitWarning, RegistrationError, SkinCancerError, UsageError

if TYPE_CHECKING:
    from .dataset.builder import BUILDER_VERSION, SkinCancer, SkinCancerConfig
    from .dataset.registration import register
    from .evaluate import EvaluationReport, evaluate, to_original

# name -> the module that defines it, imported on first access (PEP 562).
_LAZY = {
    "BUILDER_VERSION": ".dataset.builder",
    "SkinCancer": ".dataset.builder",
    "SkinCancerConfig": ".dataset.builder",
    "register": ".dataset.registration",
    "EvaluationReport": ".evaluate",
    "evaluate": ".evaluate",
    "to_original": ".evaluate",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


register_when_datasets_loads()

__all__ = [
    "BUILDER_VERSION",
    "DataError",
    "EvaluationReport",
    "PartialSplitWarning",
    "RegistrationError",
    "SkinCancer",
    "SkinCancerConfig",
    "SkinCancerError",
    "UsageError",
    "evaluate",
    "register",
    "to_original",
]
