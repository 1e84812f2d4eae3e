"""Errors a user can act on: each names the file (or folder) and says what is wrong."""

from __future__ import annotations


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


def find_skin_cancer_error(error: BaseException) -> SkinCancerError | None:
    """Walk the cause chain: `datasets` wraps worker errors in its own exception types."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SkinCancerError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
