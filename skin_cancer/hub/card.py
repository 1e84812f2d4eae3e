"""The Hub dataset card: YAML metadata that `datasets` and the Hub read, and a body from dataset_card.md.

The metadata is written with `huggingface_hub`'s card classes and `datasets`' own card helpers,
and read back with the same tools before anything is uploaded.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

from ..dataset.builder import BUILDER_VERSION
from ..dataset.compat import DatasetInfosDict, MetadataConfigs
from ..dataset.lesion_splits import SPLIT_BUCKETS, SPLIT_SALT, bucket_splits, split_diagnosis_counts
from ..dataset.overlap import split_key, split_overlaps, unknown_splits
from ..dataset.transforms import JPEG_QUALITY, PAD_COLOUR_INSET
from ..errors import CardError
from ..options import CARD_KEY, CARD_VARIANTS, BuildOptions, card_variants, options_from_record, variant_record
from ..releases import DEFAULT_RELEASE, SPLIT_BY_PATIENT_HASH, Release, get_release
from ..schema import markdown_table
from ..tools.leaks import leak_markdown
from .licences import LicenseSummary, license_section

# The top-level dataset_card.md, shipped inside the package (skin_cancer/dataset_card.md links to it in a checkout).
TEMPLATE = "dataset_card.md"
TAGS = ["medical", "dermatology", "dermoscopy", "skin-lesion", "isic", "melanoma", "segmentation"]
REQUIRED_METADATA = (
    "license",
    "task_categories",
    "task_ids",
    "annotations_creators",
    "source_datasets",
    "tags",
    "size_categories",
    "pretty_name",
    "configs",
    "dataset_info",
)
TASK_CATEGORIES = ("image-segmentation",)
TASK_IDS = ("semantic-segmentation",)
ANNOTATIONS_CREATORS = ("expert-generated",)


def source_dataset(release: Release) -> str:
    """A resized derivative of the ISIC release: the Hub's form for "extends another dataset" (extended|isic-2017)."""
    return f"extended|{release.hub_id}"


def id2label(release: Release) -> dict[str, str]:
    """The masks' class indices and names, from the release; `transformers`' recipe reads id2label.json."""
    return {str(index): name for index, name in enumerate(release.segmentation_names)}


RESIZE_EXPLANATIONS = {
    "pad": "each image was padded to a centred square, filled with the colour found at "
    f"(w-{PAD_COLOUR_INSET}, h-{PAD_COLOUR_INSET}), then resized; nothing is cut off and the aspect ratio is kept.",
    "stretch": "each image was resized straight to the square; nothing is cut off, the aspect ratio is not kept.",
    "center_crop": "the central square of side min(w, h) was cut out and resized; the ends of the long side are lost.",
}


# The ISIC wording of the release-specific sentences below (a Release's field None); releases.py gives the others.
ISIC_NATIVE_MASK_FILES = "original ISIC mask PNGs"
ISIC_IMAGE_ORIGIN = (
    "The images come from dermatology clinics that contributed to the ISIC Archive, mostly in the USA,\n"
    "  Europe and Australia"
)
ISIC_DEIDENTIFIED = ", and the ISIC\nArchive removed identifying information before publishing"
LEAK_ADVICE = """A model trained on another release's training data may have seen many of this dataset's test
images. Drop what leaks into a split with the `skin-cancer` package
(`skin_cancer.leak_free(ds, against="isic2017/test", level="patient")`), or by id alone with
`ds["train"].filter(lambda ex: "isic2017/test" not in ex["also_in"])`."""
ISIC_LICENSE_CHECK = "Check the LICENSE.txt in the official zips (and {data_page})"


def native_masks_text(release: Release) -> str:
    """The card's paragraph on the `native_masks` configuration: the release's own mask files, as published."""
    files, publisher, scorer = release.native_mask_files, release.short_name, "the ISIC challenges score"
    if files is None:  # the ISIC challenge releases: their words as they were
        files, publisher, scorer = ISIC_NATIVE_MASK_FILES, "ISIC", "the challenge scores"
    return (
        f"The `native_masks` configuration holds every split's {files} at each image's own size, byte for byte as "
        f"{publisher} published them (columns `image_id` and `mask`), so predictions can be scored the way "
        f"{scorer} them, at native resolution: "
        "`skin-cancer evaluate --dataset REPO --split test --predictions preds/` maps square predictions back "
        "and computes the official ISIC metrics."
    )


