"""Five cross-validation folds of every training split: grouped, stratified, deterministic, subset-stable.

The rule (the README's "Folds" section says the same):

1. Group. An image's group key is `patient:<patient_id>` when the ISIC Archive records its patient, else
   `lesion:<lesion_id>` when it records its lesion, else `image:<image_id>` (the archive facts shipped in
   skin_cancer/data/archive/, read by archive.py). In the shipped facts every image of a lesion has the
   same patient or none, so no patient and no lesion is ever split between two groups (tests/test_folds.py).
   A release split by lesion (HAM10000) is grouped by the lesion_id of its own metadata table instead
   (shipped as data/diagnoses/<release>-train-lesions.tsv, with `dx` as its diagnoses).
2. Stratum. Over the release's official training list (skin_cancer/data/ids/<release>-train.txt), each
   group's stratum is the rarest diagnosis among its images (fewest training images; ties by the order of
   `diagnosis_names`), from the official Part 3 labels shipped in skin_cancer/data/diagnoses/. A release
   without diagnoses (ISIC 2018) has one stratum.
3. Deal. Strata are dealt smallest first. Within a stratum the groups go largest first, ties in the order
   of `sha256("skin-cancer-folds-1\\0" + key)` (the first 8 bytes, big-endian), and each group joins the
   fold holding the fewest images of that stratum so far, ties to the fold with the fewest images so far,
   then the lowest fold number.
4. An image outside the official training list (a custom split, the synthetic sample) takes the fold of its
   group when the group is in the list, else `hash % 5` with the same hash.

Nothing depends on which images a build holds: the dealing runs over the shipped official list, so an
image has the same fold in a partial build, a full build and `skin-cancer splits` (no data needed).
Pure functions over the shipped facts; the files are read once (functools.cache).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..releases import SPLIT_BY_LESION_HASH, Release, get_release
from .archive import UNKNOWN, ImageFacts, image_facts
from .overlap import IDS_PACKAGE, read_id_list

FOLDS = 5
# Part of every hash: a new salt is a new set of folds (and a new dataset version), never a silent change.
SALT = "skin-cancer-folds-1"
# The split that gets folds; every other split's `fold` is null.
TRAINING_SPLIT = "train"
DIAGNOSES_FOLDER = ("data", "diagnoses")


def group_key(image_id: str, facts: ImageFacts | None = None) -> str:
    """`patient:IP_...`, else `lesion:IL_...`, else `image:ISIC_...` (facts: the archive's, by default)."""
    facts = image_facts(image_id) if facts is None else facts
    if facts.patient_id:
        return f"patient:{facts.patient_id}"
    if facts.lesion_id:
        return f"lesion:{facts.lesion_id}"
    return f"image:{image_id}"


def key_hash(key: str, salt: str = SALT) -> int:
    """A 64-bit integer, the first 8 bytes (big-endian) of sha256(salt + NUL + key): the same everywhere."""
    return int.from_bytes(hashlib.sha256(f"{salt}\0{key}".encode()).digest()[:8], "big")


def hash_bucket(key: str, buckets: int = FOLDS, salt: str = SALT) -> int:
    """`key_hash(key) % buckets`: a bucket that depends on the key alone (for keys outside a dealt universe)."""
    return key_hash(key, salt) % buckets


def assign_groups(
    sizes: Mapping[str, int], strata: Mapping[str, str], buckets: int = FOLDS, salt: str = SALT
) -> dict[str, int]:
    """Deal groups to buckets 0..buckets-1, balanced within each stratum: {group key: bucket}.

    `sizes`: group key -> number of items (images) in it; `strata`: group key -> stratum name (a key
    missing here is in the stratum ""). Strata are dealt smallest first (fewest items; ties by name).
    Within one, groups go largest first, ties by `key_hash(key, salt)` then key, each to the bucket
    with the fewest items of this stratum, then the fewest items overall, then the lowest number. So each
    stratum's buckets differ by at most its largest group's size, and the result is a function of the
    whole input: call it with the full universe (an official id list), never with what happens to be present.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, not {buckets}")
    members: dict[str, list[str]] = {}
    for key in sizes:
        members.setdefault(strata.get(key, ""), []).append(key)
    stratum_items = {stratum: sum(sizes[key] for key in keys) for stratum, keys in members.items()}
    totals = [0] * buckets
    assigned: dict[str, int] = {}
    for stratum in sorted(members, key=lambda name: (stratum_items[name], name)):
        counts = [0] * buckets
        for key in sorted(members[stratum], key=lambda key: (-sizes[key], key_hash(key, salt), key)):
            bucket = min(range(buckets), key=lambda index: (counts[index], totals[index], index))
            assigned[key] = bucket
            counts[bucket] += sizes[key]
            totals[bucket] += sizes[key]
    return assigned


def group_strata(diagnoses_by_group: Mapping[str, Iterable[str | None]], order: tuple[str, ...]) -> dict[str, str]:
    """Each group's stratum: its rarest diagnosis (fewest images over all groups; ties by `order`), "" for none."""
    frequency = Counter(diagnosis for values in diagnoses_by_group.values() for diagnosis in values if diagnosis)
    rank = {name: index for index, name in enumerate(order)}
    strata = {}
    for key, values in diagnoses_by_group.items():
        known = {diagnosis for diagnosis in values if diagnosis}
        strata[key] = min(known, key=lambda name: (frequency[name], rank.get(name, len(rank)), name)) if known else ""
    return strata


@dataclass(frozen=True)
class Folds:
    """The folds of one release's training split: `fold(image_id)` for any id, in the official list or not.

    `fold(image_id)` without facts reads the image's group from `fold_facts` (the shipped facts)."""

    release: str
    by_group: Mapping[str, int]  # every group of the official training list, dealt
    buckets: int = FOLDS
    salt: str = SALT

    def fold(self, image_id: str, facts: ImageFacts | None = None) -> int:
        """0..buckets-1: the group's dealt fold, else the group key's hash bucket (rule 4)."""
        key = group_key(image_id, fold_facts(self.release, image_id) if facts is None else facts)
        found = self.by_group.get(key)
        return hash_bucket(key, self.buckets, self.salt) if found is None else found

    def folds_of(self, image_ids: Iterable[str]) -> dict[str, int]:
        """{image_id: fold} in the given order."""
        return {image_id: self.fold(image_id) for image_id in image_ids}


def fold_universe(release: str | Release) -> list[str]:
    """The official training list the folds are dealt over (empty when the release ships none)."""
    split = get_release(release).splits_by_name.get(TRAINING_SPLIT)
    return read_id_list(split.ids_file) if split is not None and split.ids_file else []


def release_folds(release: str | Release) -> Folds:
    """The folds of a release's training split, dealt over its official list (rules 1-3 of the module)."""
    return _release_folds(get_release(release).name)


@functools.cache
def _release_folds(name: str) -> Folds:
    release = get_release(name)
    universe = fold_universe(release)
    diagnoses = shipped_diagnoses(release)
    sizes: Counter[str] = Counter()
    diagnoses_by_group: dict[str, list[str | None]] = {}
    for image_id in universe:
        key = group_key(image_id, fold_facts(release, image_id))
        sizes[key] += 1
        diagnoses_by_group.setdefault(key, []).append(diagnoses.get(image_id))
    strata = group_strata(diagnoses_by_group, release.diagnosis_names)
    return Folds(release.name, assign_groups(sizes, strata))


def split_fold(release: str | Release, split: str, image_id: str, facts: ImageFacts | None = None) -> int | None:
    """The `fold` column: the image's fold in the training split, None in every other split."""
    return release_folds(release).fold(image_id, facts) if split == TRAINING_SPLIT else None


def fold_facts(release: str | Release, image_id: str) -> ImageFacts:
    """The facts an image is grouped by: the lesion of the release's own shipped lesion table when it has one
    (HAM10000: its metadata's lesion_id), else the ISIC Archive's facts (archive.image_facts)."""
    lesions = shipped_lesions(release)
    if lesions:
        lesion_id = lesions.get(image_id)
        return ImageFacts(lesion_id=lesion_id) if lesion_id else UNKNOWN
    return image_facts(image_id)


def lesions_file(release: str | Release) -> str:
    """The file name of a release's shipped training lesion ids, e.g. "ham10000-train-lesions.tsv"."""
    return f"{get_release(release).name}-{TRAINING_SPLIT}-lesions.tsv"


def shipped_lesions(release: str | Release) -> dict[str, str]:
    """{image_id: lesion_id} of the official training split of a release split by lesion (its `split_rule`;
    HAM10000), from skin_cancer/data/diagnoses/<release>-train-lesions.tsv; {} for every other release."""
    return dict(_shipped_lesions(get_release(release).name))


@functools.cache
def _shipped_lesions(name: str) -> tuple[tuple[str, str], ...]:
    if get_release(name).split_rule != SPLIT_BY_LESION_HASH:
        return ()  # IMA++ is split by patient: its folds group by the archive facts of ISIC's metadata.csv
    resource = importlib.resources.files(IDS_PACKAGE).joinpath(*DIAGNOSES_FOLDER, lesions_file(name))
    return tuple(parse_lesions_tsv(resource.read_text(encoding="utf-8")).items())


def parse_lesions_tsv(text: str) -> dict[str, str]:
    """`image_id<TAB>lesion_id` lines after the header; a ValueError names the first bad line."""
    lines = text.splitlines()
    if not lines or lines[0] != "image_id\tlesion_id":
        raise ValueError("the lesions file should start with the header image_id<TAB>lesion_id")
    found = {}
    for number, line in enumerate(lines[1:], start=2):
        image_id, _, lesion_id = line.partition("\t")
        if not image_id or not lesion_id:
            raise ValueError(f"line {number}: expected image_id<TAB>lesion_id, found {line!r}")
        found[image_id] = lesion_id
    return found


def lesions_tsv(lesions: Mapping[str, str]) -> str:
    """The shipped lesions file's text: a header, then one sorted `image_id<TAB>lesion_id` line per image."""
    return "".join(["image_id\tlesion_id\n", *(f"{key}\t{lesions[key]}\n" for key in sorted(lesions))])


def diagnoses_file(release: str | Release) -> str:
    """The file name of a release's shipped training diagnoses, e.g. "isic2017-train.tsv"."""
    return f"{get_release(release).name}-{TRAINING_SPLIT}.tsv"


def shipped_diagnoses(release: str | Release) -> dict[str, str]:
    """{image_id: diagnosis} of the official training split, as the release's `diagnosis_names` spell them.

    From skin_cancer/data/diagnoses/<release>-train.tsv (the official Part 3 labels, sources in SOURCES.md);
    {} for a release without diagnoses or without a training split. A release with diagnosis names and a
    training split but no file is a packaging error.
    """
    release = get_release(release)
    if not release.diagnosis_names or TRAINING_SPLIT not in release.split_names:
        return {}  # no labels, or nothing to deal (PH2: one test split)
    resource = importlib.resources.files(IDS_PACKAGE).joinpath(*DIAGNOSES_FOLDER, diagnoses_file(release))
    return parse_diagnoses_tsv(resource.read_text(encoding="utf-8"), release.diagnosis_names)


def parse_diagnoses_tsv(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """`image_id<TAB>diagnosis` lines after the header; a ValueError names the first bad line."""
    lines = text.splitlines()
    if not lines or lines[0] != "image_id\tdiagnosis":
        raise ValueError("the diagnoses file should start with the header image_id<TAB>diagnosis")
    found = {}
    for number, line in enumerate(lines[1:], start=2):
        image_id, _, diagnosis = line.partition("\t")
        if diagnosis not in names:
            raise ValueError(f"line {number}: {diagnosis!r} is not one of {', '.join(names)}")
        found[image_id] = diagnosis
    return found


def diagnoses_tsv(diagnoses: Mapping[str, str]) -> str:
    """The shipped file's text: a header, then one sorted `image_id<TAB>diagnosis` line per image."""
    return "".join(["image_id\tdiagnosis\n", *(f"{key}\t{diagnoses[key]}\n" for key in sorted(diagnoses))])


__all__ = [
    "DIAGNOSES_FOLDER",
    "FOLDS",
    "SALT",
    "TRAINING_SPLIT",
    "Folds",
    "assign_groups",
    "diagnoses_file",
    "diagnoses_tsv",
    "fold_facts",
    "fold_universe",
    "group_key",
    "group_strata",
    "hash_bucket",
    "key_hash",
    "lesions_file",
    "lesions_tsv",
    "parse_diagnoses_tsv",
    "parse_lesions_tsv",
    "release_folds",
    "shipped_diagnoses",
    "shipped_lesions",
    "split_fold",
]
