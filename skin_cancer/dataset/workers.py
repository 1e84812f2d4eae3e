"""Worker processes (num_proc > 1) that behave: Ctrl-C is the main process's to handle, and no worker
outlives the main process, however it ends.

`datasets` creates its `multiprocess` pool itself with no initializer; `bound_workers` gives it ours
for the duration of one split.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from . import compat

_PR_SET_PDEATHSIG = 1


def init_worker(parent: int) -> None:
    """Runs first in every worker: leave Ctrl-C to the parent, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool stops its workers with SIGTERM
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def bound_workers(num_proc: int | None = None) -> Iterator[None]:
    """Make the pool that `datasets`' builder creates, and the queue manager it starts, use `init_worker`.

    Nothing to do for one process. For num_proc > 1 the pool is reached through compat, which raises
    RegistrationError when this `datasets` release no longer creates its workers from the pool compat names
    (the workers would otherwise silently outlive an interrupted build).
    """
    if num_proc is None or num_proc <= 1:
        yield
        return
    original = compat.builder_pool()
    if getattr(original, "_skin_cancer", False):
        yield
        return
    parent = os.getpid()

    def bound_pool(*args, **kwargs):
        pool = original(*args, initializer=init_worker, initargs=(parent,), **kwargs)
        pool._ctx = _BoundContext(pool._ctx, parent)  # datasets starts its queue manager from pool._ctx
        return pool

    bound_pool._skin_cancer = True  # type: ignore[attr-defined]
    import multiprocess

    original_manager = multiprocess.Manager  # datasets 4.0 starts its queue manager from here instead
    compat.set_builder_pool(bound_pool)
    multiprocess.Manager = lambda: _BoundContext(multiprocess.get_context(), parent).Manager()
    try:
        yield
    finally:
        compat.set_builder_pool(original)
        multiprocess.Manager = original_manager


class _BoundContext:
    """A multiprocess context whose Manager() server process also dies with the parent."""

    def __init__(self, context, parent: int) -> None:
        self._context, self._parent = context, parent

    def __getattr__(self, name: str):
        return getattr(self._context, name)

    def Manager(self):  # the name multiprocess uses
        from multiprocess.managers import SyncManager

        manager = SyncManager(ctx=self._context.get_context())
        manager.start(initializer=init_worker, initargs=(self._parent,))
        return manager


__all__ = [
    "bound_workers",
    "init_worker",
]
