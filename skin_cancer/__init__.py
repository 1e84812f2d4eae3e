"""ISIC skin-lesion segmentation releases as square image/mask datasets for Hugging Face `datasets`.

Importing this package registers the builder, so `load_dataset("skin_cancer", data_dir=...)` works: at
once when `datasets` is already imported, otherwise the moment it is (so that importing this package,
and `skin-cancer --version` or `--help`, cost no `datasets` import). The builder, the evaluation and
`register` are imported when first used.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .dataset.registration import register_when_datasets_loads
from .errors import DataError, PartialSplitWarning, RegistrationError, SkinCancerError, UsageError

if TYPE_CHECKING:
    from .dataset.builder import BUILDER_VERSION, SkinCancer, SkinCancerConfig
    from .dataset.leakage import leak_free
    from .dataset.registration import register
    from .evaluate import EvaluationReport, evaluate, to_original

# name -> the module that defines it, imported on first access (PEP 562).
_LAZY = {
    "BUILDER_VERSION": ".dataset.builder",
    "SkinCancer": ".dataset.builder",
    "SkinCancerConfig": ".dataset.builder",
    "register": ".dataset.registration",
    "leak_free": ".dataset.leakage",
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


class _Package(types.ModuleType):
    """The package module: `skin_cancer.evaluate` stays the function after the subpackage of the same name
    is imported (Python binds a subpackage on its parent once it has run; the function is the public name,
    and `from skin_cancer.evaluate import score` still finds the subpackage in sys.modules)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "evaluate" and isinstance(value, types.ModuleType):
            value = value.evaluate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "leak_free",
    "register",
    "to_original",
]
