"""Finding a release's files and pairing every image with its mask by image_id.

Works the same on extracted folders, on folders nested one level deeper (as some extractors
leave them), and inside the official zips, which are read where they lie with the standard
library's `zipfile` (random access, nothing extracted): Deflate64 members (Windows' own zipper) through
zipfile-deflate64 when it is installed, member names with `\\` separators (some Windows tools) as with
`/`. Every problem is raised here, before any pixel is written; `read_bytes` is the one way to read a
file found here.
"""

from __future__ import annotations

import os
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from ..errors import DataError
from ..releases import (
    IMAPLUSPLUS_MAJORITY,
    IMAPLUSPLUS_SEG_METADATA,
    IMAPLUSPLUS_STAPLE,
    LAYOUT_MULTI_ANNOTATOR,
    LAYOUT_PH2_CASES,
    Release,
    Split,
    zip_name,
)
from .annotations import AnnotationError, IsicCliRow, parse_ham10000, parse_isic_cli_metadata, parse_seg_metadata
from .lesion_splits import lesion_split, release_lesion_split


def download_hint(release: Release) -> str:
    if not release.downloadable:
        return (
            f"download the {release.short_name} files ({', '.join(release.folders)} and their tables) from "
            f"{release.data_page} and pass their folder as data_dir (on the command line: --data-dir)"
        )
    return (
        f"download the {len(release.folders)} {release.short_name} folders (or their zips) from "
        f"{release.data_page}, or omit data_dir (on the command line: --download) to let the builder download them"
    )


_ZIP_HINT = "the zip is truncated or corrupt: download it again"
# PKWARE APPNOTE 4.4.5: method 9 is Deflate64, which Windows' built-in zipper writes for archives over
# 2 GB. The standard library cannot read it; zipfile-deflate64 (ISIC's own scorer depends on it) adds it
# to `zipfile` when imported. It is not a dependency: it has Linux wheels for CPython up to 3.10 only
# and needs a C compiler elsewhere.
_DEFLATE64 = 9
_DEFLATE64_PROBLEM = (
    "is compressed with Deflate64 (as Windows' built-in zipper does for zips over 2 GB), which Python's zipfile "
    "cannot read"
)
_DEFLATE64_HINT = (
    "extract it (unzip, 7-Zip or Windows Explorer read Deflate64) and put the folder in its place, "
    "or pip install zipfile-deflate64, which teaches Python's zipfile to read it"
)
# zipfile's own errors for a damaged archive or member, and the ones zlib lets through.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)


@dataclass(frozen=True)
class Location:
    """A file on disk (or a URL), or one member of the zip at `path`; picklable for num_proc."""

    path: str
    label: str
    member: str | None = None


@dataclass(frozen=True)
class AnnotatedMask:
    """One annotator's mask of an image (IMA++): where it is, and the seg metadata's annotator, tool and skill."""

    location: Location
    annotator: str
    tool: str
    skill_level: str


@dataclass(frozen=True)
class PairSource:
    """An image and its `mask`; for a multi-annotator release (IMA++) also every annotator's mask, the two
    consensus masks (None where absent) and the image's row of ISIC's metadata.csv."""

    image_id: str
    image: Location
    mask: Location
    annotations: tuple[AnnotatedMask, ...] = ()
    staple: Location | None = None
    majority: Location | None = None
    record: IsicCliRow | None = None


@dataclass(frozen=True)
class SplitSource:
    """Everything one split of a release reads, located in a data_dir or in the downloads.

    pairs: one PairSource (image and mask Location) per image, sorted by image_id; labels_csv and metadata_csv:
    the split's CSVs, None when the release or the given files have none.
    """

    split: Split
    pairs: list[PairSource]
    labels_csv: Location | None
    metadata_csv: Location | None


