"""Writing output folders without ever losing what a user owns.

Every folder this tool writes (an export, a staged Hub repository) carries a marker file. A folder
is only ever replaced when it carries that marker and the user asked for it; folders that hold the
data, the cache, the current folder or the home folder are refused whatever the flags. The new
content is written aside and swapped in at the end, so an interruption at any moment leaves either
the old output or the new one, never a mixture, and nothing half-written beside it.

The only deletions here go through `remove_tree`, which deletes nothing but the hidden scratch and
retired folders this module named itself.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError

MARKER = ".skin-cancer-output.json"
_SCRATCH_TAG = ".skin-cancer-partial-"
_RETIRED_TAG = ".skin-cancer-retired-"


def marker_text(kind: str) -> str:
    from .about import VERSION

    return json.dumps({"written_by": "skin-cancer", "kind": kind, "version": VERSION}, indent=2) + "\n"


def has_marker(folder: Path) -> bool:
    try:
        return json.loads((folder / MARKER).read_text()).get("written_by") == "skin-cancer"
    except (OSError, ValueError, AttributeError):
        return False


def check_output(
    output: str | os.PathLike[str], overwrite: bool, protected: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Refuse any destination a replacement could harm; return it resolved.

    `protected` are folders that must survive whatever happens: the data_dir and the cache.
    Called before any build, so a refusal costs the user nothing.
    """
    if not str(output).strip():
        raise UsageError("the output folder is empty: give a folder name, e.g. --output Skin-Cancer")
    target = Path(output).expanduser().resolve()
    protected = [Path(folder).expanduser().resolve() for folder in protected]
    guarded = {
        "the root folder": Path(target.anchor),
        "your home folder": Path.home().resolve(),
        "the current folder": Path.cwd().resolve(),
    }
    for description, folder in guarded.items():
        if target == folder:
            raise UsageError(f"{target} is {description}: refusing to write there; choose a new folder")
    for folder in [Path.cwd().resolve(), Path.home().resolve(), *protected]:
        if target == folder or _is_inside(folder, target):
            raise UsageError(f"{target} holds {folder}: refusing to write there; choose a new folder")
    for folder in protected:
        if _is_inside(target, folder):
            raise UsageError(
                f"{target} is inside {folder}, which holds your data or the datasets cache: choose a folder elsewhere"
            )
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder: choose a new folder")
    if target.is_dir() and _entries(target):
        if not has_marker(target):
            raise UsageError(
                f"{target} is not empty and was not written by skin-cancer (no {MARKER}): "
                "refusing to replace it, whatever the flags; choose a new or empty folder"
            )
        if not overwrite:
            raise UsageError(
                f"{target} holds an earlier output: pass --overwrite to replace it, or choose another folder"
            )
    return target


@contextmanager
def replacing(output: Path, kind: str, overwrite: bool, protected: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield an empty scratch folder; when the block succeeds it becomes `output`, atomically.

    A new or replaceable folder is swapped by renames beside it. An existing empty folder (it may be
    a mount point, which cannot be renamed) is filled from a scratch folder inside it instead.
    """
    target = check_output(output, overwrite, protected)
    target.parent.mkdir(parents=True, exist_ok=True)
    fill_in_place = target.is_dir() and (not _entries(target) or os.path.ismount(target))
    scratch = _new_hidden_folder(target if fill_in_place else target.parent, _SCRATCH_TAG + target.name)
    before = _contents(target, scratch)
    try:
        with deferred_interrupt():
            yield scratch
            (scratch / MARKER).write_text(marker_text(kind))
            if _contents(target, scratch) != before:
                raise UsageError(f"{target} changed while the output was being written: it was left as it is")
            if fill_in_place:
                _fill(target, scratch)
            else:
                _swap(target, scratch)
    finally:
        if scratch.exists():
            remove_tree(scratch)


def remove_tree(folder: Path) -> None:
    """Delete a scratch or retired folder this module created; anything else is a bug and is refused."""
    if not folder.name.startswith((_SCRATCH_TAG, _RETIRED_TAG)):
        raise RuntimeError(f"refusing to delete {folder}: not a folder skin-cancer created")
    _delete_tree(folder)


def _delete_tree(folder: Path) -> None:
    # The one real deletion in the package; tests replace it with a recording stub.
    shutil.rmtree(folder)


def _swap(target: Path, scratch: Path) -> None:
    """New content in, old content out: rename the old aside, the new in, then delete the old."""
    if not target.exists():
        os.replace(scratch, target)
        return
    retired = _hidden_name(target.parent, _RETIRED_TAG + target.name)
    os.rename(target, retired)
    try:
        os.rename(scratch, target)
    except BaseException:
        os.rename(retired, target)
        raise
    remove_tree(retired)


def _fill(target: Path, scratch: Path) -> None:
    """Move the scratch folder's entries into the existing folder; on failure put everything back."""
    old = _entries(target, ignore=scratch)  # only a mount point holding an earlier output of ours
    retired = _new_hidden_folder(target, _RETIRED_TAG + target.name) if old else None
    retired_entries: list[Path] = []
    moved: list[Path] = []
    try:
        for entry in old:
            os.rename(entry, retired / entry.name)  # type: ignore[operator]
            retired_entries.append(entry)
        for entry in sorted(scratch.iterdir()):
            os.rename(entry, target / entry.name)
            moved.append(target / entry.name)
    except BaseException:
        for entry in moved:
            os.rename(entry, scratch / entry.name)
        for entry in retired_entries:
            os.rename(retired / entry.name, entry)  # type: ignore[operator]
        if retired is not None:
            retired.rmdir()
        raise
    if retired is not None:
        remove_tree(retired)


def _entries(folder: Path, ignore: Path | None = None) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if entry != ignore)


def _contents(folder: Path, scratch: Path) -> list[Path] | None:
    return _entries(folder, ignore=scratch) if folder.is_dir() else None


def _hidden_name(parent: Path, stem: str) -> Path:
    return parent / f"{stem}-{secrets.token_hex(4)}"


def _new_hidden_folder(parent: Path, stem: str) -> Path:
    """A new folder created with the user's umask (tempfile.mkdtemp would make it 0700)."""
    while True:
        candidate = _hidden_name(parent, stem)
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


def _is_inside(inner: Path, outer: Path) -> bool:
    return inner != outer and outer in inner.parents


class Interrupted(KeyboardInterrupt):
    """Ctrl-C arrived while files were being written; raised at the next safe point."""


_pending = threading.Event()


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM) until a safe point, so no native writer is killed mid-call.

    pyarrow aborts the whole process when a KeyboardInterrupt lands inside its Parquet writer,
    leaving half-written files behind; `interruption_point()` raises it between files instead.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def hold(number: int, frame: object) -> None:
        _pending.set()

    for number in previous:
        signal.signal(number, hold)
    try:
        yield
        interruption_point()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _pending.clear()


def interruption_point() -> None:
    """Raise the held interrupt, if any: call it between files."""
    if _pending.is_set():
        _pending.clear()
        raise Interrupted()


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
