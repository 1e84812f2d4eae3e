"""Which licences the images of a publish carry, which images a licence choice leaves out, and the card's
licence section.

Two licence statements apply to each ISIC image: the release's own notice (releases.py: the zips'
LICENSE.txt) and the ISIC Archive's per-image record (the `license` column, from skin_cancer/data/archive/).
Where they differ, a re-publisher follows the stricter one per image (archive.LICENSE_ORDER). An image
the archive has no record of has no known licence of its own: a publish from the command line leaves it
out unless asked (`--include-unknown-license`), and then it carries the release's notice alone.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..dataset.archive import LICENSE_NAMES, LICENSE_ORDER, stricter_license
from ..errors import UsageError
from ..releases import Release
from ..tools.pipeline import Build

UNKNOWN_LICENSE = "unknown"  # the Hub's own id for "no known licence"


@dataclass(frozen=True)
class LicenseChoice:
    """What a publish keeps: images whose archive licence is in `only` (None: any known licence), and images
    without an archive record only with `include_unknown`."""

    only: tuple[str, ...] | None = None
    include_unknown: bool = False

    def __post_init__(self) -> None:
        unknown = [licence for licence in self.only or () if licence not in LICENSE_ORDER]
        if unknown:
            raise UsageError(
                f"--only-license {', '.join(unknown)}: not a licence of any ISIC image; choose from "
                f"{', '.join(LICENSE_ORDER)}"
            )

    def keeps(self, licence: str | None) -> bool:
        if licence is None:
            return self.include_unknown
        return self.only is None or licence in self.only

    def reason(self, licence: str | None) -> str:
        if licence is None:
            return "no licence known (the ISIC Archive has no record; --include-unknown-license publishes them)"
        return f"{licence} is not among --only-license {', '.join(self.only or ())}"


@dataclass(frozen=True)
class SplitLicences:
    split: str
    published: dict[str | None, int]  # archive licence (None: no record) -> images published
    attributions: dict[str, int]  # archive attribution -> images published
    left_out: dict[str | None, int]  # archive licence -> images left out by the choice


@dataclass(frozen=True)
class LicenseSummary:
    """The licences of one publish (its default configuration), per split."""

    release: Release
    splits: list[SplitLicences]
    choice: LicenseChoice | None  # None: every image published, nothing chosen

    def image_licences(self) -> list[str]:
        """Every licence a published image carries, in LICENSE_ORDER (then `unknown`): for an image with an
        archive record the stricter of that record and the release's notice; without one, the release's
        notice where a source confirms it (`Release.license_confirmed`), else `unknown`."""
        notice = self.release.license_id if self.release.license_confirmed else None
        found = set()
        for split in self.splits:
            for licence, count in split.published.items():
                if count:
                    found.add(stricter_license(licence, notice) if licence else notice or UNKNOWN_LICENSE)
        return sorted(
            found, key=lambda name: LICENSE_ORDER.index(name) if name in LICENSE_ORDER else len(LICENSE_ORDER)
        )

    def yaml_license(self) -> str | list[str]:
        """The card's `license`: one id, or the list of every licence (the Hub accepts both)."""
        licences = self.image_licences() or [UNKNOWN_LICENSE]
        return licences[0] if len(licences) == 1 else licences


def select_licensed(build: Build, choice: LicenseChoice | None) -> tuple[Build, list[SplitLicences]]:
    """The build narrowed to the images the choice keeps (unchanged when it keeps all), and the counts.

    A split the choice would empty is refused (PublishError from the caller's module is not importable
    here: a UsageError, which names the split and why)."""
    import datasets

    kept_splits, facts = {}, []
    for name, dataset in build.dataset.items():
        licences, attribution = dataset["license"], dataset["attribution"]
        keep = [index for index, licence in enumerate(licences) if choice is None or choice.keeps(licence)]
        kept = set(keep)
        published = Counter(licences[index] for index in keep)
        attributions = Counter(attribution[index] for index in keep if attribution[index])
        left_out = Counter(licence for index, licence in enumerate(licences) if index not in kept)
        facts.append(SplitLicences(name, dict(published), dict(attributions), dict(left_out)))
        if not keep and len(dataset):
            raise UsageError(
                f"no {name} image of this {build.release.short_name} build is left to publish: "
                + "; ".join(f"{count} left out because {choice.reason(licence)}" for licence, count in left_out.items())  # type: ignore[union-attr]
            )
        # select + flatten: the shards and the card's byte counts then hold only the kept images; the flattened
        # table is cached by datasets under the selection's fingerprint, so a second publish reuses it.
        kept_splits[name] = dataset if len(keep) == len(dataset) else dataset.select(keep).flatten_indices()
    return dataclasses.replace(build, dataset=datasets.DatasetDict(kept_splits)), facts