def read_bytes(location: Location) -> bytes:
    """The whole file or zip member; any failure is a DataError naming it (and its zip)."""
    if location.member is None:
        try:
            with _open(location.path) as file:
                return file.read()
        except OSError as error:
            raise DataError(location.label, f"cannot be read: {error}") from error
    archive = _cached_zip(location.path, _zip_label(location))
    try:
        return _read_member(archive, location.path, location.member)
    except KeyError as error:
        raise DataError(location.label, "is no longer in its zip", "was the zip replaced during the build?") from error
    except _Deflate64Unreadable as error:
        raise DataError(location.label, _DEFLATE64_PROBLEM, _DEFLATE64_HINT) from error
    except (*_ZIP_ERRORS, OSError) as error:
        with _ZIP_CACHE_LOCK:
            _forget_zip(location.path)
        raise DataError(location.label, f"cannot be read from its zip: {error}", _ZIP_HINT) from error


def _read_member(archive: zipfile.ZipFile, path: str, member: str) -> bytes:
    """zipfile's own checks, about twice as fast: one positioned read and one inflate into a buffer
    of the known size (zipfile grows its buffer step by step). Other methods go through zipfile."""
    info = archive.getinfo(member)
    if info.compress_type == _DEFLATE64 and not _deflate64_readable():
        raise _Deflate64Unreadable(member)
    if (
        not os.path.isabs(path)
        or info.flag_bits & 0x1
        or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    ):
        return archive.read(member)
    descriptor = archive.fp.fileno()  # type: ignore[union-attr]
    header = os.pread(descriptor, _LOCAL_HEADER_SIZE, info.header_offset)
    if len(header) != _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {member!r}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length
    raw = os.pread(descriptor, info.compress_size, start)
    if len(raw) != info.compress_size:
        raise EOFError(f"{member!r} is cut short")
    data = raw if info.compress_type == zipfile.ZIP_STORED else zlib.decompress(raw, -15, max(info.file_size, 1))
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {member!r}")
    return data


def find_in_data_dir(data_dir: str, release: Release) -> list[SplitSource]:
    """Sources of all the release's splits from a data_dir of folders and/or official zips."""
    data_dir = os.path.abspath(os.path.expanduser(data_dir))
    if not os.path.isdir(data_dir):
        problem = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise DataError(data_dir, f"the data_dir {problem}", download_hint(release))
    if release.layout == LAYOUT_PH2_CASES:
        return [_find_ph2_cases(data_dir, release)]
    top = _DiskFolder(data_dir, data_dir)
    folder_names = list(release.folders)

    roots: dict[str, _Folder] = {}
    zips: dict[str, str] = {}
    for name in folder_names:
        found = locate_folder(top, name, release)
        if found is not None:
            _check_agrees_with_its_zip(found, os.path.join(data_dir, zip_name(name)), name, release)
            roots[name] = found
        elif os.path.isfile(os.path.join(data_dir, zip_name(name))):
            zips[name] = os.path.join(data_dir, zip_name(name))
    if not roots and not zips:
        first = release.splits[0].data_folder
        raise DataError(
            data_dir,
            f"holds none of the {release.short_name} folders or zips (expected e.g. {first}/ or {zip_name(first)})",
            _other_release_hint(top, data_dir, release) or download_hint(release),
        )
    missing = [name for name in folder_names if name not in roots and name not in zips]
    if missing:
        raise DataError(
            os.path.join(data_dir, missing[0]),
            f"missing: neither the folder nor {zip_name(missing[0])} is here"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            f"every {release.short_name} split needs its image folder and its mask folder",
        )
    roots.update(_zip_roots({name: (path, path) for name, path in zips.items()}, release))
    return assemble(roots, release, csv_places=[top])


