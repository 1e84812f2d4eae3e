"""A faithful re-implementation of the seed generator this project replaces: the baseline to beat.

For each pair, Pillow opens the JPEG at full resolution and converts it to RGB, pastes it centred on
a square canvas of side max(w, h) filled with the colour of the pixel at (w-80, h-80), resizes the
canvas to 512x512 with Pillow's default filter and saves it as JPEG at the default quality. The mask
is opened, converted to RGB, treated the same way and also saved as JPEG (the defect we fix).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

SIZE = 512


def square_like_the_seed(picture: Image.Image) -> Image.Image:
    width, height = picture.size
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), picture.getpixel((width - 80, height - 80)))
    canvas.paste(picture, ((side - width) // 2, (side - height) // 2))
    return canvas.resize((SIZE, SIZE))


def generate(pairs: list[tuple[str, Path, Path]], output: Path) -> None:
    """pairs: (split, image path, mask path); writes output/<split>/{images,masks}/<id>.jpg."""
    for split, image_path, mask_path in pairs:
        image_id = image_path.stem
        images, masks = output / split / "images", output / split / "masks"
        images.mkdir(parents=True, exist_ok=True)
        masks.mkdir(parents=True, exist_ok=True)
        square_like_the_seed(Image.open(image_path).convert("RGB")).save(images / f"{image_id}.jpg")
        square_like_the_seed(Image.open(mask_path).convert("RGB")).save(masks / f"{image_id}.jpg")
