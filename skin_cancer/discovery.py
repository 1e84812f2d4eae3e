"""Finding the ISIC-2017 files and pairing every image with its mask by image_id.

Works the same on extracted folders, on folders nested one level deeper (as some extractors
leave them), and inside zips (via `datasets`' fsspec-aware path helpers, so streaming reads
members without extracting). Every problem is raised here, before any pixel is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from datasets.utils.file_utils import xisdir, xisfile, xjoin, xlistdir

from .errors import DataError
from .layout import IMAGE_SUFFIXES, MASK_SUFFIX, SPLITS, OfficialSplit, zip_name

# Given {folder name: local zip path}, return {folder name: where its contents can be listed}.
Extractor = Callable[[dict[str, str]], dict[str, str]]

ISIC_DOWNLOAD_HINT = (
    "download the six ISIC-2017 Task 1 folders (or their zips) from "
    "https://challenge.isic-archive.com/data/#2017, or omit data_dir to let the builder download them"
)


@dataclass(frozen=True)
class Location:
    """A place to read from (local path or fsspec URL) and how to name it in messages."""

    path: str
    label: str

    def child(self, name: str) -> Location:
        return Location(xjoin(self.path, name), f"{self.label.rstrip('/')}/{name}")


@dataclass(frozen=True)
class PairSource:
    image_id: str
    image: Location
    mask: Location


@dataclass(frozen=True)
class SplitSource:
    split: OfficialSplit
    pairs: list[PairSource]
    labels_csv: Location | None
    metadata_csv: Location | None


def find_in_data_dir(data_dir: str, extract: Extractor) -> list[SplitSource]:
    """Sources of all three splits from a data_dir of folders and/or official zips."""
    data_dir = os.path.abspath(os.path.expanduser(data_dir))
    if not os.path.isdir(data_dir):
        problem = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise DataError(data_dir, f"the data_dir {problem}", ISIC_DOWNLOAD_HINT)
    top = Location(data_dir, data_dir)
    folder_names = [name for split in SPLITS for name in split.folders]

    roots: dict[str, Location] = {}
    zips: dict[str, str] = {}
    for name in folder_names:
        found = locate_folder(top, name)
        if found is not None:
            roots[name] = found
        elif os.path.isfile(os.path.join(data_dir, zip_name(name))):
            zips[name] = os.path.join(data_dir, zip_name(name))
    if not roots and not zips:
        raise DataError(
            data_dir,
            "holds none of the ISIC-2017 folders or zips (expected e.g. ISIC-2017_Training_Data/ "
            "or ISIC-2017_Training_Data.zip)",
            ISIC_DOWNLOAD_HINT,
        )
    missing = [name for name in folder_names if name not in roots and name not in zips]
    if missing:
        raise DataError(
            os.path.join(data_dir, missing[0]),
            f"missing: neither the folder nor {zip_name(missing[0])} is here"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            "every split needs its _Data and _Part1_GroundTruth folder",
        )
    if zips:
        roots.update(_extracted_roots(zips, extract))
    return assemble(roots, csv_places=[top])


def find_in_downloads(zip_paths: dict[str, str], extract: Extractor, csvs: dict[str, str]) -> list[SplitSource]:
    """Sources from the download manager's results: {folder: zip}, {CSV file name: downloaded path}."""
    roots = _extracted_roots(zip_paths, extract)
    known_csvs = {name: Location(path, name) for name, path in csvs.items()}
    return assemble(roots, csv_places=[], known_csvs=known_csvs)


def assemble(
    roots: dict[str, Location], csv_places: list[Location], known_csvs: dict[str, Location] | None = None
) -> list[SplitSource]:
    known_csvs = known_csvs or {}
    sources = []
    for split in SPLITS:
        data_root, mask_root = roots[split.data_folder], roots[split.mask_folder]
        places = [*csv_places, data_root, mask_root]
        sources.append(
            SplitSource(
                split=split,
                pairs=pair_files(data_root, mask_root),
                labels_csv=known_csvs.get(split.labels_csv) or _first_file(places, split.labels_csv),
                metadata_csv=known_csvs.get(split.metadata_csv) or _first_file(places, split.metadata_csv),
            )
        )
    _check_disjoint(sources)
    return sources


def locate_folder(container: Location, name: str) -> Location | None:
    """container/name, or container/name/name when an extractor nested it."""
    outer = container.child(name)
    if not xisdir(outer.path):
        return None
    inner = outer.child(name)
    if xisdir(inner.path) and not _has_data_files(outer):
        return inner
    return outer


def pair_files(data_root: Location, mask_root: Location) -> list[PairSource]:
    """Pairs sorted by image_id; superpixels, CSVs and stray files are ignored."""
    images = {
        _strip_suffix(name): data_root.child(name)
        for name in _file_names(data_root)
        if name.lower().endswith(IMAGE_SUFFIXES)
    }
    masks = {
        name[: -len(MASK_SUFFIX)]: mask_root.child(name)
        for name in _file_names(mask_root)
        if name.endswith(MASK_SUFFIX)
    }
    for image_id in sorted(images.keys() - masks.keys()):
        raise DataError(
            images[image_id].label,
            "this image has no mask",
            f"expected {mask_root.label}/{image_id}{MASK_SUFFIX}",
        )
    for image_id in sorted(masks.keys() - images.keys()):
        raise DataError(
            masks[image_id].label,
            "this mask has no image",
            f"expected {data_root.label}/{image_id}.jpg",
        )
    if not images:
        raise DataError(data_root.label, "contains no .jpg images", "the folder or its zip may be incomplete")
    return [PairSource(image_id, images[image_id], masks[image_id]) for image_id in sorted(images)]


def _extracted_roots(zips: dict[str, str], extract: Extractor) -> dict[str, Location]:
    extracted = extract(zips)
    roots = {}
    for name, zip_path in zips.items():
        found = locate_folder(Location(extracted[name], f"{zip_path}!"), name)
        if found is None:
            raise DataError(zip_path, f"does not contain the folder {name}/", "is it the official ISIC-2017 zip?")
        roots[name] = found
    return roots


def _check_disjoint(sources: Iterable[SplitSource]) -> None:
    owner: dict[str, PairSource] = {}
    for source in sources:
        for pair in source.pairs:
            if pair.image_id in owner:
                raise DataError(
                    pair.image.label,
                    f"{pair.image_id} is also in another split ({owner[pair.image_id].image.label})",
                    "an image may belong to one split only",
                )
            owner[pair.image_id] = pair


def _first_file(places: list[Location], name: str) -> Location | None:
    for place in places:
        candidate = place.child(name)
        if xisfile(candidate.path):
            return candidate
    return None


def _file_names(folder: Location) -> list[str]:
    return sorted(name for name in xlistdir(folder.path) if not name.startswith("."))


def _has_data_files(folder: Location) -> bool:
    return any(name.lower().endswith((*IMAGE_SUFFIXES, ".png")) for name in _file_names(folder))


def _strip_suffix(name: str) -> str:
    return name.rsplit(".", 1)[0]