def _find_ph2_cases(data_dir: str, release: Release) -> SplitSource:
    """PH2's one split from the official layout, `PH2Dataset/PH2 Dataset images/IMDxxx/` (or the images folder
    directly in data_dir): `IMDxxx_Dermoscopic_Image/IMDxxx.bmp` and `IMDxxx_lesion/IMDxxx_lesion.bmp` per case;
    the `IMDxxx_roi/` colour-structure masks are not lesion masks and are never read. PH2_dataset.txt is looked
    for beside the images folder and in data_dir.

    Raises DataError for a data_dir without the images folder, a case without its image or its lesion mask."""
    (split,) = release.splits
    candidates = [os.path.join(data_dir, split.data_folder)]
    candidates += [os.path.join(data_dir, release.top_folder, split.data_folder)]
    images_folder = next((path for path in candidates if os.path.isdir(path)), None)
    if images_folder is None:
        raise DataError(
            data_dir,
            f"holds no {release.top_folder}/{split.data_folder}/ folder (the official {release.short_name} layout)",
            _other_release_hint(_DiskFolder(data_dir, data_dir), data_dir, release) or download_hint(release),
        )
    pairs = []
    with os.scandir(images_folder) as entries:
        cases = sorted(entry.name for entry in entries if entry.is_dir() and not entry.name.startswith("."))
    for case in cases:
        folder = os.path.join(images_folder, case)
        image = os.path.join(folder, f"{case}_Dermoscopic_Image", f"{case}.bmp")
        mask = os.path.join(folder, f"{case}_lesion", f"{case}{release.mask_suffix}")
        if not os.path.isfile(image):
            raise DataError(
                folder, f"this case has no image {case}_Dermoscopic_Image/{case}.bmp", "is the copy complete?"
            )
        if not os.path.isfile(mask):
            raise DataError(
                folder,
                f"this case has no lesion mask {case}_lesion/{case}{release.mask_suffix}",
                "the _roi masks are colour structures, not the lesion: is the copy complete?",
            )
        pairs.append(PairSource(case, Location(image, image), Location(mask, mask)))
    if not pairs:
        raise DataError(images_folder, "holds no case folders (IMDxxx/)", download_hint(release))
    places = [
        _DiskFolder(os.path.dirname(images_folder), os.path.dirname(images_folder)),
        _DiskFolder(data_dir, data_dir),
    ]
    return SplitSource(split, pairs, _csv(split.labels_csv, places, {}), None)


def _check_agrees_with_its_zip(folder: _Folder, zip_path: str, name: str, release: Release) -> None:
    """A folder beside its own zip is used only when it holds the same images and masks, by name and
    size: a partly extracted folder (an interrupted unzip, a full disk) would otherwise silently give a
    smaller dataset. Nothing else is compared: a `Thumbs.db`, a CSV moved into the folder or deleted
    superpixel files change no pair."""
    if not os.path.isfile(zip_path):
        return
    from_zip = _zip_roots({name: (zip_path, zip_path)}, release)[name]
    zip_file = os.path.basename(zip_path)
    in_folder, in_zip = _pair_file_sizes(folder, release), _pair_file_sizes(from_zip, release)
    differing = sorted(file for file in in_folder.keys() | in_zip.keys() if in_folder.get(file) != in_zip.get(file))
    if not differing:
        return
    first = differing[0]
    if first not in in_folder:
        what = f"{first} is in {zip_file} but not in the folder"
    elif first not in in_zip:
        what = f"{first} is in the folder but not in {zip_file}"
    else:
        what = f"{first} has {in_folder[first]} bytes here but {in_zip[first]} in {zip_file}"
    raise DataError(
        folder.label,
        f"{len(differing)} of its images and masks differ from {zip_file} beside it (first: {what})",
        "a partly extracted folder? remove the folder to read the zip, or the zip to use the folder",
    )


def _pair_file_sizes(folder: _Folder, release: Release) -> dict[str, int]:
    """{name: bytes} of the folder's images and masks, the only files that make pairs."""
    files = folder.files()
    return folder.sizes([name for name in files if release.is_image(name) or release.mask_image_id(name) is not None])


def find_in_downloads(zip_paths: dict[str, str], csvs: dict[str, str], release: Release) -> list[SplitSource]:
    """Sources from the download manager's results: {folder: zip path or URL}, {CSV file name: path or URL}."""
    roots = _zip_roots({name: (path, zip_name(name)) for name, path in zip_paths.items()}, release)
    known_csvs = {name: Location(path, name) for name, path in csvs.items()}
    return assemble(roots, release, csv_places=[], known_csvs=known_csvs)


