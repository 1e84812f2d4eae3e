"""One prepared dataset per data folder and options: superseded builds are removed, and only those.

`datasets` keeps a prepared dataset in `<cache>/skin_cancer/<config id>/<version>/<hash>/`: the config
id stands for the release, the data folder and the options, the hash for the code and the input
listing (fingerprint.py). A changed input file gives a new hash, so without this module every change
would leave a complete old copy behind (about 130 MB for a full ISIC-2017 tree). Once the new build is
complete, the other complete builds in the same `<version>` folder, which no call with the same data
folder, options and builder version can load again, are deleted. Builds of other options, other data
folders, other releases, other builder versions, downloads and unfinished (`.incomplete`) folders are
kept. Deleting goes through `remove_build`, which refuses anything but such a folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil

_INFO_FILE = "dataset_info.json"  # datasets.config.DATASET_INFO_FILENAME, written last by a complete build
# The builder's hash (fingerprint.cache_hash) is a sha256 hex digest: a folder named otherwise is not one of its builds.
_BUILD_NAME = re.compile(r"[0-9a-f]{64}")

# The one call that deletes: tests replace it with a recording stub.
_delete = shutil.rmtree


class NotASupersededBuild(Exception):
    """`remove_build` was asked to delete something other than a superseded build; nothing was deleted."""


def superseded_builds(kept: str) -> list[str]:
    """The complete builds beside `kept` (the build just prepared) that `remove_build` would delete, sorted.

    `kept`: the absolute path of a complete build, `<cache>/skin_cancer/<config id>/<version>/<hash>`."""
    parent = os.path.dirname(kept)
    try:
        names = sorted(entry.name for entry in os.scandir(parent))
    except OSError:
        return []
    return [path for path in (os.path.join(parent, name) for name in names) if _refusal(path, kept) is None]


def remove_build(path: str, kept: str) -> None:
    """Delete the folder `path`, a complete build that the complete build `kept` supersedes.

    Refuses (NotASupersededBuild, nothing deleted) unless `path` is a real folder (not a link) with a
    name the builder gives (a sha256 hex digest), in the same `<version>` folder as `kept` and not
    `kept` itself, holding a `dataset_info.json` of the same builder, dataset, release and version as `kept`'s.
    """
    problem = _refusal(path, kept)
    if problem is not None:
        raise NotASupersededBuild(f"{path}: not removed: {problem}")
    _delete(path)


def _refusal(path: str, kept: str) -> str | None:
    """Why `path` may not be deleted as superseded by `kept`, or None when it may."""
    if not (os.path.isabs(path) and os.path.isabs(kept)):
        return "not an absolute path"
    if os.path.normpath(path) != path or os.path.normpath(kept) != kept:
        return "not a normalised path"
    if path == kept:
        return "it is the build being kept"
    if os.path.dirname(path) != os.path.dirname(kept):
        return f"not beside the build being kept ({kept})"
    if not _BUILD_NAME.fullmatch(os.path.basename(path)):
        return "not a name the builder gives its builds"
    if os.path.islink(path) or not os.path.isdir(path):
        return "not a folder (a link is never followed)"
    this, other = _identity(kept), _identity(path)
    if this is None:
        return f"the build being kept ({kept}) has no readable {_INFO_FILE}"
    if other is None:
        return f"no readable {_INFO_FILE}: not a complete build"
    if other != this:
        return f"its {_INFO_FILE} names another builder, release or version ({other} against {this})"
    return None


def _identity(build: str) -> tuple[str, str, str, str] | None:
    """(builder, dataset, configuration, version) from a build's dataset_info.json; None if it has none."""
    info_path = os.path.join(build, _INFO_FILE)
    if os.path.islink(info_path):
        return None
    try:
        with open(info_path, encoding="utf-8") as file:
            info = json.load(file)
        version = info["version"]
        names = (info["builder_name"], info["dataset_name"], info["config_name"], version["version_str"])
        return tuple(str(name) for name in names)  # type: ignore[return-value]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


__all__ = [
    "NotASupersededBuild",
    "remove_build",
    "superseded_builds",
]
