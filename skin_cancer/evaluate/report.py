"""The evaluation report: per-image rows, macro averages, the printed table, the files it writes and worst.png."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from ..dataset.transforms import encode_png, prepare_mask
from ..tools.preview import outline
from .metrics import (
    BOOTSTRAP_DRAWS,
    BOOTSTRAP_LEVEL,
    BOOTSTRAP_SEED,
    BOUNDARY_NAMES,
    JACCARD_THRESHOLD,
    METRIC_NAMES,
    Confusion,
    bootstrap_intervals,
    jaccard_distribution,
    macro_average,
    pooled,
    scores,
)

if TYPE_CHECKING:
    pass

from .predictions import Prediction, read_values
from .truth import Truth, TruthRow

WORST_COUNT = 10
TRUTH_COLOUR, PREDICTION_COLOUR = (0, 255, 0), (255, 0, 255)

REPORT_FILES = ("per_image.csv", "summary.json", "summary.md", "worst.png")

# ----------------------------------------------------------------------------------------------
# The report


# The one official protocol and what each other summary is; written into summary.json beside the numbers.
PROTOCOLS: dict[str, str] = {
    "native": "OFFICIAL ISIC challenge protocol: one confusion matrix per image at native resolution, metrics "
    "averaged over images (isic-challenge-scoring)",
    "square": "not official: the same per-image averages at the build's square size",
    "pooled_square": "NOT the official protocol: one confusion matrix over all square pixels of all scored images "
    "(the pooled protocol of many recent papers)",
    "bootstrap_native": "percentile bootstrap intervals of the official (native) averages, resampling images; null "
    "with fewer than two images",
    "jaccard_distribution_native": "quartiles of the per-image native Jaccard and the share below the challenge's "
    "0.65 threshold",
    "boundary_native": "HD95 and ASSD in native pixels (MedPy's definitions), averaged over the images where both "
    "masks are non-empty or both empty (both empty counts 0); `undefined`: exactly one empty; `both_empty`: how "
    "many of the averaged images had both masks empty",
}


@dataclass
class EvaluationReport:
    """Per-image rows and their macro averages, at native resolution and at the square size."""

    split: str
    resize_mode: str
    size: int
    source: str
    per_image: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)
    total: int = 0
    prediction_values: str | None = None  # how the run read the predictions (None: each by its kind)
    # The annotators' own agreement on the scored images with two or more masks (IMA++; scoring.annotator_agreement):
    # {"images", "jaccard", "model_jaccard"}; None for a release with one mask per image.
    annotator_agreement: dict[str, Any] | None = None
    # The release's official number of images in the split (None: unknown, e.g. a staged repository): fewer
    # images in the build than that is a partial split, and the first line says so on every run (a reused build
    # gives no partial warning of its own).
    official: int | None = None

    @property
    def summary(self) -> dict[str, Any]:
        square_rows = [row for row in self.per_image if row["square_jaccard"] is not None]
        return {
            "note": self.first_line,
            # What each summary below is, so that summary.json alone cannot be misread (the table says the same).
            "protocols": PROTOCOLS,
            "split": self.split,
            "resize_mode": self.resize_mode,
            "size": self.size,
            "images": len(self.per_image),
            "images_in_split": self.total,
            "official_images_in_split": self.official,
            "missing": len(self.missing),
            "native": macro_average(self.per_image),
            "square": macro_average(square_rows, prefix="square_"),
            "square_images": len(square_rows),
            # Beside the official protocol, each labelled: what papers report, so that a user can compare.
            "pooled_square": self._pooled_square(square_rows),
            "bootstrap_native": {
                "seed": BOOTSTRAP_SEED,
                "draws": BOOTSTRAP_DRAWS,
                "level": BOOTSTRAP_LEVEL,
                "intervals": bootstrap_intervals(self.per_image),
            },
            "jaccard_distribution_native": {
                "threshold": JACCARD_THRESHOLD,
                **jaccard_distribution(row["jaccard"] for row in self.per_image),
            },
            "boundary_native": self._boundary(),
            **({"annotator_agreement": self.annotator_agreement} if self.annotator_agreement else {}),
        }

    @staticmethod
    def _pooled_square(square_rows: list[dict[str, Any]]) -> dict[str, float] | None:
        """The six metrics of one confusion matrix summed over every square-scored image (None without any)."""
        if not square_rows:
            return None
        names = ("tp", "fp", "fn", "tn")
        return scores(pooled(Confusion(*(row[f"square_{name}"] for name in names)) for row in square_rows))

    def _boundary(self) -> dict[str, Any]:
        """Mean and median HD95/ASSD (pixels, native) over the images where they are defined."""
        defined = [row for row in self.per_image if row.get("hd95") is not None]
        # Both masks empty scores 0 by convention: say how many, so an all-empty predictor's perfect HD95 shows.
        both_empty = sum(1 for row in defined if row["tp"] + row["fn"] == 0 and row["tp"] + row["fp"] == 0)
        summary: dict[str, Any] = {
            "images": len(defined),
            "undefined": len(self.per_image) - len(defined),
            "both_empty": both_empty,
        }
        for name in BOUNDARY_NAMES:
            values = [row[name] for row in defined]
            summary[name] = float(np.mean(values)) if values else None
            summary[f"{name}_median"] = float(np.median(values)) if values else None
        return summary

    @property
    def first_line(self) -> str:
        scored = f"{len(self.per_image)} of {self.total} {self.split} images"
        if self.missing:
            return (
                f"PARTIAL: scored only {scored} ({len(self.missing)} without a prediction, allow_missing); "
                "not comparable with scores on the whole split"
            )
        built = f"(built {self.size}x{self.size}, resize_mode {self.resize_mode}) from {self.source}"
        if self.official is not None and self.total < self.official:
            return (
                f"PARTIAL SPLIT: scored all {scored} {built}, but the official {self.split} split has "
                f"{self.official} images; not comparable with scores on the whole split"
            )
        return f"Scored all {scored} {built}"

    def table(self) -> str:
        summary = self.summary
        bootstrap = summary["bootstrap_native"]
        pooled_square = summary["pooled_square"] or {}
        lines = [
            self.first_line,
            "",
            "Official protocol (ISIC challenge): one confusion matrix per image at native resolution, averaged "
            "over images. The last column is NOT that protocol: it is the pooled one of many recent papers.",
            "",
            f"| metric | native resolution, macro average (official) | {bootstrap['level']:.0%} bootstrap CI "
            f"(native) | square {self.size}x{self.size}, macro average | pooled square {self.size}x{self.size}, one "
            "confusion matrix (not official) |",
            "|---|---|---|---|---|",
        ]

        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        for name in METRIC_NAMES:
            native, square = summary["native"][name], summary["square"][name]
            interval = bootstrap["intervals"][name]
            interval_text = "n/a" if interval is None else f"{interval[0]:.4f} to {interval[1]:.4f}"
            lines.append(
                f"| {name} | {number(native)} | {interval_text} | {number(square)} | "
                f"{number(pooled_square.get(name))} |"
            )
        distribution = summary["jaccard_distribution_native"]
        boundary = summary["boundary_native"]
        lines += [
            "",
            f"Bootstrap: {bootstrap['draws']} resamples of the images, seed {bootstrap['seed']}, percentile "
            "intervals. Pooled: one confusion matrix over all square pixels of the scored images.",
            f"Per-image native Jaccard: quartiles {number(distribution['q1'])} / {number(distribution['median'])} "
            f"(median) / {number(distribution['q3'])}; share below {distribution['threshold']}: "
            f"{number(distribution['share_below_threshold'])}.",
            f"Boundary (native, pixels, over {boundary['images']} images): HD95 mean {number(boundary['hd95'])}, "
            f"median {number(boundary['hd95_median'])}; ASSD mean {number(boundary['assd'])}, median "
            f"{number(boundary['assd_median'])}; {boundary['undefined']} images undefined (exactly one of truth "
            f"and prediction empty); {boundary['both_empty']} of the {boundary['images']} had both empty (0 by "
            "convention).",
        ]
        agreement = summary.get("annotator_agreement")
        if agreement:
            lines += [
                "",
                f"Human reference (annotator agreement): on the {agreement['images']} scored images with two or more "
                f"annotator masks, their mean pairwise Jaccard is {agreement['jaccard']:.4f} (native); the model's "
                f"Jaccard on the same images is {agreement['model_jaccard']:.4f}.",
            ]
        if summary["square_images"] < summary["images"]:
            lines.append("")
            lines.append(
                f"Square column: {summary['square_images']} of {summary['images']} images "
                "(predictions given at native size have no square score)."
            )
        return "\n".join(lines)

    def write(
        self, folder: str | os.PathLike, predictions: Mapping[str, Prediction] | None = None, truth: Truth | None = None
    ) -> list[Path]:
        """per_image.csv, summary.json, summary.md, and worst.png when the truth and predictions are given."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / name for name in REPORT_FILES[:3]]
        with open(written[0], "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(self.per_image[0]))
            writer.writeheader()
            writer.writerows(self.per_image)
        written[1].write_text(json.dumps(self.summary, indent=2) + "\n")
        written[2].write_text(self.table() + "\n")
        if predictions is not None and truth is not None:
            path = folder / "worst.png"
            worst_grid(self, predictions, truth).save(path)
            written.append(path)
        return written


# ----------------------------------------------------------------------------------------------
# Drawing the worst images


def _square_prediction_image(
    prediction: Prediction, row: TruthRow, truth: Truth, prediction_values: str | None = None
) -> Image.Image:
    values, threshold = read_values(prediction, row.image_id, prediction_values)
    binary = ((values > threshold).astype(np.uint8)) * np.uint8(255)
    if values.shape == (truth.size, truth.size):
        return Image.fromarray(binary, mode="L")
    # Given at native size: draw it through the builder's own mask geometry.
    square = prepare_mask(
        encode_png(Image.fromarray(binary, mode="L")), (row.width, row.height), truth.size, truth.resize_mode
    )  # type: ignore[arg-type]
    return Image.open(io.BytesIO(square))


def worst_grid(
    report: EvaluationReport,
    predictions: Mapping[str, Prediction],
    truth: Truth,
    count: int = WORST_COUNT,
    tile: int = 224,
) -> Image.Image:
    """The lowest-Jaccard images: truth outline in green, prediction outline in magenta, on the square image."""
    worst = sorted(report.per_image, key=lambda row: (row["jaccard"], row["image_id"]))[:count]
    by_id = {row.image_id: row for row in truth.rows}
    index = {image_id: position for position, image_id in enumerate(truth.ids)}
    margin, header = 6, 34
    grid = Image.new("RGB", (margin + len(worst) * (tile + margin), header + tile + margin), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((margin, 2), "green: truth   magenta: prediction   (native Jaccard)", fill="black")
    for column, scored in enumerate(worst):
        image_id = scored["image_id"]
        row = by_id[image_id]
        image = truth.dataset[index[image_id]]["image"].convert("RGB")
        line = max(1, image.width // 160)
        image.paste(TRUTH_COLOUR, mask=outline(Image.open(io.BytesIO(row.square_mask)), line))
        image.paste(
            PREDICTION_COLOUR,
            mask=outline(_square_prediction_image(predictions[image_id], row, truth, report.prediction_values), line),
        )
        left = margin + column * (tile + margin)
        draw.text((left, 18), f"{image_id} J={scored['jaccard']:.3f}", fill="black")
        grid.paste(image.resize((tile, tile)), (left, header))
    return grid


__all__ = [
    "PROTOCOLS",
    "REPORT_FILES",
    "EvaluationReport",
    "worst_grid",
]