def assemble(
    roots: dict[str, _Folder],
    release: Release,
    csv_places: list[_Folder],
    known_csvs: dict[str, Location] | None = None,
) -> list[SplitSource]:
    known_csvs = known_csvs or {}
    if release.layout == LAYOUT_MULTI_ANNOTATOR:
        return _assemble_multi_annotator(roots, release, csv_places, known_csvs)
    if release.split_rule is not None:
        return _assemble_by_lesion(roots, release, csv_places, known_csvs)
    sources = []
    for split in release.splits:
        data_root, mask_root = roots[split.data_folder], roots[split.mask_folder]
        places = [*csv_places, data_root, mask_root]
        sources.append(
            SplitSource(
                split=split,
                pairs=pair_files(data_root, mask_root, release),
                labels_csv=_csv(split.labels_csv, places, known_csvs),
                metadata_csv=_csv(split.metadata_csv, places, known_csvs),
            )
        )
    _check_disjoint(sources)
    return sources


def _csv(name: str | None, places: list[_Folder], known_csvs: dict[str, Location]) -> Location | None:
    """A CSV the split has, where it was found; None where the split has none or it is absent.

    Harvard Dataverse serves HAM10000_metadata as `HAM10000_metadata.tab` (tab-separated; the parsers read the
    delimiter from the header) or without extension: both are found too, the `.csv` first where both are."""
    if name is None:
        return None
    for candidate in _csv_names(name):
        found = known_csvs.get(candidate) or _first_file(places, candidate)
        if found is not None:
            return found
    return None


def _csv_names(name: str) -> list[str]:
    """The names a table may have: `X.csv`, then `X.tab` and `X` (Dataverse's ingested and bare copies)."""
    if not name.lower().endswith(".csv"):
        return [name]
    bare = name[: -len(".csv")]
    return [name, f"{bare}.tab", bare]


def _assemble_by_lesion(
    roots: dict[str, _Folder], release: Release, csv_places: list[_Folder], known_csvs: dict[str, Location]
) -> list[SplitSource]:
    """A release whose splits share their folders (HAM10000): every image paired once across its image
    folders, then given the split of its lesion (lesion_splits.py: dealt over the shipped universe, else
    the hash rule) from the metadata table's lesion_id.

    Raises DataError when the table is absent, unreadable, or has no row for an image."""
    first = release.splits[0]
    data_roots = [roots[name] for name in first.data_folders]
    mask_root = roots[first.mask_folder]
    pairs = pair_files(_MergedFolder(data_roots), mask_root, release)
    table = _csv(first.metadata_csv, [*csv_places, *data_roots, mask_root], known_csvs)
    if table is None:
        place = csv_places[0].label if csv_places else data_roots[0].label
        raise DataError(
            f"{place.rstrip('/')}/{first.metadata_csv}",
            f"missing (nor {' nor '.join(_csv_names(str(first.metadata_csv))[1:])} beside it): the metadata table "
            "gives each image its lesion, and so its split",
            download_hint(release),
        )
    try:
        rows = parse_ham10000(read_bytes(table).decode("utf-8-sig"), release.diagnosis_names)
    except (AnnotationError, UnicodeDecodeError) as error:
        raise DataError(table.label, f"cannot read this CSV: {error}") from error
    by_split: dict[str, list[PairSource]] = {name: [] for name in release.split_names}
    for pair in pairs:
        row = rows.get(pair.image_id)
        if row is None:
            raise DataError(
                pair.image.label,
                f"{pair.image_id} has no row in {table.label}",
                "the table gives each image its lesion, and so its split: use the official table",
            )
        by_split[release_lesion_split(release, row.lesion_id)].append(pair)
    return [SplitSource(split, by_split[split.name], table, table) for split in release.splits]


