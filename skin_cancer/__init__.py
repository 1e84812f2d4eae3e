"""ISIC skin-lesion segmentation releases as square image/mask datasets for Hugging Face `datasets`.

Importing this package registers the builder, so `load_dataset("skin_cancer", data_dir=...)` works.
"""

from __future__ import annotations

import warnings

from .dataset.builder import BUILDER_VERSION, PartialSplitWarning, SkinCancer, SkinCancerConfig
from .dataset.leakage import leak_free
from .dataset.registration import RegistrationError, register
from .errors import DataError, SkinCancerError, UsageError
from .evaluate import EvaluationReport, evaluate, to_original

try:
    register()
except RegistrationError as _error:  # the builder class still works on its own
    warnings.warn(str(_error), stacklevel=2)

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
