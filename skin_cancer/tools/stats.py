"""Dataset statistics: counts, diagnoses, lesion areas, empty and border-touching masks, source sizes.

`compute_stats` is pure over a build (no files written); `write_charts` draws the PNG charts
with matplotlib, an optional extra (`pip install "skin-cancer[plots]"`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

from ..dataset.builder import BUILDER_VERSION
from ..dataset.compat import tqdm
from ..dataset.transforms import placement, read_mask
from ..errors import UsageError
from .pipeline import Build, split_num_bytes
from .summary import diagnosis_counts, format_table


class LesionAreaFraction(TypedDict):
    """Each image's lesion share of its own area in the square (0.0 to 1.0; padding excluded): summary and
    per image_id."""

    mean: float
    median: float
    min: float
    max: float
    per_image: dict[str, float]


class SplitStats(TypedDict):
    """One split's statistics (a value of `Stats["splits"]`)."""

    pairs: int  # image/mask pairs
    diagnoses: dict[str, int]  # diagnosis name (and "no label") -> pairs, in label order (summary.diagnosis_counts)
    empty_masks: int  # masks with no lesion pixel in the image's area
    masks_touching_border: int  # masks whose lesion touches the edge of the image's area in the square
    lesion_area_fraction: LesionAreaFraction
    original_sizes: dict[str, int]  # "WIDTHxHEIGHT" (pixels: original_width/height columns) -> images, most first
    bytes: int  # the split's Arrow data (pipeline.split_num_bytes)


class Stats(TypedDict):
    """What `compute_stats` returns and `stats` writes as stats.json."""

    release: str  # "isic2017"
    release_title: str  # "ISIC-2017"
    builder_version: str
    data_dir: str | None  # None: downloaded
    options: dict[str, Any]  # BuildOptions.as_dict()
    splits: dict[str, SplitStats]  # split name -> its statistics, in the release's split order
    total_pairs: int


CHART_FILES = ("pairs_per_split.png", "diagnoses_per_split.png", "lesion_area.png", "original_sizes.png")


def mask_facts(mask_png: bytes, original_size: tuple[int, int], size: int, resize_mode: str) -> tuple[float, bool]:
    """(lesion share of the image's area in the square, whether the lesion touches that area's border)."""
    left, top, right, bottom = placement(*original_size, size, resize_mode).target_box  # type: ignore[arg-type]
    lesion = read_mask(mask_png).lesion[top:bottom, left:right]  # the one rule (dataset.masks)
    touches = bool(lesion[0].any() or lesion[-1].any() or lesion[:, 0].any() or lesion[:, -1].any())
    return float(lesion.mean()), touches


def compute_stats(build: Build) -> Stats:
    """The statistics of every split of a build (see `Stats`; the README's "stats" section shows them).

    Reads each mask once (the one rule of `dataset.masks`), measuring only the part of the square the image
    covers (`transforms.placement`), so padding never counts as background. Writes nothing. Raises
    statistics.StatisticsError for a split with no pairs.
    """
    size, mode = build.options.size, build.options.resize_mode
    splits: dict[str, SplitStats] = {}
    for split, dataset in build.dataset.items():
        names = dataset.features["diagnosis"].names
        table = dataset.select_columns(["image_id", "mask", "diagnosis", "original_width", "original_height"])
        fractions: dict[str, float] = {}
        sizes: Counter[str] = Counter()
        touching = 0
        for batch in tqdm(
            table.with_format("arrow").iter(batch_size=64),
            total=-(-len(table) // 64),
            desc=f"Statistics of {split}",
            unit=" batches",
        ):
            masks = batch.column("mask").to_pylist()
            widths, heights = batch.column("original_width").to_pylist(), batch.column("original_height").to_pylist()
            for image_id, mask, width, height in zip(
                batch.column("image_id").to_pylist(), masks, widths, heights, strict=True
            ):
                fraction, touches = mask_facts(mask["bytes"], (width, height), size, mode)
                fractions[image_id] = fraction
                touching += touches
                sizes[f"{width}x{height}"] += 1
        values = list(fractions.values())
        splits[split] = {
            "pairs": len(dataset),
            "diagnoses": diagnosis_counts(dataset["diagnosis"], names),
            "empty_masks": sum(1 for value in values if value == 0.0),
            "masks_touching_border": touching,
            "lesion_area_fraction": {
                "mean": statistics.fmean(values),
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "per_image": fractions,
            },
            "original_sizes": dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0]))),
            "bytes": split_num_bytes(dataset),
        }
    return {
        "release": build.release.name,
        "release_title": build.release.short_name,
        "builder_version": BUILDER_VERSION,
        "data_dir": build.data_dir,
        "options": build.options.as_dict(),
        "splits": splits,
        "total_pairs": sum(split["pairs"] for split in splits.values()),
    }