def _assemble_multi_annotator(
    roots: dict[str, _Folder], release: Release, csv_places: list[_Folder], known_csvs: dict[str, Location]
) -> list[SplitSource]:
    """IMA++: the images (ISIC's client's folder, with its metadata.csv), the mask folder (`segs/` or `segs.zip`)
    and IMAplusplus_seg_metadata.csv, which names every mask of every image. Each image present becomes one pair:
    every annotator's mask (`annotations`, by file name), the STAPLE and majority-vote consensus where listed,
    and `mask` = the STAPLE consensus, else the first annotator mask. Its split is decided by a hash of its
    patient_id, else lesion_id, else image id (lesion_splits.py) from metadata.csv. Seg rows of images that are
    not present are skipped (a partial download: the usual partial-split warning).

    Raises DataError for a missing table, an image without a seg row or a metadata.csv row, a listed mask file
    that is missing, a mask file of a present image that the table does not list, or an image with only
    consensus masks."""
    first = release.splits[0]
    image_root, mask_root = roots[first.data_folder], roots[first.mask_folder]
    seg_table = _csv(IMAPLUSPLUS_SEG_METADATA, [*csv_places, mask_root, image_root], known_csvs)
    if seg_table is None:
        place = csv_places[0].label if csv_places else image_root.label
        raise DataError(
            f"{place.rstrip('/')}/{IMAPLUSPLUS_SEG_METADATA}",
            "missing: it names every mask of every image and who drew it",
            download_hint(release),
        )
    record_table = _csv(first.metadata_csv, [image_root, *csv_places], known_csvs)
    if record_table is None:
        raise DataError(
            f"{image_root.label.rstrip('/')}/{first.metadata_csv}",
            "missing: ISIC's client writes it beside the images; its patient_id and lesion_id decide each split",
            download_hint(release),
        )
    seg_rows = _parse_table(seg_table, parse_seg_metadata)
    records = _parse_table(record_table, parse_isic_cli_metadata)
    images = _by_image_id(image_root.files(), image_root.label, _image_id_of(release), "image")
    if not images:
        raise DataError(image_root.label, "contains no .jpg images", "the folder or its zip may be incomplete")
    mask_files = mask_root.files()
    listed = {row.file_name for rows in seg_rows.values() for row in rows}
    for name in sorted(mask_files):
        owner = "_".join(name.split("_")[:2])
        if name.lower().endswith(".png") and name not in listed and owner in images:
            raise DataError(
                mask_files[name].label,
                f"this mask of {owner} has no row in {seg_table.label}",
                "the table and the masks must come from the same IMA++ version",
            )
    by_split: dict[str, list[PairSource]] = {name: [] for name in release.split_names}
    for image_id, image in images.items():
        rows = seg_rows.get(image_id)
        if not rows:
            raise DataError(image.label, f"{image_id} has no mask in {seg_table.label}", "is it an IMA++ image?")
        record = records.get(image_id)
        if record is None:
            raise DataError(
                image.label,
                f"{image_id} has no row in {record_table.label}",
                "the row gives its patient and lesion, and so its split: download the images with ISIC's client",
            )
        annotations: list[AnnotatedMask] = []
        consensus: dict[str, Location] = {}
        for row in rows:
            location = mask_files.get(row.file_name)
            if location is None:
                raise DataError(
                    f"{mask_root.label.rstrip('/')}/{row.file_name}",
                    f"missing: {seg_table.label} lists this mask of {image_id}",
                    "is the mask folder or segs.zip complete?",
                )
            if row.annotator in (IMAPLUSPLUS_STAPLE, IMAPLUSPLUS_MAJORITY):
                consensus[row.annotator] = location
            else:
                annotations.append(AnnotatedMask(location, row.annotator, row.tool, row.skill_level))
        if not annotations:
            raise DataError(seg_table.label, f"{image_id} has consensus masks but no annotator's mask")
        staple = consensus.get(IMAPLUSPLUS_STAPLE)
        pair = PairSource(
            image_id,
            image,
            staple or annotations[0].location,
            tuple(annotations),
            staple,
            consensus.get(IMAPLUSPLUS_MAJORITY),
            record,
        )
        facts = record.facts
        key = facts.patient_id or facts.lesion_id or image_id
        by_split[lesion_split(key, release.split_bounds)].append(pair)
    return [SplitSource(split, by_split[split.name], None, record_table) for split in release.splits]


