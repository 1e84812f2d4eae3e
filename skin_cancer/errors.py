"""Errors a user can act on: each names the file (or folder) and says what is wrong."""

from __future__ import annotations

import errno
from collections.abc import Iterator
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
    return find_in_chain(error, SkinCancerError)