def no_native_masks_text(release: Release) -> str:
    """The card's sentence when the repository holds no native-size masks (a build from a download)."""
    return (
        "This repository does not hold the native-size masks; score predictions at native resolution with "
        f"`skin-cancer evaluate --data-dir` on the official {release.short_name} files."
    )


def load_template() -> str:
    """The card template's text, read through importlib.resources (a wheel, a zip or a checkout alike)."""
    resource = resources.files("skin_cancer") / TEMPLATE
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as error:
        raise CardError(
            f"the dataset card template {resource} cannot be read ({type(error).__name__}): this installation "
            "of skin-cancer is incomplete; reinstall it, or in a checkout restore the symlink "
            "skin_cancer/dataset_card.md -> ../dataset_card.md"
        ) from error
    if "$" not in text:  # a checkout without symlink support holds the link's target path as text
        raise CardError(
            f"the dataset card template {resource} is not the template (it reads {text.strip()[:60]!r}): "
            "check out the repository with symlinks enabled (git config core.symlinks true), or reinstall"
        )
    return text


@dataclass(frozen=True)
class SplitFacts:
    """One split of a configuration as the card states it: pairs, size in bytes, count per diagnosis."""

    name: str
    pairs: int
    num_bytes: int
    diagnoses: dict[str, int]


@dataclass(frozen=True)
class ConfigFacts:
    """One configuration (variant) of the repository as it will be after this upload; `info` is None for a
    kept configuration whose card entry has no dataset_info (it is kept all the same)."""

    name: str
    splits: list[SplitFacts]
    info: datasets.DatasetInfo | None
    data_files: list[dict[str, str]]


# What skin_cancer 1.x published: one configuration named "default", shards in data/.
LEGACY_CONFIG = "default"
LEGACY_SHARDS = "data/*.parquet"


@dataclass(frozen=True)
class ExistingCard:
    """What a repository's current card says, so that a new upload keeps the variants it does not replace,
    its default configuration, and what a person wrote in it."""

    configs: dict[str, dict]
    infos: dict[str, datasets.DatasetInfo]
    source_datasets: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)  # the whole YAML block
    body: str = ""  # the Markdown after the YAML block
    default: str | None = None

    @classmethod
    def parse(cls, content: str) -> ExistingCard:
        card = DatasetCard(content)
        configs = MetadataConfigs.from_dataset_card_data(card.data)
        default = configs.get_default_config_name() if configs else None
        metadata = card.data.to_dict()
        return cls(
            dict(configs),
            dict(DatasetInfosDict.from_dataset_card_data(card.data)),
            tuple(metadata.get("source_datasets") or ()),
            metadata,
            card.text,
            default,
        )

    @property
    def legacy(self) -> bool:
        """A repository published by skin_cancer 1.x: one `default` configuration in data/, {0, 255} masks."""
        return LEGACY_CONFIG in self.configs

    @property
    def records(self) -> dict[str, dict]:
        """The build options the card's YAML records per configuration ({} for a card of 2.0.0 or earlier)."""
        return card_variants(self.metadata)

    def kept(self, replaced: set[str]) -> list[ConfigFacts]:
        """Every configuration this upload does not replace, whole: one without dataset_info keeps its
        configs entry (its shards stay in the repository, so the card must still name them)."""
        kept = []
        for name, config in self.configs.items():
            if name in replaced or name == LEGACY_CONFIG:
                continue
            info = self.infos.get(name)
            splits = [
                SplitFacts(split.name, split.num_examples, split.num_bytes, {})
                for split in ((info.splits or {}).values() if info is not None else [])
            ]
            kept.append(ConfigFacts(name, splits, info, list(config.get("data_files", []))))
        return kept


def pretty_name(partial: bool, release: Release | None = None) -> str:
    release = release or get_release(DEFAULT_RELEASE)
    return release.pretty_name + (" (partial)" if partial else "")