def _parse_table(location: Location, parse):
    try:
        return parse(read_bytes(location).decode("utf-8-sig"))
    except (AnnotationError, UnicodeDecodeError) as error:
        raise DataError(location.label, f"cannot read this CSV: {error}") from error


def locate_folder(container: _Folder, name: str, release: Release) -> _Folder | None:
    """container/name, or container/name/name when an extractor nested it."""
    outer = container.subfolder(name)
    if outer is None:
        return None
    inner = outer.subfolder(name)
    if inner is not None and not _has_data_files(outer, release):
        return inner
    return outer


def pair_files(data_root: _Folder, mask_root: _Folder, release: Release) -> list[PairSource]:
    """Pairs sorted by image_id; companion files (superpixels), CSVs, notices and stray files are ignored.

    Mask names match case-insensitively (`_segmentation.png` and `_Segmentation.png` alike)."""
    image_files, mask_files = data_root.files(), mask_root.files()
    images = _by_image_id(image_files, data_root.label, _image_id_of(release), "image")
    masks = _by_image_id(mask_files, mask_root.label, release.mask_image_id, "mask")
    for image_id in sorted(images.keys() - masks.keys()):
        raise DataError(
            images[image_id].label,
            "this image has no mask",
            f"expected {mask_root.label}/{release.mask_name(image_id)}",
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


class _Folder:
    """A folder on disk or inside a zip: its files by name, and its subfolders."""

    label: str

    def files(self) -> dict[str, Location]:
        raise NotImplementedError

    def subfolder(self, name: str) -> _Folder | None:
        raise NotImplementedError

    def sizes(self, names: list[str]) -> dict[str, int]:
        """{name: size in bytes} of these files of the folder (uncompressed, in a zip)."""
        raise NotImplementedError


class _MergedFolder(_Folder):
    """Several folders read as one (HAM10000's two image parts); a name in two of them is an error."""

    def __init__(self, parts: list[_Folder]) -> None:
        self.parts = parts
        self.label = " + ".join(part.label for part in parts)

    def files(self) -> dict[str, Location]:
        found: dict[str, Location] = {}
        for part in self.parts:
            for name, location in part.files().items():
                if name in found:
                    raise DataError(location.label, f"is also {found[name].label}", "keep one")
                found[name] = location
        return found

    def subfolder(self, name: str) -> _Folder | None:
        return None

    def sizes(self, names: list[str]) -> dict[str, int]:
        raise NotImplementedError  # never compared with a zip: each part is, on its own


class _DiskFolder(_Folder):
    def __init__(self, path: str, label: str) -> None:
        self.path, self.label = path, label

    def files(self) -> dict[str, Location]:
        found = {}
        with os.scandir(self.path) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_file():
                    found[entry.name] = Location(entry.path, f"{self.label.rstrip('/')}/{entry.name}")
        return found

    def subfolder(self, name: str) -> _Folder | None:
        path = os.path.join(self.path, name)
        return _DiskFolder(path, f"{self.label.rstrip('/')}/{name}") if os.path.isdir(path) else None

    def sizes(self, names: list[str]) -> dict[str, int]:
        found = {}
        for name in names:
            try:
                found[name] = os.stat(os.path.join(self.path, name)).st_size
            except OSError:
                found[name] = -1  # unreadable: differs from any member
        return found


class _ZipFolder(_Folder):
    """`prefix` ("" or "a/b/") inside the zip at `path`, from its member list (read once).

    `members` maps each member's name with `/` separators to (its name in the zip, its size)."""

    def __init__(self, path: str, zip_label: str, members: dict[str, tuple[str, int]], prefix: str = "") -> None:
        self.path, self.zip_label, self.members, self.prefix = path, zip_label, members, prefix
        self.label = f"{zip_label}!/{prefix}".rstrip("/")

    def files(self) -> dict[str, Location]:
        found = {}
        for member, (stored, _) in self.members.items():
            if member.startswith(self.prefix):
                name = member[len(self.prefix) :]
                if name and "/" not in name and not name.startswith("."):
                    found[name] = Location(self.path, f"{self.zip_label}!/{member}", stored)
        return found

    def sizes(self, names: list[str]) -> dict[str, int]:
        return {name: self.members[f"{self.prefix}{name}"][1] for name in names}

    def subfolder(self, name: str) -> _Folder | None:
        prefix = f"{self.prefix}{name}/"
        if not any(member.startswith(prefix) for member in self.members):
            return None
        return _ZipFolder(self.path, self.zip_label, self.members, prefix)


def _zip_roots(zips: dict[str, tuple[str, str]], release: Release) -> dict[str, _Folder]:
    """{folder name: (zip path or URL, its name in messages)} -> the folder inside each zip."""
    roots = {}
    for name, (path, label) in zips.items():
        try:
            with _open(path) as file, zipfile.ZipFile(file) as archive:
                infos = archive.infolist()
        except (*_ZIP_ERRORS, OSError) as error:
            raise DataError(label, f"cannot be read as a zip: {error}", _ZIP_HINT) from error
        members: dict[str, tuple[str, int]] = {}
        for info in infos:
            member = info.filename.replace("\\", "/")
            if not _safe_member(member):
                continue
            if member in members:
                raise DataError(
                    label,
                    f"holds two members named {member} ({members[member][0]!r} and {info.filename!r})",
                    "keep one",
                )
            members[member] = (info.filename, info.file_size)
            if info.compress_type == _DEFLATE64 and not _deflate64_readable():
                raise DataError(label, _DEFLATE64_PROBLEM, _DEFLATE64_HINT)
        top = _ZipFolder(path, label, members)
        # Some zips hold the files at their top (as HAM10000's Dataverse zips do), not in a folder.
        found = locate_folder(top, name, release) or (top if _has_data_files(top, release) else None)
        if found is None:
            raise DataError(
                label, f"does not contain the folder {name}/", f"is it the official {release.short_name} zip?"
            )
        roots[name] = found
    return roots


def _safe_member(member: str) -> bool:
    """Members that could name a place outside the zip's folders, or macOS litter, are never read.

    `member` has `/` separators (a `\\` was read as `/`); a drive letter (`C:`) is outside too."""
    parts = member.split("/")
    return not (
        member.startswith("/")
        or ":" in parts[0]
        or ".." in parts
        or parts[0] == "__MACOSX"
        or any(part.startswith("._") for part in parts)
    )


class _Deflate64Unreadable(NotImplementedError):
    """A Deflate64 member while zipfile-deflate64 is not installed."""


def _deflate64_readable() -> bool:
    """Whether zipfile can read Deflate64 members: importing zipfile-deflate64 adds the method to zipfile."""
    try:
        import zipfile_deflate64  # noqa: F401
    except ImportError:
        return False
    return True


def _open(path: str) -> IO[bytes]:
    """Local paths are opened as they are (no fsspec parsing of `::` or `$`); URLs through fsspec."""
    if os.path.isabs(path):
        return open(path, "rb")
    from .compat import xopen

    return xopen(path, "rb")


# One open ZipFile per zip and per process: handles are not shared across fork, because a forked
# child would share the parent's file offset. A zip replaced on disk gets a new handle.
_ZIP_CACHE: dict[str, tuple[tuple, zipfile.ZipFile, IO[bytes]]] = {}
_ZIP_CACHE_PID = os.getpid()
_ZIP_CACHE_SIZE = 16
_ZIP_CACHE_LOCK = threading.Lock()
_LOCAL_HEADER_SIZE = 30


def _cached_zip(path: str, label: str) -> zipfile.ZipFile:
    with _ZIP_CACHE_LOCK:
        return _cached_zip_unlocked(path, label)


def _cached_zip_unlocked(path: str, label: str) -> zipfile.ZipFile:
    global _ZIP_CACHE_PID
    if os.getpid() != _ZIP_CACHE_PID:
        _ZIP_CACHE.clear()
        _ZIP_CACHE_PID = os.getpid()
    try:
        stat = os.stat(path) if os.path.isabs(path) else None
    except OSError as error:
        raise DataError(label, f"cannot be read: {error}") from error
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns) if stat else ()
    cached = _ZIP_CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    _forget_zip(path)
    file = None
    try:
        file = _open(path)
        archive = zipfile.ZipFile(file)
    except (*_ZIP_ERRORS, OSError) as error:
        if file is not None:
            file.close()
        raise DataError(label, f"cannot be read as a zip: {error}", _ZIP_HINT) from error
    if len(_ZIP_CACHE) >= _ZIP_CACHE_SIZE:
        _forget_zip(next(iter(_ZIP_CACHE)))
    _ZIP_CACHE[path] = (key, archive, file)
    return archive


