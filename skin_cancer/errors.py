"""Every exception and warning class of the package, and the helpers that find them in a cause chain.

Each error a user can act on names the file (or folder) and says what is wrong; all derive from
SkinCancerError, so `except skin_cancer.SkinCancerError` catches every error raised on purpose. The
pixel decoders' own errors (transforms.PixelError and friends) are ValueErrors internal to the builder,
which turns each into a DataError naming the file before it reaches the caller.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class SkinCancerError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(SkinCancerError):
    """The ISIC input is missing, incomplete or corrupt; the message names the file."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        message = f"{path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def __reduce__(self):
        # Keep the fields when a worker process sends the error back (num_proc > 1).
        return (type(self), (self.path, self.problem, self.hint))


class UsageError(SkinCancerError, ValueError):
    """The options given do not make sense together."""


class DiskFullError(DataError):
    """The output did not fit; the old output (if any) is untouched and nothing half-written is left.

    `target` is the output named in the message; `error` the OSError that said so (ENOSPC, EFBIG, EDQUOT),
    or a sentence such as "about 9 MB needed, 1 MB free" when the space was checked before writing.
    """

    def __init__(self, target: Path | str, error: OSError | str) -> None:
        self.cause = error if isinstance(error, str) else (error.strerror or str(error))
        super().__init__(
            str(target), f"the output does not fit: {self.cause}", "free some space or choose another disk"
        )

    def __reduce__(self):
        return (type(self), (self.path, self.cause))


class RegistrationError(SkinCancerError, RuntimeError):
    """This `datasets` release changed the private API that skin_cancer relies on (dataset/compat.py holds
    all of it); the message names what changed and the `datasets` range to install."""


class CardError(SkinCancerError):
    """The card template is missing, or the rendered card does not parse back into its metadata."""


class PublishError(SkinCancerError):
    """Publishing cannot go on; the message says why and what to do."""


class PartialSplitWarning(UserWarning):
    """A split holds fewer pairs than the official release (a warning: a partial build is still useful)."""


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and its causes: `datasets` wraps worker errors in its own types, and its pool turns a
    Ctrl-C into a TimeoutError on the way out."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def find_in_chain(error: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` along the cause chain."""
    return next((cause for cause in causes(error) if isinstance(cause, kind)), None)


def is_disk_full(error: BaseException) -> bool:
    """No space left, a file-size limit or a quota: the disk, not the data."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def find_skin_cancer_error(error: BaseException) -> SkinCancerError | None:
    """The first of our own errors along the cause chain, or None."""
    return find_in_chain(error, SkinCancerError)


__all__ = [
    "CardError",
    "DataError",
    "DiskFullError",
    "PartialSplitWarning",
    "PublishError",
    "RegistrationError",
    "SkinCancerError",
    "UsageError",
    "causes",
    "find_in_chain",
    "find_skin_cancer_error",
    "is_disk_full",
]
