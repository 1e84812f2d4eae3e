"""Cache keys: a hash of the package's code and data, and a cheap fingerprint of a data_dir.

A prepared dataset is reused only when both are unchanged. The code hash covers every module and
data file of the package, found by walking it, so nothing that decides the bytes written can be
forgotten; comments and layout of the Python source do not count, as in `datasets`' own modules.
The input fingerprint is a directory listing (names, sizes, modification times), never a read.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tokenize
from importlib.resources import files
from typing import TYPE_CHECKING

from ..releases import RELEASES, zip_name

if TYPE_CHECKING:
    from importlib.abc import Traversable

_SKIPPED_NAMES = ("__pycache__",)
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


# Package files that never decide the bytes of a build (the Hub card template is read only by publish).
NOT_IN_THE_BUILD = frozenset({"dataset_card.md"})


def code_hash(package: str = "skin_cancer") -> str:
    """sha256 over every file of the package: Python without comments, other files as bytes."""
    digest = hashlib.sha256()
    for relative, resource in sorted(_package_files(files(package), "")):
        if relative in NOT_IN_THE_BUILD:
            continue
        digest.update(relative.encode() + b"\0")
        data = resource.read_bytes()
        digest.update(_python_tokens(data) if relative.endswith(".py") else data)
        digest.update(b"\0")
    return digest.hexdigest()


def input_fingerprint(data_dir: str) -> str:
    """sha256 of the listing of everything the builder could read in data_dir."""
    return listing_fingerprint(input_listing(data_dir))


def input_listing(data_dir: str) -> tuple[str, ...]:
    """The sorted lines the fingerprint hashes: one per input file (name, size, mtime, ctime, inode; tab-separated)."""
    return tuple(sorted(_listing(os.path.abspath(os.path.expanduser(data_dir)))))


def listing_fingerprint(lines: tuple[str, ...]) -> str:
    """sha256 (64 hex characters) of the lines of `input_listing`, joined by newlines; names that are not valid
    UTF-8 are hashed by their raw bytes (surrogateescape), so they raise nothing.
    """
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def first_change(before: tuple[str, ...], after: tuple[str, ...]) -> str | None:
    """The first file name (relative to data_dir, sorted) added, removed or changed between two listings."""
    changed = {line.split("\t", 1)[0] for line in set(before) ^ set(after)}
    return min(changed) if changed else None


def cache_hash(code: str, data_dir: str | None, fingerprint: str | None = None) -> str:
    """The hash `datasets` puts in the cache folder's name: code alone when downloading. `fingerprint`:
    data_dir's input fingerprint when the caller has it already."""
    if not data_dir:
        return code
    return hashlib.sha256(f"{code}\n{fingerprint or input_fingerprint(data_dir)}".encode()).hexdigest()


def _listing(data_dir: str):
    """One line per input file: relative name, size, mtime, ctime, inode. Folders are walked, zips and CSVs
    stat'ed.

    Every release's names are listed (not only the one being built): a listing is cheap, and the key
    then never depends on which release a caller passes."""
    splits = [split for release in RELEASES.values() for split in release.splits]
    folders = [name for split in splits for name in split.folders]
    names = {
        *folders,
        *(zip_name(name) for name in folders),
        *(csv for split in splits for csv in (split.labels_csv, split.metadata_csv) if csv),
    }
    try:
        entries = list(os.scandir(data_dir))
    except OSError:
        return
    for entry in entries:
        if entry.name not in names:
            continue
        if entry.is_dir():
            yield from _walk(entry.path, entry.name)
        else:
            yield _line(entry, entry.name)


def _walk(path: str, relative: str):
    try:
        entries = list(os.scandir(path))
    except OSError:
        yield f"{relative}\tunreadable"
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # discovery ignores hidden files too (.DS_Store, ._* AppleDouble files)
        name = f"{relative}/{entry.name}"
        try:
            is_folder = entry.is_dir(follow_symlinks=False)  # a link to `..` or `/` must not be walked
        except OSError:
            is_folder = False
        if is_folder:
            yield from _walk(entry.path, name)
        else:
            yield _line(entry, name)


def _line(entry: os.DirEntry, relative: str) -> str:
    try:
        stat = entry.stat()  # follows symlinks: a changed target counts
    except OSError:
        return f"{relative}\tunreadable"
    # ctime cannot be set back by hand (mtime can), and a replaced file gets a new inode.
    return f"{relative}\t{stat.st_size}\t{stat.st_mtime_ns}\t{stat.st_ctime_ns}\t{stat.st_ino}"


def _package_files(folder: Traversable, prefix: str):
    for item in folder.iterdir():
        if item.name.startswith(".") or item.name in _SKIPPED_NAMES or item.name.endswith(_SKIPPED_SUFFIXES):
            continue
        relative = f"{prefix}{item.name}"
        if item.is_dir():
            yield from _package_files(item, relative + "/")
        else:
            yield relative, item


def _python_tokens(source: bytes) -> bytes:
    """The source's tokens without comments or blank lines; the source itself if it does not tokenize."""
    try:
        tokens = tokenize.tokenize(io.BytesIO(source).readline)
        kept = [
            f"{token.type}:{token.string}"
            for token in tokens
            if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING)
        ]
    except (tokenize.TokenError, SyntaxError):
        return source
    return "\n".join(kept).encode()


@functools.cache
def package_code_hash() -> str:
    """code_hash() of this installation, computed once, when a cache key is first needed (not at import:
    it reads every file of the package)."""
    return code_hash()


__all__ = [
    "cache_hash",
    "code_hash",
    "first_change",
    "input_fingerprint",
    "input_listing",
    "listing_fingerprint",
    "package_code_hash",
]