def _forget_zip(path: str) -> None:
    cached = _ZIP_CACHE.pop(path, None)
    if cached is not None:
        cached[1].close()
        cached[2].close()


def _zip_label(location: Location) -> str:
    return location.label.split("!/", 1)[0]


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


def _first_file(places: list[_Folder], name: str) -> Location | None:
    for place in places:
        found = place.files().get(name)
        if found is not None:
            return found
    return None


def _has_data_files(folder: _Folder, release: Release) -> bool:
    return any(name.lower().endswith((*release.image_suffixes, ".png")) for name in folder.files())


def _by_image_id(
    files: Mapping[str, Location], folder: str, image_id_of: Callable[[str], str | None], kind: str
) -> dict[str, Location]:
    """{image_id: file} of the files `image_id_of` names (None: not one of them), in name order; two files of
    one id are a DataError naming both."""
    found: dict[str, Location] = {}
    for name in sorted(files):
        image_id = image_id_of(name)
        if image_id is None:
            continue
        if image_id in found:
            first = found[image_id].label.rsplit("/", 1)[-1]
            raise DataError(folder, f"{image_id} has two {kind} files: {first} and {name}", "keep one")
        found[image_id] = files[name]
    return found


def _image_id_of(release: Release) -> Callable[[str], str | None]:
    """The image id of a file name that is one of the release's images, else None."""
    return lambda name: _strip_suffix(name) if release.is_image(name) else None