def size_category(total: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if total < limit:
            return label
    return "100K<n<1M"


def config_facts(name: str, features: datasets.Features, splits: list[SplitFacts], download_size: int) -> ConfigFacts:
    """The card's facts of one configuration whose Parquet shards live in `<name>/<split>-*.parquet`.

    download_size: the bytes of its Parquet files on disk; each SplitFacts gives the split's pairs and its
    Arrow size in bytes (pipeline.split_num_bytes), summed into dataset_size.
    """
    info = datasets.DatasetInfo(
        features=features,
        splits=datasets.SplitDict(
            {split.name: datasets.SplitInfo(split.name, split.num_bytes, split.pairs) for split in splits}
        ),
        download_size=download_size,
        dataset_size=sum(split.num_bytes for split in splits),
    )
    data_files = [{"split": split.name, "path": f"{name}/{split.name}-*.parquet"} for split in splits]
    return ConfigFacts(name, splits, info, data_files)


# The YAML keys the publisher writes. Every other key of an existing card (a gating prompt such as
# extra_gated_prompt, a person's own keys) is kept as it is; a hand-written pretty_name and a person's own
# tags are kept too (see _metadata).
OWNED_METADATA = (*REQUIRED_METADATA, "annotations_creators", CARD_KEY)
# skin_cancer.sections: a digest of each section of the body as published, to tell a person's edits from ours.
CARD_SECTIONS = "sections"
TOP_SECTION = "(top)"  # the title and the text before the first `## ` heading


def render_card(
    repo_id: str,
    published: list[tuple[ConfigFacts, BuildOptions]],
    partial: bool,
    preview_path: str,
    existing: ExistingCard | None = None,
    extra_configs: Sequence[ConfigFacts] = (),
    template: str | None = None,
    ceilings: dict[str, float] | None = None,
    release: str | Release = DEFAULT_RELEASE,
    set_default: bool = False,
    licenses: LicenseSummary | None = None,
) -> str:
    """The card for every configuration the repository will hold: the published ones first, then those of an
    existing card that this upload keeps, whole. One repository holds one release.

    The default configuration is the existing card's unless `set_default` (or it has none left): then the
    first published. What a person wrote in the existing card is kept (YAML keys the publisher does not
    write, a hand-written pretty_name, their tags, sections under their own headings); a hand edit inside a
    section the publisher writes raises CardError naming the section, as publishing would lose it.
    With `licenses` (the published images' per-image licences) the YAML `license` lists every licence the
    images carry and the body counts them; without it, the release's notice alone.
    """
    release = get_release(release)
    ceilings = ceilings or {}
    new = [facts for facts, _ in published]
    replaced = {facts.name for facts in [*new, *extra_configs]}
    kept = existing.kept(replaced) if existing else []
    configs = [*new, *extra_configs, *kept]
    default = choose_default(new[0].name, [facts.name for facts in configs], existing, set_default)
    title = _hand_written_pretty_name(existing, release) or pretty_name(partial, release)
    records = _records(published, kept, existing, release, ceilings)
    lines = [_variant_line(options, ceilings.get(options.config_name)) for _, options in published]
    lines += [line for facts in kept if (line := _kept_variant_line(facts.name, records, existing))]
    values = _body_values(
        repo_id, published, configs, default, title, preview_path, partial, release, lines, bool(extra_configs)
    )
    values["license_section"] = license_section(licenses)
    body = string.Template(load_template() if template is None else template).substitute(values)
    if "train" not in release.split_names:
        body = _external_test_section(body, values)
    body, digests = _with_hand_written_sections(body, existing, repo_id)
    metadata = _metadata(existing, release, title, sum(split.pairs for split in new[0].splits), licenses)
    card_data = DatasetCardData(**metadata)
    MetadataConfigs(
        {
            facts.name: {"data_files": facts.data_files, **({"default": True} if facts.name == default else {})}
            for facts in configs
        }
    ).to_dataset_card_data(card_data)
    DatasetInfosDict({facts.name: facts.info for facts in configs if facts.info is not None}).to_dataset_card_data(
        card_data
    )
    card_data[CARD_KEY] = {CARD_VARIANTS: records, CARD_SECTIONS: digests}
    return f"---\n{card_data.to_yaml()}\n---\n\n{body}"


TRAIN_HEADING = "## Train with it\n"
# A release without a `train` split (PH2) is an external test set: its card shows how to evaluate, not train.
EXTERNAL_TEST_SECTION = string.Template(
    """## Evaluate with it

$short_name has no `train` split: it is an external test set. Train a model on other data (an ISIC release,
for example) and score it on every image here:

```python
import numpy as np
from datasets import load_dataset

test = load_dataset("$repo_id", "$default_config", split="$first_split")
for example in test:
    image = example["image"]  # PIL RGB image, square
    label = np.array(example["mask"])  # (H, W) uint8 class indices: 0 background, 1 lesion
```

To score at native resolution with the official ISIC metrics, write one mask per image and run
`skin-cancer evaluate --dataset $repo_id --split $first_split --predictions preds/` (see Configurations).

"""
)


def _external_test_section(body: str, values: dict[str, str]) -> str:
    """The body with its `## Train with it` section replaced by EXTERNAL_TEST_SECTION (a hand-written template
    without that heading is left as it is)."""
    start = body.find(TRAIN_HEADING)
    if start < 0:
        return body
    end = body.find("\n## ", start + len(TRAIN_HEADING))
    end = len(body) if end < 0 else end + 1
    return body[:start] + EXTERNAL_TEST_SECTION.substitute(values) + body[end:]


def choose_default(first_new: str, names: list[str], existing: ExistingCard | None, set_default: bool) -> str:
    """The repository's default configuration stays where it is (so `load_dataset(repo)` keeps giving the
    same resolution) unless asked, or unless it is gone (a new repository, a 1.x `default`)."""
    kept_default = existing.default if existing is not None else None
    if set_default or kept_default is None or kept_default not in names or kept_default == LEGACY_CONFIG:
        return first_new
    return kept_default


def _hand_written_pretty_name(existing: ExistingCard | None, release: Release) -> str | None:
    """An existing pretty_name that is not one the publisher writes was written by a person: it stays."""
    name = existing.metadata.get("pretty_name") if existing is not None else None
    if not isinstance(name, str) or not name.strip() or name in (pretty_name(p, release) for p in (False, True)):
        return None
    return name


def _metadata(
    existing: ExistingCard | None, release: Release, title: str, total: int, licenses: LicenseSummary | None = None
) -> dict:
    """The YAML keys apart from configs, dataset_info and skin_cancer: the publisher's, plus every key of
    the existing card it does not write, plus the existing card's own tags after the publisher's."""
    theirs = dict(existing.metadata) if existing is not None else {}
    tags = [*TAGS, *(tag for tag in theirs.get("tags") or [] if isinstance(tag, str) and tag not in TAGS)]
    ours = {
        # The Hub's `unknown` where nothing here confirms the licence; the body says what is believed.
        "license": licenses.yaml_license()
        if licenses is not None
        else (release.license_id if release.license_confirmed else "unknown"),
        "task_categories": list(TASK_CATEGORIES),
        "task_ids": list(TASK_IDS),
        "annotations_creators": list(ANNOTATIONS_CREATORS),
        "tags": tags,
        "size_categories": [size_category(total)],
        "pretty_name": title,
        "source_datasets": [source_dataset(release)],
    }
    kept = {key: value for key, value in theirs.items() if key not in OWNED_METADATA}
    return {**ours, **kept}


def _records(
    published: list[tuple[ConfigFacts, BuildOptions]],
    kept: list[ConfigFacts],
    existing: ExistingCard | None,
    release: Release,
    ceilings: dict[str, float],
) -> dict[str, dict]:
    """skin_cancer.variants: how each square configuration was built (evaluate reads it), the kept ones'
    records carried over as they were."""
    records: dict[str, dict] = {}
    for _, options in published:
        record = variant_record(options, release.name, BUILDER_VERSION)
        if options.config_name in ceilings:
            record["resolution_ceiling"] = round(float(ceilings[options.config_name]), 6)
        records[options.config_name] = record
    old = existing.records if existing is not None else {}
    records.update({facts.name: old[facts.name] for facts in kept if facts.name in old})
    return records


def _kept_variant_line(name: str, records: dict[str, dict], existing: ExistingCard | None) -> str | None:
    """A kept configuration's description line: from its YAML record, else the old card's own line."""
    record = records.get(name)
    options = options_from_record(record) if record is not None else None
    if options is not None:
        line = _variant_line(options, record.get("resolution_ceiling"))  # type: ignore[union-attr]
        return line.replace(f"- `{options.config_name}`:", f"- `{name}`:", 1)
    prefix = f"- `{name}`:"
    old_lines = existing.body.splitlines() if existing is not None else []
    return next((line for line in old_lines if line.startswith(prefix)), None)


def split_sections(body: str) -> list[tuple[str, str]]:
    """The body's `## ` sections in order, as (heading, text with its heading); what comes before the first
    heading is TOP_SECTION. Lines inside code fences are never headings."""
    sections: list[tuple[str, list[str]]] = [(TOP_SECTION, [])]
    fenced = False
    for line in body.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append((line.strip(), [line]))
        else:
            sections[-1][1].append(line)
    return [(heading, "".join(lines)) for heading, lines in sections]


def section_digest(text: str) -> str:
    """A section's digest, blind to trailing spaces and blank lines at its ends (editors change those)."""
    normal = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def _with_hand_written_sections(body: str, existing: ExistingCard | None, repo_id: str) -> tuple[str, dict[str, str]]:
    """The new body with the existing card's hand-written sections put back after the section they followed,
    and the digests of the publisher's own sections (skin_cancer.sections).

    A section the publisher wrote and a person changed since (its digest differs from the recorded one)
    cannot be kept, as its facts are rewritten: CardError. A card without digests (published by 2.0.0 or
    earlier) cannot show such edits; there, sections under headings the publisher does not write are kept.
    """
    ours = split_sections(body)
    digests = {heading: section_digest(text) for heading, text in ours}
    if existing is None or not existing.body.strip():
        return body, digests
    record = existing.metadata.get(CARD_KEY)
    recorded = record.get(CARD_SECTIONS) if isinstance(record, dict) else None
    recorded = recorded if isinstance(recorded, dict) else None
    edited, hand_written = [], []
    previous = TOP_SECTION
    for heading, text in split_sections(existing.body):
        if recorded is not None and heading in recorded:
            if section_digest(text) != recorded[heading]:
                edited.append(heading)
        elif heading in digests:
            if recorded is not None and text.strip():
                edited.append(heading)  # a person's section under a heading the publisher now writes
        elif text.strip():
            hand_written.append((previous, heading, text))
        previous = heading
    if edited:
        names = ", ".join("the text before the first section" if h == TOP_SECTION else repr(h) for h in edited)
        raise CardError(
            f"the card of {repo_id} was edited by hand in {names}, which publishing rewrites: move that text "
            "under a heading of your own (those sections are kept) or undo the edit, then publish again"
        )
    merged = [[heading, text] for heading, text in ours]
    for after, heading, text in hand_written:
        place = max((i for i, (name, _) in enumerate(merged) if name == after), default=len(merged) - 1)
        while place + 1 < len(merged) and merged[place + 1][0] not in digests:
            place += 1  # after the hand-written sections already placed there, in their order
        if not merged[place][1].endswith("\n\n"):
            merged[place][1] = merged[place][1].rstrip("\n") + "\n\n"
        merged.insert(place + 1, [heading, text.rstrip("\n") + "\n\n"])
    return "".join(text for _, text in merged), digests


def validate_card(content: str, configs: list[ConfigFacts]) -> DatasetCard:
    """Parse the card back with huggingface_hub and datasets; refuse it unless every number matches and
    every metadata key has a value the Hub accepts."""
    card = DatasetCard(content)
    data = card.data.to_dict()
    missing = [key for key in REQUIRED_METADATA if not data.get(key)]
    if missing:
        raise CardError(f"the dataset card lacks the metadata {missing}")
    check_hub_rules(data)
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    parsed_configs = MetadataConfigs.from_dataset_card_data(card.data)
    parsed_configs.get_default_config_name()  # raises on two defaults
    for facts in configs:
        if facts.name not in infos or facts.name not in parsed_configs:
            raise CardError(f"the dataset card lacks the configuration {facts.name}")
        parsed = infos[facts.name].splits
        for split in facts.splits:
            if split.name not in parsed or parsed[split.name].num_examples != split.pairs:
                raise CardError(
                    f"the dataset card's count for {facts.name}/{split.name} does not match the {split.pairs} pairs"
                )
    return card


def check_hub_rules(metadata: dict) -> None:
    """The Hub's rules for the keys it knows, checked offline.

    `DatasetCard.validate()` asks the Hub itself, which cannot be reached here; the allowed values
    below are the copies `datasets` ships of the Hub's lists (size categories, annotation creators,
    task categories), plus the Hub's documented formats for licence and source datasets.
    """
    from ..dataset.compat import hub_list, known_task_ids

    allowed_sizes = hub_list("size_categories.json")
    allowed_creators = hub_list("creators.json")["annotations"]
    problems = []
    problems += [f"size_categories {value!r}" for value in metadata["size_categories"] if value not in allowed_sizes]
    problems += [
        f"annotations_creators {value!r}"
        for value in metadata.get("annotations_creators", [])
        if value not in allowed_creators
    ]
    problems += [f"task_categories {value!r}" for value in metadata["task_categories"] if value not in known_task_ids]
    problems += [
        f"source_datasets {value!r}"
        for value in metadata.get("source_datasets", [])
        if value != "original" and not re.fullmatch(r"extended\|[\w.-]+(/[\w.-]+)?", value)
    ]
    licences = metadata["license"] if isinstance(metadata["license"], list) else [metadata["license"]]
    if not all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", str(licence)) for licence in licences):
        problems.append(f"license {metadata['license']!r}")
    if "language" in metadata:
        problems.append("language (the data hold no text)")
    if problems:
        raise CardError(f"the dataset card's metadata breaks the Hub's rules: {', '.join(problems)}")


def _body_values(
    repo_id: str,
    published: list[tuple[ConfigFacts, BuildOptions]],
    configs: list[ConfigFacts],
    default: str,
    title: str,
    preview_path: str,
    partial: bool,
    release: Release,
    variant_lines: list[str],
    native_masks: bool,
) -> dict[str, str]:
    first = published[0][0]  # every configuration holds the same pairs: the split table is this one's
    partial_notice = ""
    partial_limitation = ""
    if partial:
        counts = ", ".join(
            f"{split.name} {split.pairs} of {release.split(split.name).official_count}" for split in first.splits
        )
        partial_notice = (
            f"> **Partial dataset.** This repository holds only part of {release.short_name} ({counts} pairs). "
            "Do not compare results on it with results on the full dataset.\n"
        )
        partial_limitation = f"- This is a partial copy: {counts} pairs.\n"
    return {
        **release_values(release),
        "pretty_name": title,
        "partial_notice": partial_notice,
        "partial_limitation": partial_limitation,
        "preview_path": preview_path,
        "repo_id": repo_id,
        "default_config": default,
        "split_table_config": first.name,
        "split_names": ", ".join(f"`{split.name}`" for split in first.splits),
        "configs_table": configs_table(configs, default),
        "split_table": split_table(first.splits, release),
        "schema_table": markdown_table(release),
        "variants_made": "\n".join(variant_lines),
        "native_masks_section": native_masks_text(release) if native_masks else no_native_masks_text(release),
        "id2label": json.dumps(id2label(release)),
        "builder_version": BUILDER_VERSION,
        "jpeg_quality": str(JPEG_QUALITY),
        "citation": release.citation,
    }


def release_values(release: Release) -> dict[str, str]:
    """The card's sentences that depend on the release, all from the release table."""
    names = release.diagnosis_names
    split_list = [f"`{split.name}`" for split in release.splits]
    validation_choice, validation_rename = _validation(release)
    if release.diagnosis_descriptions:
        described = [f"`{name}` = {text}" for name, text in zip(names, release.diagnosis_descriptions, strict=True)]
        labels = f", together with the diagnosis ({'; '.join(described)})"
        labels += " and the age and sex metadata." if release.has_metadata else "."
    elif names:
        part3 = "" if release.source_data else "Part3 "  # the ISIC challenges' label files
        labels = f", together with the {part3}diagnosis ({_or([name.replace('_', ' ') for name in names])})"
        labels += " and the age and sex metadata." if release.has_metadata else "."
    elif release.has_metadata:
        labels = f", together with the age and sex metadata. {release.short_name} has no diagnosis labels."
    else:
        labels = f". {release.short_name} has no diagnosis labels and no patient metadata."
    if release.has_metadata:
        personal = (
            "The data record an approximate age and the sex of each patient where known; they hold no names "
            "and no other identifiers"
        )
    else:
        personal = "The data hold no age, sex, names or other identifiers of the patients"
    return {
        "release_name": release.name,
        "source_data": release.source_data or f"the {release.short_name} lesion segmentation\nchallenge data",
        "cite_what": f"the {release.short_name} papers"
        if release.source_data
        else f"the {release.short_name} challenge",
        "source_owner": release.source_owner
        or f"{release.short_name} challenge data by the International Skin Imaging\nCollaboration (ISIC)",
        "short_name": release.short_name,
        "homepage": release.homepage,
        "labels_sentence": labels,
        "personal_data": personal,
        "split_sentence": f"The splits are {_and(split_list)}"
        + (" (`valid`, not `validation`)" if "valid" in release.split_names else ""),
        # The training recipes of the card (`## Train with it`): which split validates, and how to name it.
        "validation_choice": validation_choice,
        "validation_rename": validation_rename,
        "first_split": release.split_names[0],
        "splits_made": splits_made(release),
        "image_origin": release.image_origin or ISIC_IMAGE_ORIGIN,
        # The ISIC Archive pools many clinics' devices; a release with its own origin (one or two sites) says less.
        "acquisition": "Dermoscopy images from several devices and clinics: colour, lighting, hair, rulers and "
        "vignetting vary."
        if release.image_origin is None
        else "Colour, lighting, hair, rulers and vignetting vary between images.",
        "deidentified": ISIC_DEIDENTIFIED if release.deidentified is None else release.deidentified,
        "redistribution_notice": ""
        if release.redistributable
        else (
            f"> **Do not upload this folder.** {release.short_name}'s terms do not allow sharing what this build "
            f"made ({release.license}): this copy is for your own use (`skin-cancer evaluate --dataset`), not for "
            "the Hub or any other public place.\n"
        ),
        "license_text": license_text(release),
        "overlap_table": overlap_markdown(release),
        "unknown_splits": ", ".join(f"`{key}`" for key in unknown_splits()) or "none",
        "unknown_splits_sentence": (
            f"Membership in {', '.join(f'`{key}`' for key in unknown_splits())} is not checked: their id lists "
            "are not known. "
            if unknown_splits()
            else ""
        ),
        "leak_table": leak_section(release),
        "leak_advice": LEAK_ADVICE
        if release.isic_ids
        else f"{release.short_name}'s images are not ISIC images: no ISIC training split holds them by id.",
    }


def _rule_name(release: Release) -> str:
    return "patient rule" if release.split_rule == SPLIT_BY_PATIENT_HASH else "lesion rule"


def _validation(release: Release) -> tuple[str, str]:
    """What the card's recipes validate on, in words and as the line of code that renames it to `validation`."""
    if "valid" not in release.split_names:
        return (
            f"a split you name with `--validation` ({release.short_name} has no validation split)",
            f'# {release.short_name} has no validation split: hold out part of train as ds["validation"]',
        )
    if release.split_rule:
        made = f"the `valid` split made by the {_rule_name(release)}"
        return (
            f"{made} ({release.short_name} has no official split)",
            f'ds["validation"] = ds.pop("valid")  # {made}, renamed',
        )
    return "the official `valid` split", 'ds["validation"] = ds.pop("valid")  # the official validation split, renamed'


def splits_made(release: Release) -> str:
    """The card's "Splits" item: the rule that makes them (lesion_splits.py), the one split of an external test
    set, or the official folders each split was read from."""
    if release.split_rule:
        return "Splits: " + _lesion_split_sentence(release)
    if "train" not in release.split_names:
        (split,) = release.splits
        return (
            f"Splits: {release.short_name} has no official split; all its images form one split, `{split.name}` "
            f"({split.official_count} images on the full set), as it serves as an external test set of models "
            "trained on other data"
        )
    return "Splits, as published: " + ", ".join(
        f"`{split.name}` = {split.data_folder} / {split.mask_folder}" for split in release.splits
    )


def _lesion_split_sentence(release: Release) -> str:
    """How a release without official splits is divided (dataset/lesion_splits.py), citable as it stands."""
    buckets = bucket_splits(release.split_bounds)
    ranges = []
    for name in release.split_names:
        numbers = [index for index, split in enumerate(buckets) if split == name]
        ranges.append(f"{numbers[0]}-{numbers[-1]} `{name}`" if len(numbers) > 1 else f"{numbers[0]} `{name}`")
    bounds, lower, parts = release.split_bounds, 0.0, []
    for name, bound in bounds:
        parts.append(f"`{name}` from {lower:.2f}" + (f" to below {bound:.2f}" if bound < 1 else " up"))
        lower = bound
    counts = " / ".join(f"{split.official_count} {split.name}" for split in release.splits)
    if release.split_rule == SPLIT_BY_PATIENT_HASH:
        return (
            f"{release.short_name} has none, so they are made by patient, then lesion, then image: an image's key is "
            "its `patient_id`, else its `lesion_id`, else its `image_id` (ISIC's metadata.csv); the first 16 hex "
            f"digits of the SHA-256 of the key (UTF-8), divided by 2^64, give a fraction that puts the image in "
            f"{', '.join(parts)}. No patient and no lesion crosses splits (in the collection's metadata every image "
            "of a lesion has the same patient or none), and an image's split does not depend on which other data "
            f"are present ({counts} images on the full set)"
        )
    by_dx = split_diagnosis_counts(release)
    counts = "; ".join(
        f"`{split.name}` {split.official_count} ("
        + ", ".join(f"{dx} {count}" for dx, count in by_dx[split.name].items())
        + ")"
        for split in release.splits
    )
    return (
        f"{release.short_name} has none, so they are made by lesion and stratified by diagnosis: the lesions of "
        f"the full official table (each with its one diagnosis and its number of images) are dealt to "
        f"{SPLIT_BUCKETS} buckets one diagnosis at a time (fewest images first), lesions with most images first "
        f"(ties in the order of the "
        f'SHA-256 of "{SPLIT_SALT}", a NUL byte and the `lesion_id`), each to the bucket holding the fewest images '
        f"of that diagnosis so far (then the fewest images, then the lowest number); buckets "
        f"{', '.join(ranges)}. A lesion not in the official table goes by its id alone: the first 16 hex digits "
        f"of the SHA-256 of its `lesion_id` (UTF-8), divided by 2^64, give a fraction that puts it in "
        f"{', '.join(parts)}. Every image of a lesion is in one split, and a lesion's split does not depend on "
        f"which data are present. Images per split and diagnosis on the full set: {counts}"
    )


def license_text(release: Release) -> str:
    if release.license_confirmed:
        return f"published under {release.license}."
    check = release.license_check or ISIC_LICENSE_CHECK.format(data_page=release.data_page)
    return (
        f"believed to be {release.license}, but this is not confirmed: some catalogues give other terms. "
        f"{check} before you reuse or republish."
    )


def overlap_markdown(release: Release) -> str:
    """One table: for each split of this release, how many of its images other release splits hold."""
    overlaps = split_overlaps(release)
    others = [key for split in overlaps.values() if split for key in split]
    columns = [key for key in dict.fromkeys(others) if not key.startswith(f"{release.name}/")]
    if not columns:
        return _nothing_to_count(release, "no overlap to count")
    lines = [
        "| split | official pairs | " + " | ".join(f"in `{key}`" for key in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for split in release.splits:
        counts = overlaps[split.name]
        cells = ["not checked" for _ in columns] if counts is None else [str(counts[key]) for key in columns]
        lines.append(f"| `{split_key(release, split.name)}` | {split.official_count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _nothing_to_count(release: Release, what: str) -> str:
    """The sentence that stands for a table with nothing to show (a table without rows or columns is invalid)."""
    if not release.isic_ids:
        return f"{release.short_name} images are not ISIC ids and not in the ISIC Archive: {what}."
    if release.archive_collection:
        return (
            f"{release.short_name}'s splits are made here by a rule, with no published id lists, so they are not "
            f"counted against the challenge splits: {what}. Its `also_in` column names the challenge splits "
            "holding each image, and its `lesion_id` and `patient_id` columns the archive's lesion and patient."
        )
    return f"Nothing is known for {release.short_name}: {what}."


def leak_section(release: Release) -> str:
    """tools.leaks' tables for the release, each table without rows replaced by a sentence."""
    blocks = leak_markdown(release).split("\n\n")
    shown = [block for block in blocks if len(block.splitlines()) > 2]  # header, separator, then rows
    if not shown:
        return _nothing_to_count(release, "no lesion or patient leak to count")
    return "\n\n".join(shown)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _variant_line(options: BuildOptions, ceiling: float | None) -> str:
    encoding = f"JPEG quality {JPEG_QUALITY}" if options.image_format == "jpeg" else "lossless PNG"
    line = (
        f"- `{options.config_name}`: {options.size}x{options.size}, `resize_mode={options.resize_mode}`: "
        f"{RESIZE_EXPLANATIONS[options.resize_mode]} Images stored as {encoding}."
    )
    if ceiling is not None:
        line += (
            f" Resolution ceiling: these square masks, mapped back to each image's own size, score a mean "
            f"Jaccard of {ceiling:.4f} on the test split, the best any model trained at this size can reach."
        )
    return line


def configs_table(configs: list[ConfigFacts], default: str) -> str:
    split_names = list(dict.fromkeys(split.name for facts in configs for split in facts.splits))
    lines = [
        "| configuration | " + " | ".join(split_names) + " |",
        "|---|" + "---|" * len(split_names),
    ]
    for facts in configs:
        pairs = {split.name: str(split.pairs) for split in facts.splits}
        label = f"`{facts.name}` (default)" if facts.name == default else f"`{facts.name}`"
        lines.append(f"| {label} | " + " | ".join(pairs.get(name, "") for name in split_names) + " |")
    return "\n".join(lines)


def split_table(splits: list[SplitFacts], release: str | Release = DEFAULT_RELEASE) -> str:
    release = get_release(release)
    names = list(next(iter(splits)).diagnoses)
    lines = [
        "| split | pairs | official pairs | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for split in splits:
        counts = " | ".join(str(split.diagnoses[name]) for name in names)
        lines.append(f"| {split.name} | {split.pairs} | {release.split(split.name).official_count} | {counts} |")
    return "\n".join(lines)


__all__ = [
    "LEGACY_SHARDS",
    "ConfigFacts",
    "ExistingCard",
    "SplitFacts",
    "check_hub_rules",
    "choose_default",
    "config_facts",
    "id2label",
    "load_template",
    "render_card",
    "source_dataset",
    "validate_card",
]