def stats_table(stats: Stats) -> str:
    """A plain-text table of `stats`: one row per split (pairs, pairs per diagnosis, empty masks, masks at the
    border, mean lesion area fraction to 3 decimals), as `skin-cancer stats` prints it."""
    first = next(iter(stats["splits"].values()))
    header = ["split", "pairs", *first["diagnoses"], "empty", "at border", "mean area"]
    rows = [
        [
            name,
            split["pairs"],
            *split["diagnoses"].values(),
            split["empty_masks"],
            split["masks_touching_border"],
            f"{split['lesion_area_fraction']['mean']:.3f}",
        ]
        for name, split in stats["splits"].items()
    ]
    return format_table(header, rows)


CHARTS_HINT = 'pip install "skin-cancer[plots]"'


def require_matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UsageError(f"charts need matplotlib: {CHARTS_HINT}") from None
    return pyplot


def charts_available() -> bool:
    """Whether matplotlib (an optional extra) can draw the charts; without it `stats` writes stats.json alone."""
    try:
        require_matplotlib()
    except UsageError:
        return False
    return True


def write_charts(stats: Stats, output: Path) -> list[Path]:
    """Draw the PNG charts of CHART_FILES into `output`, creating it; returns their paths.

    Raises UsageError naming `pip install "skin-cancer[plots]"` when matplotlib is not installed.
    """
    pyplot = require_matplotlib()
    output.mkdir(parents=True, exist_ok=True)
    splits = stats["splits"]
    names = list(splits)
    size = stats["options"]["size"]
    paths = []

    figure, axes = pyplot.subplots(figsize=(6, 4))
    bars = axes.bar(names, [splits[name]["pairs"] for name in names], color="#4C72B0")
    axes.bar_label(bars)
    title = stats.get("release_title", "ISIC")
    axes.set(title=f"{title} image/mask pairs per split ({size}x{size})", xlabel="split", ylabel="pairs")
    paths.append(_save(figure, output / CHART_FILES[0], pyplot))

    figure, axes = pyplot.subplots(figsize=(7, 4))
    diagnoses = [key for key in next(iter(splits.values()))["diagnoses"] if key != "no label"]
    if not diagnoses:  # a release without labels (ISIC 2018): say so instead of an empty chart
        axes.text(0.5, 0.5, f"{title} has no diagnosis labels", ha="center", va="center", transform=axes.transAxes)
    width = 0.8 / max(len(diagnoses), 1)
    for offset, diagnosis in enumerate(diagnoses):
        positions = [index + (offset - (len(diagnoses) - 1) / 2) * width for index in range(len(names))]
        bars = axes.bar(positions, [splits[name]["diagnoses"][diagnosis] for name in names], width, label=diagnosis)
        axes.bar_label(bars)
    axes.set_xticks(range(len(names)), names)
    axes.set(title="Diagnoses per split (Part3 ground truth)", xlabel="split", ylabel="images")
    if diagnoses:
        axes.legend()
    paths.append(_save(figure, output / CHART_FILES[1], pyplot))

    figure, axes = pyplot.subplots(figsize=(7, 4))
    series = [list(splits[name]["lesion_area_fraction"]["per_image"].values()) for name in names]
    axes.hist(series, bins=20, range=(0, 1), stacked=True, label=names)
    axes.set(
        title="Lesion area as a fraction of the image",
        xlabel="lesion area / image area",
        ylabel="images",
    )
    axes.legend()
    paths.append(_save(figure, output / CHART_FILES[2], pyplot))

    figure, axes = pyplot.subplots(figsize=(7, 4))
    totals: Counter[str] = Counter()
    for name in names:
        totals.update(splits[name]["original_sizes"])
    labels = [label for label, _ in totals.most_common(15)][::-1]
    bars = axes.barh(labels, [totals[label] for label in labels], color="#55A868")
    axes.bar_label(bars)
    axes.set(title="Original image sizes (width x height)", xlabel="images", ylabel="size")
    paths.append(_save(figure, output / CHART_FILES[3], pyplot))
    return paths


def _save(figure, path: Path, pyplot) -> Path:
    from matplotlib.ticker import MaxNLocator

    for axes in figure.axes:
        axis = axes.xaxis if axes.get_xlabel() == "images" else axes.yaxis
        axis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


__all__ = [
    "CHARTS_HINT",
    "CHART_FILES",
    "LesionAreaFraction",
    "SplitStats",
    "Stats",
    "charts_available",
    "compute_stats",
    "stats_table",
    "write_charts",
]
