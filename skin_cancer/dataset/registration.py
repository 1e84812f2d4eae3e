"""Make `load_dataset("skin_cancer", ...)` work by registering the builder with `datasets`.

`datasets` 4+ refuses loading scripts, so the builder joins the table of packaged modules (`csv`,
`imagefolder`, ...). That table, like every private `datasets` API the package uses, is reached only
through dataset/compat.py: `register()` checks all of it and raises one RegistrationError naming what a
release changed (tests/test_registration.py simulates such releases). Both ends of the declared
`datasets` range are tested by .ci/run.

This module imports nothing heavy: `import skin_cancer` calls `register_when_datasets_loads()`, which
registers at once when `datasets` is already imported, and otherwise the moment it is, so that
`skin-cancer --version` and `--help` never import `datasets`.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import RegistrationError

DATASET_NAME = "skin_cancer"
# The builder's module, named rather than imported: registration may run while that module is itself
# importing `datasets` (the hook below fires then), so it must not need the module to be complete.
BUILDER_MODULE = "skin_cancer.dataset.builder"


def register() -> None:
    """Add `skin_cancer` to `datasets`' packaged modules; idempotent. Imports `datasets`.

    Raises RegistrationError when this `datasets` release lacks or changed private API the package uses.
    """
    from . import compat
    from .fingerprint import package_code_hash

    gone = compat.missing()
    if gone:
        raise compat.broken(f"it lacks {'; '.join(gone)}", builder_works=False)
    compat.add_packaged_module(DATASET_NAME, BUILDER_MODULE, package_code_hash)


def register_when_datasets_loads() -> None:
    """Register now if `datasets` is imported, else as soon as it is; a RegistrationError becomes a warning
    (the builder class still works on its own)."""
    if "datasets" in sys.modules:
        _register_or_warn()
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("datasets", _register_or_warn))


def _register_or_warn() -> None:
    try:
        register()
    except RegistrationError as error:
        warnings.warn(str(error), stacklevel=3)
    except Exception as error:  # never break the user's `import datasets` from inside the import hook
        warnings.warn(f"cannot register skin_cancer with datasets: {type(error).__name__}: {error}", stacklevel=3)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `callback` once, right after the module `name` has been imported (a one-shot import hook)."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot; the search below then finds the real module
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenCall(spec.loader, self.callback)
        return spec


class _ThenCall(importlib.abc.Loader):
    """A loader that runs the real loader, then the callback; everything else is the real loader's."""

    def __init__(self, loader: Any, callback: Callable[[], None]) -> None:
        self._loader, self._callback = loader, callback

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self._loader  # leave no trace of the hook
        self._callback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


__all__ = [
    "DATASET_NAME",
    "register",
    "register_when_datasets_loads",
]
