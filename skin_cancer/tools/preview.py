"""Preview grids: images, their masks, and the mask outline drawn on the image.

The outline overlay is how a misaligned mask shows itself at a glance. Pillow only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from ..dataset.masks import read_truth

if TYPE_CHECKING:
    from .pipeline import Build

OUTLINE_COLOUR = (0, 255, 0)
ROW_TITLES = ("image", "mask", "outline on image")


def outline(mask: Image.Image, width: int = 2) -> Image.Image:
    """The lesion's border as an L image: the mask, read by the one rule (dataset.masks), minus its erosion."""
    binary = read_truth(mask).binary
    return ImageChops.subtract(binary, binary.filter(ImageFilter.MinFilter(2 * width + 1)))


def outline_overlay(image: Image.Image, mask: Image.Image, width: int = 2) -> Image.Image:
    """The image with the lesion border painted in a bright colour."""
    overlay = image.convert("RGB").copy()
    overlay.paste(OUTLINE_COLOUR, mask=outline(mask, width))
    return overlay


def preview_grid(
    pairs: Sequence[tuple[Image.Image, Image.Image]], titles: Sequence[str] | None = None, tile: int = 192
) -> Image.Image:
    """Columns of (image, mask, overlay), one per pair, with row and column labels."""
    if not pairs:
        raise ValueError("a preview needs at least one pair")
    margin, label_width, header = 6, 120, 20
    columns = len(pairs)
    grid = Image.new(
        "RGB", (label_width + columns * (tile + margin) + margin, header + 3 * (tile + margin) + margin), "white"
    )
    draw = ImageDraw.Draw(grid)
    for row, title in enumerate(ROW_TITLES):
        draw.text((margin, header + row * (tile + margin) + tile // 2), title, fill="black")
    for column, (image, mask) in enumerate(pairs):
        left = label_width + margin + column * (tile + margin)
        if titles:
            draw.text((left, 4), titles[column], fill="black")
        tiles = (image.convert("RGB"), mask.convert("RGB"), outline_overlay(image, mask))
        for row, picture in enumerate(tiles):
            grid.paste(picture.resize((tile, tile)), (left, header + margin + row * (tile + margin)))
    return grid


def sample_preview(build: Build, split: str, count: int, seed: int | None) -> Image.Image:
    """A grid of `count` pairs of a split: the first ones, or a seeded random choice.

    Raises UsageError for a split the release does not have, or that this (partial) build holds no image of."""
    if split not in build.dataset:
        from ..errors import UsageError

        if split in build.release.split_names:
            raise UsageError(f"--split {split}: this build holds no {split} images (it has {', '.join(build.dataset)})")
        raise UsageError(f"--split must be one of {', '.join(build.release.split_names)}, not {split!r}")
    dataset = build.dataset[split]
    count = min(count, len(dataset))
    indices = list(range(count)) if seed is None else sorted(random.Random(seed).sample(range(len(dataset)), count))
    rows = dataset.select(indices)
    return preview_grid([(row["image"], row["mask"]) for row in rows], titles=rows["image_id"], tile=160)


__all__ = [
    "outline",
    "preview_grid",
    "sample_preview",
]
