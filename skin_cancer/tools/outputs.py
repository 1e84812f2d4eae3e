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

import json
import os
import secrets
import shutil
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import DiskFullError, UsageError, is_disk_full

MARKER = ".skin-cancer-output.json"
# The outputs of a few named files, which may share one folder (even the current one); every other kind
# (export, splits, staged Hub repository, native-size predictions) owns its whole folder.
FILE_KINDS = ("statistics", "preview", "duplicates", "evaluation report")
_SCRATCH_TAG = ".skin-cancer-partial-"
_RETIRED_TAG = ".skin-cancer-retired-"
# A folder no output may replace, hold or sit inside: a path, or (path, role) where the role names it in the
# refusal ("the predictions folder"); a bare path is DEFAULT_ROLE.
Protected = str | os.PathLike | tuple[str | os.PathLike, str]
DEFAULT_ROLE = "a folder that holds your data or the datasets cache"


def marker_text(kind: str, files: Iterable[str] = ()) -> str:
    """The JSON text of a marker file: this tool's name and version, the output `kind` ("export", "stats", ...)
    and the sorted relative paths of the `files` it wrote (the only files a later run may replace).
    """
    from ..about import VERSION

    record = {"written_by": "skin-cancer", "kind": kind, "version": VERSION, "files": sorted(files)}
    return json.dumps(record, indent=2) + "\n"