def license_section(summary: LicenseSummary | None) -> str:
    """The card's per-image licence section: counts per licence per split, the attributions, which licence
    to follow, and what was left out and why. Empty without a summary."""
    if summary is None:
        return ""
    release = summary.release
    found = {licence for split in summary.splits for licence, count in split.published.items() if count and licence}
    # The licences the Hub knows, in their order, then any other id (PH2's `other`): every one is a column.
    columns = [licence for licence in LICENSE_ORDER if licence in found]
    columns += sorted(found - set(LICENSE_ORDER))
    unknown = any(split.published.get(None) for split in summary.splits)
    header = [*(f"`{licence}`" for licence in columns), *(["no archive record"] if unknown else [])]
    if release.image_license is not None:  # the release's own licence on every image, not the archive's record
        intro = (
            f"Every image's `license` column holds the {release.short_name} licence above (`{release.image_license}`). "
            "The published images of each split, by licence:"
        )
    else:
        intro = (
            "Besides the release's own notice above, the ISIC Archive records a licence for each image (the "
            "`license` and `attribution` columns). The published images of each split, by the archive's licence:"
        )
    if not header:
        return "\n".join(["### Per-image licences", "", "No image is published, so no licence is counted."]) + "\n"
    lines = [
        "### Per-image licences",
        "",
        intro,
        "",
        "| split | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(header),
    ]
    for split in summary.splits:
        cells = [str(split.published.get(licence, 0)) for licence in columns]
        cells += [str(split.published.get(None, 0))] if unknown else []
        lines.append(f"| `{split.split}` | " + " | ".join(cells) + " |")
    attributions: Counter[str] = Counter()
    for split in summary.splits:
        attributions.update(split.attributions)
    if attributions:
        listed = "; ".join(f"{text} ({count} images)" for text, count in sorted(attributions.items()))
        lines += ["", f"Attributions the archive records for them: {listed}."]
    stricter = [
        licence
        for licence in columns
        if licence in LICENSE_ORDER
        and release.license_id in LICENSE_ORDER
        and LICENSE_ORDER.index(licence) > LICENSE_ORDER.index(release.license_id)
    ]
    if stricter:
        names = ", ".join(f"{LICENSE_NAMES[licence]} for {_count(summary, licence)} images" for licence in stricter)
        lines += [
            "",
            f"The release's notice ({release.license_id}) and the archive disagree: the archive lists {names}. "
            "Follow the stricter licence per image: reuse those images only under their own licence (see the "
            "`license` column), e.g. with attribution and for non-commercial purposes only for `cc-by-nc-4.0`.",
        ]
    if unknown:
        notice = release.license_id if release.license_confirmed else "the release's notice, not confirmed here"
        lines += ["", f"Images without an archive record carry only the release's notice ({notice})."]
    left = [(split.split, licence, count) for split in summary.splits for licence, count in split.left_out.items()]
    if left and summary.choice is not None:
        lines += ["", "Left out of this repository:"]
        lines += [f"- `{split}`: {count} images: {summary.choice.reason(licence)}" for split, licence, count in left]
    return "\n".join(lines) + "\n"


def _count(summary: LicenseSummary, licence: str) -> int:
    return sum(split.published.get(licence, 0) for split in summary.splits)


def only_licences(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """--only-license as given (repeatable, or comma-separated): the Hub ids, or None for any licence."""
    if not values:
        return None
    return tuple(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))


__all__ = [
    "LicenseChoice",
    "LicenseSummary",
    "license_section",
    "only_licences",
    "select_licensed",
]