def _strip_suffix(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _other_release_hint(top: _Folder, data_dir: str, release: Release) -> str | None:
    """When the folder holds another release's files (an ISIC 2018 tree built without --release, a PH2 copy
    built as the default release), say which release it is and how to ask for it. Each release is recognised
    by its layout (`_release_mark`)."""
    from ..releases import RELEASES

    for other in RELEASES.values():
        if other.name == release.name:
            continue
        found = _release_mark(top, data_dir, other)
        if found is not None:
            return (
                f"it holds {other.short_name}'s {found}: pass --release {other.name}, "
                f'or in Python load_dataset("skin_cancer", "{other.name}", data_dir=...)'
            )
    return None


def _release_mark(top: _Folder, data_dir: str, release: Release) -> str | None:
    """What in data_dir shows it is `release`, by its layout; None when nothing does.

    PH2 (one folder per case): its images folder, in data_dir or below PH2Dataset/, as `_find_ph2_cases` reads
    it. IMA++ (multi-annotator): its IMAplusplus_seg_metadata.csv (its `images/` and `segs/` are common names).
    Flat releases (ISIC, HAM10000): one of their folders or its zip."""
    if release.layout == LAYOUT_PH2_CASES:
        for folder in release.splits[0].data_folder, f"{release.top_folder}/{release.splits[0].data_folder}":
            if os.path.isdir(os.path.join(data_dir, folder)):
                return f"{folder}/"
        return None
    if release.layout == LAYOUT_MULTI_ANNOTATOR:
        return IMAPLUSPLUS_SEG_METADATA if os.path.isfile(os.path.join(data_dir, IMAPLUSPLUS_SEG_METADATA)) else None
    for name in release.folders:
        if locate_folder(top, name, release) is not None or os.path.isfile(os.path.join(data_dir, zip_name(name))):
            return name
    return None


__all__ = [
    "AnnotatedMask",
    "Location",
    "PairSource",
    "SplitSource",
    "find_in_data_dir",
    "find_in_downloads",
    "read_bytes",
]