def _marker_record(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("written_by") != "skin-cancer":
        return None
    return record


def marker_kind(folder: Path) -> str | None:
    """The kind of output ("export", "splits", ...) the folder's marker records, or None without a valid marker
    or without a kind."""
    record = _marker_record(folder)
    kind = record.get("kind") if record is not None else None
    return kind if isinstance(kind, str) else None


def marker_files(folder: Path) -> set[str] | None:
    """The files the marker says this tool wrote, or None when the folder carries no valid marker."""
    record = _marker_record(folder)
    if record is None:
        return None
    files = record.get("files")
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        return None
    return set(files)


def written_files(folder: Path) -> list[str]:
    """What the last command wrote into `folder`, as its marker lists it (the marker itself left out)."""
    return sorted(marker_files(folder) or ())


def has_marker(folder: Path) -> bool:
    """Whether `folder` holds a valid marker (MARKER) written by this tool, i.e. it may be replaced."""
    return marker_files(folder) is not None


def foreign_entries(folder: Path, ignore: Path | None = None) -> list[str]:
    """Everything in `folder` that its marker does not list: files the user added, or all of it when
    there is no marker. A copied or hand-written marker therefore protects nothing it does not list."""
    listed = marker_files(folder) or set()
    listed_folders = {str(parent) for name in listed for parent in Path(name).parents if str(parent) != "."}
    foreign = []
    for root, folders, files in os.walk(folder):  # symlinks are not followed
        relative_root = Path(root).relative_to(folder)
        for name in sorted(folders):
            path = Path(root) / name
            relative = str(relative_root / name)
            if path == ignore:
                folders.remove(name)
            elif path.is_symlink() or relative not in listed_folders:
                foreign.append(relative + "/")
                folders.remove(name)
        for name in sorted(files):
            relative = str(relative_root / name)
            if relative != MARKER and relative not in listed:
                foreign.append(relative)
    return foreign


def check_output(
    output: str | os.PathLike[str], overwrite: bool, protected: Iterable[Protected] = (), kind: str | None = None
) -> Path:
    """Refuse any destination a replacement could harm; return it resolved.

    `protected` are folders that must survive whatever happens (the data_dir, the cache, the folders a
    command reads), each a path or a `(path, role)` pair whose role names it in the refusal. `kind` is the
    output about to be written ("export", "splits", ...): an earlier output of another kind (its marker's
    "kind") is never replaced, whatever the flags (`splits --overwrite` must not wipe an image export).
    Called before any build, so a refusal costs the user nothing.
    """
    if not str(output).strip():
        raise UsageError("the output folder name is empty: give a folder name")
    target = Path(output).expanduser().resolve()
    named = _with_link_targets(protected)
    guarded = {
        "the root folder": Path(target.anchor),
        "your home folder": Path.home().resolve(),
        "the current folder": Path.cwd().resolve(),
    }
    for description, folder in guarded.items():
        if target == folder:
            raise UsageError(f"{target} is {description}: refusing to write there; choose a new folder")
    around = [(Path.cwd().resolve(), "the current folder"), (Path.home().resolve(), "your home folder"), *named]
    for folder, role in around:
        if target == folder:
            raise UsageError(f"{target} is {role}: refusing to write there; choose a new folder")
        if _is_inside(folder, target):
            raise UsageError(f"{target} holds {role} ({folder}): refusing to write there; choose a new folder")
    for folder, role in named:
        if _is_inside(target, folder):
            raise UsageError(
                f"{target} is inside {role} ({folder}): refusing to write there; choose a folder elsewhere"
            )
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder: choose a new folder")
    _check_writable(target)
    if target.is_dir() and _entries(target):
        if not has_marker(target):
            raise UsageError(
                f"{target} is not empty and was not written by skin-cancer (no {MARKER}): "
                "refusing to replace it, whatever the flags; choose a new or empty folder"
            )
        foreign = foreign_entries(target)
        if foreign:
            raise UsageError(
                f"{target} holds files skin-cancer did not write ({_some(foreign)}): refusing to replace it, "
                "whatever the flags; move them away or choose another folder"
            )
        _check_kind(target, kind)
        if not overwrite:
            raise UsageError(
                f"{target} holds an earlier output: pass --overwrite to replace it, or choose another folder"
            )
    return target


def _check_kind(target: Path, kind: str | None, files_only: bool = False) -> None:
    """Refuse a folder whose marker records an output of another kind than `kind` (None: no check).
    With `files_only`, outputs of a few named files (stats, preview, reports) may share a folder."""
    found = marker_kind(target)
    if kind is None or found == kind or (files_only and found in FILE_KINDS):
        return
    found_text = f"an earlier {found} output" if found else "an earlier output of unknown kind"
    raise UsageError(
        f"{target} holds {found_text} of skin-cancer, not a {kind} output: refusing to replace it, "
        "whatever the flags; choose another folder"
    )


def _os_problem(target: Path, error: OSError) -> UsageError:
    """An OS error met while making or swapping the output folder, as one line naming the folder."""
    problem = error.strerror or str(error)
    return UsageError(f"{target}: cannot write this output folder ({problem}): choose another folder")


@contextmanager
def replacing(output: Path, kind: str, overwrite: bool, protected: Iterable[Protected] = ()) -> Iterator[Path]:
    """Yield an empty scratch folder; when the block succeeds it becomes `output`, atomically.

    A new or replaceable folder is swapped by renames beside it. An existing empty folder (it may be
    a mount point, which cannot be renamed) is filled from a scratch folder inside it instead.
    """
    protected = list(protected)
    target = check_output(output, overwrite, protected, kind)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fill_in_place = target.is_dir() and (not _entries(target) or os.path.ismount(target))
        home = target if fill_in_place else target.parent
        _remove_stale_scratch(home)
        # Short whatever the output's name, so any legal final name leaves room for the hidden one.
        scratch = _new_hidden_folder(home, f"{_SCRATCH_TAG}{os.getpid()}")
    except OSError as error:
        raise _os_problem(target, error) from error
    before = _contents(target, scratch)
    try:
        with deferred_interrupt():
            try:
                yield scratch
                written = [str(path.relative_to(scratch)) for path in scratch.rglob("*") if path.is_file()]
                (scratch / MARKER).write_text(marker_text(kind, written))
            except DiskFullError as error:
                raise DiskFullError(target, error.cause) from error  # named by the output, not the scratch folder
            except OSError as error:
                if is_disk_full(error):
                    raise DiskFullError(target, error) from error
                raise
            interruption_point()  # a Ctrl-C held until here still leaves the old output as it was
            if _contents(target, scratch) != before or (target.is_dir() and foreign_entries(target, scratch)):
                raise UsageError(f"{target} changed while the output was being written: it was left as it is")
            try:
                if fill_in_place:
                    _fill(target, scratch)
                else:
                    _swap(target, scratch)
            except OSError as error:
                raise _os_problem(target, error) from error
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
    _keep_permissions(target, scratch)
    retired = _hidden_name(target.parent, _RETIRED_TAG.rstrip("-"))
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
    retired = _new_hidden_folder(target, _RETIRED_TAG.rstrip("-")) if old else None
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


def _with_link_targets(folders: Iterable[Protected]) -> list[tuple[Path, str]]:
    """The folders, resolved, with what each is (`(folder, "the predictions folder")`, or a bare folder for
    DEFAULT_ROLE), plus where their symbolic links point: a split folder linked in from elsewhere is data too."""
    found = []
    for item in folders:
        folder, role = item if isinstance(item, tuple) else (item, DEFAULT_ROLE)
        path = Path(folder).expanduser()
        found.append((path.resolve(), role))
        if path.is_dir():
            with suppress(OSError):
                found += [(child.resolve(), role) for child in path.iterdir() if child.is_symlink()]
    return found


def _keep_permissions(old: Path, new: Path) -> None:
    """The replacement keeps the mode and group the user gave the folder (it may hold patient images)."""
    status = old.stat()
    os.chmod(new, stat.S_IMODE(status.st_mode))
    with suppress(OSError):  # not allowed to give that group: the mode is still kept
        os.chown(new, -1, status.st_gid)


def _remove_stale_scratch(home: Path) -> None:
    """Scratch folders of a run that was killed (kill -9, power loss): ours by name
    (`.skin-cancer-partial-PID-XXXXXXXX`), their process gone."""
    prefix = _SCRATCH_TAG
    for entry in home.glob(f"{prefix}*"):
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if entry.is_dir() and not entry.is_symlink() and pid.isdigit() and not _alive(int(pid)):
            remove_tree(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_writable(target: Path) -> None:
    """Refuse up front a destination that cannot be written, rather than after a long build."""
    existing = target
    while not existing.exists():
        if existing.is_symlink():
            raise UsageError(f"{target}: {existing} is a symbolic link to nothing: choose another folder")
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{target}: {existing} is a file, not a folder: choose another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: {existing} cannot be written (permission denied): choose another folder")


def _some(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


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


def require_free_space(folder: Path, needed: int, target: Path | str) -> None:
    """pyarrow aborts the whole process when its Parquet writer meets a full disk: check before writing."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DiskFullError(target, f"about {needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free")


def check_file_output(
    folder: str | os.PathLike[str], names: Iterable[str], protected: Iterable[Protected] = (), kind: str | None = None
) -> Path:
    """A folder that receives a few named files (stats, previews, reports): it may be any folder, even the
    current one, but no file of those names may be replaced unless this tool wrote it. `kind` (one of
    FILE_KINDS) refuses a folder holding a whole-folder output (an export, splits, a staged repository)."""
    if not str(folder).strip():
        raise UsageError("the output folder name is empty: give a folder name")
    target = Path(folder).expanduser().resolve()
    for place, role in _with_link_targets(protected):
        if target == place:
            raise UsageError(f"{target} is {role}: refusing to write there; choose another folder")
        if _is_inside(target, place):
            raise UsageError(f"{target} is inside {role} ({place}): refusing to write there; choose a folder elsewhere")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder: choose a folder")
    _check_writable(target)
    if target.is_dir() and has_marker(target):
        _check_kind(target, kind, files_only=True)
    ours = (marker_files(target) or set()) if target.is_dir() else set()
    clashes = [name for name in names if (target / name).exists() and name not in ours]
    if (target / MARKER).exists() and not ours:
        clashes.append(MARKER)
    if clashes:
        raise UsageError(
            f"{target} already holds {_some(clashes)}, which skin-cancer did not write: refusing to replace "
            "it; choose another folder"
        )
    return target


@contextmanager
def placing_files(
    folder: str | os.PathLike[str], kind: str, names: Iterable[str], protected: Iterable[Protected] = ()
) -> Iterator[Path]:
    """Yield a scratch folder; when the block succeeds its files move into `folder`, each by one rename,
    and the folder's marker lists them, so a later run may replace them and nothing else."""
    names = list(names)
    target = check_file_output(folder, names, protected, kind)
    try:
        target.mkdir(parents=True, exist_ok=True)
        scratch = _new_hidden_folder(target, f"{_SCRATCH_TAG}{os.getpid()}")
    except OSError as error:
        raise _os_problem(target, error) from error
    try:
        with deferred_interrupt():
            yield scratch
            interruption_point()
            written = sorted(path.name for path in scratch.iterdir() if path.is_file())
            check_file_output(target, written, protected, kind)  # nothing of the user's appeared meanwhile
            ours = marker_files(target) or set()
            (scratch / MARKER).write_text(marker_text(kind, ours | set(written)))
            try:
                for name in [*written, MARKER]:
                    os.replace(scratch / name, target / name)
            except OSError as error:
                raise _os_problem(target, error) from error
    finally:
        if scratch.exists():
            remove_tree(scratch)


__all__ = [
    "FILE_KINDS",
    "MARKER",
    "check_file_output",
    "check_output",
    "has_marker",
    "interruption_point",
    "marker_files",
    "marker_kind",
    "marker_text",
    "placing_files",
    "remove_tree",
    "replacing",
    "require_free_space",
    "written_files",
]
